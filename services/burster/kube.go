package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"

	"github.com/cloudburst-demo/cloudburst/services/burster/internal/controller"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
)

// backend is what the controller drives and reports to. With the Istio
// router it holds the Kubernetes clients; the local mesh needs none.
type backend struct {
	router    router.Router
	events    controller.Recorder // nil: logs only
	clientset kubernetes.Interface
	namespace string
	identity  string
	close     func()
}

// loadKube reads the client configuration from KUBECONFIG, or the pod's
// service account in a cluster. The namespace defaults to the pod's own (or
// the kubeconfig context's).
func loadKube(cfg config) (*rest.Config, string, error) {
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

// connect builds the clients, the router and the event recorder.
func connect(ctx context.Context, cfg config, log *slog.Logger, rc *rest.Config, ns string) (*backend, error) {
	rc = rest.CopyConfig(rc)
	rc.UserAgent = "burster"
	cs, err := kubernetes.NewForConfig(rc)
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
	bc.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events(ns)})
	rt := router.NewIstio(dc, ns, cfg.VirtualService, cfg.PrimarySubset, cfg.BurstSubset)
	ev := &vsEvents{
		rec: bc.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "burster", Host: id}),
		ref: rt.Ref, log: log,
	}
	return &backend{router: rt, events: ev, clientset: cs, namespace: ns, identity: id, close: bc.Shutdown}, nil
}

// refTimeout bounds the one lookup of the VirtualService events refer to.
const refTimeout = 5 * time.Second

// vsEvents records Kubernetes events on the VirtualService, so that
// `kubectl describe virtualservice worker` shows what the burster did.
type vsEvents struct {
	rec record.EventRecorder
	ref func(context.Context) (*corev1.ObjectReference, error)
	log *slog.Logger

	mu     sync.Mutex
	cached *corev1.ObjectReference
}

func (e *vsEvents) Event(eventtype, reason, message string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cached == nil {
		ctx, cancel := context.WithTimeout(context.Background(), refTimeout)
		ref, err := e.ref(ctx)
		cancel()
		if err != nil {
			e.log.Warn("cannot record event", "reason", reason, "err", err)
			return
		}
		e.cached = ref
	}
	e.rec.Event(e.cached, eventtype, reason, message)
}
