// Package health probes skrouterd over AMQP management and serves the result over HTTP.
package health

import "time"

// Config is the health section.
type Config struct {
	// Listen is the HTTP listen address (loopback by default).
	Listen string
	// Management is the router's AMQP management address (host:port).
	Management string
	// Interval between probes; Timeout bounds each management call.
	Interval time.Duration
	Timeout  time.Duration
	// RequireListeners makes a tcpListener whose operStatus is down fail readiness.
	RequireListeners bool
}
