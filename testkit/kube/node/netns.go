//go:build linux

package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// netns is a network namespace this harness created (ip netns add): the
// node's network. Its programs run in it through nsenter, and this process
// opens sockets in it (listeners for the forwards, the cluster's DNS, and
// the test's own connections to pods) without leaving its own.
type netns struct {
	name string
	path string // /run/netns/NAME
}

// newNetns creates the namespace with its loopback up.
func newNetns(name string) (*netns, error) {
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %w: %s", name, err, out)
	}
	n := &netns{name: name, path: filepath.Join("/run/netns", name)}
	if err := n.run("ip", "link", "set", "lo", "up"); err != nil {
		_ = n.delete()
		return nil, err
	}
	return n, nil
}

// run runs a command in the namespace and waits for it.
func (n *netns) run(name string, args ...string) error {
	cmd := exec.Command("nsenter", append([]string{"--net=" + n.path, "--", name}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %v in %s: %w: %s", name, args, n.name, err, out)
	}
	return nil
}

// command is the argv that runs a program in the namespace (network only:
// the mount namespace stays the machine's, so what the kubelet mounts
// containerd sees).
func (n *netns) command(path string, args ...string) (string, []string) {
	return "nsenter", append([]string{"--net=" + n.path, "--", path}, args...)
}

// delete removes the namespace, and with it every interface in it.
func (n *netns) delete() error {
	if out, err := exec.Command("ip", "netns", "delete", n.name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns delete %s: %w: %s", n.name, err, out)
	}
	return nil
}

// inside runs f on an OS thread that has entered the namespace; sockets f
// opens belong to the namespace for their whole life. The thread goes back
// to this process' namespace before it serves other goroutines; if it
// cannot, it is never reused (a locked goroutine's thread ends with it).
func (n *netns) inside(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- fmt.Errorf("opening this thread's network namespace: %w", err)
			return
		}
		defer home.Close()
		target, err := os.Open(n.path)
		if err != nil {
			errc <- fmt.Errorf("opening %s: %w", n.path, err)
			runtime.UnlockOSThread()
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("entering %s: %w", n.name, err)
			runtime.UnlockOSThread()
			return
		}
		ferr := f()
		if err := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); err != nil {
			// Stay locked: the thread exits with this goroutine.
			errc <- errors.Join(ferr, fmt.Errorf("leaving %s: %w", n.name, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// listen opens a TCP listener in the namespace.
func (n *netns) listen(addr string) (net.Listener, error) {
	var l net.Listener
	err := n.inside(func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	})
	return l, err
}

// listenPacket opens a UDP socket in the namespace.
func (n *netns) listenPacket(addr string) (net.PacketConn, error) {
	var c net.PacketConn
	err := n.inside(func() (err error) {
		c, err = net.ListenPacket("udp", addr)
		return err
	})
	return c, err
}

// DialContext connects from inside the namespace: to a pod's address, or
// to a Service's cluster IP through the node's kube-proxy.
func (n *netns) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.inside(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// forward accepts connections on l (in the namespace) and joins each to a
// new connection dial makes, until l is closed; it then closes every
// connection it joined and returns.
func forward(l net.Listener, dial func() (net.Conn, error)) {
	var (
		mu     sync.Mutex
		closed bool
		conns  = map[net.Conn]struct{}{}
		wg     sync.WaitGroup
	)
	// track keeps c to be closed when l is; once l is, it closes c at once
	// and says so.
	track := func(c net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			_ = c.Close()
			return false
		}
		conns[c] = struct{}{}
		return true
	}
	untrack := func(cs ...net.Conn) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range cs {
			delete(conns, c)
			_ = c.Close()
		}
	}
	for {
		in, err := l.Accept()
		if err != nil {
			break
		}
		if !track(in) {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := dial()
			if err != nil {
				untrack(in)
				return
			}
			if !track(out) {
				untrack(in)
				return
			}
			defer untrack(in, out)
			done := make(chan struct{}, 2)
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				// Half-close: the other direction may still carry the answer.
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
				done <- struct{}{}
			}
			go pipe(out, in)
			go pipe(in, out)
			<-done
			<-done
		}()
	}
	mu.Lock()
	closed = true
	for c := range conns {
		_ = c.Close()
	}
	mu.Unlock()
	wg.Wait()
}
