package policy

import "github.com/cloudburst-demo/cloudburst/pkg/contract/split"

// stepStrategy moves the burst share by step percent per decision: up while
// the rate is above the high threshold, down while it is below the low one.
// With the minimum dwell between changes it ramps like a canary.
type stepStrategy struct {
	band
	step int
}

func (s stepStrategy) Target(st State, obs Observation) target {
	cur := st.Weights
	dir, reason := s.where(obs.RPS)
	switch dir {
	case 1:
		return want(split.WithBurst(min(100, cur.Spilled()+s.step)), reason)
	case -1:
		return want(split.WithBurst(max(0, cur.Spilled()-s.step)), reason)
	}
	return want(cur, reason)
}
