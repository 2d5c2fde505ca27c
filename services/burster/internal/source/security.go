package source

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Security is how each destination's requests travel, as the mesh reports
// it: Istio's connection_security_policy (mutual_tls, none); "" unknown.
type Security struct {
	Primary, Burst string
}

// SecuritySource measures how each destination's requests travel.
type SecuritySource interface {
	Security(ctx context.Context) (Security, error)
}

// PrometheusSecurity evaluates a PromQL query giving request rates by the
// labels destination and security; each destination's most used policy is
// its security.
type PrometheusSecurity struct {
	prom *Prometheus
}

// NewPrometheusSecurity returns a security source querying the Prometheus
// at url.
func NewPrometheusSecurity(url, query string, timeout time.Duration) (*PrometheusSecurity, error) {
	p, err := NewPrometheus(url, query, timeout)
	if err != nil {
		return nil, err
	}
	return &PrometheusSecurity{prom: p}, nil
}

// Security runs the query now.
func (p *PrometheusSecurity) Security(ctx context.Context) (Security, error) {
	vec, err := p.prom.vector(ctx, "the connections' security")
	if err != nil {
		return Security{}, err
	}
	var best [2]float64
	var out [2]string
	for _, s := range vec {
		i, f := index(string(s.Metric["destination"])), float64(s.Value)
		if i < 0 || math.IsNaN(f) || f <= best[i] {
			continue
		}
		best[i], out[i] = f, string(s.Metric["security"])
	}
	if out == [2]string{} {
		return Security{}, fmt.Errorf("%w: the security query returned no traffic of primary or burst", ErrNoData)
	}
	return Security{Primary: out[0], Burst: out[1]}, nil
}
