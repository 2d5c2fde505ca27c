//go:build linux

package node

import (
	"net"
	"strings"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// clusterDomain is the cluster's DNS domain, the kubelet's clusterDomain.
const clusterDomain = "cluster.local."

// clusterDNS answers what a cluster's DNS (CoreDNS' kubernetes plugin)
// answers for the names the manifests use: a Service's cluster IP for
// NAME.NAMESPACE.svc.cluster.local, from the API server. Every other name
// under cluster.local does not exist; names outside it are refused (the
// pods have nowhere else to go).
type clusterDNS struct {
	services corelisters.ServiceLister
}

func (d *clusterDNS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	if !dns.IsSubDomain(clusterDomain, name) {
		m.Rcode = dns.RcodeRefused
		_ = w.WriteMsg(m)
		return
	}
	ip := d.lookup(name)
	switch {
	case ip == nil:
		m.Rcode = dns.RcodeNameError
	case q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY:
		m.Answer = append(m.Answer, &dns.A{
			Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5},
			A:   ip,
		})
	}
	// Another type of a name that exists: no data, no error.
	_ = w.WriteMsg(m)
}

// lookup is the cluster IP of the Service NAME.NAMESPACE.svc.cluster.local.
func (d *clusterDNS) lookup(name string) net.IP {
	labels := dns.SplitDomainName(strings.TrimSuffix(name, "."+clusterDomain))
	if len(labels) != 3 || labels[2] != "svc" {
		return nil
	}
	svc, err := d.services.Services(labels[1]).Get(labels[0])
	if err != nil || svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return nil
	}
	return net.ParseIP(svc.Spec.ClusterIP).To4()
}
