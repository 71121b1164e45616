package health

import (
	"time"

	"github.com/edgeproxy/edgeproxy/internal/problems"
)

// Config is the health section; the koanf tags name its keys.
type Config struct {
	// Listen is the HTTP listen address (loopback by default).
	Listen string `koanf:"listen"`
	// Management is the router's AMQP management address (host:port).
	Management string `koanf:"-"` // derived from router.management, not a key
	// Interval between probes when the router's events are not followed
	// (the fallback poll); Timeout bounds each management call.
	Interval time.Duration `koanf:"interval"`
	// ListenerInterval is the probe interval while the router's flow
	// records (events) say how its edge link is: tcpListener state has no
	// events, so it is polled this often. 0 turns the events off (poll
	// every Interval).
	ListenerInterval time.Duration `koanf:"listener_interval"`
	Timeout          time.Duration `koanf:"timeout"`
	// RequireListeners makes a tcpListener whose operStatus is down fail readiness.
	RequireListeners bool `koanf:"require_listeners"`
	// ConnectorInterval is how often each connector's target is dialed.
	ConnectorInterval time.Duration `koanf:"connector_interval"`
	// RequireConnectors makes a connector whose target does not accept
	// connections fail readiness.
	RequireConnectors bool `koanf:"require_connectors"`
	// WithdrawConnectors deletes a connector's tcpConnector from the router
	// while its target does not accept connections (package connectors).
	WithdrawConnectors bool `koanf:"withdraw_connectors"`
}

// Validate reports every problem with the health section at once.
func (c Config) Validate() error {
	var p problems.List
	p.HostPort("health.listen", c.Listen, "127.0.0.1:9090", "use 0.0.0.0 to listen everywhere")
	p.Positive("health.interval", c.Interval, c.Interval)
	p.Positive("health.timeout", c.Timeout, c.Timeout)
	if c.ListenerInterval < 0 {
		p.Add("health.listener_interval", c.ListenerInterval, "must not be negative (0 turns the router's events off)")
	}
	p.Positive("health.connector_interval", c.ConnectorInterval, c.ConnectorInterval)
	return p.Err()
}
