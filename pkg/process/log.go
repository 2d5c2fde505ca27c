package process

import (
	"strings"
	"sync"
)

// Log keeps what a process writes, for tests and failure messages: its Add
// is a Spec.Lines. With Keep > 0 it holds only the last Keep lines, so a
// long-running child cannot grow it.
type Log struct {
	Keep int

	mu    sync.Mutex
	lines []string
}

// Add keeps one line; the child's name is not kept.
func (l *Log) Add(_, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	if l.Keep > 0 && len(l.lines) > 2*l.Keep {
		// Trimmed in batches: the copy costs once per Keep lines.
		l.lines = append(l.lines[:0], l.lines[len(l.lines)-l.Keep:]...)
	}
}

// Write keeps each line of p, so a Log can take what an in-process logger
// (slog) writes, as it takes a child's output. p is whole lines, as slog's
// handlers write them.
func (l *Log) Write(p []byte) (int, error) {
	for line := range strings.SplitSeq(strings.TrimSuffix(string(p), "\n"), "\n") {
		l.Add("", line)
	}
	return len(p), nil
}

// Lines returns the lines kept, oldest first.
func (l *Log) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	from := 0
	if l.Keep > 0 {
		from = max(0, len(l.lines)-l.Keep)
	}
	return append([]string(nil), l.lines[from:]...)
}

// Tail is the last n lines kept, one per line.
func (l *Log) Tail(n int) string {
	lines := l.Lines()
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// String is every line kept, one per line.
func (l *Log) String() string { return strings.Join(l.Lines(), "\n") }
