package routertest

import "testing"

// Scenario is an interior with my-service behind it and an edge router with
// a tcpListener for it, as edgeproxy would render it: what the health and
// management tests run against.
type Scenario struct {
	Interior *Interior
	Edge     *Edge
	Spec     EdgeSpec
	Config   string // the edge's configuration file
	Listener Listener
}

// StartScenario starts a Scenario, the edge with controls ctl, and waits
// until the edge answers management.
func StartScenario(t testing.TB, ctl Controls) *Scenario {
	t.Helper()
	in := StartInterior(t)
	svc := in.AddService(t, "my-service:8080")
	l := Listener{Name: "my-service", Port: FreePort(t), Address: svc.Address}
	spec := EdgeSpec{ID: "edge-proxy-1", Management: FreePort(t), Uplink: in.EdgeAddr(), Listeners: []Listener{l}}
	cfg := WriteEdgeConfig(t, spec)
	e := StartEdge(t, cfg, ctl)
	e.WaitReady(t)
	return &Scenario{Interior: in, Edge: e, Spec: spec, Config: cfg, Listener: l}
}
