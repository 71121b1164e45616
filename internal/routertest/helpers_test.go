package routertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// linkTimeout bounds link and listener changes: it covers several 2 s
// reconnect retries, and a real router ends a flow about 5 s after its link
// went (logs/sample-edge-link-loss.log); generous for loaded machines.
const linkTimeout = 20 * time.Second

// edgeWith starts an edge "edge-proxy-1" whose uplink is in's edge listener
// (or addr "" for none) with one tcpListener per address, and waits until it
// answers management. It returns the edge and the tcpListener ports by address.
func edgeWith(t *testing.T, uplink string, ctl Controls, addresses ...string) (*Edge, map[string]int) {
	t.Helper()
	return edgeWithID(t, "edge-proxy-1", uplink, ctl, addresses...)
}

// edgeWithID is edgeWith for edges that share an interior: each needs its own
// router id (a real interior routes _edge/<id> addresses by it).
func edgeWithID(t *testing.T, id, uplink string, ctl Controls, addresses ...string) (*Edge, map[string]int) {
	t.Helper()
	ports := map[string]int{}
	var ls []Listener
	for _, a := range addresses {
		ports[a] = FreePort(t)
		ls = append(ls, Listener{Name: listenerName(a), Port: ports[a], Address: a})
	}
	cfg := WriteEdgeConfig(t, EdgeSpec{ID: id, Uplink: uplink, Listeners: ls})
	e := StartEdge(t, cfg, ctl)
	e.WaitReady(t)
	return e, ports
}

func listenerName(address string) string {
	host, _, _ := net.SplitHostPort(address)
	return host
}

func loopback(port int) string { return net.JoinHostPort(Loopback, strconv.Itoa(port)) }

// dialRefused reports nil when a TCP connect to port is refused.
func dialRefused(port int) error {
	c, err := net.DialTimeout("tcp", loopback(port), time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("port %d accepts connections", port)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("port %d: %w (want connection refused)", port, err)
	}
	return nil
}

// httpGet fetches http://127.0.0.1:port/ with a fresh connection.
func httpGet(port int) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + loopback(port) + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), MgmtTimeout)
	t.Cleanup(cancel)
	return ctx
}

// row returns the row of rows whose key equals value, failing the test.
func row(t *testing.T, rows []map[string]any, key string, value any) map[string]any {
	t.Helper()
	r, err := Find(rows, key, value)
	if err != nil {
		t.Fatalf("%v in %v", err, rows)
	}
	return r
}

// exitedWith waits for p to exit and checks its status ("exit N" or "signal S").
func exitedWith(t *testing.T, p *Process, timeout time.Duration, want string) time.Duration {
	t.Helper()
	start := time.Now()
	st, err := p.Wait(timeout)
	if err != nil {
		t.Fatalf("router still running %v later (want %s)", timeout, want)
	}
	if got := ExitDescription(st); got != want {
		t.Fatalf("router ended with %s, want %s", got, want)
	}
	return time.Since(start)
}

func fmtAny(v any) string { return fmt.Sprintf("%v", v) }

// emptyMap reports whether v is an empty AMQP map (go-amqp decodes one as
// map[any]any, having no key to learn the key type from).
func emptyMap(v any) bool {
	switch m := v.(type) {
	case map[string]any:
		return len(m) == 0
	case map[any]any:
		return len(m) == 0
	}
	return false
}

func itoa(i int) string { return strconv.Itoa(i) }
