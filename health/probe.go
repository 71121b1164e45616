package health

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeproxy/edgeproxy/connectors"
	"github.com/edgeproxy/edgeproxy/internal/mgmt"
	"github.com/edgeproxy/edgeproxy/routerconf"
	"github.com/edgeproxy/edgeproxy/supervisor"
)

// Management is what the prober needs from the management client
// (*mgmt.Client).
type Management interface {
	Query(ctx context.Context, entityType string, attributeNames ...string) ([]mgmt.Record, error)
	// RemoteProperties are the router's open-frame properties (version).
	RemoteProperties() map[string]any
	// Reset drops the connection and its backoff (the router was replaced).
	Reset()
}

// Supervisor is what the prober needs of the supervisor: its status, an
// in-memory read (*supervisor.Supervisor satisfies it).
type Supervisor interface {
	Status() supervisor.Status
	// Changed's channel is closed at the next change of Status.
	Changed() <-chan struct{}
}

// Target is what the router is expected to have (from the rendered config).
type Target struct {
	// RouterID is the id the router is configured with; management answers
	// from a router with another id (another process on the management
	// port) are not this proxy's router's. Empty: not checked.
	RouterID string
	// Management is the router's management address; empty: the health
	// section's (Config.Management).
	Management string
	// Uplinks are the edge connectors, in configuration order.
	Uplinks    []UplinkTarget
	Listeners  []ListenerSpec
	Connectors []routerconf.Connector
}

// Targets is what the prober needs of the connectors' target watcher
// (*connectors.Watcher): the last dial of each target, in the order of
// Target.Connectors.
type Targets interface {
	Statuses() []connectors.Status
}

// UplinkTarget is one configured edge connector and the interior it goes to.
type UplinkTarget struct {
	// Connector is the connector's name (routerconf.Uplink.Name); empty:
	// the router's only connector with role edge.
	Connector string
	Host      string
	Port      int
}

// ListenerSpec is one configured tcpListener, as routerconf renders it.
type ListenerSpec = routerconf.Listener

// ProberConfig configures the poller.
type ProberConfig struct {
	Health Config
	Target Target
	Logger *slog.Logger
	// LinkUp, when set, is called with the router's pid after every probe
	// that found its edge link up (the supervisor's MarkReady: a router that
	// got that far is restarted at once if it dies).
	LinkUp func(pid int)
	// Targets reports the connectors' targets (nil: none dialed).
	Targets Targets
}

// Prober polls the router every interval and keeps one snapshot.
type Prober struct {
	cfg     Config
	target  atomic.Pointer[Target] // replaced by SetTarget on a reload
	reload  atomic.Pointer[ReloadStatus]
	mgmt    Management
	sup     Supervisor
	log     *slog.Logger
	now     func() time.Time
	linkUp  func(pid int)
	targets Targets

	snap atomic.Pointer[Snapshot]
	// answeredPID is the last router pid whose management answered a probe.
	answeredPID atomic.Int64
	stopping    atomic.Bool
	everReady   atomic.Bool
	probes      atomic.Uint64

	// connected gets a value after each probe that found management of a
	// new router process (or after it reconnected): the event watcher
	// subscribes then. kick asks Run to probe at once.
	connected  chan struct{}
	kick       chan struct{}
	eventsLive atomic.Bool
	// fullNext makes the next probe a full one (a link changed, or the
	// events stopped), not one of the tcpListeners only.
	fullNext atomic.Bool
	readyPID atomic.Int64 // the last router pid that was ready once
	// noEventsPID is the router pid found to have no vanflow source.
	noEventsPID atomic.Int64
}

// idleStatus is what the prober reports when it has no supervisor.
type idleStatus struct{}

func (idleStatus) Changed() <-chan struct{} { return nil } // never changes

func (idleStatus) Status() supervisor.Status {
	return supervisor.Status{Phase: supervisor.PhaseStarting}
}

