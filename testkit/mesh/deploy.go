package mesh

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// SystemNamespace is where Istio's control plane lives.
const SystemNamespace = "istio-system"

// NetworkLabel marks a namespace (istio-system: the whole cluster), a pod
// or a gateway Service with its network.
const NetworkLabel = "topology.istio.io/network"

// deploy does, against the cluster's API server, what `make clusters` and
// `make deploy` do against a real cluster, then gives the workloads pods,
// endpoints and load-balancer addresses.
func (c *Cluster) deploy(ctx context.Context, t testing.TB, istioctl string) error {
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	// make clusters: istio-system with the network label, and cacerts.
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: SystemNamespace, Labels: map[string]string{NetworkLabel: c.Spec.Network},
	}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("%s: creating %s: %w", c.Spec.Name, SystemNamespace, err)
	}
	cacerts := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cacerts", Namespace: SystemNamespace}, Data: map[string][]byte{}}
	for _, f := range caFiles {
		b, err := os.ReadFile(filepath.Join(c.Spec.CACerts, f))
		if err != nil {
			return fmt.Errorf("%s: cacerts: %w", c.Spec.Name, err)
		}
		cacerts.Data[f] = b
	}
	if _, err := cs.CoreV1().Secrets(SystemNamespace).Create(ctx, cacerts, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("%s: creating cacerts: %w", c.Spec.Name, err)
	}

	// istioctl install, then the deployment.
	for _, o := range c.Spec.Install {
		switch o.GetKind() {
		case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
			continue
		}
		if err := c.API.Create(ctx, o.GetNamespace(), o); err != nil {
			if o.GetKind() == "CustomResourceDefinition" && apierrors.IsAlreadyExists(err) {
				continue
			}
			return fmt.Errorf("%s: install: %w", c.Spec.Name, err)
		}
	}
	if err := c.API.CreateAll(ctx, c.Spec.Objects...); err != nil {
		return fmt.Errorf("%s: deploy: %w", c.Spec.Name, err)
	}

	// What the cluster's controllers and kubelets would do.
	deployments := append(find(c.Spec.Install, "Deployment"), find(c.Spec.Objects, "Deployment")...)
	pods, err := c.podsFor(ctx, t, istioctl, deployments)
	if err != nil {
		return fmt.Errorf("%s: %w", c.Spec.Name, err)
	}
	for _, p := range pods {
		if err := c.createPod(ctx, p); err != nil {
			return fmt.Errorf("%s: %w", c.Spec.Name, err)
		}
	}
	c.Pods = pods
	return c.publishServices(ctx)
}

// caFiles are the four files of Istio's cacerts secret.
var caFiles = []string{"ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"}

func find(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}
