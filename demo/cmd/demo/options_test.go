package main

import (
	"bytes"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// freeArgs gives every port flag a port of its own, held by this test until
// release is called (or the test ends): no other test takes it meanwhile.
func freeArgs(t *testing.T) (args []string, release func()) {
	t.Helper()
	var held []net.Listener
	release = func() {
		for _, ln := range held {
			ln.Close()
		}
	}
	t.Cleanup(release)
	for _, p := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, ln)
		args = append(args, "-"+p.name+"-port", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	return args, release
}

func TestParseOptionsRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // each in the error
	}{
		{"unknown flag", []string{"-restrat-after=1s"}, []string{"flag provided but not defined: -restrat-after", "DEMO_FLAGS=-help"}},
		{"bad duration", []string{"-restart-after=soon"}, []string{`invalid value "soon" for flag -restart-after`}},
		{"negative restart", []string{"-restart-after=-1s"}, []string{"-restart-after=-1s is negative"}},
		{"unknown redis", []string{"-redis=memory"}, []string{`-redis="memory" is not one of auto, server, embedded`}},
		{"port out of range", []string{"-worker-port=70000", "-mesh-port=0"}, []string{"-worker-port=70000 is not a TCP port", "-mesh-port=0 is not a TCP port"}},
		{"stray argument", []string{"strategy=slo"}, []string{`unexpected argument "strategy=slo"`}},
		{"host not local", []string{"-host=192.0.2.1"}, []string{`-host="192.0.2.1": cannot listen there`}},
		{"unknown strategy", []string{"-strategy=latency"}, []string{`-strategy="latency" is not one of switch, slo, spillover`}},
		{"four clusters", []string{"-clusters=4", "-strategy=spillover"}, []string{"-clusters=4: the demo runs 2 or 3 clusters"}},
		{"one cluster", []string{"-clusters=1"}, []string{"-clusters=1: the demo runs 2 or 3 clusters"}},
		{"three clusters under switch", []string{"-clusters=3"}, []string{"-clusters=3 spills in order with -strategy=spillover or slo (not switch)"}},
		{"capacities for other clusters", []string{"-clusters=3", "-strategy=spillover", "-capacities=20,20"}, []string{"-capacities gives 2 capacities for 3 clusters"}},
		{"a capacity not a rate", []string{"-capacities=20,fast"}, []string{`-capacities=20,fast: "fast" is not a rate`}},
		{"a negative capacity", []string{"-capacities=20,-1"}, []string{`"-1" is not a rate`}},
		{"primary's capacity twice", []string{"-capacities=20,0", "-primary-capacity=30"}, []string{"-capacities and -primary-capacity both give primary's capacity"}},
		{"spillover without primary's capacity", []string{"-strategy=spillover", "-primary-capacity=0"}, []string{"-strategy=spillover fills primary to its capacity first"}},
		{"negative capacity", []string{"-primary-capacity=-5"}, []string{"-primary-capacity=-5 is negative"}},
		{"objective between buckets", []string{"-strategy=slo", "-slo-latency-ms=200"}, []string{"-slo-latency-ms=200 is not a bucket of the mesh's latency histogram"}},
		{"target as a percentage", []string{"-slo-target=99"}, []string{"-slo-target=99 must be above 0 and below 1"}},
		{"window under four scrapes", []string{"-slo-window=2s"}, []string{"-slo-window=2s must hold four"}},
		{"negative probe", []string{"-slo-probe=-1m"}, []string{"-slo-probe=-1m0s is negative"}},
		{"headroom as a percentage", []string{"-slo-headroom=5"}, []string{"-slo-headroom=5 must be above 0 and at most 0.5"}},
		{"capacity schedule out of order", []string{"-primary-capacity-at=2m=10,1m=20"}, []string{`"1m=20": the steps must be in time order`}},
		{"capacity schedule without a rate", []string{"-primary-capacity-at=2m"}, []string{`"2m" is not DURATION=RPS`}},
		{"capacity schedule with a negative rate", []string{"-primary-capacity-at=2m=-3"}, []string{`"2m=-3": the rate must be 0 (unlimited)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The problem's flags come last and override the ports; the
			// ports are still held, but the flags are checked first.
			args, _ := freeArgs(t)
			_, err := parseOptions(append(args, tt.args...), &bytes.Buffer{})
			if err == nil {
				t.Fatalf("parseOptions(%q) = nil, want an error", tt.args)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseOptionsAccepts(t *testing.T) {
	args, release := freeArgs(t)
	release() // the ports must be free to be accepted
	o, err := parseOptions(append(args, "-redis=embedded", "-restart-after=0"), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	// Two clusters: burst-2's worker needs no port.
	if o.redisServer != "" || o.restartAfter != 0 || o.host != "127.0.0.1" || len(o.ports) != len(ports)-1 || o.clusters != 2 ||
		o.strategy != "switch" || o.primaryCapacity != 20 || o.sloLatencyMS != 250 || o.sloTarget != 0.99 {
		t.Fatalf("options %+v", o)
	}
	if o, err = parseOptions(append(args, "-redis=embedded", "-strategy=slo", "-slo-latency-ms=500"), &bytes.Buffer{}); err != nil || o.strategy != "slo" || o.sloLatencyMS != 500 {
		t.Fatalf("slo options %+v, %v", o, err)
	}
	o, err = parseOptions(append(args, "-redis=embedded", "-clusters=3", "-strategy=spillover", "-capacities=20, 10,0"), &bytes.Buffer{})
	if err != nil || len(o.ports) != len(ports) || !slices.Equal(o.capacities, []float64{20, 10, 0}) || o.capacity(1) != 10 {
		t.Fatalf("three clusters: options %+v, %v", o, err)
	}
	if o, err = parseOptions(append(args, "-redis=embedded", "-primary-capacity=30"), &bytes.Buffer{}); err != nil || o.capacity(0) != 30 || o.capacity(1) != 0 {
		t.Fatalf("-primary-capacity=30: capacities %v, %v, %v", o.capacity(0), o.capacity(1), err)
	}
	o, err = parseOptions(append(args, "-redis=embedded", "-primary-capacity-at= 90s=10, 3m=0", "-slo-probe=30s"), &bytes.Buffer{})
	want := capacitySchedule{{after: 90 * time.Second, rps: 10}, {after: 3 * time.Minute}}
	if err != nil || !slices.Equal(o.capacityAt, want) || o.sloProbe != 30*time.Second || o.capacityAt.String() != "1m30s=10,3m0s=0" {
		t.Fatalf("capacity schedule %v (%s), probe %s, %v", o.capacityAt, o.capacityAt.String(), o.sloProbe, err)
	}
}

func TestParseOptionsPortTaken(t *testing.T) {
	args, release := freeArgs(t)
	release()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	_, err = parseOptions(append(args, "-burster-port", taken), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "port "+taken+" for burster is in use (choose another with -burster-port)") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseOptionsHelp(t *testing.T) {
	var help bytes.Buffer
	_, err := parseOptions([]string{"-help"}, &help)
	if !errors.Is(err, errHelp) || !strings.Contains(help.String(), "-restart-after") || !strings.Contains(help.String(), "-frontend-port") {
		t.Fatalf("err = %v, help:\n%s", err, help.String())
	}
}
