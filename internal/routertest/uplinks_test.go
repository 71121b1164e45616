package routertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/mgmt"
)

// twoUplinks is an edge with two edge connectors, uplink to interior-a and
// uplink-2 to interior-b, each interior with its own my-service backend.
type twoUplinks struct {
	byID map[string]*Interior
	edge *Edge
	port int // the tcpListener for my-service:8080
}

func startTwoUplinks(t testing.TB) *twoUplinks {
	t.Helper()
	a := StartInteriorWith(t, InteriorOptions{ID: "interior-a"})
	b := StartInteriorWith(t, InteriorOptions{ID: "interior-b"})
	a.AddService(t, "my-service:8080")
	b.AddService(t, "my-service:8080")
	port := FreePort(t)
	cfg := WriteEdgeConfig(t, EdgeSpec{ID: "edge-proxy-1", Uplink: a.EdgeAddr(), Alternates: []string{b.EdgeAddr()},
		Listeners: []Listener{{Name: "my-service", Port: port, Address: "my-service:8080"}}})
	e := StartEdge(t, cfg, Controls{})
	e.WaitReady(t)
	return &twoUplinks{byID: map[string]*Interior{a.ID: a, b.ID: b}, edge: e, port: port}
}

// connectors returns the edge's connectors by name.
func (s *twoUplinks) connectors() (map[string]mgmt.Connector, error) {
	rows, err := QueryOnce(s.edge.MgmtAddr, "connector", mgmt.ConnectorAttributes...)
	if err != nil {
		return nil, err
	}
	out := map[string]mgmt.Connector{}
	for _, r := range rows {
		c := mgmt.ConnectorFrom(r)
		out[c.Name] = c
	}
	return out, nil
}

// opened checks that exactly the named connectors have their link open.
func (s *twoUplinks) opened(names ...string) error {
	cs, err := s.connectors()
	if err != nil {
		return err
	}
	for _, n := range []string{"uplink", "uplink-2"} {
		want := false
		for _, o := range names {
			want = want || o == n
		}
		if cs[n].Opened() != want {
			return fmt.Errorf("connector %s: %s %q, want opened=%v", n, cs[n].ConnectionStatus, cs[n].ConnectionMsg, want)
		}
	}
	return nil
}

// serves checks that my-service answers through the edge.
func (s *twoUplinks) serves() error {
	got, err := httpGet(s.port)
	if err != nil {
		return err
	}
	if got != "hello from my-service:8080\n" {
		return fmt.Errorf("got %q", got)
	}
	return nil
}

// activeIs polls until the active edge connection goes to interior id.
func (s *twoUplinks) activeIs(t testing.TB, id string) {
	t.Helper()
	Eventually(t, linkTimeout, func() error {
		got, err := ActiveUplink(s.edge.MgmtAddr)
		if err != nil {
			return err
		}
		if got != id {
			return fmt.Errorf("active edge connection to %s, want %s", got, id)
		}
		return nil
	})
}

func other(id string) string {
	if id == "interior-a" {
		return "interior-b"
	}
	return "interior-a"
}

// connectorTo is the connector name of the uplink to interior id.
func connectorTo(id string) string {
	if id == "interior-a" {
		return "uplink"
	}
	return "uplink-2"
}

// Two edge connectors, as the real router treats them (captures/d-two-uplinks):
// both links open, one active and one standby; stopping the active interior
// makes the standby active and traffic flows again; the interior that comes
// back stays a standby (no fail-back); with both gone there is no active one.
func TestTwoUplinksFailover(t *testing.T) {
	t.Parallel()
	s := startTwoUplinks(t)
	Eventually(t, linkTimeout, func() error { return s.opened("uplink", "uplink-2") })
	first, err := ActiveUplink(s.edge.MgmtAddr)
	if err != nil {
		t.Fatal(err)
	}
	if s.byID[first] == nil {
		t.Fatalf("the active edge connection goes to %q, not to interior-a or interior-b", first)
	}
	rows := s.edge.Query(t, "connection", mgmt.ConnectionAttributes...)
	active := 0
	for _, r := range rows {
		if c := mgmt.ConnectionFrom(r); c.IsEdgeUplink() && c.Active {
			active++
		}
	}
	if active != 1 {
		t.Errorf("%d active edge connections, want 1: %v", active, rows)
	}
	Eventually(t, linkTimeout, s.serves)

	// The active interior stops: the standby takes over.
	s.byID[first].Stop()
	s.activeIs(t, other(first))
	Eventually(t, linkTimeout, s.serves)
	Eventually(t, linkTimeout, func() error { return s.opened(connectorTo(other(first))) })

	// It comes back: linked again, but a standby.
	s.byID[first].Start()
	Eventually(t, linkTimeout, func() error { return s.opened("uplink", "uplink-2") })
	if got, err := ActiveUplink(s.edge.MgmtAddr); err != nil || got != other(first) {
		t.Errorf("after %s came back the active edge connection goes to %q (%v), want %s (no fail-back)", first, got, err, other(first))
	}

	// The now active one stops: back to the first.
	s.byID[other(first)].Stop()
	s.activeIs(t, first)
	Eventually(t, linkTimeout, s.serves)

	// Both gone: no link, the listener closes.
	s.byID[first].Stop()
	Eventually(t, linkTimeout, func() error { return s.opened() })
	if got, err := ActiveUplink(s.edge.MgmtAddr); err == nil {
		t.Errorf("active edge connection to %s with both interiors stopped", got)
	}
	s.edge.WaitListener(t, "my-service", "down", linkTimeout)
}

// BenchmarkUplinkFailover measures how long after the active interior is
// stopped (SIGTERM) the edge serves again through the other one: fresh
// HTTP requests through the tcpListener, 2 ms apart. Each round restarts
// the stopped interior and waits for it to link again (as a standby).
func BenchmarkUplinkFailover(b *testing.B) {
	s := startTwoUplinks(b)
	Eventually(b, linkTimeout, func() error { return s.opened("uplink", "uplink-2") })
	var total, worst time.Duration
	for i := 0; i < b.N; i++ {
		Eventually(b, linkTimeout, s.serves)
		active, err := ActiveUplink(s.edge.MgmtAddr)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		stopped := time.Now()
		s.byID[active].Stop()
		EventuallyEvery(b, linkTimeout, 2*time.Millisecond, s.serves)
		d := time.Since(stopped)
		b.StopTimer()
		total += d
		worst = max(worst, d)
		s.byID[active].Start()
		Eventually(b, linkTimeout, func() error { return s.opened("uplink", "uplink-2") })
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/failover")
	b.ReportMetric(float64(worst.Milliseconds()), "max-ms")
}
