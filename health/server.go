package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgeproxy/edgeproxy/supervisor"
)

// Source gives the handlers the current snapshot. Handlers only read it:
// no request ever reaches the router.
type Source interface {
	Snapshot() *Snapshot
}

// Server timeouts: a client that sends its headers slowly or reads
// slowly cannot hold a connection for long.
const (
	readHeaderTimeout = 2 * time.Second
	readTimeout       = 5 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
)

// Server serves /livez, /readyz, /status and /metrics from a Source.
type Server struct {
	src  Source
	log  *slog.Logger
	now  func() time.Time
	mux  *http.ServeMux
	http *http.Server
}

// NewServer returns a server reading src.
func NewServer(src Source, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{src: src, log: logger, now: time.Now, mux: http.NewServeMux()}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&snapshotCollector{src: src, now: func() time.Time { return s.now() }},
	)
	s.mux.HandleFunc("GET /livez", s.checks("livez", (*Snapshot).LiveChecks))
	s.mux.HandleFunc("GET /readyz", s.checks("readyz", (*Snapshot).ReadyChecks))
	s.mux.HandleFunc("GET /livez/{check...}", s.oneCheck((*Snapshot).LiveChecks))
	s.mux.HandleFunc("GET /readyz/{check...}", s.oneCheck((*Snapshot).ReadyChecks))
	s.mux.HandleFunc("GET /status", s.status)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		MaxRequestsInFlight: 4,
		Timeout:             writeTimeout / 2,
	}))
	s.http = &http.Server{
		Handler:           http.MaxBytesHandler(s.mux, 1<<10),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	return s
}

// Handler returns the HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Serve serves on ln until Shutdown; it returns nil after a Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Info("health endpoints listening", "address", ln.Addr().String())
	if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("health server: %w", err)
	}
	return nil
}

// Shutdown stops the server, letting requests in flight finish within ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.http.Shutdown(ctx); err != nil {
		_ = s.http.Close()
		return fmt.Errorf("health server shutdown: %w", err)
	}
	return nil
}

// checks serves /livez or /readyz the way kube-apiserver does: 200 "ok"
// or 503; with ?verbose one "[+]name ok" / "[-]name failed: reason" line
// per check and a closing line; ?exclude=NAME (repeatable) skips a check.
// Without ?verbose a failure still lists the failing checks, with their
// reasons withheld.
func (s *Server) checks(endpoint string, eval func(*Snapshot, time.Time) []Check) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		_, verbose := q["verbose"]
		excluded := map[string]bool{}
		for _, v := range q["exclude"] {
			for _, name := range strings.Split(v, ",") {
				if name = strings.TrimSpace(name); name != "" {
					excluded[name] = false
				}
			}
		}
		var b strings.Builder
		ok := true
		for _, c := range eval(s.src.Snapshot(), s.now()) {
			if _, skip := excluded[c.Name]; skip {
				excluded[c.Name] = true
				if verbose {
					fmt.Fprintf(&b, "[+]%s excluded: ok\n", c.Name)
				}
				continue
			}
			ok = ok && c.OK
			switch {
			case c.OK && verbose && c.Message != "":
				fmt.Fprintf(&b, "[+]%s ok: %s\n", c.Name, oneLine(c.Message))
			case c.OK && verbose:
				fmt.Fprintf(&b, "[+]%s ok\n", c.Name)
			case !c.OK && verbose:
				fmt.Fprintf(&b, "[-]%s failed: %s\n", c.Name, oneLine(c.Message))
			case !c.OK:
				fmt.Fprintf(&b, "[-]%s failed: reason withheld\n", c.Name)
			}
		}
		var unknown []string
		for name, matched := range excluded {
			if !matched {
				unknown = append(unknown, fmt.Sprintf("%q", name))
			}
		}
		if len(unknown) > 0 && verbose {
			slices.Sort(unknown)
			fmt.Fprintf(&b, "warn: some health checks cannot be excluded: no matches for %s\n", strings.Join(unknown, ","))
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		switch {
		case !ok:
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(&b, "%s check failed\n", endpoint)
		case verbose:
			fmt.Fprintf(&b, "%s check passed\n", endpoint)
		default:
			b.Reset()
			b.WriteString("ok")
		}
		_, _ = w.Write([]byte(b.String()))
	}
}

