package health

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/mgmt"
	"github.com/edgeproxy/edgeproxy/internal/notify"
	"github.com/edgeproxy/edgeproxy/internal/poll"
	"github.com/edgeproxy/edgeproxy/supervisor"
)

// Records as the router gives them in the captures (a-link-up,
// b-interior-down, c-tcpconnector-removed), limited to what the prober asks.
var (
	connectorUp = mgmt.Record{"name": "uplink", "role": "edge", "host": "127.0.0.1", "port": "45671", "connectionStatus": "SUCCESS",
		"connectionMsg": "[C1] Connection Opened: dir=out host=127.0.0.1:45671 encrypted=no auth=ANONYMOUS user=(null) container_id=interior"}
	connectorDown = mgmt.Record{"name": "uplink", "role": "edge", "host": "127.0.0.1", "port": "45671", "connectionStatus": "CONNECTING",
		"connectionMsg": "Connection to 127.0.0.1:45671 failed: proton:io Connection refused - disconnected 127.0.0.1:45671"}
	edgeConnection  = mgmt.Record{"role": "edge", "dir": "out", "opened": true, "operStatus": "up", "container": "interior", "host": "127.0.0.1:45671"}
	tcpConnection   = mgmt.Record{"role": "normal", "dir": "in", "opened": true, "operStatus": "up", "container": "TcpAdaptor", "host": "127.0.0.1:38850"}
	mgmtConnection  = mgmt.Record{"role": "normal", "dir": "in", "opened": true, "operStatus": "up", "container": "d706afa1-2a1e-4a48-b39c-40f81d830e46", "host": "127.0.0.1:56654"}
	routerRecord    = mgmt.Record{"id": "edge-proxy-1"}
	listenerService = func(oper string, opened, closed int32) mgmt.Record {
		return mgmt.Record{"name": "my-service", "host": "127.0.0.1", "port": "18080", "address": "my-service:8080", "operStatus": oper,
			"connectionMsg": "", "connectionsOpened": opened, "connectionsClosed": closed}
	}
	listenerTCP = func(oper string) mgmt.Record {
		return mgmt.Record{"name": "my-tcp-service", "host": "127.0.0.1", "port": "15201", "address": "my-tcp-service:5201", "operStatus": oper,
			"connectionMsg": "", "connectionsOpened": int64(4), "connectionsClosed": int64(4)}
	}
)

// routerState is what a fake router's management answers.
type routerState struct {
	connectors, connections, listeners, routers []mgmt.Record
	tcpConnectors                               []mgmt.Record
	err                                         error // every query fails with it
}

var (
	stateLinkUp = routerState{
		connectors:  []mgmt.Record{connectorUp},
		connections: []mgmt.Record{edgeConnection, tcpConnection, mgmtConnection},
		listeners:   []mgmt.Record{listenerService("up", 54, 53), listenerTCP("up")},
		routers:     []mgmt.Record{routerRecord},
	}
	stateInteriorDown = routerState{
		connectors:  []mgmt.Record{connectorDown},
		connections: []mgmt.Record{mgmtConnection},
		listeners:   []mgmt.Record{listenerService("down", 55, 55), listenerTCP("down")},
		routers:     []mgmt.Record{routerRecord},
	}
	stateConnectorRemoved = routerState{
		connectors:  []mgmt.Record{connectorUp},
		connections: []mgmt.Record{edgeConnection, mgmtConnection},
		listeners:   []mgmt.Record{listenerService("down", 56, 56), listenerTCP("up")},
		routers:     []mgmt.Record{routerRecord},
	}
)

// fakeMgmt answers queries from a routerState and counts them.
type fakeMgmt struct {
	mu      sync.Mutex
	state   routerState
	queries atomic.Int64
	resets  atomic.Int64
}

func newFakeMgmt(s routerState) *fakeMgmt { return &fakeMgmt{state: s} }

func (f *fakeMgmt) set(s routerState) {
	f.mu.Lock()
	f.state = s
	f.mu.Unlock()
}

func (f *fakeMgmt) Query(ctx context.Context, entityType string, _ ...string) ([]mgmt.Record, error) {
	f.queries.Add(1)
	f.mu.Lock()
	s := f.state
	f.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	switch entityType {
	case mgmt.EntityConnector:
		return s.connectors, nil
	case mgmt.EntityConnection:
		return s.connections, nil
	case mgmt.EntityTCPListener:
		return s.listeners, nil
	case mgmt.EntityRouter:
		return s.routers, nil
	case mgmt.EntityTCPConnector:
		return s.tcpConnectors, nil
	}
	return nil, &mgmt.StatusError{Request: "QUERY " + entityType, Code: 400, Description: "No such entity type"}
}

