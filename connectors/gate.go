package connectors

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/mgmt"
	"github.com/edgeproxy/edgeproxy/routerconf"
)

// Management is what the gate needs from the management client (*mgmt.Client).
type Management interface {
	Query(ctx context.Context, entityType string, attributeNames ...string) ([]mgmt.Record, error)
	Create(ctx context.Context, entityType, name string, attributes map[string]any) (mgmt.Record, error)
	Delete(ctx context.Context, entityType, name string) error
}

// Gate makes each tcpConnector follow its target: present in the router
// while the watcher finds the target reachable (or has not dialed it yet),
// absent while it does not.
type Gate struct {
	watcher  *Watcher
	mgmt     Management
	siteID   string
	interval time.Duration
	timeout  time.Duration
	log      *slog.Logger
}

// NewGate returns a gate over w's targets; siteID is router.site_id (the
// rendered tcpConnectors carry it), interval how often it reconciles
// without a change, timeout the bound of each round's management calls.
func NewGate(w *Watcher, m Management, siteID string, interval, timeout time.Duration, log *slog.Logger) *Gate {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Gate{watcher: w, mgmt: m, siteID: siteID, interval: interval, timeout: timeout, log: log}
}

// Run reconciles at every change of a target's reachability and every
// interval (a restarted router has every connector back) until ctx ends.
func (g *Gate) Run(ctx context.Context) error {
	t := time.NewTimer(g.interval)
	defer t.Stop()
	for {
		changed := g.watcher.Changed()
		if err := g.Reconcile(ctx); err != nil && ctx.Err() == nil {
			g.log.Debug("connector gate: router not reconciled yet", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-t.C:
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(g.interval)
	}
}

// Withholds reports whether the gate keeps the tcpConnector rendered as e
// out of the router: its target, as e names it, was dialed and did not
// accept. A reload that converges the router leaves such a connector out
// too, instead of creating it for the gate to delete again.
func (g *Gate) Withholds(e routerconf.Entity) bool {
	if e.Type != "tcpConnector" {
		return false
	}
	for _, s := range g.watcher.Statuses() {
		if s.Name == e.Name() {
			host, _ := e.Get("host")
			port, _ := e.Get("port")
			return s.Checked && !s.Reachable && fmt.Sprint(host) == s.Host && fmt.Sprint(port) == strconv.Itoa(s.Port)
		}
	}
	return false
}

// Reconcile deletes the tcpConnectors whose target was found unreachable
// and creates the missing ones whose target is reachable.
func (g *Gate) Reconcile(ctx context.Context) error {
	statuses := g.watcher.Statuses()
	if len(statuses) == 0 {
		return nil // a proxy without connectors costs its router no query
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	recs, err := g.mgmt.Query(ctx, mgmt.EntityTCPConnector, "name")
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, r := range recs {
		have[r.String("name")] = true
	}
	var first error
	for _, s := range statuses {
		switch {
		case !s.Checked:
		case !s.Reachable && have[s.Name]:
			if err := g.mgmt.Delete(ctx, mgmt.EntityTCPConnector, s.Name); err != nil && !mgmt.IsNotFound(err) {
				first = cmp.Or(first, err)
				continue
			}
			g.log.Warn("connector withdrawn: its target does not accept connections", "connector", s.Name,
				"address", s.Address, "target", s.Target(), "err", s.Error)
		case s.Reachable && !have[s.Name]:
			attrs := routerconf.TCPConnectorAttributes(s.Connector, g.siteID)
			delete(attrs, "name")
			if _, err := g.mgmt.Create(ctx, mgmt.EntityTCPConnector, s.Name, attrs); err != nil {
				first = cmp.Or(first, err)
				continue
			}
			g.log.Info("connector restored: its target accepts connections", "connector", s.Name,
				"address", s.Address, "target", s.Target())
		}
	}
	return first
}