// oneCheck serves /readyz/NAME and /livez/NAME: one check's result.
func (s *Server) oneCheck(eval func(*Snapshot, time.Time) []Check) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("check")
		for _, c := range eval(s.src.Snapshot(), s.now()) {
			if c.Name != name {
				continue
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			if !c.OK {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, "[-]%s failed: %s\n", c.Name, oneLine(c.Message))
				return
			}
			fmt.Fprint(w, "ok")
			return
		}
		http.NotFound(w, r)
	}
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// StatusDoc is the JSON document /status serves.
type StatusDoc struct {
	Ready                bool                  `json:"ready"`
	Live                 bool                  `json:"live"`
	CheckedAt            *time.Time            `json:"checkedAt"`
	ProbeDurationSeconds float64               `json:"probeDurationSeconds"`
	Router               RouterDoc             `json:"router"`
	Management           ManagementDoc         `json:"management"`
	Uplink               UplinkDoc             `json:"uplink"`
	Listeners            []ListenerDoc         `json:"listeners"`
	Checks               map[string][]CheckDoc `json:"checks"`
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

// UplinkDoc is the edge connector and its link.
type UplinkDoc struct {
	Host             string `json:"host"`
	Port             int    `json:"port"`
	Connector        string `json:"connector"`
	ConnectionStatus string `json:"connectionStatus"`
	ConnectionMsg    string `json:"connectionMsg"`
	LinkUp           bool   `json:"linkUp"`
	Interior         string `json:"interior,omitempty"`
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
		Uplink: UplinkDoc{
			Host: snap.Uplink.Host, Port: snap.Uplink.Port, Connector: snap.Uplink.Connector,
			ConnectionStatus: snap.Uplink.ConnectionStatus, ConnectionMsg: snap.Uplink.ConnectionMsg,
			LinkUp: snap.Uplink.Up(), Interior: snap.Uplink.Container,
		},
		Listeners: make([]ListenerDoc, 0, len(snap.Listeners)),
		Checks:    map[string][]CheckDoc{"live": checkDocs(live), "ready": checkDocs(ready)},
	}
	if !snap.At.IsZero() {
		d.CheckedAt = timePtr(snap.At)
	}
	if st.PID > 0 && !st.StartedAt.IsZero() {
		d.Router.UptimeSeconds = now.Sub(st.StartedAt).Seconds()
	}
	if e := st.LastExit; e != nil {
		d.Router.LastExit = &ExitDoc{PID: e.PID, Code: e.Code, Signal: e.Signal, At: e.At, UptimeSeconds: e.Uptime.Seconds(), LastLogs: e.LastLogs}
	}
	for _, l := range snap.Listeners {
		d.Listeners = append(d.Listeners, ListenerDoc{
			Name: l.Name, Host: l.Host, Port: l.Port, Address: l.Address, Exists: l.Exists,
			OperStatus: l.OperStatus, ConnectionMsg: l.ConnectionMsg,
			ConnectionsOpened: l.ConnectionsOpened, ConnectionsClosed: l.ConnectionsClosed,
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

func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	body, err := json.MarshalIndent(NewStatusDoc(s.src.Snapshot(), s.now()), "", "  ")
	if err != nil {
		s.log.Error("render /status", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(body, '\n'))
}

// Metric descriptions; values come from the snapshot at scrape time.
var (
	descRouterUp = prometheus.NewDesc("edgeproxy_router_up",
		"1 when the router process runs, else 0.", nil, nil)
	descRestarts = prometheus.NewDesc("edgeproxy_router_restarts_total",
		"Router restarts after unexpected exits.", nil, nil)
	descManagementUp = prometheus.NewDesc("edgeproxy_management_up",
		"1 when the router's management answered the last probe within the timeout.", nil, nil)
	descEdgeLinkUp = prometheus.NewDesc("edgeproxy_edge_link_up",
		"1 when the edge connector is SUCCESS and an edge connection is open.", nil, nil)
	descListenerUp = prometheus.NewDesc("edgeproxy_listener_up",
		"1 when the tcpListener exists and its operStatus is up (a consumer of its address is reachable).",
		[]string{"name", "address"}, nil)
	descListenerOpened = prometheus.NewDesc("edgeproxy_listener_connections_opened_total",
		"Connections the tcpListener accepted (the router's counter; resets when the router restarts).",
		[]string{"name"}, nil)
	descListenerClosed = prometheus.NewDesc("edgeproxy_listener_connections_closed_total",
		"Connections of the tcpListener that closed (the router's counter; resets when the router restarts).",
		[]string{"name"}, nil)
	descProbeDuration = prometheus.NewDesc("edgeproxy_probe_duration_seconds",
		"How long the last health probe of the router took.", nil, nil)
	descReady = prometheus.NewDesc("edgeproxy_ready",
		"1 when /readyz passes, else 0.", nil, nil)
	descLive = prometheus.NewDesc("edgeproxy_live",
		"1 when /livez passes, else 0.", nil, nil)
	descRouterInfo = prometheus.NewDesc("edgeproxy_router_info",
		"The router's id and version (value 1).", []string{"id", "version"}, nil)
)

// snapshotCollector turns the current snapshot into metrics at scrape time.
type snapshotCollector struct {
	src Source
	now func() time.Time
}

func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRouterUp, descRestarts, descManagementUp, descEdgeLinkUp, descListenerUp,
		descListenerOpened, descListenerClosed, descProbeDuration, descReady, descLive, descRouterInfo} {
		ch <- d
	}
}

func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.src.Snapshot()
	now := c.now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	running := snap.Supervisor.Phase == supervisor.PhaseRunning && snap.Supervisor.PID > 0
	current, _ := snap.dataUsable()
	gauge(descRouterUp, b2f(running))
	counter(descRestarts, float64(snap.Supervisor.Restarts))
	gauge(descManagementUp, b2f(current))
	gauge(descEdgeLinkUp, b2f(current && snap.Uplink.Up()))
	for _, l := range snap.Listeners {
		gauge(descListenerUp, b2f(current && l.Up()), l.Name, l.Address)
		counter(descListenerOpened, float64(l.ConnectionsOpened), l.Name)
		counter(descListenerClosed, float64(l.ConnectionsClosed), l.Name)
	}
	gauge(descProbeDuration, snap.ProbeDuration.Seconds())
	gauge(descReady, b2f(snap.Ready(now)))
	gauge(descLive, b2f(snap.Live(now)))
	if snap.RouterID != "" || snap.RouterVersion != "" {
		gauge(descRouterInfo, 1, snap.RouterID, snap.RouterVersion)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
