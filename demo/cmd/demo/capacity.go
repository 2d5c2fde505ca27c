package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudburst-demo/cloudburst/demo/internal/launcher"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/meshapi"
)

// capacityStep is one change of primary's capacity the demo schedules:
// after this long from when the burster is up, primary serves rps.
type capacityStep struct {
	after time.Duration
	rps   float64 // 0: unlimited
}

// capacitySchedule is the -primary-capacity-at flag: "DURATION=RPS,...",
// e.g. "2m=10,4m=20" (primary loses half its nodes two minutes in and gets
// them back two minutes later). It implements flag.Value.
type capacitySchedule []capacityStep

func (s *capacitySchedule) String() string {
	parts := make([]string, len(*s))
	for i, c := range *s {
		parts[i] = fmt.Sprintf("%s=%s", c.after, ftoa(c.rps))
	}
	return strings.Join(parts, ",")
}

// Set parses the flag: steps in time order, each after a positive time,
// each rate 0 (unlimited) or more.
func (s *capacitySchedule) Set(v string) error {
	var out capacitySchedule
	for part := range strings.SplitSeq(v, ",") {
		at, rate, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%q is not DURATION=RPS", part)
		}
		d, err := time.ParseDuration(at)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q: the time must be a positive duration such as 90s", part)
		}
		rps, err := strconv.ParseFloat(rate, 64)
		if err != nil || !(rps >= 0 && rps <= 1e6) {
			return fmt.Errorf("%q: the rate must be 0 (unlimited) to 1e6 requests a second", part)
		}
		if n := len(out); n > 0 && d <= out[n-1].after {
			return fmt.Errorf("%q: the steps must be in time order", part)
		}
		out = append(out, capacityStep{after: d, rps: rps})
	}
	*s = slices.Clip(out)
	return nil
}

// runCapacitySchedule sets primary's capacity through the local mesh's
// admin API at each step's time from now, until ctx is done, saying so.
func runCapacitySchedule(ctx context.Context, out *launcher.Output, adminURL string, steps capacitySchedule) {
	start := time.Now()
	client := &http.Client{Timeout: 2 * time.Second}
	for _, step := range steps {
		t := time.NewTimer(time.Until(start.Add(step.after)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := setCapacity(ctx, client, adminURL, step.rps); err != nil {
			out.Line("demo", fmt.Sprintf("!!! could not set primary's capacity to %s req/s: %v", ftoa(step.rps), err))
			continue
		}
		what := ftoa(step.rps) + " requests a second"
		if step.rps == 0 {
			what = "unlimited"
		}
		out.Line("demo", fmt.Sprintf("primary's capacity is now %s (-primary-capacity-at, %s in)", what, step.after))
	}
}

func setCapacity(ctx context.Context, client *http.Client, adminURL string, rps float64) error {
	body, err := json.Marshal(meshapi.Capacity{PrimaryRPS: rps})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, adminURL+meshapi.CapacityPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the local mesh answered %s", resp.Status)
	}
	return nil
}
