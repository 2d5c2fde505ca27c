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
		return want(towards(cur, min(100, cur.Spilled()+s.step)), reason)
	case -1:
		return want(towards(cur, max(0, cur.Spilled()-s.step)), reason)
	}
	return want(cur, reason)
}

// towards is cur's two destinations with burst percent on the second.
func towards(cur split.Split, burst int) split.Split { return cur.WithWeights(100-burst, burst) }
