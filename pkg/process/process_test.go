package process_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/process"
)

// lines collects what a process writes.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) add(name, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, name+": "+line)
}

func (l *lines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.all...)
}

func sh(script string) (string, []string) { return "/bin/sh", []string{"-c", script} }

func TestStartReadyStop(t *testing.T) {
	var out lines
	// The trap comes first: once "oops" is seen (ready), SIGTERM is handled.
	path, args := sh(`trap 'echo bye; exit 0' TERM; echo "hello $GREETING"; echo oops >&2; while :; do sleep 0.01; done`)
	dir := t.TempDir()
	p, err := process.Start(process.Spec{
		Name: "greeter", Path: path, Args: args, Dir: dir, Env: map[string]string{"GREETING": "world"},
		Lines: out.add,
		Ready: func() error {
			for _, l := range out.get() {
				if l == "greeter: oops" {
					return nil
				}
			}
			return errors.New("no output yet")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop after a clean exit on SIGTERM = %v, want nil", err)
	}
	// The shell may also report its sleep, stopped with it, as Terminated.
	got := out.get()
	if len(got) < 3 || got[0] != "greeter: hello world" || got[1] != "greeter: oops" || got[len(got)-1] != "greeter: bye" {
		t.Fatalf("lines %q, want hello world and oops first and bye last", got)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("second Stop = %v", err)
	}
}

func TestStartFailures(t *testing.T) {
	never := func() error { return errors.New("never ready") }
	tests := []struct {
		name   string
		script string
		spec   process.Spec
		want   string
	}{
		{"exits before ready", `echo dying; exit 3`, process.Spec{Ready: never}, "exited before it was ready: exit status 3"},
		{"not ready in time", `sleep 10`, process.Spec{Ready: never, ReadyTimeout: 100 * time.Millisecond}, "not ready: not within 100ms: never ready"},
		{"no such program", "", process.Spec{Path: "/nonexistent/program"}, "starting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			spec.Name = "child"
			if spec.Path == "" {
				spec.Path, spec.Args = sh(tt.script)
			}
			start := time.Now()
			p, err := process.Start(spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) || p != nil {
				t.Fatalf("Start = %v, %v; want an error with %q", p, err, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("Start took %s: the child was not stopped", d)
			}
		})
	}
}

func TestStopEscalates(t *testing.T) {
	tests := []struct {
		name   string
		script string
		signal syscall.Signal
		exits  bool   // exits by itself: Stop comes after it has, and only reports how
		want   string // "" for a clean exit
	}{
		{"ignores SIGTERM: killed", `trap '' TERM; echo up; while :; do sleep 0.01; done`, 0, false, "signal: killed"},
		{"stops on SIGINT when asked", `trap 'exit 0' INT; echo up; while :; do sleep 0.01; done`, syscall.SIGINT, false, ""},
		{"fails on its own", `echo up; sleep 0.1; exit 4`, 0, true, "exit status 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out lines
			path, args := sh(tt.script)
			p, err := process.Start(process.Spec{Name: "child", Path: path, Args: args, Lines: out.add,
				StopSignal: tt.signal, StopTimeout: 300 * time.Millisecond,
				Ready: func() error {
					if len(out.get()) == 0 {
						return errors.New("silent")
					}
					return nil
				}})
			if err != nil {
				// On a busy machine it may exit before a ready check sees "up".
				if tt.exits && strings.Contains(err.Error(), tt.want) {
					return
				}
				t.Fatal(err)
			}
			if tt.exits {
				<-p.Done() // else Stop's signal may reach it between its echo and its exit
			}
			err = p.Stop()
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Stop = %v, want %q", err, tt.want)
			}
			select {
			case <-p.Done():
			default:
				t.Fatal("Done not closed after Stop")
			}
		})
	}
}

func TestLongLinesAreBounded(t *testing.T) {
	var out lines
	path, args := sh(`head -c 200000 /dev/zero | tr '\0' x; echo; echo end`)
	p, err := process.Start(process.Spec{Name: "c", Path: path, Args: args, Lines: out.add})
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	got := out.get()
	total := 0
	for _, l := range got[:len(got)-1] {
		n := len(strings.TrimPrefix(l, "c: "))
		if n > 64<<10 {
			t.Fatalf("a line of %d bytes was passed on whole", n)
		}
		total += n
	}
	if total != 200000 || got[len(got)-1] != "c: end" {
		t.Fatalf("%d bytes in %d pieces, last %q", total, len(got)-1, got[len(got)-1])
	}
}

func TestLogKeepsTheLastLines(t *testing.T) {
	l := &process.Log{Keep: 3}
	for i := range 10 {
		l.Add("child", fmt.Sprint(i))
	}
	if got := l.Lines(); !slices.Equal(got, []string{"7", "8", "9"}) {
		t.Fatalf("Lines = %q, want the last 3", got)
	}
	if got := l.Tail(2); got != "8\n9" {
		t.Fatalf("Tail(2) = %q", got)
	}
	all := &process.Log{}
	for i := range 5 {
		all.Add("child", fmt.Sprint(i))
	}
	if got := all.String(); got != "0\n1\n2\n3\n4" {
		t.Fatalf("String = %q, want every line", got)
	}
	// As an io.Writer, for an in-process logger: one line a write, or several.
	w := &process.Log{}
	fmt.Fprintln(w, `{"msg":"listening"}`)
	fmt.Fprint(w, "a\nb\n")
	if got := w.Lines(); !slices.Equal(got, []string{`{"msg":"listening"}`, "a", "b"}) {
		t.Fatalf("written lines %q", got)
	}
}
