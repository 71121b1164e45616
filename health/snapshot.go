package health

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/edgeproxy/edgeproxy/connectors"
	"github.com/edgeproxy/edgeproxy/supervisor"
)

// This file is the snapshot and the checks evaluated on it: pure functions
// of the data the poller gathered, the supervisor's status and the time.

// Check names, as they appear in ?verbose output and ?exclude=.
const (
	CheckSupervisor = "supervisor"
	CheckPoller     = "poller"
	CheckShutdown   = "shutdown"
	CheckRouter     = "router"
	CheckManagement = "management"
	CheckEdgeLink   = "edge-link"
	// CheckListenerPrefix + listener name is one check per tcpListener.
	CheckListenerPrefix = "listener/"
	// CheckConnectorPrefix + connector name is one check per tcpConnector.
	CheckConnectorPrefix = "connector/"
)

// Check is one named health check's outcome.
type Check struct {
	Name string
	OK   bool
	// Message says why it failed, or adds a note to a pass.
	Message string
}

// UplinkStatus is one edge connector and its link as last seen.
type UplinkStatus struct {
	Host      string
	Port      int
	Connector string
	// Found: the router has the connector.
	Found            bool
	ConnectionStatus string
	ConnectionMsg    string
	// LinkOpen: the connector reports its connection opened (SUCCESS,
	// "[Cn] Connection Opened: ...").
	LinkOpen bool
	// Container is the interior's container id on that connection.
	Container string
}

// Up reports whether the edge link is up: SUCCESS and an open edge connection.
func (u UplinkStatus) Up() bool { return u.Found && u.ConnectionStatus == "SUCCESS" && u.LinkOpen }

// ListenerStatus is one configured tcpListener as last seen in the router.
type ListenerStatus struct {
	ListenerSpec
	// Exists: the router has a tcpListener of this name.
	Exists            bool
	OperStatus        string
	ConnectionMsg     string
	ConnectionsOpened int64
	ConnectionsClosed int64
}

// Up reports whether the listener exists and its operStatus is up.
func (l ListenerStatus) Up() bool { return l.Exists && l.OperStatus == "up" }

// ConnectorStatus is one configured tcpConnector: its target as edgeproxy
// last dialed it, and the entity as last seen in the router (which says
// nothing about the target: see internal/mgmt.TCPConnector).
type ConnectorStatus struct {
	Target connectors.Status
	// Exists: the router has a tcpConnector of this name.
	Exists            bool
	ConnectionsOpened int64
	ConnectionsClosed int64
}

// Snapshot is one immutable view of the proxy's health. The poller
// builds a new one every interval; readers never modify it.
type Snapshot struct {
	// At is when the probe started (zero before the first probe).
	At            time.Time
	ProbeDuration time.Duration
	// StaleAfter: a snapshot older than this means the poller is stuck.
	StaleAfter time.Duration

	Supervisor supervisor.Status
	// ProbedPID is the router pid the management results belong to.
	ProbedPID int
	// Stopping: edgeproxy is shutting down (readiness is false).
	Stopping bool

	ManagementAddress string
	ManagementOK      bool
	ManagementError   string

	RouterID      string
	RouterVersion string
	// Uplinks are the edge connectors, in configuration order.
	Uplinks   []UplinkStatus
	Listeners []ListenerStatus

	// RequireListeners makes a down tcpListener fail readiness.
	RequireListeners bool

	Connectors []ConnectorStatus
	// RequireConnectors makes an unreachable connector target fail readiness.
	RequireConnectors bool
	// WithdrawConnectors: a tcpConnector is deleted while its target is
	// unreachable (its absence is then expected).
	WithdrawConnectors bool

	// Reload is how the last configuration reload went; nil before the first.
	Reload *ReloadStatus
}

// ReloadStatus is how configuration reloads went (SIGHUP, a changed
// --config file or TLS file), as live reconfiguration reports it.
type ReloadStatus struct {
	Reloads     int       // reloads attempted
	Trigger     string    // what started the last one: "SIGHUP", "file change: <path>"
	LastAttempt time.Time // when the last one started
	LastSuccess time.Time // when the last successful one ended (zero: none yet)
	// OK: the last reload was applied (or changed nothing). Error says why
	// it was not: every configuration problem, or the failed step.
	OK    bool
	Error string
	// Applied is how the last successful one was applied: "unchanged",
	// "live" or "restart: <reason>"; Changes lists the entities changed.
	Applied string
	Changes []string
	// Duration is how long the last one took, from trigger to applied.
	Duration time.Duration
}

