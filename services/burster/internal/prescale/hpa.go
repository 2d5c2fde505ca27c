// Package prescale raises and restores the minReplicas of the burst
// cluster's HorizontalPodAutoscaler, so that workers are ready there before
// any traffic is sent, and cost nothing once it is gone. The value it found
// is recorded on the HPA itself (OriginalAnnotation), so a restarted burster
// or a new leader puts back the right one.
package prescale

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// OriginalAnnotation records, on the HPA, the minReplicas found before the
// burster raised it. Its presence means "raised by the burster".
const OriginalAnnotation = "burster.cloudburst.dev/original-min-replicas"

// HPA is one HorizontalPodAutoscaler, changed with get and patch only.
type HPA struct {
	cs      kubernetes.Interface
	ns      string
	name    string
	timeout time.Duration
}

// New returns the HPA name in namespace ns; each call is bounded by timeout.
func New(cs kubernetes.Interface, ns, name string, timeout time.Duration) *HPA {
	return &HPA{cs: cs, ns: ns, name: name, timeout: timeout}
}

// Name is the HPA's name, for messages.
func (h *HPA) Name() string { return h.name }

// State is what the HPA says now.
type State struct {
	MinReplicas, MaxReplicas int32
	// Original is the recorded minReplicas from before a raise; nil when
	// the burster has not raised it.
	Original *int32
}

// Read returns the HPA's state.
func (h *HPA) Read(ctx context.Context) (State, error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	hpa, err := h.get(ctx)
	if err != nil {
		return State{}, err
	}
	return stateOf(hpa)
}

// Raise sets minReplicas to want, within maxReplicas, unless it is already
// as high; the first raise records the value it found. It returns the state
// before and after.
func (h *HPA) Raise(ctx context.Context, want int32) (before, after State, err error) {
	return h.change(ctx, func(before State) (State, map[string]any) {
		to := min(want, before.MaxReplicas)
		if to <= before.MinReplicas {
			return before, nil
		}
		after, annotations := before, map[string]any{}
		if before.Original == nil {
			annotations[OriginalAnnotation] = strconv.Itoa(int(before.MinReplicas))
			orig := before.MinReplicas
			after.Original = &orig
		}
		after.MinReplicas = to
		return after, annotations
	})
}

// Restore puts back the recorded minReplicas and removes the record. An HPA
// the burster has not raised is left alone. It returns the state before
// and after.
func (h *HPA) Restore(ctx context.Context) (before, after State, err error) {
	return h.change(ctx, func(before State) (State, map[string]any) {
		if before.Original == nil {
			return before, nil
		}
		after := before
		after.MinReplicas, after.Original = *before.Original, nil
		return after, map[string]any{OriginalAnnotation: nil}
	})
}

// change reads the HPA, lets decide compute the new state and the
// annotations to write (nil: nothing to write), and patches it, reading
// again on a conflict.
func (h *HPA) change(ctx context.Context, decide func(State) (State, map[string]any)) (before, after State, err error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		hpa, err := h.get(ctx)
		if err != nil {
			return err
		}
		if before, err = stateOf(hpa); err != nil {
			return err
		}
		var annotations map[string]any
		if after, annotations = decide(before); annotations == nil {
			return nil
		}
		return h.patch(ctx, hpa.ResourceVersion, annotations, after.MinReplicas)
	})
	return before, after, err
}

func (h *HPA) get(ctx context.Context) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	hpa, err := h.cs.AutoscalingV2().HorizontalPodAutoscalers(h.ns).Get(ctx, h.name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading HorizontalPodAutoscaler %s: %w", h.name, err)
	}
	return hpa, nil
}

// patch writes minReplicas and annotations (nil removes one) if the HPA is
// still at resourceVersion: a merge patch carrying it fails with a conflict
// otherwise, and the caller reads again.
func (h *HPA) patch(ctx context.Context, resourceVersion string, annotations map[string]any, minReplicas int32) error {
	body, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": resourceVersion, "annotations": annotations},
		"spec":     map[string]any{"minReplicas": minReplicas},
	})
	if err != nil {
		return err
	}
	_, err = h.cs.AutoscalingV2().HorizontalPodAutoscalers(h.ns).Patch(ctx, h.name, types.MergePatchType, body,
		metav1.PatchOptions{FieldManager: "burster"})
	if err != nil {
		return fmt.Errorf("patching HorizontalPodAutoscaler %s: %w", h.name, err)
	}
	return nil
}

// stateOf reads an HPA's replicas and the record of a raise.
func stateOf(hpa *autoscalingv2.HorizontalPodAutoscaler) (State, error) {
	s := State{MinReplicas: 1, MaxReplicas: hpa.Spec.MaxReplicas} // the API's default minReplicas
	if hpa.Spec.MinReplicas != nil {
		s.MinReplicas = *hpa.Spec.MinReplicas
	}
	if v, ok := hpa.Annotations[OriginalAnnotation]; ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 {
			return State{}, fmt.Errorf("HorizontalPodAutoscaler %s: annotation %s=%q is not a replica count", hpa.Name, OriginalAnnotation, v)
		}
		orig := int32(n)
		s.Original = &orig
	}
	return s, nil
}
