package policy

import "github.com/cloudburst-demo/cloudburst/pkg/contract/split"

// switchStrategy is the codelab's: everything to burst above the high
// threshold, everything back below the low one.
type switchStrategy struct{ band }

func (s switchStrategy) Target(st State, obs Observation) target {
	cur := st.Weights
	dir, reason := s.where(obs.RPS)
	switch dir {
	case 1:
		return want(split.AllBurst, reason)
	case -1:
		return want(split.AllPrimary, reason)
	}
	return want(cur, reason)
}
