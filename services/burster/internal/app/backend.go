package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"

	"github.com/cloudburst-demo/cloudburst/services/burster/internal/capacity"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/config"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/controller"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/prescale"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/source"
)

// Backend is what the controller drives and reports to. With a router in
// the Kubernetes API (Istio, Gateway API) it holds the Kubernetes clients;
// the local mesh needs none.
type Backend struct {
	router    router.Router
	events    controller.Recorder  // nil: logs only
	clientset kubernetes.Interface // for watches: no overall timeout
	// bounded is for single requests (the Lease): each bounded by
	// QUERY_TIMEOUT, so a hung API server costs a failure, not a stall.
	bounded   kubernetes.Interface
	namespace string
	identity  string
	burst     controller.BurstReadiness // nil: the burst cluster is not read
	scaler    controller.Scaler         // nil: no pre-scaling
	close     func()
}

// Close stops what the backend started (the event broadcaster).
func (b *Backend) Close() { b.close() }

// NewBackend connects to what the configured router changes: the Kubernetes
// API for the Istio and Gateway API routers, the local mesh's admin API for
// the demo.
func NewBackend(ctx context.Context, cfg config.Config, log *slog.Logger) (*Backend, error) {
	switch cfg.Router {
	case router.KindLocalMesh:
		mesh := router.NewLocalMesh(cfg.MeshAdminURL, cfg.QueryTimeout)
		b := &Backend{router: mesh, close: func() {}}
		if cfg.MeshReadiness {
			b.burst = mesh.Endpoints(source.Burst)
		}
		return b, nil
	case router.KindIstio, router.KindGatewayAPI:
		rc, ns, err := loadKube(cfg)
		if err != nil {
			return nil, err
		}
		return Connect(ctx, cfg, log, rc, ns)
	}
	return nil, fmt.Errorf("no backend for router %q", cfg.Router)
}

// loadKube reads the client configuration from KUBECONFIG, or the pod's
// service account in a cluster. The namespace defaults to the pod's own (or
// the kubeconfig context's).
func loadKube(cfg config.Config) (*rest.Config, string, error) {
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{})
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("loading Kubernetes client configuration: %w", err)
	}
	ns := cfg.Namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil {
			return nil, "", fmt.Errorf("finding the namespace: %w", err)
		}
	}
	return rc, ns, nil
}

// Connect builds a Kubernetes router's backend on the API server rc
// reaches: the clients, the router and the event recorder for namespace ns.
func Connect(ctx context.Context, cfg config.Config, log *slog.Logger, rc *rest.Config, ns string) (*Backend, error) {
	rc = rest.CopyConfig(rc)
	rc.UserAgent = Service
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("creating Kubernetes client: %w", err)
	}
	// An HTTP timeout would cut watches short, so only the clients of
	// single requests carry one; the router bounds its own calls.
	brc := rest.CopyConfig(rc)
	brc.Timeout = cfg.QueryTimeout
	bounded, err := kubernetes.NewForConfig(brc)
	if err != nil {
		return nil, fmt.Errorf("creating Kubernetes client: %w", err)
	}
	dc, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("creating Kubernetes dynamic client: %w", err)
	}
	id := cfg.PodName
	if id == "" {
		host, _ := os.Hostname()
		id = host + "-" + rand.String(5)
	}

	bc := record.NewBroadcaster(record.WithContext(ctx))
	bc.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: bounded.CoreV1().Events(ns)})
	rt := router.NewIstio(dc, ns, cfg.VirtualService, router.TwoTargets(cfg.PrimarySubset, cfg.BurstSubset))
	if cfg.Router == router.KindGatewayAPI {
		rt = router.NewGatewayAPI(dc, ns, cfg.HTTPRoute, router.TwoTargets(cfg.PrimaryBackend, cfg.BurstBackend))
	}
	rt.WithTimeout(cfg.QueryTimeout)
	// Interfaces from the start: a nil pointer in one would not read as nil.
	var burst controller.BurstReadiness
	var scaler controller.Scaler
	if cfg.BurstKubeconfig != "" {
		brc, err := clientcmd.BuildConfigFromFlags("", cfg.BurstKubeconfig)
		if err != nil {
			return nil, fmt.Errorf("loading BURST_KUBECONFIG: %w", err)
		}
		brc.UserAgent = Service
		bcs, err := kubernetes.NewForConfig(brc)
		if err != nil {
			return nil, fmt.Errorf("creating the burst cluster's client: %w", err)
		}
		// The same namespace as here: the overlays deploy both alike.
		burst = capacity.NewList(bcs, ns, cfg.WorkerService, cfg.QueryTimeout)
		if cfg.BurstPrescale {
			scaler = prescale.New(bcs, ns, cfg.BurstHPA, cfg.QueryTimeout)
		}
	}
	ev := &objectEvents{
		rec: bc.NewRecorder(scheme.Scheme, corev1.EventSource{Component: Service, Host: id}),
		ref: rt.Ref, log: log,
	}
	return &Backend{router: rt, events: ev, clientset: cs, bounded: bounded, namespace: ns, identity: id, burst: burst, scaler: scaler,
		close: bc.Shutdown}, nil
}
