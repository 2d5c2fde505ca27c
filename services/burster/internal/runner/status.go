package runner

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/controller"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

// maxChanges is how many changes the status keeps (the CRD's bound).
const maxChanges = 10

// Status is the policy's status as the Runner knows it, on top of prev,
// the status so far: what this Runner has not measured yet (before its
// first step) is prev's, its changes follow those it resumed from, and a
// condition keeps its transition time while it holds. It reads the loop's
// snapshot alone: safe to call beside Step (the status API does).
func (r *Runner) Status(prev v1alpha1.BurstPolicyStatus, generation int64) v1alpha1.BurstPolicyStatus {
	r.mu.Lock()
	began, beginErr := r.began, r.beginErr
	r.mu.Unlock()
	return r.view.status(prev, generation, r.ctrl.Snapshot(), r.ctrl.Changes(), began, beginErr)
}

// Changes are the Runner's decisions of every reason, after the changes it
// resumed from: what GET /api/changes lists.
func (r *Runner) Changes() []v1alpha1.Change {
	return append(append([]v1alpha1.Change(nil), r.view.resumed...), r.view.changes(r.ctrl.Changes(), false)...)
}

// View turns what a control loop knows into a BurstPolicy's status: the
// Runner's, and the environment-configured burster's (which has no
// Runner).
type View struct {
	Names   []string          // the destinations in spill order, home first
	Route   string            // kind/name
	resumed []v1alpha1.Change // the changes of the status it resumed from
}

// StatusOf is the status of the loop c on top of prev: Status for a loop
// that is not a Runner's (it began once it read the weights).
func (v View) StatusOf(prev v1alpha1.BurstPolicyStatus, c *controller.Controller) v1alpha1.BurstPolicyStatus {
	snap := c.Snapshot()
	var err error
	if snap.Weights == nil && snap.RouterError != "" {
		err = errors.New(snap.RouterError)
	}
	return v.status(prev, 0, snap, c.Changes(), snap.Weights != nil, err)
}

// ChangesOf is Changes for a loop that is not a Runner's.
func (v View) ChangesOf(c *controller.Controller) []v1alpha1.Change {
	return v.changes(c.Changes(), false)
}

func (v View) status(prev v1alpha1.BurstPolicyStatus, generation int64, snap controller.Snapshot, changes []controller.Change,
	began bool, beginErr error) v1alpha1.BurstPolicyStatus {
	out := *prev.DeepCopy()
	out.ObservedGeneration, out.Route = generation, v.Route
	if began {
		if w := snap.Weights; w != nil {
			out.Weights = v.weights(*w)
			out.Split = v1alpha1.SplitOf(out.Weights)
		}
		if !snap.LastChange.IsZero() {
			t := metav1.NewMicroTime(snap.LastChange)
			out.LastChangeTime = &t
		}
		// What the loop holds, never an older leader's once begun: a
		// capacity it forgot (or never read back) shows.
		out.LearnedCapacityRPS = nil
		if c := snap.LearnedCapacityRPS; c > 0 {
			out.LearnedCapacityRPS = &c
		}
	}
	out.RateRPS = finite(snap.ObservedRPS)
	out.Destinations = v.destinations(snap)
	out.BudgetPeriod = ""
	if o := snap.SLO; o != nil && o.Budget != nil {
		out.BudgetPeriod = o.Budget.Period
	}
	out.Changes = append(append([]v1alpha1.Change(nil), v.resumed...), v.changes(changes, true)...)
	if n := len(out.Changes); n > maxChanges {
		out.Changes = out.Changes[n-maxChanges:]
	}
	v.conditions(&out.Conditions, snap, generation, beginErr)
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

func (v View) weights(s split.Split) []v1alpha1.DestinationWeight {
	out := make([]v1alpha1.DestinationWeight, s.Len())
	for i, sh := range s.Shares() {
		out[i] = v1alpha1.DestinationWeight{Name: sh.Name, Weight: int32(sh.Weight)}
	}
	return out
}

// spilled says where the traffic that left home goes: "20% goes to burst",
// "30% goes to burst, 10% to burst-2".
func spilled(s split.Split) string {
	var parts []string
	for _, sh := range s.Shares()[1:] {
		switch {
		case sh.Weight == 0:
		case len(parts) == 0:
			parts = append(parts, fmt.Sprintf("%d%% goes to %s", sh.Weight, sh.Name))
		default:
			parts = append(parts, fmt.Sprintf("%d%% to %s", sh.Weight, sh.Name))
		}
	}
	return strings.Join(parts, ", ")
}

// blocked says which destinations are kept off for want of a ready
// worker; "" when none.
func (v View) blocked(snap controller.Snapshot) string {
	var names []string
	for i, b := range append([]*controller.Burst{snap.Burst}, snap.Further...) {
		if b != nil && b.Blocked && i+1 < len(v.Names) {
			names = append(names, v.Names[i+1])
		}
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0] + " has no ready worker: no weight goes there"
	}
	return strings.Join(names, " and ") + " have no ready worker: no weight goes there"
}

