package connectors

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/mgmt"
	"github.com/edgeproxy/edgeproxy/routerconf"
)

// target listens on loopback and returns the connector for it.
func target(t *testing.T, name string) (routerconf.Connector, net.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	host, ps, _ := net.SplitHostPort(ln.Addr().String())
	port, _ := strconv.Atoi(ps)
	return routerconf.Connector{Name: name, Address: name + ":1", Host: host, Port: port}, ln
}

func TestWatcherReportsReachability(t *testing.T) {
	up, _ := target(t, "up")
	gone, ln := target(t, "gone")
	ln.Close() // refused from now on
	w := NewWatcher([]routerconf.Connector{up, gone}, time.Hour, time.Second)
	if st := w.Statuses(); st[0].Checked || st[1].Checked {
		t.Fatalf("dialed before Check: %+v", st)
	}
	changed := w.Changed()
	w.Check(context.Background())
	select {
	case <-changed:
	default:
		t.Error("the first results are not a change")
	}
	st := w.Statuses()
	if !st[0].Checked || !st[0].Reachable || st[0].Error != "" || st[0].Since.IsZero() {
		t.Errorf("up target: %+v", st[0])
	}
	if !st[1].Checked || st[1].Reachable || st[1].Error == "" {
		t.Errorf("refusing target: %+v", st[1])
	}
	// The same results again are no change, and keep Since.
	changed = w.Changed()
	w.Check(context.Background())
	select {
	case <-changed:
		t.Error("unchanged results notified")
	default:
	}
	if again := w.Statuses(); !again[0].Since.Equal(st[0].Since) {
		t.Errorf("Since moved without a change: %v then %v", st[0].Since, again[0].Since)
	}
}

// fakeMgmt has a set of tcpConnectors and records the calls.
type fakeMgmt struct {
	mu      sync.Mutex
	have    []string
	calls   []string
	fail    error
	queries int
}

func (f *fakeMgmt) Query(context.Context, string, ...string) ([]mgmt.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	if f.fail != nil {
		return nil, f.fail
	}
	var out []mgmt.Record
	for _, n := range f.have {
		out = append(out, mgmt.Record{"name": n})
	}
	return out, nil
}

func (f *fakeMgmt) Create(_ context.Context, typ, name string, attrs map[string]any) (mgmt.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "create "+name+" "+attrs["host"].(string)+":"+attrs["port"].(string)+" "+attrs["address"].(string)+" site="+attrs["siteId"].(string))
	f.have = append(f.have, name)
	return mgmt.Record{"name": name}, nil
}

func (f *fakeMgmt) Delete(_ context.Context, typ, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "delete "+name)
	f.have = slices.DeleteFunc(f.have, func(n string) bool { return n == name })
	return nil
}

func TestGateFollowsTargets(t *testing.T) {
	up, _ := target(t, "up")
	down, ln := target(t, "down")
	ln.Close()
	w := NewWatcher([]routerconf.Connector{up, down}, time.Hour, time.Second)
	m := &fakeMgmt{have: []string{"up", "down", "other"}} // "other" is not the gate's: never touched
	g := NewGate(w, m, "site-1", time.Hour, time.Second, nil)

	// Nothing dialed yet: nothing changes (the rendered file is trusted).
	if err := g.Reconcile(context.Background()); err != nil || len(m.calls) != 0 {
		t.Fatalf("before any dial: calls %v, err %v", m.calls, err)
	}
	w.Check(context.Background())
	if err := g.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"delete down"}; !slices.Equal(m.calls, want) {
		t.Errorf("calls %v, want %v", m.calls, want)
	}
	// A restarted router has every connector back: withdrawn again.
	m.have = append(m.have, "down")
	m.calls = nil
	_ = g.Reconcile(context.Background())
	if want := []string{"delete down"}; !slices.Equal(m.calls, want) {
		t.Errorf("after a router restart: calls %v, want %v", m.calls, want)
	}
	// The target comes back: created with the rendered attributes.
	back, err := net.Listen("tcp", down.Target())
	if err != nil {
		t.Skipf("port of the down target taken meanwhile: %v", err)
	}
	t.Cleanup(func() { back.Close() })
	w.Check(context.Background())
	m.calls = nil
	_ = g.Reconcile(context.Background())
	if want := []string{"create down " + down.Target() + " down:1 site=site-1"}; !slices.Equal(m.calls, want) {
		t.Errorf("target back: calls %v, want %v", m.calls, want)
	}
	// Management down: an error, no calls.
	m.fail, m.calls = errors.New("connection refused"), nil
	if err := g.Reconcile(context.Background()); err == nil || len(m.calls) != 0 {
		t.Errorf("management down: calls %v, err %v", m.calls, err)
	}
}

// A proxy without connectors (a service proxy) asks its router nothing.
func TestGateWithoutConnectorsQueriesNothing(t *testing.T) {
	m := &fakeMgmt{have: []string{"other"}}
	g := NewGate(NewWatcher(nil, time.Hour, time.Second), m, "", time.Hour, time.Second, nil)
	if err := g.Reconcile(context.Background()); err != nil || m.queries != 0 || len(m.calls) != 0 {
		t.Errorf("queries %d, calls %v, err %v; want none", m.queries, m.calls, err)
	}
}

// TestGateWithholds: the gate withholds a tcpConnector only once its target,
// as the entity names it, was dialed and refused.
func TestGateWithholds(t *testing.T) {
	up, _ := target(t, "up")
	down, ln := target(t, "down")
	ln.Close()
	w := NewWatcher([]routerconf.Connector{up, down}, time.Hour, time.Second)
	g := NewGate(w, &fakeMgmt{}, "", time.Hour, time.Second, nil)
	entity := func(typ string, c routerconf.Connector) routerconf.Entity {
		return routerconf.Entity{Type: typ, Attrs: []routerconf.Attr{
			{Key: "name", Value: c.Name}, {Key: "host", Value: c.Host}, {Key: "port", Value: strconv.Itoa(c.Port)}}}
	}
	moved := down
	moved.Port = up.Port
	if g.Withholds(entity("tcpConnector", down)) {
		t.Error("withheld before any dial")
	}
	w.Check(context.Background())
	for _, tc := range []struct {
		name string
		e    routerconf.Entity
		want bool
	}{
		{"refusing target", entity("tcpConnector", down), true},
		{"accepting target", entity("tcpConnector", up), false},
		{"same name, another target", entity("tcpConnector", moved), false},
		{"a tcpListener of that name", entity("tcpListener", down), false},
	} {
		if got := g.Withholds(tc.e); got != tc.want {
			t.Errorf("%s: Withholds = %v, want %v", tc.name, got, tc.want)
		}
	}
}
