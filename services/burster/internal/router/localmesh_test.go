package router

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
)

// fakeMeshAdmin speaks the local mesh's admin API.
func fakeMeshAdmin(t *testing.T) (*httptest.Server, *split.Split, *int) {
	t.Helper()
	cur, puts := split.AllPrimary, 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/endpoints" {
			_, _ = w.Write([]byte(`{"primary":1,"burst":0}`))
			return
		}
		if r.URL.Path != "/weights" {
			http.NotFound(w, r)
			return
		}
		if r.Method == http.MethodPut {
			var s split.Split
			if err := json.NewDecoder(r.Body).Decode(&s); err != nil || s.Validate() != nil {
				http.Error(w, `{"error":"bad weights"}`, http.StatusBadRequest)
				return
			}
			cur = s
			puts++
		}
		_ = json.NewEncoder(w).Encode(cur)
	}))
	t.Cleanup(ts.Close)
	return ts, &cur, &puts
}

func TestLocalMesh(t *testing.T) {
	ts, cur, puts := fakeMeshAdmin(t)
	r := NewLocalMesh(ts.URL+"/", time.Second)
	ctx := context.Background()
	if got, err := r.Get(ctx); err != nil || got != split.AllPrimary {
		t.Fatalf("Get = %v, %v", got, err)
	}
	old, err := r.Set(ctx, split.WithBurst(60))
	if err != nil || old != split.AllPrimary || *cur != split.WithBurst(60) {
		t.Fatalf("Set = %v, %v; mesh has %v", old, err, *cur)
	}
	if _, err := r.Set(ctx, split.WithBurst(60)); err != nil || *puts != 1 {
		t.Fatalf("a no-op Set wrote (%d writes, %v)", *puts, err)
	}
	if _, err := r.Set(ctx, split.Two(1, 0)); err == nil {
		t.Fatal("invalid split accepted")
	}
	if n, err := r.Endpoints("burst").Ready(ctx); err != nil || n != 0 {
		t.Fatalf("burst's Ready = %d, %v; want 0", n, err)
	}
	if n, err := r.Endpoints("primary").Ready(ctx); err != nil || n != 1 {
		t.Fatalf("primary's Ready = %d, %v; want 1", n, err)
	}
	if _, err := r.Endpoints("burst-2").Ready(ctx); err == nil || !strings.Contains(err.Error(), "no destination burst-2") {
		t.Fatalf("Ready of a destination the mesh does not have: %v", err)
	}
	down := NewLocalMesh("http://127.0.0.1:1", time.Second)
	if _, err := down.Get(ctx); err == nil || !strings.Contains(err.Error(), "GET http://127.0.0.1:1/weights") {
		t.Fatalf("unreachable mesh: %v", err)
	}
	if _, err := down.Endpoints("burst").Ready(ctx); err == nil {
		t.Fatal("Ready of an unreachable mesh: no error")
	}
}