func (f *fakeMgmt) RemoteProperties() map[string]any {
	return map[string]any{"product": "skupper-router", "version": "0.0.0+e2ec51a4-main"}
}

func (f *fakeMgmt) Reset() { f.resets.Add(1) }

// fakeSup is a supervisor whose status the test sets.
type fakeSup struct {
	st atomic.Pointer[supervisor.Status]
	notify.Broadcast
}

func newFakeSup(st supervisor.Status) *fakeSup {
	s := &fakeSup{}
	s.set(st)
	return s
}

func (s *fakeSup) set(st supervisor.Status)  { s.st.Store(&st); s.Notify() }
func (s *fakeSup) Status() supervisor.Status { return *s.st.Load() }

var running = supervisor.Status{Phase: supervisor.PhaseRunning, PID: 4242, StartedAt: time.Unix(1_700_000_000, 0)}

// scenarioTarget is the captures' edge configuration.
var scenarioTarget = Target{
	Uplinks: []UplinkTarget{{Connector: "uplink", Host: "127.0.0.1", Port: 45671}},
	Listeners: []ListenerSpec{
		{Name: "my-service", Host: "0.0.0.0", Port: 18080, Address: "my-service:8080"},
		{Name: "my-tcp-service", Host: "0.0.0.0", Port: 15201, Address: "my-tcp-service:5201"},
	},
}

func testConfig(requireListeners bool) Config {
	return Config{Listen: "127.0.0.1:0", Management: "127.0.0.1:5672", Interval: time.Second, Timeout: time.Second, RequireListeners: requireListeners}
}

func newTestProber(t testing.TB, cfg Config, target Target, m Management, sup Supervisor) *Prober {
	t.Helper()
	return NewProber(ProberConfig{Health: cfg, Target: target}, m, sup)
}

// twoUplinks is scenarioTarget with a second uplink, uplink-2.
var twoUplinks = Target{
	Uplinks:   []UplinkTarget{{Connector: "uplink", Host: "127.0.0.1", Port: 45671}, {Connector: "uplink-2", Host: "127.0.0.1", Port: 45672}},
	Listeners: scenarioTarget.Listeners,
}

// named is a copy of the connector record r named name.
func named(r mgmt.Record, name string) mgmt.Record {
	c := maps.Clone(r)
	c["name"] = name
	return c
}

