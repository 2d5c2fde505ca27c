package router

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/meshapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// LocalMesh sets the weights of the local demo's stand-in mesh through its
// admin API (package meshapi). It has no watch: the controller reads the
// weights back every interval to find changes made by anyone else. It also
// reads each destination's readiness from the mesh (Endpoints), as the
// Kubernetes routers' burster reads each burst cluster's EndpointSlices.
type LocalMesh struct {
	url, endpoints string
	client         *http.Client
}

// NewLocalMesh returns a router for the admin API at url.
func NewLocalMesh(url string, timeout time.Duration) *LocalMesh {
	base := strings.TrimSuffix(url, "/")
	return &LocalMesh{url: base + meshapi.WeightsPath, endpoints: base + meshapi.EndpointsPath, client: &http.Client{Timeout: timeout}}
}

// MeshEndpoints is one destination's readiness as the local mesh finds it.
type MeshEndpoints struct {
	mesh *LocalMesh
	name string
}

// Endpoints reads the readiness of the destination named name.
func (m *LocalMesh) Endpoints(name string) MeshEndpoints { return MeshEndpoints{mesh: m, name: name} }

// Ready is how many ready endpoints the mesh finds for the destination. A
// destination the mesh does not route to is an error.
func (e MeshEndpoints) Ready(ctx context.Context) (int, error) {
	n, ok, err := e.mesh.endpointsOf(ctx, e.name)
	if err == nil && !ok {
		err = fmt.Errorf("GET %s: the mesh has no destination %s", e.mesh.endpoints, e.name)
	}
	return n, err
}

func (m *LocalMesh) endpointsOf(ctx context.Context, name string) (int, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.endpoints, nil)
	if err != nil {
		return 0, false, fmt.Errorf("building request: %w", err)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("GET %s: %w", m.endpoints, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("GET %s: %s", m.endpoints, resp.Status)
	}
	var e meshapi.Endpoints
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&e); err != nil {
		return 0, false, fmt.Errorf("GET %s: %w", m.endpoints, err)
	}
	n, ok := e[name]
	return n, ok, nil
}

// Get returns the mesh's weights.
func (m *LocalMesh) Get(ctx context.Context) (split.Split, error) {
	return m.do(ctx, http.MethodGet, nil)
}

// Set writes s when it differs from the current weights.
func (m *LocalMesh) Set(ctx context.Context, s split.Split) (split.Split, error) {
	if err := s.Validate(); err != nil {
		return split.Split{}, err
	}
	old, err := m.Get(ctx)
	if err != nil || old == s {
		return old, err
	}
	body, _ := json.Marshal(s)
	if _, err := m.do(ctx, http.MethodPut, body); err != nil {
		return old, err
	}
	return old, nil
}

func (m *LocalMesh) do(ctx context.Context, method string, body []byte) (split.Split, error) {
	req, err := http.NewRequestWithContext(ctx, method, m.url, bytes.NewReader(body))
	if err != nil {
		return split.Split{}, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := m.client.Do(req)
	if err != nil {
		return split.Split{}, fmt.Errorf("%s %s: %w", method, m.url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return split.Split{}, fmt.Errorf("%s %s: %s: %s", method, m.url, resp.Status, bytes.TrimSpace(b))
	}
	var s split.Split
	if err := json.Unmarshal(b, &s); err != nil {
		return split.Split{}, fmt.Errorf("%s %s: reading weights: %w", method, m.url, err)
	}
	return s, nil
}
