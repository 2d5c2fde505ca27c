// Command slorules writes the Prometheus rules of the worker's SLO
// (package slorules) to standard output, from the SLO_* settings of the
// burster in the overlay it renders: `make slo-rules` runs it on
// k8s/overlays/slo/primary into deploy/prometheus/slo-rules.yml.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/cloudburst-demo/cloudburst/deploy/slorules"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "slorules: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	overlay := flag.String("overlay", "", "the kustomization whose burster Deployment holds the SLO_* settings")
	flag.Parse()
	if *overlay == "" {
		return errors.New("-overlay is required")
	}
	env, err := bursterEnv(*overlay)
	if err != nil {
		return err
	}
	s, err := slorules.FromEnv(env)
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

// bursterEnv renders dir and returns the plain variables of the burster
// Deployment's first container.
func bursterEnv(dir string) (map[string]string, error) {
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	for _, r := range res.Resources() {
		if r.GetKind() != "Deployment" || r.GetName() != "burster" {
			continue
		}
		m, err := r.Map()
		if err != nil {
			return nil, err
		}
		containers, _, _ := unstructured.NestedFieldNoCopy(m, "spec", "template", "spec", "containers")
		list, _ := containers.([]any)
		if len(list) == 0 {
			break
		}
		first, _ := list[0].(map[string]any)
		vars, _ := first["env"].([]any)
		env := map[string]string{}
		for _, v := range vars {
			e := v.(map[string]any)
			if value, ok := e["value"].(string); ok {
				env[e["name"].(string)] = value
			}
		}
		return env, nil
	}
	return nil, fmt.Errorf("%s renders no burster Deployment", dir)
}
