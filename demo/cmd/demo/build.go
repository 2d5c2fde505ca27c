package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cloudburst-demo/cloudburst/demo/internal/launcher"
	"github.com/cloudburst-demo/cloudburst/pkg/process"
)

// binary is a program the demo runs, by the name go build gives it.
type binary struct{ name, pkg string }

// The demo builds in two steps. The page needs the workers, the frontend and
// the local mesh; the burster alone compiles about as much again (the
// Kubernetes client libraries): measured cold on 2 cores, 42 s for the
// first three, then 65 s for the burster. So the page is served after the
// first step, and the burster joins it when the second is done.
var (
	pageBinaries    = []binary{{"worker", "./services/worker"}, {"frontend", "./services/frontend"}, {"localmesh", "./demo/cmd/localmesh"}}
	bursterBinaries = []binary{{"burster", "./services/burster"}}
)

// buildFlags strip the symbol table and DWARF: the binaries link faster and
// are about 30% smaller (the worker: 37.7 MB to 26.3 MB). Panics still print full stack traces; what is
// lost is stepping through them in a debugger, which the demo does not need.
var buildFlags = []string{"-ldflags=-s -w"}

// progressEvery is how often the build's output folder is looked at, to say
// which binary is done.
const progressEvery = 200 * time.Millisecond

// build compiles binaries into bin with one go build, so the compiler
// shares its parallelism and cache across them, and says what it is doing:
// a line first (what and why it may take long), go's own lines (such as
// module downloads), and a line as each binary is written. It returns ctx's
// error if ctx ends first.
func build(ctx context.Context, out *launcher.Output, root, bin string, binaries []binary, why string) error {
	names := make([]string, len(binaries))
	args := append([]string{"build"}, buildFlags...)
	args = append(args, "-o", bin+string(filepath.Separator))
	for i, b := range binaries {
		names[i] = b.name
		args = append(args, b.pkg)
	}
	out.Line("demo", "building "+strings.Join(names, ", ")+" ("+why+")")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	start := time.Now()
	gobuild, err := process.Start(process.Spec{
		Name: "go", Path: goCommand(), Args: args, Dir: root, Lines: out.Line, StopSignal: syscall.SIGINT,
	})
	if err != nil {
		return err
	}
	done := map[string]bool{}
	report := func(final bool) {
		for _, n := range names {
			if done[n] {
				continue
			}
			fi, err := os.Stat(filepath.Join(bin, n))
			switch {
			case err == nil && fi.ModTime().After(start):
				out.Line("demo", fmt.Sprintf("built %s (%.1fs)", n, time.Since(start).Seconds()))
			case final:
				out.Line("demo", n+" is up to date")
			default:
				continue
			}
			done[n] = true
		}
	}
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = gobuild.Stop()
			return ctx.Err()
		case <-gobuild.Done():
			if err := gobuild.Err(); err != nil {
				return fmt.Errorf("building the demo failed (go's output is above): %w", err)
			}
			report(true)
			return nil
		case <-tick.C:
			report(false)
		}
	}
}

// goCommand is the go command that runs the demo (make passes its own).
func goCommand() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}
