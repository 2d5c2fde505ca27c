package mesh

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/cloudburst-demo/cloudburst/testkit/kube"
)

// Pod is a pod standing for one replica of a Deployment.
type Pod struct {
	*corev1.Pod
	// Deployment is the Deployment the pod belongs to.
	Deployment string
}

// IP is the pod's address.
func (p Pod) IP() string { return p.Status.PodIP }

// Pod returns the first pod of a Deployment.
func (c *Cluster) Pod(namespace, deployment string) Pod {
	for _, p := range c.Pods {
		if p.Namespace == namespace && p.Deployment == deployment {
			return p
		}
	}
	panic(fmt.Sprintf("mesh: cluster %s has no pod of %s/%s", c.Spec.Name, namespace, deployment))
}

func (c *Cluster) clientset() (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(c.API.Config)
}

// podsFor makes the pods a ReplicaSet would for each Deployment (its
// replicas, or one when the field is left to an autoscaler), injected by
// `istioctl kube-inject` with the cluster's own injector configuration when
// the sidecar injector would inject them, and gives each an address.
func (c *Cluster) podsFor(ctx context.Context, t testing.TB, istioctl string, deployments []*unstructured.Unstructured) ([]Pod, error) {
	cs, err := c.clientset()
	if err != nil {
		return nil, err
	}
	var inject []*unstructured.Unstructured
	for _, d := range deployments {
		ns, err := cs.CoreV1().Namespaces().Get(ctx, d.GetNamespace(), metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("namespace of %s: %w", d.GetName(), err)
		}
		if wantsSidecar(ns, d) {
			inject = append(inject, d)
		}
	}
	injected := map[string]*appsv1.Deployment{}
	if len(inject) > 0 {
		out, err := c.kubeInject(t, istioctl, inject)
		if err != nil {
			return nil, err
		}
		for _, d := range out {
			injected[d.Namespace+"/"+d.Name] = d
		}
	}

	var pods []Pod
	for _, u := range deployments {
		d := injected[u.GetNamespace()+"/"+u.GetName()]
		if d == nil {
			d = &appsv1.Deployment{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, d); err != nil {
				return nil, fmt.Errorf("deployment %s: %w", u.GetName(), err)
			}
		}
		replicas := int32(1)
		if d.Spec.Replicas != nil {
			replicas = *d.Spec.Replicas
		}
		for i := range replicas {
			if len(pods)+10 > 254 {
				return nil, fmt.Errorf("more pods than addresses in %s.0/24", c.Spec.PodSubnet)
			}
			pods = append(pods, Pod{Deployment: d.Name, Pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{
					Name: fmt.Sprintf("%s-%d", d.Name, i), Namespace: d.Namespace,
					Labels: d.Spec.Template.Labels, Annotations: d.Spec.Template.Annotations,
				},
				Spec: d.Spec.Template.Spec,
				Status: corev1.PodStatus{
					PodIP: fmt.Sprintf("%s.%d", c.Spec.PodSubnet, len(pods)+10),
				},
			}})
		}
	}
	return pods, nil
}

// wantsSidecar is the sidecar injector's decision: a namespace labelled
// istio-injection=enabled, or a pod template labelled
// sidecar.istio.io/inject=true (how gateways ask), unless the template
// says false.
func wantsSidecar(ns *corev1.Namespace, d *unstructured.Unstructured) bool {
	labels, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
	switch labels["sidecar.istio.io/inject"] {
	case "false":
		return false
	case "true":
		return true
	}
	return ns.Labels["istio-injection"] == "enabled"
}

