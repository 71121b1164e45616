package health

import "time"

// StatusDoc is the JSON document /status serves.
type StatusDoc struct {
	Ready                bool          `json:"ready"`
	Live                 bool          `json:"live"`
	CheckedAt            *time.Time    `json:"checkedAt"`
	ProbeDurationSeconds float64       `json:"probeDurationSeconds"`
	Router               RouterDoc     `json:"router"`
	Management           ManagementDoc `json:"management"`
	// Uplink is the uplink in use (Snapshot.InUse), Uplinks every one.
	Uplink     UplinkDoc             `json:"uplink"`
	Uplinks    []UplinkDoc           `json:"uplinks"`
	Listeners  []ListenerDoc         `json:"listeners"`
	Connectors []ConnectorDoc        `json:"connectors"`
	Checks     map[string][]CheckDoc `json:"checks"`
	// Reload is how the last configuration reload went; absent before the first.
	Reload *ReloadDoc `json:"reload,omitempty"`
}

// ReloadDoc is the last configuration reload.
type ReloadDoc struct {
	Reloads         int        `json:"reloads"`
	Trigger         string     `json:"trigger"`
	LastAttempt     time.Time  `json:"lastAttempt"`
	LastSuccess     *time.Time `json:"lastSuccess"`
	OK              bool       `json:"ok"`
	Error           string     `json:"error,omitempty"`
	Applied         string     `json:"applied,omitempty"`
	Changes         []string   `json:"changes,omitempty"`
	DurationSeconds float64    `json:"durationSeconds"`
}

// RouterDoc is the router process and identity.
type RouterDoc struct {
	PID           int        `json:"pid"`
	Phase         string     `json:"phase"`
	StartedAt     *time.Time `json:"startedAt"`
	UptimeSeconds float64    `json:"uptimeSeconds"`
	Restarts      int        `json:"restarts"`
	NextStart     *time.Time `json:"nextStart,omitempty"`
	LastExit      *ExitDoc   `json:"lastExit"`
	// Problem is a fault the router cannot get over by itself (no
	// management listener), as the supervisor saw it.
	Problem string `json:"problem,omitempty"`
	ID      string `json:"id"`
	Version string `json:"version"`
}

// ExitDoc is how the last router process ended.
type ExitDoc struct {
	PID           int       `json:"pid"`
	Code          int       `json:"code"`
	Signal        string    `json:"signal,omitempty"`
	At            time.Time `json:"at"`
	UptimeSeconds float64   `json:"uptimeSeconds"`
	LastLogs      []string  `json:"lastLogs,omitempty"`
}

// ManagementDoc is the management connection's state.
type ManagementDoc struct {
	Address string `json:"address"`
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
}

// UplinkDoc is one edge connector and its link.
type UplinkDoc struct {
	Host             string `json:"host"`
	Port             int    `json:"port"`
	Connector        string `json:"connector"`
	ConnectionStatus string `json:"connectionStatus"`
	ConnectionMsg    string `json:"connectionMsg"`
	LinkUp           bool   `json:"linkUp"`
	Interior         string `json:"interior,omitempty"`
}

func uplinkDoc(u UplinkStatus) UplinkDoc {
	return UplinkDoc{
		Host: u.Host, Port: u.Port, Connector: u.Connector,
		ConnectionStatus: u.ConnectionStatus, ConnectionMsg: u.ConnectionMsg,
		LinkUp: u.Up(), Interior: u.Container,
	}
}

// ListenerDoc is one tcpListener.
type ListenerDoc struct {
	Name              string `json:"name"`
	Host              string `json:"host"`
	Port              int    `json:"port"`
	Address           string `json:"address"`
	Exists            bool   `json:"exists"`
	OperStatus        string `json:"operStatus"`
	ConnectionMsg     string `json:"connectionMsg,omitempty"`
	ConnectionsOpened int64  `json:"connectionsOpened"`
	ConnectionsClosed int64  `json:"connectionsClosed"`
}

