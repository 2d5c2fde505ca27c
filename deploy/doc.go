// Package deploy proves the two-cluster deployment without clusters: the
// kustomize overlays and the Istio configuration render, a real API server
// with Istio's CRDs accepts every object with strict field validation, the
// Istio semantics and cross-references hold, the rendered RBAC works with a
// real token, and the real istioctl and skaffold accept the configuration.
package deploy