// NewProber returns a prober of the router behind m, whose process the
// supervisor sup runs.
func NewProber(cfg ProberConfig, m Management, sup Supervisor) *Prober {
	if sup == nil {
		sup = idleStatus{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Prober{cfg: cfg.Health, mgmt: m, sup: sup, log: log, now: time.Now, linkUp: cfg.LinkUp, targets: cfg.Targets,
		connected: make(chan struct{}, 1), kick: make(chan struct{}, 1)}
	target := cfg.Target
	p.target.Store(&target)
	first := p.base(sup.Status())
	p.snap.Store(first)
	return p
}

// SetTarget replaces what the router is expected to have (a reloaded
// configuration); the next probe checks it.
func (p *Prober) SetTarget(t Target) { p.target.Store(&t) }

// SetReload publishes how the last configuration reload went (/status).
func (p *Prober) SetReload(r ReloadStatus) { p.reload.Store(&r) }

// base is a snapshot with no management results yet.
func (p *Prober) base(st supervisor.Status) *Snapshot {
	target := p.target.Load()
	s := &Snapshot{
		Reload:             p.reload.Load(),
		StaleAfter:         3 * (max(p.cfg.Interval, p.cfg.ListenerInterval) + p.cfg.Timeout),
		Supervisor:         st,
		Stopping:           p.stopping.Load(),
		ManagementAddress:  cmp.Or(target.Management, p.cfg.Management),
		RequireListeners:   p.cfg.RequireListeners,
		Uplinks:            make([]UplinkStatus, len(target.Uplinks)),
		Listeners:          make([]ListenerStatus, len(target.Listeners)),
		RequireConnectors:  p.cfg.RequireConnectors,
		WithdrawConnectors: p.cfg.WithdrawConnectors,
		Connectors:         make([]ConnectorStatus, len(target.Connectors)),
	}
	for i, u := range target.Uplinks {
		s.Uplinks[i] = UplinkStatus{Host: u.Host, Port: u.Port, Connector: u.Connector}
	}
	for i, l := range target.Listeners {
		s.Listeners[i] = ListenerStatus{ListenerSpec: l}
	}
	var dialed []connectors.Status
	if p.targets != nil {
		dialed = p.targets.Statuses()
	}
	for i, c := range target.Connectors {
		s.Connectors[i] = ConnectorStatus{Target: connectors.Status{Connector: c}}
		if i < len(dialed) && dialed[i].Name == c.Name {
			s.Connectors[i].Target = dialed[i]
		}
	}
	return s
}

// Snapshot returns the latest snapshot. When the supervisor's phase or pid
// changed since the probe (a stop began, the router exited), it returns a
// copy carrying the current supervisor state, so readiness turns false at
// once rather than at the next poll. Reading the supervisor's status is an
// atomic load, never router traffic.
func (p *Prober) Snapshot() *Snapshot {
	s := p.snap.Load()
	st := p.sup.Status()
	stopping := p.stopping.Load()
	reload := p.reload.Load()
	if st.Phase == s.Supervisor.Phase && st.PID == s.Supervisor.PID && st.Restarts == s.Supervisor.Restarts &&
		st.Problem == s.Supervisor.Problem && stopping == s.Stopping && reload == s.Reload {
		return s
	}
	c := *s
	c.Supervisor = st
	c.Stopping = stopping
	c.Reload = reload
	return &c
}

// Probes returns how many probes have run.
func (p *Prober) Probes() uint64 { return p.probes.Load() }

// SetStopping marks edgeproxy as shutting down: readiness is false from now on.
func (p *Prober) SetStopping() { p.stopping.Store(true) }

// Run probes until ctx ends. When the management client also gives the
// router's flow records (Events), the edge link is followed by its LINK
// records (watch): a link change probes at once, and otherwise the router
// is probed every health.listener_interval (tcpListener state has no
// events). Without events (none arrive, or the router has no vanflow
// source) it polls every health.interval. While not ready it polls four
// times as often (at least every 100 ms apart), and every startPoll while
// a new router process has not been ready yet, so start-up adds little
// delay; a link that is down is waited for by its event, when events flow.
// A change of the supervisor's phase or router pid (its change
// notification) probes at once; a router that has not answered yet is
// connected afresh at each probe, with no backoff.
func (p *Prober) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	if ev, ok := p.mgmt.(Events); ok && p.cfg.ListenerInterval > 0 {
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); p.watch(wctx, ev) }()
		defer func() { cancel(); <-done }()
	}
	changed := p.sup.Changed()
	last := p.sup.Status()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			changed = p.sup.Changed()
			st := p.sup.Status()
			if st.PID == last.PID && st.Phase == last.Phase {
				continue
			}
			last = st // a new router is connected afresh by the probe (answeredPID)
			timer.Reset(0)
		case <-p.kick:
			timer.Reset(0)
		case <-timer.C:
			s := p.Probe(ctx)
			last = s.Supervisor
			timer.Reset(p.nextDelay(s))
		}
	}
}

// startPoll is the probe cadence while a new router process starts (for
// startWindow after its launch, until it is first ready): a probe then
// costs the router little (a refused connect, or the first queries), and
// readiness follows the link at once (a real router opens it 4–12 ms after
// its management listener; its first flow records come 2 s after start).
const (
	startPoll   = 50 * time.Millisecond
	startWindow = 3 * time.Second
)

