package mesh

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/cloudburst-demo/cloudburst/testkit/mesh/xds"
)

// Node is the xDS node the pod's istio-agent would present: the proxy type
// from its istio-proxy container's arguments (sidecar, or router for a
// gateway), every ISTIO_META_* variable of that container (literal or from
// the pod's fields) as metadata, and what the agent adds itself: the pod's
// name, namespace, service account, labels and IPs.
func (p Pod) Node() (xds.Node, error) {
	proxy := p.sidecar()
	if proxy == nil {
		return xds.Node{}, fmt.Errorf("pod %s/%s has no istio-proxy container", p.Namespace, p.Name)
	}
	typ := "sidecar"
	if len(proxy.Args) > 1 && proxy.Args[0] == "proxy" {
		typ = proxy.Args[1]
	}
	md := map[string]any{}
	for _, e := range proxy.Env {
		key, ok := strings.CutPrefix(e.Name, "ISTIO_META_")
		if !ok {
			continue
		}
		v, err := p.envValue(e)
		if err != nil {
			return xds.Node{}, err
		}
		md[key] = v
	}
	md["NAME"] = p.Name
	md["NAMESPACE"] = p.Namespace
	md["SERVICE_ACCOUNT"] = p.Spec.ServiceAccountName
	md["LABELS"] = p.Labels
	md["INSTANCE_IPS"] = p.IP()
	return xds.Node{Type: typ, IP: p.IP(), Pod: p.Name, Namespace: p.Namespace, Metadata: md}, nil
}

// envValue resolves a variable the way the kubelet would for this pod.
func (p Pod) envValue(e corev1.EnvVar) (string, error) {
	if e.ValueFrom == nil {
		return e.Value, nil
	}
	if f := e.ValueFrom.FieldRef; f != nil {
		switch f.FieldPath {
		case "metadata.name":
			return p.Name, nil
		case "metadata.namespace":
			return p.Namespace, nil
		case "spec.serviceAccountName":
			return p.Spec.ServiceAccountName, nil
		case "status.podIP":
			return p.IP(), nil
		case "spec.nodeName":
			return p.Spec.NodeName, nil
		}
		if key, ok := strings.CutPrefix(f.FieldPath, "metadata.labels['"); ok {
			return p.Labels[strings.TrimSuffix(key, "']")], nil
		}
		if key, ok := strings.CutPrefix(f.FieldPath, "metadata.annotations['"); ok {
			return p.Annotations[strings.TrimSuffix(key, "']")], nil
		}
	}
	return "", fmt.Errorf("pod %s/%s: cannot resolve %s", p.Namespace, p.Name, e.Name)
}

// Connect opens an xDS stream to the cluster's istiod as the first pod of a
// Deployment; it closes when the test ends.
func (c *Cluster) Connect(ctx context.Context, namespace, deployment string) (*xds.Client, error) {
	node, err := c.Pod(namespace, deployment).Node()
	if err != nil {
		return nil, err
	}
	return xds.Connect(ctx, c.XDS, node)
}
