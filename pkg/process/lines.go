package process

import (
	"bytes"
	"sync"
)

// maxLine bounds one output line: a longer one is passed on in pieces, so a
// child that never writes a newline cannot grow the buffer.
const maxLine = 64 << 10

// lineWriter splits a child's output into lines for Spec.Lines.
type lineWriter struct {
	name string
	emit func(name, line string)

	mu  sync.Mutex
	buf []byte
}

func (w *lineWriter) Write(b []byte) (int, error) {
	if w.emit == nil {
		return len(b), nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		switch i := bytes.IndexByte(w.buf, '\n'); {
		case i >= 0 && i <= maxLine:
			w.emit(w.name, string(bytes.TrimRight(w.buf[:i], "\r")))
			w.buf = w.buf[i+1:]
		case len(w.buf) >= maxLine:
			w.emit(w.name, string(w.buf[:maxLine]))
			w.buf = w.buf[maxLine:]
		default:
			return len(b), nil
		}
	}
}

// flush passes on a last line that had no newline.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 && w.emit != nil {
		w.emit(w.name, string(w.buf))
	}
	w.buf = nil
}
