package deploy

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	rbacconfigv3 "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	rbacv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/cloudburst-demo/cloudburst/testkit/mesh/xds"
)

// What the checks below read from istiod's output, each as Envoy would use
// it. Every check returns an error saying what is wrong, so a test can wait
// for it to pass, and a negative control for it to fail for a given reason.

const (
	namespace  = "cloudburst"
	workerFQDN = "worker." + namespace + ".svc.cluster.local"
	redisFQDN  = "redis." + namespace + ".svc.cluster.local"
	// redisCluster is the sidecars' cluster for Redis (no subsets).
	redisCluster = "outbound|6379||" + redisFQDN
	// eastWestPort is where an east-west gateway takes mTLS from the other
	// network, passed through by SNI.
	eastWestPort = 15443
	// frontendPrincipal is the frontend's identity, in either cluster.
	frontendPrincipal = "spiffe://cluster.local/ns/" + namespace + "/sa/frontend"
)

// routeWeights returns the weighted clusters of the worker's route in the
// sidecar's route configuration for port 8080.
func routeWeights(s xds.Snapshot) (map[string]uint32, error) {
	rc, ok := s.Routes["8080"]
	if !ok {
		return nil, fmt.Errorf("no route configuration 8080 (have %v)", slices.Sorted(maps.Keys(s.Routes)))
	}
	for _, vh := range rc.GetVirtualHosts() {
		if !slices.Contains(vh.GetDomains(), workerFQDN) {
			continue
		}
		for _, r := range vh.GetRoutes() {
			action := r.GetRoute()
			if action == nil {
				continue
			}
			out := map[string]uint32{}
			switch {
			case action.GetWeightedClusters() != nil:
				for _, wc := range action.GetWeightedClusters().GetClusters() {
					out[wc.GetName()] = wc.GetWeight().GetValue()
				}
			case action.GetCluster() != "":
				out[action.GetCluster()] = 100
			}
			return out, nil
		}
		return nil, fmt.Errorf("virtual host %s has no route", vh.GetName())
	}
	return nil, fmt.Errorf("route configuration 8080 has no virtual host for %s", workerFQDN)
}

// routeIs passes when the sidecar's worker route has exactly these weights.
func routeIs(want map[string]uint32) func(xds.Snapshot) error {
	return func(s xds.Snapshot) error {
		got, err := routeWeights(s)
		if err != nil {
			return err
		}
		if !maps.Equal(got, want) {
			return fmt.Errorf("the worker route splits %v, want %v", got, want)
		}
		return nil
	}
}

// serviceName is the Service a sidecar reports a request sent on a cluster
// under (istio_requests_total's destination_service_name): Istio's stats
// filter reads it from the cluster's metadata, istio.services[0].name.
func serviceName(s xds.Snapshot, cluster string) (string, error) {
	c, ok := s.Clusters[cluster]
	if !ok {
		return "", fmt.Errorf("no cluster %s", cluster)
	}
	services := c.GetMetadata().GetFilterMetadata()["istio"].GetFields()["services"].GetListValue().GetValues()
	if len(services) == 0 {
		return "", fmt.Errorf("cluster %s has no istio.services metadata", cluster)
	}
	name := services[0].GetStructValue().GetFields()["name"].GetStringValue()
	if name == "" {
		return "", fmt.Errorf("cluster %s: istio.services[0] has no name", cluster)
	}
	return name, nil
}

// endpoints returns the addresses (ip:port) of a cluster's endpoints.
func endpoints(s xds.Snapshot, cluster string) ([]string, error) {
	if _, ok := s.Clusters[cluster]; !ok {
		return nil, fmt.Errorf("no cluster %s", cluster)
	}
	cla, ok := s.Endpoints[cluster]
	if !ok {
		return nil, fmt.Errorf("no endpoints sent for %s", cluster)
	}
	var out []string
	for _, le := range cla.GetEndpoints() {
		for _, e := range le.GetLbEndpoints() {
			sa := e.GetEndpoint().GetAddress().GetSocketAddress()
			out = append(out, net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue()))))
		}
	}
	slices.Sort(out)
	return out, nil
}

