package mesh

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cloudburst-demo/cloudburst/pkg/poll"
	"github.com/cloudburst-demo/cloudburst/pkg/process"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/kube"
)

// startIstiod runs pilot-discovery as the cluster's istiod: the arguments
// and environment of the install's istiod Deployment, its cacerts where
// the Deployment mounts them, and the identity of its ServiceAccount (so the
// install's RBAC is what it works with). Only its addresses differ: free
// loopback ports, and no TLS servers (xDS is read on the plaintext port).
func (c *Cluster) startIstiod(t testing.TB, binary string) error {
	d, err := c.istiodDeployment()
	if err != nil {
		return err
	}
	dir := t.TempDir()
	for _, f := range caFiles {
		b, err := os.ReadFile(filepath.Join(c.Spec.CACerts, f))
		if err != nil {
			return err
		}
		if _, err := writeFile(t, dir, filepath.Join("etc", "cacerts", f), b); err != nil {
			return err
		}
	}
	kubeconfigFile, err := c.Kubeconfig(t, SystemNamespace, d.Spec.Template.Spec.ServiceAccountName)
	if err != nil {
		return err
	}

	container := d.Spec.Template.Spec.Containers[0]
	env := map[string]string{
		"POD_NAME":        "istiod-0",
		"POD_NAMESPACE":   SystemNamespace,
		"SERVICE_ACCOUNT": d.Spec.Template.Spec.ServiceAccountName,
		"ROOT_CA_DIR":     filepath.Join(dir, "etc", "cacerts"),
	}
	for _, e := range container.Env {
		if e.ValueFrom == nil && e.Name != "KUBECONFIG" {
			env[e.Name] = e.Value
		}
	}
	// A free port can be taken by another test process before istiod binds
	// it (test packages run in parallel): then it exits at once, and is
	// started again on other ports.
	var p *process.Process
	err = component.RetryPortTaken(t, "starting istiod for "+c.Spec.Name, func() (string, error) {
		before := len(c.logs.Lines()) // this attempt's output only: an earlier clash is not this one's
		ports := component.FreePorts(t, 3)
		c.HTTP, c.XDS = loopback(ports[0]), loopback(ports[1])
		var args []string
		for _, a := range container.Args {
			if !strings.HasPrefix(a, "--monitoringAddr") {
				args = append(args, a)
			}
		}
		args = append(args, "--kubeconfig", kubeconfigFile,
			"--httpAddr", c.HTTP, "--grpcAddr", c.XDS, "--monitoringAddr", loopback(ports[2]),
			"--secureGRPCAddr", "", "--httpsAddr", "")
		var err error
		p, err = process.Start(process.Spec{
			Name: "istiod-" + c.Spec.Name, Path: binary, Args: args,
			Dir: dir, Env: env, Lines: c.logs.Add,
			Ready:        process.HTTPReady("http://" + c.HTTP + "/ready"),
			ReadyTimeout: 60 * time.Second,
		})
		lines := c.logs.Lines()
		return strings.Join(lines[min(before, len(lines)):], "\n"), err
	})
	if err != nil {
		return err
	}
	c.istiod = p
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Logf("stopping istiod %s: %v", c.Spec.Name, err)
		}
	})
	return nil
}

func (c *Cluster) istiodDeployment() (*appsv1.Deployment, error) {
	for _, o := range find(c.Spec.Install, "Deployment") {
		if o.GetName() == "istiod" {
			d := &appsv1.Deployment{}
			err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, d)
			return d, err
		}
	}
	return nil, fmt.Errorf("%s: the install has no istiod Deployment", c.Spec.Name)
}

// Kubeconfig writes a kubeconfig file that authenticates to the cluster's
// API server as a ServiceAccount, the way a pod of it would, so the
// program given it has exactly that account's RBAC. It returns the path.
func (c *Cluster) Kubeconfig(t testing.TB, namespace, serviceAccount string) (string, error) {
	return c.API.Kubeconfig(t, c.Spec.Name, namespace, serviceAccount)
}

// RemoteSecretName is the name `istioctl create-remote-secret` gives the
// secret that lets istiod read the named cluster.
func RemoteSecretName(cluster string) string { return "istio-remote-secret-" + cluster }

// AddRemoteSecret lets this cluster's istiod read other's API server: the
// secret `istioctl create-remote-secret` writes (label
// istio/multiCluster=true, the cluster's name as annotation and key), with a
// token of other's istio-reader-service-account, so the reader's RBAC from
// other's install is what istiod works with.
func (c *Cluster) AddRemoteSecret(ctx context.Context, t testing.TB, other *Cluster) error {
	kc, err := kube.KubeconfigFor(other.Spec.Name, other.API.ServiceAccountConfig(t, SystemNamespace, "istio-reader-service-account"))
	if err != nil {
		return err
	}
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	_, err = cs.CoreV1().Secrets(SystemNamespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        RemoteSecretName(other.Spec.Name),
			Labels:      map[string]string{"istio/multiCluster": "true"},
			Annotations: map[string]string{"networking.istio.io/cluster": other.Spec.Name},
		},
		Data: map[string][]byte{other.Spec.Name: kc},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("%s: remote secret for %s: %w", c.Spec.Name, other.Spec.Name, err)
	}
	return nil
}

// RemoveRemoteSecret deletes the secret that lets istiod read the named
// cluster.
func (c *Cluster) RemoveRemoteSecret(ctx context.Context, cluster string) error {
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	err = cs.CoreV1().Secrets(SystemNamespace).Delete(ctx, RemoteSecretName(cluster), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: deleting the remote secret for %s: %w", c.Spec.Name, cluster, err)
	}
	return nil
}

// RemoteCluster is one line of istiod's /debug/clusterz: a cluster it reads
// endpoints from and whether it has synced it.
type RemoteCluster struct {
	ID         string `json:"id"`
	SecretName string `json:"secretName"`
	SyncStatus string `json:"syncStatus"`
}

// RemoteClusters asks istiod which clusters it reads (what `istioctl
// remote-clusters` shows).
func (c *Cluster) RemoteClusters(ctx context.Context) ([]RemoteCluster, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.HTTP+"/debug/clusterz", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("istiod %s /debug/clusterz: %s: %s", c.Spec.Name, resp.Status, b)
	}
	var out []RemoteCluster
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("istiod %s /debug/clusterz: %w", c.Spec.Name, err)
	}
	return out, nil
}

// WaitSynced waits until istiod reports each named cluster synced.
func (c *Cluster) WaitSynced(ctx context.Context, timeout time.Duration, clusters ...string) error {
	return poll.Until(ctx, timeout, 100*time.Millisecond, func() error {
		remotes, err := c.RemoteClusters(ctx)
		if err != nil {
			return err
		}
		status := map[string]string{}
		for _, r := range remotes {
			status[r.ID] = r.SyncStatus
		}
		for _, want := range clusters {
			if status[want] != "synced" {
				return fmt.Errorf("istiod %s has not synced cluster %s (clusterz: %v)", c.Spec.Name, want, remotes)
			}
		}
		return nil
	})
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
