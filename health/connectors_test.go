package health

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/connectors"
	"github.com/edgeproxy/edgeproxy/internal/mgmt"
	"github.com/edgeproxy/edgeproxy/routerconf"
)

// fixedTargets reports the given dial results.
type fixedTargets []connectors.Status

func (f fixedTargets) Statuses() []connectors.Status { return f }

var workloadConnector = routerconf.Connector{Name: "nginx", Address: "my-service:8080", Host: "nginx", Port: 8080}

// A real tcpConnector record: no operStatus; connectionsOpened starts at 1.
var tcpConnectorNginx = mgmt.Record{"name": "nginx", "host": "nginx", "port": "8080", "address": "my-service:8080",
	"connectionsOpened": int64(3), "connectionsClosed": int64(1)}

func TestConnectorCheck(t *testing.T) {
	since := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	up := connectors.Status{Connector: workloadConnector, Checked: true, Reachable: true, Since: since}
	down := connectors.Status{Connector: workloadConnector, Checked: true, Error: "dial tcp 10.89.0.5:8080: connect: connection refused", Since: since}
	present := []mgmt.Record{tcpConnectorNginx}
	tests := []struct {
		name     string
		dialed   connectors.Status
		records  []mgmt.Record
		require  bool
		withdraw bool
		ok       bool
		want     string // in the message ("" for none)
	}{
		{"reachable and present", up, present, true, true, true, ""},
		{"not dialed yet", connectors.Status{Connector: workloadConnector}, present, false, true, true, "target nginx:8080 not dialed yet; not required"},
		{"down, withdrawn", down, nil, false, true, true,
			"target nginx:8080 of my-service:8080 does not accept connections: dial tcp 10.89.0.5:8080: connect: connection refused (since 2026-12-01T15:00:00Z); tcpConnector withdrawn until it does; not required (health.require_connectors is false)"},
		{"down, withdrawal off", down, present, false, false, true, "does not accept connections: dial tcp 10.89.0.5:8080: connect: connection refused (since 2026-12-01T15:00:00Z); not required"},
		{"down and required", down, nil, true, true, false, "does not accept connections"},
		{"reachable but missing", up, nil, true, true, false, `target nginx:8080 accepts connections but the router has no tcpConnector "nginx" for my-service:8080`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := stateLinkUp
			st.tcpConnectors = tc.records
			cfg := testConfig(false)
			cfg.RequireConnectors, cfg.WithdrawConnectors = tc.require, tc.withdraw
			target := scenarioTarget
			target.Connectors = []routerconf.Connector{workloadConnector}
			p := NewProber(ProberConfig{Health: cfg, Target: target, Targets: fixedTargets{tc.dialed}}, newFakeMgmt(st), newFakeSup(running))
			s := p.Probe(context.Background())
			var c Check
			for _, ch := range s.ReadyChecks(s.At) {
				if ch.Name == CheckConnectorPrefix+"nginx" {
					c = ch
				}
			}
			if c.Name == "" {
				t.Fatalf("no connector check in %s", verdict(s.ReadyChecks(s.At)))
			}
			if c.OK != tc.ok || (tc.want == "" && c.Message != "") || !strings.Contains(c.Message, tc.want) {
				t.Errorf("check = %+v, want ok %v with %q", c, tc.ok, tc.want)
			}
			if s.Ready(s.At) != tc.ok {
				t.Errorf("ready = %v, want %v", s.Ready(s.At), tc.ok)
			}
			doc := NewStatusDoc(s, s.At)
			if len(doc.Connectors) != 1 || doc.Connectors[0].Exists != (tc.records != nil) || doc.Connectors[0].TargetReachable != tc.dialed.Reachable {
				t.Errorf("/status connectors = %+v", doc.Connectors)
			}
			if tc.records != nil && doc.Connectors[0].ConnectionsOpened != 3 {
				t.Errorf("connectionsOpened = %d, want 3", doc.Connectors[0].ConnectionsOpened)
			}
		})
	}
}

// A proxy without connectors does not ask the router for tcpConnectors.
func TestNoConnectorQueryWithoutConnectors(t *testing.T) {
	m := &countingMgmt{fakeMgmt: newFakeMgmt(stateLinkUp)}
	p := NewProber(ProberConfig{Health: testConfig(false), Target: scenarioTarget}, m, newFakeSup(running))
	p.Probe(context.Background())
	if m.tcpConnectorQueries.Load() != 0 {
		t.Errorf("%d tcpConnector queries, want none", m.tcpConnectorQueries.Load())
	}
	target := scenarioTarget
	target.Connectors = []routerconf.Connector{workloadConnector}
	p = NewProber(ProberConfig{Health: testConfig(false), Target: target}, m, newFakeSup(running))
	p.Probe(context.Background())
	if m.tcpConnectorQueries.Load() != 1 { // the negative control
		t.Errorf("%d tcpConnector queries, want 1", m.tcpConnectorQueries.Load())
	}
}

type countingMgmt struct {
	*fakeMgmt
	tcpConnectorQueries atomic.Int64
}

func (c *countingMgmt) Query(ctx context.Context, entityType string, attrs ...string) ([]mgmt.Record, error) {
	if entityType == mgmt.EntityTCPConnector {
		c.tcpConnectorQueries.Add(1)
	}
	return c.fakeMgmt.Query(ctx, entityType, attrs...)
}