// LinkUp reports whether at least one edge link is up: the router then has
// an active edge connection (it uses one open link and keeps the others as
// standbys, failing over by itself).
func (s *Snapshot) LinkUp() bool {
	for _, u := range s.Uplinks {
		if u.Up() {
			return true
		}
	}
	return false
}

// InUse is the first uplink whose link is up, else the first uplink (zero
// without uplinks). With several links up the router's active one may be
// another: the connector rows do not say which.
func (s *Snapshot) InUse() UplinkStatus {
	for _, u := range s.Uplinks {
		if u.Up() {
			return u
		}
	}
	if len(s.Uplinks) > 0 {
		return s.Uplinks[0]
	}
	return UplinkStatus{}
}

// LiveChecks evaluates the liveness checks at time now.
func (s *Snapshot) LiveChecks(now time.Time) []Check {
	return []Check{s.supervisorCheck(), s.pollerCheck(now)}
}

// ReadyChecks evaluates the readiness checks at time now.
func (s *Snapshot) ReadyChecks(now time.Time) []Check {
	checks := []Check{s.shutdownCheck(), s.routerCheck(), s.managementCheck(), s.edgeLinkCheck()}
	for _, l := range s.Listeners {
		checks = append(checks, s.listenerCheck(l))
	}
	for _, c := range s.Connectors {
		checks = append(checks, s.connectorCheck(c))
	}
	return append(checks, s.pollerCheck(now))
}

// Live and Ready report whether every check passes (none excluded).
func (s *Snapshot) Live(now time.Time) bool  { return allOK(s.LiveChecks(now)) }
func (s *Snapshot) Ready(now time.Time) bool { return allOK(s.ReadyChecks(now)) }

