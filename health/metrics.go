package health

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric descriptions; values come from the snapshot at scrape time.
var (
	descRouterUp = prometheus.NewDesc("edgeproxy_router_up",
		"1 when the router process runs, else 0.", nil, nil)
	descRestarts = prometheus.NewDesc("edgeproxy_router_restarts_total",
		"Router restarts after unexpected exits.", nil, nil)
	descManagementUp = prometheus.NewDesc("edgeproxy_management_up",
		"1 when the router's management answered the last probe within the timeout.", nil, nil)
	descEdgeLinkUp = prometheus.NewDesc("edgeproxy_edge_link_up",
		"1 when at least one edge connector is SUCCESS with its edge connection open.", nil, nil)
	descUplinkUp = prometheus.NewDesc("edgeproxy_uplink_up",
		"1 when this edge connector is SUCCESS with its edge connection open.",
		[]string{"connector", "host", "port"}, nil)
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
	for _, d := range []*prometheus.Desc{descRouterUp, descRestarts, descManagementUp, descEdgeLinkUp, descUplinkUp, descListenerUp,
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
	running := snap.routerRunning()
	current, _ := snap.dataUsable()
	gauge(descRouterUp, b2f(running))
	counter(descRestarts, float64(snap.Supervisor.Restarts))
	gauge(descManagementUp, b2f(current))
	gauge(descEdgeLinkUp, b2f(current && snap.LinkUp()))
	for _, u := range snap.Uplinks {
		gauge(descUplinkUp, b2f(current && u.Up()), u.Connector, u.Host, strconv.Itoa(u.Port))
	}
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
