package main

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/edgeproxy/edgeproxy/connectors"
	"github.com/edgeproxy/edgeproxy/health"
	"github.com/edgeproxy/edgeproxy/internal/mgmt"
	"github.com/edgeproxy/edgeproxy/internal/problems"
	"github.com/edgeproxy/edgeproxy/routerconf"
	"github.com/edgeproxy/edgeproxy/supervisor"
)

// healthShutdownGrace bounds how long in-flight health requests may finish
// once `run` stops.
const healthShutdownGrace = time.Second

// healthActors returns the health poller and HTTP server actors for `run`.
// The HTTP port is bound here, so a port in use fails `run` before anything
// starts.
func healthActors(s *settings, sup routerSupervisor, logger *slog.Logger) ([]actor, error) {
	h, err := newHealth(s, sup, logger)
	if err != nil {
		return nil, err
	}
	return h.actors, nil
}

// healthParts are the health actors and what a reload changes in them.
type healthParts struct {
	actors     []actor
	prober     *health.Prober
	client     *mgmt.Client
	connectors *connectors.Watcher
	gate       *connectors.Gate // nil unless health.withdraw_connectors
}

// SetTarget makes the prober and the connector target watcher expect t
// (a reloaded configuration).
func (h *healthParts) SetTarget(t health.Target) {
	h.prober.SetTarget(t)
	h.connectors.SetTargets(t.Connectors)
}

// Withholds reports whether the connector gate keeps e out of the router
// (never without a gate).
func (h *healthParts) Withholds(e routerconf.Entity) bool {
	return h.gate != nil && h.gate.Withholds(e)
}

// SetReload publishes how the last reload went.
func (h *healthParts) SetReload(r health.ReloadStatus) { h.prober.SetReload(r) }

// newHealth builds the health actors (healthActors): the poller, the
// HTTP server, the connector target watcher and, with
// health.withdraw_connectors, the connector gate.
func newHealth(s *settings, sup routerSupervisor, base *slog.Logger) (*healthParts, error) {
	logger := base.With("component", "health")
	client := mgmt.NewClient(mgmt.ClientConfig{
		Address: s.Health.Management,
		Timeout: s.Health.Timeout,
		Name:    "edgeproxy-health",
		Logger:  logger,
	})
	watcher := connectors.NewWatcher(s.Router.Connectors, s.Health.ConnectorInterval, s.Health.Timeout)
	prober := health.NewProber(health.ProberConfig{
		Health:  s.Health,
		Target:  healthTarget(s.Router),
		Logger:  logger,
		LinkUp:  sup.MarkReady,
		Targets: watcher,
	}, client, sup)
	server := health.NewServer(prober, logger)
	ln, err := net.Listen("tcp", s.Health.Listen)
	if err != nil {
		var p problems.List
		p.Add("health.listen", s.Health.Listen, "edgeproxy cannot listen there: %v", err)
		return nil, &configError{p.Err()}
	}
	ctx, cancel := context.WithCancel(context.Background())
	actors := []actor{
		{ // the poller: probes the router every health.interval into one snapshot
			name:    "health-poller",
			execute: func() error { return prober.Run(ctx) },
			interrupt: func(error) {
				prober.SetStopping() // readiness is false from here on
				cancel()
				_ = client.Close()
			},
		},
		{ // the HTTP server: /livez /readyz /status /metrics from the snapshot
			name:    "health-http",
			execute: func() error { return server.Serve(ln) },
			interrupt: func(error) {
				prober.SetStopping()
				// Keep answering (503, "[-]shutdown failed") while the router
				// stops, then close; execute returns once the server closed.
				go func() {
					waitRouterDown(sup, s.Supervisor.StopTimeout+time.Second)
					sctx, scancel := context.WithTimeout(context.Background(), healthShutdownGrace)
					defer scancel()
					if err := server.Shutdown(sctx); err != nil {
						logger.Warn("health server shutdown", "err", err)
					}
				}()
			},
		},
	}
	actors = append(actors, actor{ // the target watcher: dials each connector's target every health.connector_interval (none yet: a reload may add some)
		name:      "connector-targets",
		execute:   func() error { return watcher.Run(ctx) },
		interrupt: func(error) { cancel() },
	})
	parts := &healthParts{prober: prober, client: client, connectors: watcher}
	if s.Health.WithdrawConnectors {
		gate := connectors.NewGate(watcher, client, s.Router.Router.SiteID, s.Health.ConnectorInterval, s.Health.Timeout,
			base.With("component", "connectors"))
		actors = append(actors, actor{ // the gate: a tcpConnector is in the router only while its target accepts
			name:      "connector-gate",
			execute:   func() error { return gate.Run(ctx) },
			interrupt: func(error) { cancel() },
		})
		parts.gate = gate
	}
	parts.actors = actors
	return parts, nil
}

// routerSupervisor is what the health actors need of the supervisor: its
// status and its changes (health.Supervisor), and being told when the
// router's edge link is up.
type routerSupervisor interface {
	health.Supervisor
	MarkReady(pid int)
}

// waitRouterDown waits until the supervisor no longer runs or stops a
// router (its phase is stopped or failed), at most limit. It wakes on the
// supervisor's change notification, never by polling.
func waitRouterDown(sup routerSupervisor, limit time.Duration) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		changed := sup.Changed()
		switch sup.Status().Phase {
		case supervisor.PhaseStopped, supervisor.PhaseFailed:
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			return
		}
	}
}

// healthTarget is what the health checks expect the router to have: the
// rendered edge connectors, tcpListeners and tcpConnectors.
func healthTarget(rc routerconf.Config) health.Target {
	t := health.Target{RouterID: rc.Router.ID, Management: rc.Router.Management, Listeners: rc.Listeners, Connectors: rc.Connectors}
	for _, u := range rc.Uplinks {
		t.Uplinks = append(t.Uplinks, health.UplinkTarget{Connector: u.Name, Host: u.Host, Port: u.Port})
	}
	return t
}