// endpointsAre passes when the cluster's endpoints are exactly want.
func endpointsAre(cluster string, want ...string) func(xds.Snapshot) error {
	slices.Sort(want)
	return func(s xds.Snapshot) error {
		got, err := endpoints(s, cluster)
		if err != nil {
			return err
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("%s has endpoints %v, want %v", cluster, got, want)
		}
		return nil
	}
}

// sni is the server name a sidecar sends on a cluster's mutual TLS, the one
// the other network's east-west gateway routes by.
func sni(s xds.Snapshot, cluster string) (string, error) {
	c, ok := s.Clusters[cluster]
	if !ok {
		return "", fmt.Errorf("no cluster %s", cluster)
	}
	sockets := []*clusterv3.Cluster_TransportSocketMatch{}
	sockets = append(sockets, c.GetTransportSocketMatches()...)
	if c.GetTransportSocket() != nil {
		sockets = append(sockets, &clusterv3.Cluster_TransportSocketMatch{TransportSocket: c.GetTransportSocket()})
	}
	for _, m := range sockets {
		tls := &tlsv3.UpstreamTlsContext{}
		if m.GetTransportSocket().GetTypedConfig().UnmarshalTo(tls) == nil && tls.GetSni() != "" {
			return tls.GetSni(), nil
		}
	}
	return "", fmt.Errorf("cluster %s sends no SNI: no mutual TLS to a gateway", cluster)
}

// gatewayRoute returns the cluster an east-west gateway passes a
// connection with this SNI to, from its listener on eastWestPort.
func gatewayRoute(s xds.Snapshot, serverName string) (string, error) {
	name := fmt.Sprintf("0.0.0.0_%d", eastWestPort)
	l, ok := s.Listeners[name]
	if !ok {
		return "", fmt.Errorf("the gateway has no listener %s (have %v)", name, slices.Sorted(maps.Keys(s.Listeners)))
	}
	for _, fc := range l.GetFilterChains() {
		if !slices.Contains(fc.GetFilterChainMatch().GetServerNames(), serverName) {
			continue
		}
		for _, f := range fc.GetFilters() {
			tcp := &tcpproxyv3.TcpProxy{}
			if f.GetTypedConfig().UnmarshalTo(tcp) == nil && tcp.GetCluster() != "" {
				return tcp.GetCluster(), nil
			}
		}
		return "", fmt.Errorf("the filter chain for %s passes to no cluster", serverName)
	}
	return "", fmt.Errorf("listener %s has no filter chain for SNI %s: the gateway would reset the connection", name, serverName)
}