// ConnectorDoc is one tcpConnector: its target as edgeproxy last dialed it
// and the entity as the router has it.
type ConnectorDoc struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Host    string `json:"host"`
	Port    int    `json:"port"`
	// TargetChecked: dialed at least once; TargetReachable: the last dial connected.
	TargetChecked     bool       `json:"targetChecked"`
	TargetReachable   bool       `json:"targetReachable"`
	TargetError       string     `json:"targetError,omitempty"`
	TargetCheckedAt   *time.Time `json:"targetCheckedAt"`
	TargetSince       *time.Time `json:"targetSince"`
	DialSeconds       float64    `json:"dialSeconds"`
	Exists            bool       `json:"exists"`
	ConnectionsOpened int64      `json:"connectionsOpened"`
	ConnectionsClosed int64      `json:"connectionsClosed"`
}

// CheckDoc is one check's outcome.
type CheckDoc struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Message string `json:"message,omitempty"`
}

// NewStatusDoc renders snap as of now.
func NewStatusDoc(snap *Snapshot, now time.Time) StatusDoc {
	live, ready := snap.LiveChecks(now), snap.ReadyChecks(now)
	st := snap.Supervisor
	d := StatusDoc{
		Ready:                allOK(ready),
		Live:                 allOK(live),
		ProbeDurationSeconds: snap.ProbeDuration.Seconds(),
		Router: RouterDoc{
			PID: st.PID, Phase: string(st.Phase), Restarts: st.Restarts,
			ID: snap.RouterID, Version: snap.RouterVersion, Problem: st.Problem,
			StartedAt: timePtr(st.StartedAt), NextStart: timePtr(st.NextStart),
		},
		Management: ManagementDoc{Address: snap.ManagementAddress, OK: snap.ManagementOK, Error: snap.ManagementError},
		Uplink:     uplinkDoc(snap.InUse()),
		Uplinks:    make([]UplinkDoc, len(snap.Uplinks)),
		Listeners:  make([]ListenerDoc, 0, len(snap.Listeners)),
		Connectors: make([]ConnectorDoc, 0, len(snap.Connectors)),
		Checks:     map[string][]CheckDoc{"live": checkDocs(live), "ready": checkDocs(ready)},
	}
	if !snap.At.IsZero() {
		d.CheckedAt = timePtr(snap.At)
	}
	if st.PID > 0 && !st.StartedAt.IsZero() {
		d.Router.UptimeSeconds = now.Sub(st.StartedAt).Seconds()
	}
	if r := snap.Reload; r != nil {
		d.Reload = &ReloadDoc{Reloads: r.Reloads, Trigger: r.Trigger, LastAttempt: r.LastAttempt.UTC(), LastSuccess: timePtr(r.LastSuccess),
			OK: r.OK, Error: r.Error, Applied: r.Applied, Changes: r.Changes, DurationSeconds: r.Duration.Seconds()}
	}
	if e := st.LastExit; e != nil {
		d.Router.LastExit = &ExitDoc{PID: e.PID, Code: e.Code, Signal: e.Signal, At: e.At, UptimeSeconds: e.Uptime.Seconds(), LastLogs: e.LastLogs}
	}
	for i, u := range snap.Uplinks {
		d.Uplinks[i] = uplinkDoc(u)
	}
	for _, l := range snap.Listeners {
		d.Listeners = append(d.Listeners, ListenerDoc{
			Name: l.Name, Host: l.Host, Port: l.Port, Address: l.Address, Exists: l.Exists,
			OperStatus: l.OperStatus, ConnectionMsg: l.ConnectionMsg,
			ConnectionsOpened: l.ConnectionsOpened, ConnectionsClosed: l.ConnectionsClosed,
		})
	}
	for _, c := range snap.Connectors {
		t := c.Target
		d.Connectors = append(d.Connectors, ConnectorDoc{
			Name: t.Name, Address: t.Address, Host: t.Host, Port: t.Port,
			TargetChecked: t.Checked, TargetReachable: t.Reachable, TargetError: t.Error,
			TargetCheckedAt: timePtr(t.CheckedAt), TargetSince: timePtr(t.Since), DialSeconds: t.DialTime.Seconds(),
			Exists: c.Exists, ConnectionsOpened: c.ConnectionsOpened, ConnectionsClosed: c.ConnectionsClosed,
		})
	}
	return d
}

func checkDocs(cs []Check) []CheckDoc {
	out := make([]CheckDoc, len(cs))
	for i, c := range cs {
		out[i] = CheckDoc(c)
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
