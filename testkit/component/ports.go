package component

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// A port from FreePort is free only until someone binds it: a process of
// another test package, running at the same time, may take it first. So the
// services of this project are started with PORT=0 and say the address
// they got (ListenAddr), and other programs, which need a port named in
// advance, are started again on another one when their failure says the
// port was taken (RetryPortTaken).

// PortAttempts is how often RetryPortTaken starts a program before it gives
// up: two clashes in a row are already unlikely.
const PortAttempts = 3

// portTakenMessages are how programs say the port they were given is taken:
// Go's and Redis's wording, and the demo launcher's.
var portTakenMessages = []string{"address already in use", "Address already in use", "is in use (choose another"}

// PortTaken reports whether a program's error or output says a port it was
// given was taken.
func PortTaken(output string) bool {
	for _, m := range portTakenMessages {
		if strings.Contains(output, m) {
			return true
		}
	}
	return false
}

// RetryPortTaken calls start, which picks its ports afresh with FreePort
// each time and returns what the program printed and how its start ended,
// until it succeeds, fails for another reason than a taken port, or has
// been tried PortAttempts times. It returns the last error, with the
// output.
func RetryPortTaken(t testing.TB, what string, start func() (output string, err error)) error {
	t.Helper()
	for attempt := 1; ; attempt++ {
		out, err := start()
		if err == nil {
			return nil
		}
		if attempt == PortAttempts || !PortTaken(err.Error()+"\n"+out) {
			return fmt.Errorf("%s: %w\n%s", what, err, out)
		}
		t.Logf("%s: another process took its port first; starting it again on another", what)
	}
}

// ListenAddr finds the address a service of this project listens on in its
// log: the JSON line it writes once it has bound, {"msg":"listening",
// "addr":"127.0.0.1:PORT"}. Start the service with PORT=0 and use this as
// (part of) its readiness check.
func ListenAddr(lines []string) (string, error) {
	for _, l := range lines {
		var line struct{ Msg, Addr string }
		if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "listening" && line.Addr != "" {
			return line.Addr, nil
		}
	}
	return "", errors.New(`no "listening" line logged yet`)
}