// inboundChains returns the sidecar's inbound filter chains for a port.
func inboundChains(s xds.Snapshot, port uint32) ([]*listenerv3.FilterChain, error) {
	l, ok := s.Listeners["virtualInbound"]
	if !ok {
		return nil, fmt.Errorf("no virtualInbound listener")
	}
	var out []*listenerv3.FilterChain
	for _, fc := range l.GetFilterChains() {
		if fc.GetFilterChainMatch().GetDestinationPort().GetValue() == port {
			out = append(out, fc)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("virtualInbound has no filter chain for port %d", port)
	}
	return out, nil
}

// admits passes when every inbound chain of the port requires mutual TLS
// and its RBAC filter allows principal and denies other.
func admits(port uint32, principal, other string) func(xds.Snapshot) error {
	return func(s xds.Snapshot) error {
		chains, err := inboundChains(s, port)
		if err != nil {
			return err
		}
		for _, fc := range chains {
			if fc.GetFilterChainMatch().GetTransportProtocol() != "tls" {
				return fmt.Errorf("inbound chain %s on %d accepts %q: mutual TLS is not required", fc.GetName(), port, fc.GetFilterChainMatch().GetTransportProtocol())
			}
			rbac, err := httpRBAC(fc)
			if err != nil {
				return fmt.Errorf("inbound chain %s: %w", fc.GetName(), err)
			}
			if !allows(rbac.GetRules(), principal) {
				return fmt.Errorf("inbound chain %s on %d does not admit %s (allowed: %v)", fc.GetName(), port, principal, principals(rbac.GetRules()))
			}
			if allows(rbac.GetRules(), other) {
				return fmt.Errorf("inbound chain %s on %d also admits %s: the policy does not select", fc.GetName(), port, other)
			}
		}
		return nil
	}
}

// httpRBAC finds the RBAC HTTP filter that enforces ALLOW policies.
func httpRBAC(fc *listenerv3.FilterChain) (*rbacv3.RBAC, error) {
	for _, f := range fc.GetFilters() {
		hcm, err := xds.HCM(f)
		if err != nil {
			continue
		}
		for _, hf := range hcm.GetHttpFilters() {
			r := &rbacv3.RBAC{}
			if hf.GetTypedConfig().UnmarshalTo(r) != nil || r.GetRules() == nil {
				continue
			}
			if r.GetRules().GetAction() == rbacconfigv3.RBAC_ALLOW {
				return r, nil
			}
		}
	}
	return nil, fmt.Errorf("no HTTP RBAC filter with ALLOW rules")
}

// allows reports whether some policy admits the principal for any request.
func allows(rules *rbacconfigv3.RBAC, principal string) bool {
	for _, p := range rules.GetPolicies() {
		for _, pr := range p.GetPrincipals() {
			if matchesPrincipal(pr, principal) {
				return true
			}
		}
	}
	return false
}

// matchesPrincipal evaluates an RBAC principal for a peer identity alone.
func matchesPrincipal(p *rbacconfigv3.Principal, principal string) bool {
	switch id := p.GetIdentifier().(type) {
	case *rbacconfigv3.Principal_Any:
		return id.Any
	case *rbacconfigv3.Principal_AndIds:
		for _, sub := range id.AndIds.GetIds() {
			if !matchesPrincipal(sub, principal) {
				return false
			}
		}
		return true
	case *rbacconfigv3.Principal_OrIds:
		for _, sub := range id.OrIds.GetIds() {
			if matchesPrincipal(sub, principal) {
				return true
			}
		}
		return false
	case *rbacconfigv3.Principal_NotId:
		return !matchesPrincipal(id.NotId, principal)
	case *rbacconfigv3.Principal_Authenticated_:
		return matchString(id.Authenticated.GetPrincipalName(), principal)
	case *rbacconfigv3.Principal_FilterState:
		return id.FilterState.GetKey() == "io.istio.peer_principal" && matchString(id.FilterState.GetStringMatch(), principal)
	}
	return false
}

func matchString(m *matcherv3.StringMatcher, s string) bool {
	switch p := m.GetMatchPattern().(type) {
	case *matcherv3.StringMatcher_Exact:
		return p.Exact == s
	case *matcherv3.StringMatcher_Prefix:
		return strings.HasPrefix(s, p.Prefix)
	case *matcherv3.StringMatcher_Suffix:
		return strings.HasSuffix(s, p.Suffix)
	}
	return false
}

// principals lists the exact identities the rules name, for messages.
func principals(rules *rbacconfigv3.RBAC) []string {
	var out []string
	var walk func(p *rbacconfigv3.Principal)
	walk = func(p *rbacconfigv3.Principal) {
		switch id := p.GetIdentifier().(type) {
		case *rbacconfigv3.Principal_AndIds:
			for _, sub := range id.AndIds.GetIds() {
				walk(sub)
			}
		case *rbacconfigv3.Principal_OrIds:
			for _, sub := range id.OrIds.GetIds() {
				walk(sub)
			}
		case *rbacconfigv3.Principal_Authenticated_:
			out = append(out, id.Authenticated.GetPrincipalName().GetExact())
		case *rbacconfigv3.Principal_FilterState:
			out = append(out, id.FilterState.GetStringMatch().GetExact())
		}
	}
	for _, p := range rules.GetPolicies() {
		for _, pr := range p.GetPrincipals() {
			walk(pr)
		}
	}
	return out
}
