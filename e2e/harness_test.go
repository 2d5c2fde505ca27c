package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/process"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/redisserver"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = ".."

// binDir holds the service binaries built once for the whole test run.
var (
	binDir   string
	buildErr error
	build    sync.Once
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds every service once and returns the path of one.
func binary(t testing.TB, service string) string {
	t.Helper()
	build.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "cloudburst-e2e-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(filepath.Separator), "./services/worker", "./services/frontend", "./services/burster", "./demo/cmd/localmesh", "./e2e/cmd/bare")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building the services: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, service)
}

// service is one service binary running for a test, its output kept for
// the failure message.
type service struct {
	name    string
	port    int
	env     map[string]string
	base    string // http://127.0.0.1:PORT, the port the service bound
	proc    *process.Process
	log     *process.Log
	stopped bool
}

// restart stops the service and starts it again on the same port.
func (s *service) restart(t testing.TB) *service {
	t.Helper()
	s.stop(t)
	return startOn(t, s.name, s.port, s.env)
}

// start runs a service on a loopback port of its own choosing (PORT=0, so
// no other test can take it first) with env and waits until it is ready.
// It is stopped with SIGTERM when the test ends.
func start(t testing.TB, name string, env map[string]string) *service {
	t.Helper()
	return startOn(t, name, 0, env)
}

// startOn is start on a given port, e.g. to restart a service where pages
// and clients expect it; 0 lets the service choose.
func startOn(t testing.TB, name string, port int, env map[string]string) *service {
	t.Helper()
	s := &service{name: name, env: env, log: &process.Log{}}
	// Info: the line saying which address it bound; services log nothing
	// per request at that level.
	all := map[string]string{"HOST": "127.0.0.1", "PORT": strconv.Itoa(port), "DRAIN_DELAY": "0s", "LOG_LEVEL": "info"}
	for k, v := range env {
		all[k] = v
	}
	p, err := process.Start(process.Spec{
		Name: name, Path: binary(t, name), Env: all, Lines: s.log.Add,
		Ready: func() error {
			addr, err := component.ListenAddr(s.log.Lines())
			if err != nil {
				return err
			}
			return process.HTTPReady("http://" + addr + "/readyz")()
		},
		ReadyTimeout: 15 * time.Second, StopTimeout: 15 * time.Second,
	})
	if err != nil {
		t.Fatalf("%v; output:\n%s", err, s.log)
	}
	addr, _ := component.ListenAddr(s.log.Lines())
	_, p2, _ := net.SplitHostPort(addr)
	s.port, _ = strconv.Atoi(p2)
	s.base = "http://" + addr
	s.proc = p
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop sends SIGTERM and checks the service exits cleanly and promptly.
// Only the first call does anything; a service that died on its own is
// reported then.
func (s *service) stop(t testing.TB) {
	if s.stopped {
		return
	}
	s.stopped = true
	if err := s.proc.Stop(); err != nil {
		t.Errorf("%s did not exit cleanly on SIGTERM: %v; output:\n%s", s.name, err, s.log)
	}
}

// stack is Redis, one worker and the frontend pointed at it.
type stack struct {
	redis    *redisserver.Server
	worker   *service
	frontend *service
}

func startStack(t testing.TB, prefix string, frontendEnv map[string]string) *stack {
	t.Helper()
	rs := redisserver.Start(t)
	w := start(t, "worker", map[string]string{"REDIS_URL": rs.Addr, "PREFIX": prefix})
	env := map[string]string{"REDIS_URL": rs.Addr, "PROCESSOR_URL": w.base + "/"}
	for k, v := range frontendEnv {
		env[k] = v
	}
	f := start(t, "frontend", env)
	return &stack{redis: rs, worker: w, frontend: f}
}

// artifactDir is the ignored folder where tests keep screenshots.
func artifactDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(repoRoot, "out", "e2e")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// putRate sets the frontend's rate through its API.
func putRate(ctx context.Context, base string, rps int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/api/rate", strings.NewReader(fmt.Sprintf(`{"rps":%d}`, rps)))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT /api/rate %d: %s", rps, resp.Status)
	}
	return nil
}
