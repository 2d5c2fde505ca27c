package policy

// switchStrategy is the codelab's: everything to burst above the high
// threshold, everything back below the low one.
type switchStrategy struct{ band }

func (s switchStrategy) Target(st State, obs Observation) target {
	cur := st.Weights
	dir, reason := s.where(obs.RPS)
	switch dir {
	case 1:
		return want(cur.WithWeights(0, 100), reason)
	case -1:
		return want(cur.WithWeights(100), reason)
	}
	return want(cur, reason)
}
