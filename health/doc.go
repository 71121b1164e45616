// Package health probes skrouterd over AMQP management (internal/mgmt)
// and serves the result over HTTP.
//
//	probe.go     the poller: management queries and the supervisor's status → one snapshot
//	events.go    the edge link followed by the router's flow records (LINK changes trigger probes)
//	snapshot.go  the snapshot and the checks evaluated on it (pure)
//	server.go    the HTTP server and its routes
//	handlers.go  /livez, /readyz (and one check), /status
//	status.go    the /status document
//	metrics.go   /metrics in the Prometheus text format, written from the snapshot at scrape time
//	config.go    the health section and its validation
package health