// destinations is each destination's traffic, readiness and service level
// as last measured.
func (v View) destinations(snap controller.Snapshot) []v1alpha1.DestinationStatus {
	out := make([]v1alpha1.DestinationStatus, len(v.Names))
	for i, n := range v.Names {
		out[i].Name = n
	}
	if d := snap.Destinations; d != nil {
		for i, t := range []controller.Destination{d.Primary, d.Burst} {
			out[i].RateRPS, out[i].FailedRPS, out[i].Failing = finite(&t.RPS), finite(&t.FailedRPS), t.Failing
		}
	}
	if c := snap.Capacity; c != nil {
		n := int32(c.ReadyEndpoints)
		out[0].ReadyEndpoints, out[0].CapacityRPS = &n, finite(&c.RPS)
	}
	for i, b := range append([]*controller.Burst{snap.Burst}, snap.Further...) {
		if b == nil || i+1 >= len(out) {
			continue
		}
		reachable := b.Reachable
		out[i+1].Reachable = &reachable
		if b.Reachable {
			n := int32(b.ReadyEndpoints)
			out[i+1].ReadyEndpoints = &n
		}
		if b.PrescaledTo > 0 {
			n := b.PrescaledTo
			out[i+1].PrescaledTo = &n
		}
	}
	if o := snap.SLO; o != nil {
		for i, j := range append([]*controller.Judgement{o.Primary, o.Burst}, o.Further...) {
			if j != nil && i < len(out) {
				n := j.Requests
				out[i].SLI, out[i].Burn, out[i].Requests = finite(j.SLI), finite(j.Burn), finite(&n)
			}
		}
		if b := o.Budget; b != nil {
			for i, e := range []controller.ErrorBudget{b.Primary, b.Burst} {
				out[i].Budget = budget(e)
			}
		}
	}
	if s := snap.Security; s != nil {
		out[0].Security, out[1].Security = s.Primary, s.Burst
	}
	return out
}

// budget is an error budget as the status carries it; nil when nothing of
// it was measured.
func budget(e controller.ErrorBudget) *v1alpha1.ErrorBudget {
	if len(e.Burns) == 0 && e.Left == nil {
		return nil
	}
	out := &v1alpha1.ErrorBudget{Left: finite(e.Left)}
	for _, b := range e.Burns {
		if f := finite(&b.Rate); f != nil {
			out.Burns = append(out.Burns, v1alpha1.BurnRate{Window: b.Window, Rate: *f})
		}
	}
	return out
}

// changes are the loop's decisions as the status carries them: with
// weightsOnly, those that moved or held the weights.
func (v View) changes(in []controller.Change, weightsOnly bool) []v1alpha1.Change {
	out := make([]v1alpha1.Change, 0, len(in))
	for _, c := range in {
		if weightsOnly && !c.Kind.MovesWeights() {
			continue
		}
		out = append(out, v1alpha1.Change{Time: metav1.NewMicroTime(c.At), Weights: v.weights(c.To), Reason: c.Kind,
			RateRPS: finite(c.RPS), SLI: finite(c.SLI), Burn: finite(c.Burn), Message: trim(c.Reason)})
	}
	return out
}

// conditions sets Ready, Bursting and Degraded from what the loop knows.
func (v View) conditions(conds *[]metav1.Condition, snap controller.Snapshot, generation int64, beginErr error) {
	var problem v1alpha1.ConditionReason
	var msg string
	switch {
	case beginErr != nil || snap.RouterError != "":
		class := snap.RouterError
		problem, msg = routerReason(class), fmt.Sprintf("%s: %s", v.Route, class)
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
	case w != nil && w.Spilled() > 0:
		set(conds, generation, v1alpha1.ConditionBursting, true, v1alpha1.ReasonSpilling, spilled(*w))
	case w != nil:
		set(conds, generation, v1alpha1.ConditionBursting, false, v1alpha1.ReasonHome, "all at "+v.Names[0])
	}

	switch {
	case problem != "":
		set(conds, generation, v1alpha1.ConditionDegraded, true, problem, msg)
	case v.blocked(snap) != "":
		set(conds, generation, v1alpha1.ConditionDegraded, true, v1alpha1.ReasonBurstNotReady, v.blocked(snap))
	case snap.SLO != nil && snap.SLO.BothOver:
		set(conds, generation, v1alpha1.ConditionDegraded, true, v1alpha1.ReasonBothOverObjective,
			"both destinations are over their objective")
	case snap.SLO != nil && snap.SLO.Problem != "" && snap.SLO.Problem != controller.LatencyNotYet:
		set(conds, generation, v1alpha1.ConditionDegraded, true, v1alpha1.ReasonMeasurementFailed, "the latency: "+snap.SLO.Problem)
	case snap.SLO != nil && snap.SLO.BudgetProblem != "":
		set(conds, generation, v1alpha1.ConditionDegraded, true, v1alpha1.ReasonMeasurementFailed, "the error budget: "+snap.SLO.BudgetProblem)
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
