// Package deploy proves the two-cluster deployment without clusters: the
// kustomize overlays and the Istio configuration render, a real API server
// with Istio's CRDs accepts every object with strict field validation, the
// Istio semantics and cross-references hold, the rendered RBAC works with a
// real token, the real istioctl and skaffold accept the configuration, and
// two real istiods, each reading both clusters' API servers, tell each
// proxy of a burst what the mesh needs (mesh_test.go), also when the real
// burster moves the weights (burst_test.go).
package deploy
