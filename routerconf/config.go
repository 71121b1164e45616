// Package routerconf turns edgeproxy's typed router configuration into an
// edge-mode skrouterd.json and writes it atomically.
//
// The package knows nothing about where the configuration came from (koanf
// lives only in cmd/edgeproxy); it receives a Config, validates it and
// renders it in a fixed order so the output is byte-for-byte reproducible.
// The koanf tags name each field's configuration key within its section
// (router.id, uplinks[i].tls.ca_file, listeners[i].port); cmd/edgeproxy decodes
// into these types.
package routerconf

import (
	"net"
	"strconv"
	"time"
)

// Config is everything needed to render an edge-mode skrouterd.json.
type Config struct {
	Router Router
	// Uplinks are the interior routers, each rendered as one edge connector
	// (see uplinks.go): the router links to all of them, uses one and fails
	// over to another by itself.
	Uplinks    []Uplink
	Listeners  []Listener
	Connectors []Connector
}

// Router is the router section: identity, management and logging.
type Router struct {
	// ID is the router id (and AMQP container id). Defaults to the host name.
	ID string `koanf:"id"`
	// Management is the host:port of the AMQP management listener. It must be
	// a loopback address.
	Management string `koanf:"management"`
	// WorkerThreads is the router's worker thread count; 0 keeps the router's default.
	WorkerThreads int `koanf:"worker_threads"`
	// LogLevel is the default log level and above, one of LogLevels: debug,
	// info, warning, error, critical.
	LogLevel string `koanf:"log_level"`
	// FlowLog turns the FLOW_LOG module on (off by default: at info it logs one
	// line per HTTP request and costs about 20% of the request rate).
	FlowLog bool `koanf:"flow_log"`
	// Observer is every tcpListener's protocol observer, one of Observers:
	// none, auto (the router's default: it detects HTTP/1 and HTTP/2 and
	// records each request), http1, http2. Empty keeps the router's default.
	Observer string `koanf:"observer"`
	// SiteID, when set, is rendered as the router's metadata ({"id": SiteID})
	// and as every tcpListener's and tcpConnector's siteId.
	SiteID string `koanf:"site_id"`
	// UplinkIdleTimeout is every edge connector's idleTimeoutSeconds: the
	// router drops an edge link on which nothing arrived for this long (a
	// frozen interior), and the interior sends something every half of it.
	// Whole seconds; 0 renders none (the router's default, 16 s).
	UplinkIdleTimeout time.Duration `koanf:"uplink_idle_timeout"`
}

// Uplink is where one edge connector goes: an interior router's edge listener.
type Uplink struct {
	// Name is the edge connector's name; empty: derived (NameUplinks).
	Name string `koanf:"name"`
	Host string `koanf:"host"`
	Port int    `koanf:"port"`
	TLS  TLS    `koanf:"tls"`
	// Key is the configuration key problems name (uplink, uplinks[1]);
	// empty: uplink for a single uplink, else uplinks[i].
	Key string `koanf:"-"`
}

// TLS configures the edge connector's sslProfile. TLS is on when any of the
// files is set.
type TLS struct {
	CAFile         string `koanf:"ca_file"`
	CertFile       string `koanf:"cert_file"`
	KeyFile        string `koanf:"key_file"`
	VerifyHostname bool   `koanf:"verify_hostname"`
	// Ordinal is the sslProfile's ordinal (rendered when above 0): live
	// certificate rotation raises it with every change of the files, so the
	// router opens a new edge connection with them (not a key).
	Ordinal int64 `koanf:"-"`
}

// Enabled reports whether any TLS file is configured.
func (t TLS) Enabled() bool { return t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" }

// Listener is one tcpListener: a port on the proxy carried to a routing address.
type Listener struct {
	Name    string `koanf:"name"`
	Host    string `koanf:"host"`
	Port    int    `koanf:"port"`
	Address string `koanf:"address"`
}

// Connector is one tcpConnector: connections that arrive over the router
// network for a routing address are opened to a target host:port (the
// workload next to the proxy). The router dials the target only when a
// flow arrives, once per flow.
type Connector struct {
	Name    string `koanf:"name"`
	Address string `koanf:"address"`
	Host    string `koanf:"host"`
	Port    int    `koanf:"port"`
}

// Target is the connector's target as host:port.
func (c Connector) Target() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }
