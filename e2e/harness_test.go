package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
		for _, s := range []string{"worker", "frontend"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, s), ".")
			cmd.Dir = filepath.Join(repoRoot, "services", s)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("building %s: %v\n%s", s, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, service)
}

// process is one service binary running for a test, its output prefixed and
// kept for the failure message.
type process struct {
	name    string
	cmd     *exec.Cmd
	port    int
	env     map[string]string
	base    string // http://127.0.0.1:PORT
	mu      sync.Mutex
	log     []string
	stopped sync.Once
}

// restart stops the service and starts it again on the same port.
func (p *process) restart(t testing.TB) *process {
	t.Helper()
	p.stop(t)
	return startOn(t, p.name, p.port, p.env)
}

// start runs a service on a free loopback port with env and waits until it
// is ready. It is stopped with SIGTERM when the test ends.
func start(t testing.TB, service string, env map[string]string) *process {
	t.Helper()
	return startOn(t, service, component.FreePort(t), env)
}

// startOn is start on a given port, e.g. to restart a service where pages
// and clients expect it.
func startOn(t testing.TB, service string, port int, env map[string]string) *process {
	t.Helper()
	cmd := exec.Command(binary(t, service))
	cmd.Env = append(os.Environ(), "HOST=127.0.0.1", "PORT="+strconv.Itoa(port), "DRAIN_DELAY=0s", "LOG_LEVEL=warn")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{name: service, cmd: cmd, port: port, env: env, base: "http://127.0.0.1:" + strconv.Itoa(port)}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", service, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.log = append(p.log, sc.Text())
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() { p.stop(t) })

	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within 15s; output:\n%s", service, p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

// stop sends SIGTERM and checks the service exits cleanly and promptly.
// Only the first call does anything.
func (p *process) stop(t testing.TB) {
	p.stopped.Do(func() { p.terminate(t) })
}

func (p *process) terminate(t testing.TB) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s exited with %v on SIGTERM; output:\n%s", p.name, err, p.output())
		}
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
		t.Errorf("%s did not exit within 15s of SIGTERM", p.name)
	}
}

// stack is Redis, one worker and the frontend pointed at it.
type stack struct {
	redis    *redisserver.Server
	worker   *process
	frontend *process
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