func allOK(checks []Check) bool {
	for _, c := range checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// supervisorCheck: the supervisor loop runs and the router runs or a
// restart is pending. A crash loop being handled is not a liveness failure;
// a supervisor that gave up is. A requested stop under way is not either.
func (s *Snapshot) supervisorCheck() Check {
	st := s.Supervisor
	c := Check{Name: CheckSupervisor, OK: st.Alive() || st.Phase == supervisor.PhaseStopping}
	if !c.OK {
		c.Message = "phase " + string(st.Phase) + lastExitNote(st.LastExit)
	}
	return c
}

func (s *Snapshot) pollerCheck(now time.Time) Check {
	c := Check{Name: CheckPoller, OK: true}
	if s.At.IsZero() || s.Stopping {
		return c // no probe yet (other checks say so), or stopped on purpose
	}
	if age := now.Sub(s.At); s.StaleAfter > 0 && age > s.StaleAfter {
		c.OK = false
		c.Message = fmt.Sprintf("last probe %s ago (limit %s)", age.Round(time.Millisecond), s.StaleAfter)
	}
	return c
}

func (s *Snapshot) shutdownCheck() Check {
	c := Check{Name: CheckShutdown, OK: true}
	switch {
	case s.Stopping:
		c.OK, c.Message = false, "edgeproxy is shutting down"
	case s.Supervisor.Phase == supervisor.PhaseStopping || s.Supervisor.Phase == supervisor.PhaseStopped:
		c.OK, c.Message = false, "the router is being stopped on request"
	}
	return c
}

func (s *Snapshot) routerRunning() bool {
	return s.Supervisor.Phase == supervisor.PhaseRunning && s.Supervisor.PID > 0
}

func (s *Snapshot) routerCheck() Check {
	st := s.Supervisor
	if s.routerRunning() {
		return Check{Name: CheckRouter, OK: true}
	}
	msg := "phase " + string(st.Phase)
	if st.Phase == supervisor.PhaseBackingOff && !st.NextStart.IsZero() {
		msg += fmt.Sprintf(", restart %d due at %s", st.Restarts+1, st.NextStart.UTC().Format(time.RFC3339Nano))
	}
	return Check{Name: CheckRouter, Message: msg + lastExitNote(st.LastExit)}
}

// probedCurrent reports whether the management results describe the
// router process running now.
func (s *Snapshot) probedCurrent() (bool, string) {
	switch {
	case s.At.IsZero():
		return false, "not probed yet"
	case !s.routerRunning():
		return false, "router not running"
	case s.ProbedPID != s.Supervisor.PID:
		return false, fmt.Sprintf("router pid %d not probed yet", s.Supervisor.PID)
	}
	return true, ""
}

func (s *Snapshot) managementCheck() Check {
	if p := s.Supervisor.Problem; p != "" {
		return Check{Name: CheckManagement, Message: p}
	}
	if ok, why := s.probedCurrent(); !ok {
		return Check{Name: CheckManagement, Message: why}
	}
	return Check{Name: CheckManagement, OK: s.ManagementOK, Message: s.ManagementError}
}

// dataUsable says whether the entity data can be judged, and if not why.
func (s *Snapshot) dataUsable() (bool, string) {
	if ok, why := s.probedCurrent(); !ok {
		return false, why
	}
	if !s.ManagementOK {
		return false, "unknown: management did not answer"
	}
	return true, ""
}

// edgeLinkCheck passes when at least one edge link is up. With several
// uplinks its message names each one that is down (a note on a pass).
func (s *Snapshot) edgeLinkCheck() Check {
	c := Check{Name: CheckEdgeLink}
	if ok, why := s.dataUsable(); !ok {
		c.Message = why
		return c
	}
	if len(s.Uplinks) == 0 {
		c.Message = "no uplink configured"
		return c
	}
	c.OK = s.LinkUp()
	if len(s.Uplinks) == 1 {
		c.Message = s.Uplinks[0].Problem()
		return c
	}
	var down []string
	for _, u := range s.Uplinks {
		if why := u.Problem(); why != "" {
			down = append(down, u.Connector+": "+why)
		}
	}
	c.Message = strings.Join(down, "; ")
	if c.OK && c.Message != "" {
		c.Message = "uplinks down: " + c.Message
	}
	return c
}

// Problem says why the uplink's link is not up, or "".
func (u UplinkStatus) Problem() string {
	switch {
	case !u.Found:
		return fmt.Sprintf("connector %q not found in the router", u.Connector)
	case u.ConnectionStatus != "SUCCESS":
		if u.ConnectionMsg != "" {
			return u.ConnectionStatus + ": " + u.ConnectionMsg
		}
		return cmp.Or(u.ConnectionStatus, "no connectionStatus")
	case !u.LinkOpen:
		return "SUCCESS but the connector reports no opened connection: " + u.ConnectionMsg
	}
	return ""
}

func (s *Snapshot) listenerCheck(l ListenerStatus) Check {
	c := Check{Name: CheckListenerPrefix + l.Name}
	if ok, why := s.dataUsable(); !ok {
		c.Message = why
		return c
	}
	switch {
	case !l.Exists:
		c.Message = fmt.Sprintf("tcpListener %q (port %d → %s) not found in the router", l.Name, l.Port, l.Address)
	case l.OperStatus == "up":
		c.OK = true
	default:
		why := fmt.Sprintf("operStatus %s: no reachable consumer of %s", cmp.Or(l.OperStatus, "unknown"), l.Address)
		if l.ConnectionMsg != "" {
			why += " (" + l.ConnectionMsg + ")"
		}
		c.OK = !s.RequireListeners
		if c.OK {
			why += "; not required (health.require_listeners is false)"
		}
		c.Message = why
	}
	return c
}

// connectorCheck: the target accepts connections (edgeproxy's own dial) and
// the router has the tcpConnector. A failure fails readiness only with
// health.require_connectors: a workload-side proxy whose workload is down
// says so, and is not restarted for it.
func (s *Snapshot) connectorCheck(c ConnectorStatus) Check {
	t := c.Target
	ch := Check{Name: CheckConnectorPrefix + t.Name}
	var why string
	switch {
	case !t.Checked:
		why = fmt.Sprintf("target %s not dialed yet", t.Target())
	case !t.Reachable:
		why = fmt.Sprintf("target %s of %s does not accept connections: %s (since %s)", t.Target(), t.Address, t.Error,
			t.Since.UTC().Format(time.RFC3339))
		if ok, _ := s.dataUsable(); ok && !c.Exists && s.WithdrawConnectors {
			why += "; tcpConnector withdrawn until it does"
		}
	default:
		if ok, dwhy := s.dataUsable(); !ok {
			why = dwhy
		} else if !c.Exists {
			why = fmt.Sprintf("target %s accepts connections but the router has no tcpConnector %q for %s", t.Target(), t.Name, t.Address)
		} else {
			ch.OK = true
			return ch
		}
	}
	ch.OK = !s.RequireConnectors
	if ch.OK {
		why += "; not required (health.require_connectors is false)"
	}
	ch.Message = why
	return ch
}

func lastExitNote(e *supervisor.Exit) string {
	if e == nil {
		return ""
	}
	if e.Signal != "" {
		return fmt.Sprintf("; last exit: pid %d killed by %s after %s", e.PID, e.Signal, e.Uptime.Round(time.Millisecond))
	}
	return fmt.Sprintf("; last exit: pid %d code %d after %s", e.PID, e.Code, e.Uptime.Round(time.Millisecond))
}
