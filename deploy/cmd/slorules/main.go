// Command slorules writes the Prometheus rules of the worker's SLO
// (package slorules) to standard output, from the objective of the worker's
// BurstPolicy in the overlay it renders: `make slo-rules` runs it on
// k8s/overlays/slo/primary into deploy/prometheus/slo-rules.yml.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/deploy/slorules"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "slorules: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	overlay := flag.String("overlay", "", "the kustomization whose worker BurstPolicy holds the objective")
	flag.Parse()
	if *overlay == "" {
		return errors.New("-overlay is required")
	}
	p, err := workerPolicy(*overlay)
	if err != nil {
		return err
	}
	s, err := slorules.FromPolicy(p)
	if err != nil {
		return err
	}
	out, err := slorules.Render(s)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(out)
	return err
}

// workerPolicy renders dir and returns its worker BurstPolicy.
func workerPolicy(dir string) (*v1alpha1.BurstPolicy, error) {
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	for _, r := range res.Resources() {
		if r.GetKind() != v1alpha1.Kind || r.GetName() != "worker" {
			continue
		}
		m, err := r.Map()
		if err != nil {
			return nil, err
		}
		var p v1alpha1.BurstPolicy
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(m, &p, true); err != nil {
			return nil, fmt.Errorf("%s: the worker BurstPolicy: %w", dir, err)
		}
		return &p, nil
	}
	return nil, fmt.Errorf("%s renders no worker BurstPolicy", dir)
}