// kubeInject runs the real `istioctl kube-inject` on the Deployments with the
// injector template, values and mesh configuration the cluster's install
// put in its ConfigMaps, as the injection webhook would use them.
func (c *Cluster) kubeInject(t testing.TB, istioctl string, deployments []*unstructured.Unstructured) ([]*appsv1.Deployment, error) {
	dir := t.TempDir()
	injector, mesh := configMap(c.Spec.Install, "istio-sidecar-injector"), configMap(c.Spec.Install, "istio")
	if injector == nil || mesh == nil {
		return nil, fmt.Errorf("the install has no istio-sidecar-injector or istio ConfigMap")
	}
	files := map[string]string{"inject.yaml": injector["config"], "values.yaml": injector["values"], "mesh.yaml": mesh["mesh"]}
	for name, content := range files {
		if _, err := writeFile(t, dir, name, []byte(content)); err != nil {
			return nil, err
		}
	}
	var in bytes.Buffer
	for _, d := range deployments {
		b, err := yaml.Marshal(d.Object)
		if err != nil {
			return nil, err
		}
		in.WriteString("---\n")
		in.Write(b)
	}
	inFile, err := writeFile(t, dir, "deployments.yaml", in.Bytes())
	if err != nil {
		return nil, err
	}
	// --revision: without it, istioctl asks a cluster for the default one.
	cmd := exec.Command(istioctl, "kube-inject", "--revision", "default", "-f", inFile,
		"--injectConfigFile", filepath.Join(dir, "inject.yaml"),
		"--valuesFile", filepath.Join(dir, "values.yaml"),
		"--meshConfigFile", filepath.Join(dir, "mesh.yaml"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("istioctl kube-inject: %w\n%s", err, stderr.String())
	}
	objs, err := kube.Decode(out)
	if err != nil {
		return nil, fmt.Errorf("decoding kube-inject output: %w", err)
	}
	var ds []*appsv1.Deployment
	for _, o := range objs {
		d := &appsv1.Deployment{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, d); err != nil {
			return nil, fmt.Errorf("kube-inject output %s: %w", o.GetName(), err)
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// configMap returns the data of the named ConfigMap among objs.
func configMap(objs []*unstructured.Unstructured, name string) map[string]string {
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && o.GetName() == name {
			data, _, _ := unstructured.NestedStringMap(o.Object, "data")
			return data
		}
	}
	return nil
}

// createPod creates a pod and reports it running and ready, as its kubelet
// would.
func (c *Cluster) createPod(ctx context.Context, p Pod) error {
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	// No controller manager runs: make the ServiceAccount a pod defaults to.
	sa := p.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	_, err = cs.CoreV1().ServiceAccounts(p.Namespace).Create(ctx,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("service account %s/%s: %w", p.Namespace, sa, err)
	}
	ip := p.Status.PodIP
	created, err := cs.CoreV1().Pods(p.Namespace).Create(ctx, p.Pod, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	now := metav1.Now()
	created.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, HostIP: "192.0.2.1", StartTime: &now,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		},
	}
	updated, err := cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("pod %s/%s status: %w", p.Namespace, p.Name, err)
	}
	*p.Pod = *updated
	return nil
}

// sidecar is the pod's istio-proxy container, if it was injected.
func (p Pod) sidecar() *corev1.Container {
	for i, c := range p.Spec.Containers {
		if c.Name == "istio-proxy" {
			return &p.Spec.Containers[i]
		}
	}
	for i, c := range p.Spec.InitContainers {
		if c.Name == "istio-proxy" { // native sidecar
			return &p.Spec.InitContainers[i]
		}
	}
	return nil
}

// containerPort resolves a Service's target port against the pod.
func (p Pod) containerPort(target string) (int32, bool) {
	for _, c := range p.Spec.Containers {
		for _, port := range c.Ports {
			if port.Name == target || fmt.Sprint(port.ContainerPort) == target {
				return port.ContainerPort, true
			}
		}
	}
	return 0, false
}

// matches reports whether the pod has every label of selector.
func (p Pod) matches(namespace string, selector map[string]string) bool {
	if p.Namespace != namespace || len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if p.Labels[k] != v {
			return false
		}
	}
	return true
}
