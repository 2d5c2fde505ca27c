package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Namespace creates a namespace with a unique name for one test. (envtest
// never finishes deleting namespaces, so tests do not delete them.)
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	cs := e.Clientset(t)
	ns, err := cs.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}

// Clientset is a typed admin client.
func (e *Env) Clientset(t testing.TB) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// Dynamic is an untyped admin client.
func (e *Env) Dynamic(t testing.TB) dynamic.Interface {
	t.Helper()
	dc, err := dynamic.NewForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	return dc
}

// Objects decodes a multi-document YAML file into objects.
func Objects(t testing.TB, path string) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Decode(b)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return objs
}

// Decode splits multi-document YAML into objects, skipping empty documents.
func Decode(b []byte) ([]*unstructured.Unstructured, error) {
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// Create creates objs in namespace (for namespaced kinds) with strict field
// validation, as kubectl does: an unknown or duplicate field is an error
// instead of being dropped.
func (e *Env) Create(ctx context.Context, namespace string, objs ...*unstructured.Unstructured) error {
	dc, err := dynamic.NewForConfig(e.Config)
	if err != nil {
		return err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(e.Config)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("%s %s: %w", gvk, o.GetName(), err)
		}
		var ri dynamic.ResourceInterface = dc.Resource(m.Resource)
		if m.Scope.Name() == "namespace" {
			ri = dc.Resource(m.Resource).Namespace(namespace)
		}
		if _, err := ri.Create(ctx, o, metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict}); err != nil {
			return fmt.Errorf("creating %s %s: %w", gvk.Kind, o.GetName(), err)
		}
	}
	return nil
}

// CreateAll creates objs as Create does, each in its own namespace, the
// Namespaces first (as kubectl apply orders them), and carries on past a
// refused object: the error lists every one refused.
func (e *Env) CreateAll(ctx context.Context, objs ...*unstructured.Unstructured) error {
	objs = slices.Clone(objs)
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int {
		return isNamespace(b) - isNamespace(a)
	})
	var errs []error
	for _, o := range objs {
		if err := e.Create(ctx, o.GetNamespace(), o); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func isNamespace(o *unstructured.Unstructured) int {
	if o.GetKind() == "Namespace" {
		return 1
	}
	return 0
}

// ServiceAccountConfig returns a client configuration that authenticates as
// the service account with a token from the TokenRequest API, the way a pod
// does: requests are authorized by RBAC like the real workload's.
func (e *Env) ServiceAccountConfig(t testing.TB, namespace, name string) *rest.Config {
	t.Helper()
	tr, err := e.Clientset(t).CoreV1().ServiceAccounts(namespace).CreateToken(context.Background(), name,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token for %s/%s: %v", namespace, name, err)
	}
	cfg := rest.AnonymousClientConfig(e.Config)
	cfg.BearerToken = tr.Status.Token
	return cfg
}

// Kubeconfig writes a kubeconfig file, with cluster, user and context all
// called name, that authenticates as the ServiceAccount the way a pod of
// the cluster would, so the program given it has exactly that account's
// RBAC. It returns the path.
func (e *Env) Kubeconfig(t testing.TB, name, namespace, serviceAccount string) (string, error) {
	b, err := KubeconfigFor(name, e.ServiceAccountConfig(t, namespace, serviceAccount))
	if err != nil {
		return "", err
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	return path, os.WriteFile(path, b, 0o600)
}

// KubeconfigFor writes cfg (server, CA, token or client certificate) as a
// kubeconfig whose cluster, user and context are all called name.
func KubeconfigFor(name string, cfg *rest.Config) ([]byte, error) {
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken,
		ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	kc.CurrentContext = name
	return clientcmd.Write(*kc)
}
