// Package xds stands in for one Envoy in tests: it opens the aggregated
// discovery stream (ADS) to istiod with the node identity and metadata
// istio-agent would send for a pod, follows the resources the way Envoy does
// (every cluster and listener, then the endpoints of the EDS clusters and the
// routes the listeners name), acknowledges every response so istiod keeps
// pushing, and lets a test wait until what it was told passes a check.
package xds

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// The resource types, as type URLs.
const (
	ClusterType  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	EndpointType = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	ListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"
	RouteType    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
)

// Node is the proxy the client poses as.
type Node struct {
	// Type is "sidecar" or "router" (a gateway), as in the node ID.
	Type      string
	IP        string
	Pod       string
	Namespace string
	// Metadata is what istio-agent sends as node metadata: CLUSTER_ID,
	// NETWORK, NAMESPACE, LABELS, INSTANCE_IPS and the rest. Values are
	// strings, or map[string]string for LABELS.
	Metadata map[string]any
}

// ID is the node ID istio-agent uses: TYPE~IP~POD.NAMESPACE~NAMESPACE.svc.cluster.local.
func (n Node) ID() string {
	return fmt.Sprintf("%s~%s~%s.%s~%s.svc.cluster.local", n.Type, n.IP, n.Pod, n.Namespace, n.Namespace)
}

func (n Node) proto() (*corev3.Node, error) {
	md := map[string]any{}
	for k, v := range n.Metadata {
		switch v := v.(type) {
		case map[string]string:
			m := map[string]any{}
			for k2, v2 := range v {
				m[k2] = v2
			}
			md[k] = m
		default:
			md[k] = v
		}
	}
	s, err := structpb.NewStruct(md)
	if err != nil {
		return nil, fmt.Errorf("node metadata: %w", err)
	}
	return &corev3.Node{Id: n.ID(), Cluster: n.Pod + "." + n.Namespace, Metadata: s}, nil
}

// Snapshot is what the proxy has been told so far. Its messages are shared
// with the client: read them, do not change them.
type Snapshot struct {
	Listeners map[string]*listenerv3.Listener
	Clusters  map[string]*clusterv3.Cluster
	Routes    map[string]*routev3.RouteConfiguration
	Endpoints map[string]*endpointv3.ClusterLoadAssignment
	// Received is when the last response of each type URL arrived.
	Received map[string]time.Time
}

// Client is one ADS stream.
type Client struct {
	node   *corev3.Node
	conn   *grpc.ClientConn
	stream grpc.BidiStreamingClient[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]
	cancel context.CancelFunc
	done   chan struct{}

	// Only the receiving goroutine sends, after Connect's first requests.
	subscribed map[string][]string // EDS and RDS names asked for
	nonces     map[string]string
	versions   map[string]string

	mu      sync.Mutex
	snap    Snapshot
	changed chan struct{} // closed and replaced on every update
	err     error         // why the stream ended
}

// Connect opens the stream to istiod's plaintext xDS address and asks for
// every cluster and listener. It returns once the requests are sent; use
// Wait for what comes back.
func Connect(ctx context.Context, addr string, node Node) (*Client, error) {
	np, err := node.proto()
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		return nil, fmt.Errorf("xds client for %s: %w", addr, err)
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(sctx)
	if err != nil {
		cancel()
		_ = conn.Close()
		return nil, fmt.Errorf("opening ADS to %s: %w", addr, err)
	}
	c := &Client{
		node: np, conn: conn, stream: stream, cancel: cancel, done: make(chan struct{}),
		subscribed: map[string][]string{}, nonces: map[string]string{}, versions: map[string]string{},
		changed: make(chan struct{}),
		snap: Snapshot{
			Listeners: map[string]*listenerv3.Listener{}, Clusters: map[string]*clusterv3.Cluster{},
			Routes: map[string]*routev3.RouteConfiguration{}, Endpoints: map[string]*endpointv3.ClusterLoadAssignment{},
			Received: map[string]time.Time{},
		},
	}
	// Envoy's order: clusters first, then listeners (wildcard requests).
	for _, typ := range []string{ClusterType, ListenerType} {
		if err := c.send(typ); err != nil {
			cancel()
			_ = conn.Close()
			return nil, fmt.Errorf("subscribing to %s: %w", typ, err)
		}
	}
	go c.receive()
	return c, nil
}

// Close ends the stream.
func (c *Client) Close() {
	c.cancel()
	<-c.done
	_ = c.conn.Close()
}

// send asks for typ's resources, acknowledging the last response of it.
func (c *Client) send(typ string) error {
	req := &discoveryv3.DiscoveryRequest{
		TypeUrl: typ, ResourceNames: c.subscribed[typ],
		VersionInfo: c.versions[typ], ResponseNonce: c.nonces[typ],
	}
	if c.nonces[typ] == "" {
		req.Node = c.node
	}
	return c.stream.Send(req)
}

