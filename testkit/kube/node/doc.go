// Package node runs real one-node Kubernetes clusters on this machine, for
// the tests of what only a kubelet shows: that the images start as the pod
// specs ask, probes pass, service-account tokens reach the pods,
// EndpointSlices report real readiness and the HorizontalPodAutoscaler
// scales a Deployment.
//
// A cluster is the project's API server (testkit/kube, with the
// ServiceAccount admission plugin on and a serving certificate pods can
// check) and a node in a network namespace of its own: containerd with its
// CRI plugin and runc, the bridge CNI plugin, the kubelet, kube-proxy
// (iptables), kube-scheduler and kube-controller-manager, all of the
// release of the API server, built by `make envtest` into bin/node. Images
// are pulled from a registry on this machine's loopback, through a
// forward into the namespace; the pause image is built here. The node's
// network reaches nothing but its own pods, its API server and the
// registry: the API server and the registry are forwarded into it, and the
// cluster's DNS (Services' names, as CoreDNS would answer them) is served
// into it by this package.
//
// It needs Linux and root (network namespaces, cgroups, mounts); elsewhere
// Start skips the test, or fails it with CI=true.
package node
