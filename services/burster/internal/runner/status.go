package runner

import (
	"errors"
	"fmt"
	"math"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/controller"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

// maxChanges is how many changes the status keeps (the CRD's bound).
const maxChanges = 10

// changeReasons are the decisions the status lists, by the kind the loop
// tells them as: those that moved the weights, or held them for a reason
// a person must see. Findings that leave the weights (a failed write is
// retried, pre-scaling, a failing destination) are in the events.
var changeReasons = map[bursterapi.Kind]v1alpha1.ChangeReason{
	bursterapi.WeightsChanged: v1alpha1.ChangeWeightsChanged,
	bursterapi.DriftCorrected: v1alpha1.ChangeDriftCorrected,
	bursterapi.FailSafe:       v1alpha1.ChangeFailSafe,
	bursterapi.DryRun:         v1alpha1.ChangeDryRun,
	bursterapi.BurstNotReady:  v1alpha1.ChangeBurstNotReady,
	bursterapi.BurstReady:     v1alpha1.ChangeBurstReady,
}

// Status is the policy's status as the Runner knows it, on top of prev,
// the status so far: what this Runner has not measured yet (before its
// first step) is prev's, changes are appended to prev's, and a condition
// keeps its transition time while it holds.
func (r *Runner) Status(prev v1alpha1.BurstPolicyStatus, generation int64) v1alpha1.BurstPolicyStatus {
	out := *prev.DeepCopy()
	out.ObservedGeneration, out.Route = generation, r.route
	snap := r.ctrl.Snapshot()
	if r.began {
		st := r.ctrl.State()
		if w := snap.Weights; w != nil {
			out.Weights = r.weights(*w)
			out.Split = v1alpha1.SplitOf(out.Weights)
		}
		if !st.LastChange.IsZero() {
			t := metav1.NewMicroTime(st.LastChange)
			out.LastChangeTime = &t
		}
		// What the loop holds, never an older leader's once begun: a
		// capacity it forgot (or never read back) shows.
		out.LearnedCapacityRPS = nil
		if st.SLO.Measured && st.SLO.CapacityRPS > 0 {
			c := st.SLO.CapacityRPS
			out.LearnedCapacityRPS = &c
		}
	}
	out.RateRPS = finite(snap.ObservedRPS)
	out.Destinations = r.destinations(snap)
	out.Changes = r.appendChanges(out.Changes)
	r.conditions(&out.Conditions, snap, generation)
	return out
}

// FailedStatus is the status of a policy no Runner could be built for:
// prev, with conditions that say why.
func FailedStatus(prev v1alpha1.BurstPolicyStatus, generation int64, err error) v1alpha1.BurstPolicyStatus {
	out := *prev.DeepCopy()
	out.ObservedGeneration = generation
	reason := v1alpha1.ReasonUnsupported
	if !errors.Is(err, ErrUnsupported) {
		reason = v1alpha1.ReasonInvalid
	}
	msg := trim(err.Error())
	set(&out.Conditions, generation, v1alpha1.ConditionReady, false, reason, msg)
	set(&out.Conditions, generation, v1alpha1.ConditionDegraded, true, reason, msg)
	return out
}

func (r *Runner) weights(s split.Split) []v1alpha1.DestinationWeight {
	return []v1alpha1.DestinationWeight{
		{Name: r.names[0], Weight: int32(s.Primary)}, {Name: r.names[1], Weight: int32(s.Burst)},
	}
}

// destinations is each destination's traffic, readiness and service level
// as last measured.
func (r *Runner) destinations(snap controller.Snapshot) []v1alpha1.DestinationStatus {
	out := []v1alpha1.DestinationStatus{{Name: r.names[0]}, {Name: r.names[1]}}
	if d := snap.Destinations; d != nil {
		for i, t := range []bursterapi.Destination{d.Primary, d.Burst} {
			out[i].RateRPS, out[i].FailedRPS = finite(&t.RPS), finite(&t.FailedRPS)
		}
	}
	if c := snap.Capacity; c != nil {
		n := int32(c.ReadyEndpoints)
		out[0].ReadyEndpoints = &n
	}
	if b := snap.Burst; b != nil && b.Reachable {
		n := int32(b.ReadyEndpoints)
		out[1].ReadyEndpoints = &n
	}
	if o := snap.SLO; o != nil {
		for i, j := range []*bursterapi.Judgement{o.Primary, o.Burst} {
			if j != nil {
				out[i].SLI, out[i].Burn = finite(j.SLI), finite(j.Burn)
			}
		}
	}
	return out
}

// appendChanges appends the loop's decisions since the last call to
// changes, keeping the last maxChanges.
func (r *Runner) appendChanges(changes []v1alpha1.Change) []v1alpha1.Change {
	for _, c := range r.ctrl.Changes() {
		reason, ok := changeReasons[c.Kind]
		if !ok || !c.At.After(r.seen) {
			continue
		}
		r.seen = c.At
		changes = append(changes, v1alpha1.Change{Time: metav1.NewTime(c.At), Weights: r.weights(c.To), Reason: reason,
			RateRPS: c.RPS, Message: trim(c.Reason)})
	}
	if n := len(changes); n > maxChanges {
		changes = changes[n-maxChanges:]
	}
	return changes
}

// conditions sets Ready, Bursting and Degraded from what the loop knows.
func (r *Runner) conditions(conds *[]metav1.Condition, snap controller.Snapshot, generation int64) {
	var problem v1alpha1.ConditionReason
	var msg string
	switch {
	case r.beginErr != nil || snap.RouterError != "":
		class := snap.RouterError
		problem, msg = routerReason(class), fmt.Sprintf("%s: %s", r.route, class)
	case snap.RateError != nil:
		problem, msg = v1alpha1.ReasonMeasurementFailed, "the rate: "+snap.RateError.Error()
		if errors.Is(snap.RateError, source.ErrNoData) {
			problem = v1alpha1.ReasonNoData
		}
	}
	if problem != "" {
		set(conds, generation, v1alpha1.ConditionReady, false, problem, msg)
	} else {
		set(conds, generation, v1alpha1.ConditionReady, true, v1alpha1.ReasonReconciled, "measuring the rate and moving the weights")
	}

	switch w := snap.Weights; {
	case w != nil && w.Burst > 0:
		set(conds, generation, v1alpha1.ConditionBursting, true, v1alpha1.ReasonSpilling,
			fmt.Sprintf("%d%% goes to %s", w.Burst, r.names[1]))
	case w != nil:
		set(conds, generation, v1alpha1.ConditionBursting, false, v1alpha1.ReasonHome, "all at "+r.names[0])
	}

	switch {
	case problem != "":
		set(conds, generation, v1alpha1.ConditionDegraded, true, problem, msg)
	case snap.Burst != nil && snap.Burst.Blocked:
		set(conds, generation, v1alpha1.ConditionDegraded, true, v1alpha1.ReasonBurstNotReady,
			r.names[1]+" has no ready worker: no weight goes there")
	case snap.SLO != nil && snap.SLO.BothOver:
		set(conds, generation, v1alpha1.ConditionDegraded, true, v1alpha1.ReasonBothOverObjective,
			"both destinations are over their objective")
	default:
		set(conds, generation, v1alpha1.ConditionDegraded, false, v1alpha1.ReasonReconciled, "all the policy asks is done")
	}
}

// finite is v, or nil for a value JSON cannot carry (NaN, ±Inf).
func finite(v *float64) *float64 {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return nil
	}
	return v
}

// routerReason is the condition reason of a router failure's class
// (router.Classify).
func routerReason(class string) v1alpha1.ConditionReason {
	switch class {
	case "not found":
		return v1alpha1.ReasonRouteNotFound
	case "unsupported routes":
		return v1alpha1.ReasonRouteUnsupported
	case "not allowed":
		return v1alpha1.ReasonRouterForbidden
	}
	return v1alpha1.ReasonRouterUnreachable
}

func set(conds *[]metav1.Condition, generation int64, typ string, status bool, reason v1alpha1.ConditionReason, msg string) {
	s := metav1.ConditionFalse
	if status {
		s = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conds, metav1.Condition{Type: typ, Status: s, Reason: string(reason), Message: trim(msg),
		ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(time.Now())})
}

// maxMessage bounds a message in the status (the CRD's bound on a change's;
// a condition's is 32768).
const maxMessage = 1024

func trim(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	return s[:maxMessage-3] + "..."
}