func (c *Client) receive() {
	defer close(c.done)
	for {
		resp, err := c.stream.Recv()
		if err != nil {
			c.fail(fmt.Errorf("ADS stream: %w", err))
			return
		}
		if err := c.handle(resp); err != nil {
			c.fail(err)
			return
		}
	}
}

func (c *Client) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// handle stores one response, acknowledges it, and follows it: new EDS
// clusters and new route names are asked for, as Envoy would.
func (c *Client) handle(resp *discoveryv3.DiscoveryResponse) error {
	typ := resp.GetTypeUrl()
	c.nonces[typ] = resp.GetNonce()
	c.versions[typ] = resp.GetVersionInfo()

	var follow string
	var names []string
	c.mu.Lock()
	var err error
	switch typ {
	case ClusterType:
		err = decodeInto(resp, c.snap.Clusters, true)
		follow, names = EndpointType, edsClusters(c.snap.Clusters)
	case ListenerType:
		err = decodeInto(resp, c.snap.Listeners, true)
		follow, names = RouteType, routeNames(c.snap.Listeners)
	case EndpointType:
		err = decodeInto(resp, c.snap.Endpoints, false)
	case RouteType:
		err = decodeInto(resp, c.snap.Routes, false)
	default:
		// Istio also pushes its own types (for example NDS); ignored.
	}
	if err == nil {
		c.snap.Received[typ] = time.Now()
		close(c.changed)
		c.changed = make(chan struct{})
	}
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("decoding %s: %w", typ, err)
	}

	if err := c.send(typ); err != nil {
		return fmt.Errorf("acknowledging %s: %w", typ, err)
	}
	if follow != "" && !slices.Equal(names, c.subscribed[follow]) {
		c.subscribed[follow] = names
		if err := c.send(follow); err != nil {
			return fmt.Errorf("subscribing to %s: %w", follow, err)
		}
	}
	return nil
}

// decodeInto stores the response's resources in m. A state-of-the-world
// response for clusters and listeners carries the whole set: it replaces m.
func decodeInto[T proto.Message](resp *discoveryv3.DiscoveryResponse, m map[string]T, whole bool) error {
	decoded := map[string]T{}
	for _, a := range resp.GetResources() {
		msg, err := anypb.UnmarshalNew(a, proto.UnmarshalOptions{})
		if err != nil {
			return err
		}
		r, ok := msg.(T)
		if !ok {
			return fmt.Errorf("unexpected %s", a.GetTypeUrl())
		}
		decoded[nameOf(r)] = r
	}
	if whole {
		clear(m)
	}
	maps.Copy(m, decoded)
	return nil
}

// nameOf is the resource's name; a ClusterLoadAssignment names its cluster.
func nameOf(r proto.Message) string {
	switch r := r.(type) {
	case *endpointv3.ClusterLoadAssignment:
		return r.GetClusterName()
	case interface{ GetName() string }:
		return r.GetName()
	}
	return ""
}

func edsClusters(clusters map[string]*clusterv3.Cluster) []string {
	var names []string
	for name, c := range clusters {
		if c.GetType() == clusterv3.Cluster_EDS {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func routeNames(listeners map[string]*listenerv3.Listener) []string {
	set := map[string]bool{}
	for _, l := range listeners {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				if hcm, err := HCM(f); err == nil && hcm.GetRds() != nil {
					set[hcm.GetRds().GetRouteConfigName()] = true
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// HCM decodes a network filter that is an HTTP connection manager.
func HCM(f *listenerv3.Filter) (*hcmv3.HttpConnectionManager, error) {
	hcm := &hcmv3.HttpConnectionManager{}
	if err := f.GetTypedConfig().UnmarshalTo(hcm); err != nil {
		return nil, err
	}
	return hcm, nil
}

// Snapshot returns what the proxy has been told so far.
func (c *Client) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Snapshot{
		Listeners: maps.Clone(c.snap.Listeners), Clusters: maps.Clone(c.snap.Clusters),
		Routes: maps.Clone(c.snap.Routes), Endpoints: maps.Clone(c.snap.Endpoints),
		Received: maps.Clone(c.snap.Received),
	}
}

// ErrStreamEnded wraps the reason the stream ended.
var ErrStreamEnded = errors.New("the xDS stream ended")

// Wait returns nil as soon as what the proxy has been told passes check. On
// timeout, it returns check's last error: what was still wrong.
func (c *Client) Wait(ctx context.Context, timeout time.Duration, check func(Snapshot) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		c.mu.Lock()
		changed, streamErr := c.changed, c.err
		c.mu.Unlock()
		err := check(c.Snapshot())
		if err == nil {
			return nil
		}
		if streamErr != nil {
			return fmt.Errorf("%w (%w); last check: %w", ErrStreamEnded, streamErr, err)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("after %s: %w", timeout, err)
		}
	}
}
