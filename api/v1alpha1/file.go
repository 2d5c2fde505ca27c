package v1alpha1

import (
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// ReadFile reads one BurstPolicy from a YAML (or JSON) file, as a policy
// that never meets an API server (the demo's): strictly (an unknown or
// repeated field is an error, as kubectl's strict field validation makes
// it), with the schema's defaults filled in, and refused with every
// problem named by its field when Validate refuses it.
func ReadFile(path string) (*BurstPolicy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the policy: %w", err)
	}
	var p BurstPolicy
	if err := yaml.UnmarshalStrict(b, &p); err != nil {
		return nil, fmt.Errorf("decoding the policy in %s: %w", path, err)
	}
	if p.APIVersion != GroupVersion.String() || p.Kind != Kind {
		return nil, fmt.Errorf("%s holds %s %s, not a %s %s", path, p.APIVersion, p.Kind, GroupVersion, Kind)
	}
	if errs := p.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("the policy in %s is invalid: %w", path, errs.ToAggregate())
	}
	p.Default()
	return &p, nil
}