func (p *Prober) nextDelay(s *Snapshot) time.Duration {
	now := p.now()
	events := p.eventsLive.Load()
	if s.Ready(now) {
		if events {
			return p.cfg.ListenerInterval
		}
		return p.cfg.Interval
	}
	if s.routerRunning() && int64(s.Supervisor.PID) != p.readyPID.Load() && now.Sub(s.Supervisor.StartedAt) < startWindow {
		return min(p.cfg.Interval, startPoll)
	}
	if events && s.ManagementOK && !s.LinkUp() {
		return p.cfg.ListenerInterval // an uplink's LINK event wakes the prober
	}
	return min(p.cfg.Interval, max(p.cfg.Interval/4, 100*time.Millisecond))
}

// Probe runs the checks once, stores and returns the new snapshot.
func (p *Prober) Probe(ctx context.Context) *Snapshot {
	start := p.now()
	st := p.sup.Status()
	s := p.base(st)
	s.At = start
	s.ProbedPID = st.PID
	if s.routerRunning() {
		if int64(st.PID) != p.answeredPID.Load() {
			// This router has not answered yet (it is starting): connect
			// afresh at the prober's own fast cadence rather than after the
			// client's reconnect backoff, which its first refusals grew.
			p.mgmt.Reset()
		}
		prev := p.snap.Load()
		// While the events follow the links, a timed probe of the router
		// that answered the last one only reads the tcpListeners (and
		// tcpConnectors): the links' state, the router id and version
		// stay as that probe found them.
		listenersOnly := p.eventsLive.Load() && !p.fullNext.Swap(false) && prev.ManagementOK &&
			prev.ProbedPID == st.PID && int64(st.PID) == p.answeredPID.Load() && sameUplinks(prev, s)
		if listenersOnly {
			s.RouterID, s.RouterVersion = prev.RouterID, prev.RouterVersion
			copy(s.Uplinks, prev.Uplinks)
		}
		p.query(ctx, s, listenersOnly)
		if s.ManagementOK && (p.answeredPID.Swap(int64(st.PID)) != int64(st.PID) ||
			(!p.eventsLive.Load() && p.noEventsPID.Load() != int64(st.PID))) {
			select { // (re)subscribe to the new router's events
			case p.connected <- struct{}{}:
			default:
			}
		}
	} else {
		s.ManagementError = "router not running"
	}
	s.ProbeDuration = p.now().Sub(start)
	if p.linkUp != nil && s.ManagementOK && s.LinkUp() && s.ProbedPID > 0 {
		p.linkUp(s.ProbedPID)
	}
	p.probes.Add(1)
	if s.Ready(p.now()) {
		p.readyPID.Store(int64(s.ProbedPID))
	}
	prev := p.snap.Swap(s)
	p.logTransition(prev, s)
	return s
}

// sameUplinks reports whether a and b have the same uplink connectors (a
// live change of the target may have changed them).
func sameUplinks(a, b *Snapshot) bool {
	if len(a.Uplinks) != len(b.Uplinks) {
		return false
	}
	for i := range a.Uplinks {
		if a.Uplinks[i].Connector != b.Uplinks[i].Connector {
			return false
		}
	}
	return true
}