// verdict renders checks as "[+]name" / "[-]name: message" lines.
func verdict(checks []Check) string {
	var b strings.Builder
	for _, c := range checks {
		if c.OK {
			b.WriteString("[+]" + c.Name)
		} else {
			b.WriteString("[-]" + c.Name + ": " + c.Message)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestProbeReadiness(t *testing.T) {
	tests := []struct {
		name    string
		state   routerState
		require bool
		target  Target
		ready   bool
		want    []string // substrings of the verdict
	}{
		{name: "link up", state: stateLinkUp, ready: true,
			want: []string{"[+]shutdown", "[+]router", "[+]management", "[+]edge-link", "[+]listener/my-service", "[+]listener/my-tcp-service", "[+]poller"}},
		{name: "interior down", state: stateInteriorDown, ready: false,
			want: []string{"[-]edge-link: CONNECTING: Connection to 127.0.0.1:45671 failed: proton:io Connection refused", "[+]listener/my-service"}},
		{name: "interior down, listeners required", state: stateInteriorDown, require: true, ready: false,
			want: []string{"[-]edge-link: CONNECTING", "[-]listener/my-service: operStatus down: no reachable consumer of my-service:8080"}},
		{name: "tcpConnector removed: a down listener is reported, not failed", state: stateConnectorRemoved, ready: true,
			want: []string{"[+]edge-link", "[+]listener/my-service", "[+]listener/my-tcp-service"}},
		{name: "tcpConnector removed, listeners required", state: stateConnectorRemoved, require: true, ready: false,
			want: []string{"[+]edge-link", "[-]listener/my-service: operStatus down", "[+]listener/my-tcp-service"}},
		// The edge connector's own status and message decide (no connection
		// list is read: its size grows with the traffic).
		{name: "SUCCESS without an opened connection", ready: false,
			state: routerState{connectors: []mgmt.Record{{"name": "uplink", "role": "edge", "connectionStatus": "SUCCESS", "connectionMsg": ""}}, listeners: stateLinkUp.listeners},
			want:  []string{"[-]edge-link: SUCCESS but the connector reports no opened connection"}},
		{name: "connection list ignored: no edge connection listed, connector opened", ready: true,
			state: routerState{connectors: []mgmt.Record{connectorUp}, connections: []mgmt.Record{mgmtConnection}, listeners: stateLinkUp.listeners, routers: stateLinkUp.routers},
			want:  []string{"[+]edge-link"}},
		{name: "connector missing", ready: false,
			state: routerState{connections: stateLinkUp.connections, listeners: stateLinkUp.listeners},
			want:  []string{`[-]edge-link: connector "uplink" not found in the router`}},
		{name: "configured listener missing", ready: false,
			state: routerState{connectors: []mgmt.Record{connectorUp}, connections: stateLinkUp.connections, listeners: []mgmt.Record{listenerTCP("up")}},
			want:  []string{`[-]listener/my-service: tcpListener "my-service" (port 18080 → my-service:8080) not found in the router`, "[+]listener/my-tcp-service"}},
		{name: "management times out", ready: false,
			state: routerState{err: &mgmt.TimeoutError{Request: "QUERY io.skupper.router.connector", Timeout: time.Second, Stage: "answer"}},
			want: []string{"[-]management: QUERY io.skupper.router.connector: no answer within 1s (and 2 more queries failed)",
				"[-]edge-link: unknown: management did not answer", "[-]listener/my-service: unknown: management did not answer"}},
		{name: "management answers an error", ready: false,
			state: routerState{err: &mgmt.StatusError{Request: "QUERY io.skupper.router.connection", Code: 500, Description: "boom"}},
			want:  []string{"[-]management: QUERY io.skupper.router.connection: status 500: boom"}},
		{name: "no listeners configured", state: stateLinkUp, target: Target{Uplinks: []UplinkTarget{{Connector: "uplink"}}}, ready: true,
			want: []string{"[+]edge-link"}},
		// Several uplinks: ready while at least one edge link is up.
		{name: "two uplinks, the second down", target: twoUplinks, ready: true,
			state: routerState{connectors: []mgmt.Record{connectorUp, named(connectorDown, "uplink-2")}, listeners: stateLinkUp.listeners},
			want:  []string{"[+]edge-link", "[+]listener/my-service"}},
		{name: "two uplinks, the first down", target: twoUplinks, ready: true,
			state: routerState{connectors: []mgmt.Record{connectorDown, named(connectorUp, "uplink-2")}, listeners: stateLinkUp.listeners},
			want:  []string{"[+]edge-link"}},
		{name: "two uplinks, both down", target: twoUplinks, ready: false,
			state: routerState{connectors: []mgmt.Record{connectorDown, named(connectorDown, "uplink-2")}, listeners: stateLinkUp.listeners},
			want:  []string{"[-]edge-link: uplink: CONNECTING: Connection to 127.0.0.1:45671 failed", "; uplink-2: CONNECTING: Connection to 127.0.0.1:45671 failed"}},
		{name: "two uplinks, one missing, the other down", target: twoUplinks, ready: false,
			state: routerState{connectors: []mgmt.Record{connectorDown}, listeners: stateLinkUp.listeners},
			want:  []string{`uplink-2: connector "uplink-2" not found in the router`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := scenarioTarget
			if tt.target.Uplinks != nil {
				target = tt.target
			}
			p := newTestProber(t, testConfig(tt.require), target, newFakeMgmt(tt.state), newFakeSup(running))
			s := p.Probe(context.Background())
			got := verdict(s.ReadyChecks(s.At))
			if s.Ready(s.At) != tt.ready {
				t.Errorf("ready = %v, want %v\n%s", !tt.ready, tt.ready, got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("verdict lacks %q:\n%s", w, got)
				}
			}
			if !s.Live(s.At) {
				t.Errorf("not live: %s", verdict(s.LiveChecks(s.At)))
			}
		})
	}
}

func TestProbeFillsSnapshot(t *testing.T) {
	p := newTestProber(t, testConfig(false), scenarioTarget, newFakeMgmt(stateLinkUp), newFakeSup(running))
	s := p.Probe(context.Background())
	if s.RouterID != "edge-proxy-1" || s.RouterVersion != "0.0.0+e2ec51a4-main" {
		t.Errorf("router id %q version %q", s.RouterID, s.RouterVersion)
	}
	if u := s.InUse(); len(s.Uplinks) != 1 || !u.Up() || u.Container != "interior" || u.Host != "127.0.0.1" || u.Port != 45671 {
		t.Errorf("uplinks = %+v", s.Uplinks)
	}
	l := s.Listeners[0]
	if !l.Exists || l.OperStatus != "up" || l.ConnectionsOpened != 54 || l.ConnectionsClosed != 53 || l.Port != 18080 {
		t.Errorf("listener = %+v", l)
	}
	if s.ProbedPID != 4242 || s.At.IsZero() {
		t.Errorf("probed pid %d at %v", s.ProbedPID, s.At)
	}
}

func TestSupervisorStates(t *testing.T) {
	exit := &supervisor.Exit{PID: 4242, Code: 1, Uptime: 80 * time.Millisecond}
	tests := []struct {
		name  string
		st    supervisor.Status
		live  bool
		want  []string
		ready bool
	}{
		{"starting", supervisor.Status{Phase: supervisor.PhaseStarting}, true,
			[]string{"[-]router: phase starting", "[-]management: router not running"}, false},
		{"backing off after a crash is live, not ready", supervisor.Status{Phase: supervisor.PhaseBackingOff, Restarts: 2, LastExit: exit,
			NextStart: time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)}, true,
			[]string{"[-]router: phase backing-off, restart 3 due at 2026-11-26T20:00:00Z; last exit: pid 4242 code 1 after 80ms"}, false},
		{"stopping is live, not ready", supervisor.Status{Phase: supervisor.PhaseStopping, PID: 4242}, true,
			[]string{"[-]shutdown: the router is being stopped on request"}, false},
		{"stopped", supervisor.Status{Phase: supervisor.PhaseStopped, LastExit: exit}, false,
			[]string{"[-]shutdown"}, false},
		{"gave up", supervisor.Status{Phase: supervisor.PhaseFailed, LastExit: &supervisor.Exit{PID: 9, Code: -1, Signal: "SIGSEGV"}}, false,
			[]string{"[-]router: phase failed; last exit: pid 9 killed by SIGSEGV"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newFakeMgmt(stateLinkUp)
			p := newTestProber(t, testConfig(false), scenarioTarget, m, newFakeSup(tt.st))
			s := p.Probe(context.Background())
			if got := s.Live(s.At); got != tt.live {
				t.Errorf("live = %v, want %v: %s", got, tt.live, verdict(s.LiveChecks(s.At)))
			}
			got := verdict(s.ReadyChecks(s.At))
			if s.Ready(s.At) != tt.ready {
				t.Errorf("ready = %v, want %v", !tt.ready, tt.ready)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("verdict lacks %q:\n%s", w, got)
				}
			}
			if tt.st.Phase != supervisor.PhaseRunning && tt.st.Phase != supervisor.PhaseStopping && m.queries.Load() != 0 {
				t.Errorf("%d management queries while the router is not running", m.queries.Load())
			}
		})
	}
}

// TestSnapshotFollowsSupervisor: readiness turns false as soon as a stop
// begins or the router exits, before the next probe.
func TestSnapshotFollowsSupervisor(t *testing.T) {
	sup := newFakeSup(running)
	m := newFakeMgmt(stateLinkUp)
	p := newTestProber(t, testConfig(false), scenarioTarget, m, sup)
	s := p.Probe(context.Background())
	if !s.Ready(s.At) {
		t.Fatalf("not ready: %s", verdict(s.ReadyChecks(s.At)))
	}
	if p.Snapshot() != s {
		t.Error("unchanged supervisor: Snapshot should return the stored snapshot itself")
	}

	stopping := running
	stopping.Phase = supervisor.PhaseStopping
	sup.set(stopping)
	if got := p.Snapshot(); got.Ready(s.At) {
		t.Error("ready while the supervisor is stopping")
	}

	sup.set(running)
	p.SetStopping()
	if got := p.Snapshot(); got.Ready(s.At) || !strings.Contains(verdict(got.ReadyChecks(s.At)), "[-]shutdown: edgeproxy is shutting down") {
		t.Errorf("ready after SetStopping: %s", verdict(got.ReadyChecks(s.At)))
	}

	p2 := newTestProber(t, testConfig(false), scenarioTarget, m, sup)
	p2.Probe(context.Background())
	restarted := running
	restarted.PID, restarted.Restarts = 5151, 1
	sup.set(restarted)
	got := p2.Snapshot()
	if got.Ready(s.At) || !strings.Contains(verdict(got.ReadyChecks(s.At)), "[-]management: router pid 5151 not probed yet") {
		t.Errorf("a new router counts as probed: %s", verdict(got.ReadyChecks(s.At)))
	}
}

func TestPollerStaleness(t *testing.T) {
	p := newTestProber(t, testConfig(false), scenarioTarget, newFakeMgmt(stateLinkUp), newFakeSup(running))
	s := p.Probe(context.Background())
	late := s.At.Add(s.StaleAfter + time.Millisecond)
	if s.Live(late) || s.Ready(late) {
		t.Error("a stale snapshot passes")
	}
	if !strings.Contains(verdict(s.LiveChecks(late)), "[-]poller: last probe 6.001s ago (limit 6s)") {
		t.Errorf("verdict: %s", verdict(s.LiveChecks(late)))
	}
	if !s.Live(s.At.Add(s.StaleAfter)) {
		t.Error("stale at exactly the limit")
	}
}

// TestRunReprobesOnRouterChange: Run probes at once, and again (after a
// Reset of the client) as soon as the supervisor reports a new router pid,
// without waiting for the interval.
func TestRunReprobesOnRouterChange(t *testing.T) {
	sup := newFakeSup(running)
	m := newFakeMgmt(stateLinkUp)
	cfg := testConfig(false)
	cfg.Interval = time.Hour // only the first probe and the change may trigger one
	p := newTestProber(t, cfg, scenarioTarget, m, sup)
	runProber(t, p)
	poll.Eventually(t, 5*time.Second, func() error { return wantProbes(p, 1) })
	restarted := running
	restarted.PID = 5151
	sup.set(restarted)
	poll.Eventually(t, 5*time.Second, func() error {
		if s := p.Snapshot(); s.ProbedPID != 5151 {
			return errors.New("new router not probed yet")
		}
		return nil
	})
	// One fresh connection per router: the first, then the new one (each
	// answered its first probe, so no more).
	if m.resets.Load() != 2 {
		t.Errorf("client resets = %d, want 2", m.resets.Load())
	}
}

// TestRunPollsFasterWhileNotReady: while not ready the poller polls at a
// quarter of the interval (at least 100 ms apart), so a returning link is
// seen quickly; while ready at the interval. The delays are the policy's
// own values, not timed; the flow checks that readiness does come back.
func TestRunPollsFasterWhileNotReady(t *testing.T) {
	m := newFakeMgmt(stateInteriorDown)
	cfg := testConfig(false)
	cfg.Interval = 2 * time.Second
	p := newTestProber(t, cfg, scenarioTarget, m, newFakeSup(running))
	runProber(t, p)
	poll.Eventually(t, 5*time.Second, func() error { return wantProbes(p, 1) })
	if s := p.Snapshot(); s.Ready(time.Now()) || p.nextDelay(s) != cfg.Interval/4 {
		t.Errorf("not ready: next probe in %v, want %v", p.nextDelay(s), cfg.Interval/4)
	}
	m.set(stateLinkUp)
	poll.Eventually(t, 10*time.Second, func() error {
		if s := p.Snapshot(); !s.Ready(time.Now()) {
			return errors.New("not ready yet")
		}
		return nil
	})
	if s := p.Snapshot(); p.nextDelay(s) != cfg.Interval {
		t.Errorf("ready: next probe in %v, want the interval %v", p.nextDelay(s), cfg.Interval)
	}
	for _, tt := range []struct{ interval, want time.Duration }{
		{2 * time.Second, 500 * time.Millisecond}, {200 * time.Millisecond, 100 * time.Millisecond}, {50 * time.Millisecond, 50 * time.Millisecond},
	} {
		q := &Prober{cfg: Config{Interval: tt.interval}, now: time.Now}
		if got := q.nextDelay(&Snapshot{}); got != tt.want {
			t.Errorf("interval %v, not ready: next probe in %v, want %v", tt.interval, got, tt.want)
		}
	}
}

func wantProbes(p *Prober, n uint64) error {
	if got := p.Probes(); got < n {
		return errors.New("too few probes")
	}
	return nil
}

// runProber runs p until the test ends.
func runProber(t testing.TB, p *Prober) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}