// query asks the router for the connectors, tcpListeners, router id and,
// when there are connectors, the tcpConnectors, concurrently, all within
// one timeout; listenersOnly asks for the tcpListeners and tcpConnectors
// only. It does not list connections: every
// TCP flow through the proxy is a connection row, so that answer (and the
// probe's cost) would grow with the traffic; the edge connector's own
// status and message say whether its link is open. (Which of several open
// edge connections the router uses is only in the connection rows, so the
// prober does not know it; see Snapshot.InUse.)
func (p *Prober) query(ctx context.Context, s *Snapshot, listenersOnly bool) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	type result struct {
		recs []mgmt.Record
		err  error
	}
	type query struct {
		entity string
		attrs  []string
	}
	const connectors, listeners, router, tcpConnectors = 0, 1, 2, 3
	queries := []query{
		{mgmt.EntityConnector, mgmt.ConnectorAttributes},
		{mgmt.EntityTCPListener, mgmt.TCPListenerAttributes},
		{mgmt.EntityRouter, []string{"id"}},
		{mgmt.EntityTCPConnector, mgmt.TCPConnectorAttributes},
	}
	skip := []bool{listenersOnly, false, listenersOnly, len(s.Connectors) == 0}
	results := make([]result, len(queries))
	var wg sync.WaitGroup
	for i, q := range queries {
		if skip[i] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs, err := p.mgmt.Query(ctx, q.entity, q.attrs...)
			results[i] = result{recs, err}
		}()
	}
	wg.Wait()
	var first error
	failed := 0
	for _, r := range results {
		if r.err != nil {
			failed++
			first = cmp.Or(first, r.err)
		}
	}
	if first != nil {
		s.ManagementError = first.Error()
		if failed > 1 {
			s.ManagementError += fmt.Sprintf(" (and %d more queries failed)", failed-1)
		}
		return
	}
	if !listenersOnly && len(results[router].recs) > 0 {
		s.RouterID = results[router].recs[0].String("id")
	}
	if id := p.target.Load().RouterID; id != "" && s.RouterID != id {
		s.ManagementError = fmt.Sprintf("management at %s answered for router %q, not this proxy's router %q: another process holds the management port (router.management)",
			s.ManagementAddress, s.RouterID, id)
		return
	}
	s.ManagementOK = true
	for i := range s.Listeners {
		fillListener(&s.Listeners[i], results[listeners].recs)
	}
	for i := range s.Connectors {
		fillConnector(&s.Connectors[i], results[tcpConnectors].recs)
	}
	if listenersOnly {
		return
	}
	for i := range s.Uplinks {
		s.Uplinks[i] = uplinkFrom(s.Uplinks[i], results[connectors].recs)
	}
	if v, ok := p.mgmt.RemoteProperties()["version"].(string); ok {
		s.RouterVersion = v
	}
}

// uplinkFrom fills u from the connector records (the one named
// u.Connector, else the only edge connector); the link is open as the
// connector itself reports it (mgmt.LinkOpened).
func uplinkFrom(u UplinkStatus, connectors []mgmt.Record) UplinkStatus {
	var found *mgmt.Connector
	var edge []mgmt.Connector
	for _, r := range connectors {
		c := mgmt.ConnectorFrom(r)
		if u.Connector != "" && c.Name == u.Connector {
			found = &c
			break
		}
		if c.Role == "edge" {
			edge = append(edge, c)
		}
	}
	if found == nil && len(edge) == 1 && u.Connector == "" {
		found = &edge[0]
	}
	if found != nil {
		u.Found = true
		u.ConnectionStatus = found.ConnectionStatus
		u.ConnectionMsg = found.ConnectionMsg
		u.LinkOpen = found.Opened()
		u.Container = found.Peer()
	}
	return u
}

func fillListener(l *ListenerStatus, recs []mgmt.Record) {
	for _, r := range recs {
		tl := mgmt.TCPListenerFrom(r)
		if tl.Name != l.Name {
			continue
		}
		l.Exists = true
		l.OperStatus = tl.OperStatus
		l.ConnectionMsg = tl.ConnectionMsg
		l.ConnectionsOpened = tl.ConnectionsOpened
		l.ConnectionsClosed = tl.ConnectionsClosed
		return
	}
}

func fillConnector(c *ConnectorStatus, recs []mgmt.Record) {
	for _, r := range recs {
		tc := mgmt.TCPConnectorFrom(r)
		if tc.Name != c.Target.Name {
			continue
		}
		c.Exists = true
		c.ConnectionsOpened = tc.ConnectionsOpened
		c.ConnectionsClosed = tc.ConnectionsClosed
		return
	}
}

// logTransition logs when readiness changes, with the failing checks.
func (p *Prober) logTransition(prev, cur *Snapshot) {
	now := p.now()
	was, is := prev.Ready(now), cur.Ready(now)
	switch {
	case is && !was:
		p.everReady.Store(true)
		p.log.Info("proxy ready", "router_id", cur.RouterID, "router_version", cur.RouterVersion, "interior", cur.InUse().Container)
	case !is && (was || prev.At.IsZero() || failing(prev, now, false) != failing(cur, now, false)):
		level := slog.LevelWarn
		if !p.everReady.Load() {
			level = slog.LevelInfo // still starting: the router and its link take a moment
		}
		p.log.Log(context.Background(), level, "proxy not ready", "failing", failing(cur, now, true))
	}
}

// failing lists the failing readiness checks, with their messages or not.
func failing(s *Snapshot, now time.Time, messages bool) string {
	var parts []string
	for _, c := range s.ReadyChecks(now) {
		switch {
		case c.OK:
		case messages:
			parts = append(parts, c.Name+": "+c.Message)
		default:
			parts = append(parts, c.Name)
		}
	}
	return strings.Join(parts, "; ")
}
