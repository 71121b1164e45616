package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgeproxy/edgeproxy/health"
	"github.com/edgeproxy/edgeproxy/internal/mgmt"
	"github.com/edgeproxy/edgeproxy/internal/problems"
	"github.com/edgeproxy/edgeproxy/live"
	"github.com/edgeproxy/edgeproxy/routerconf"
)

// Live reconfiguration: what a reload does, and how it is retried.
const (
	// watchDebounce is how long the watched files must be quiet before a
	// change is acted on (an editor writes, renames and chmods in a burst).
	watchDebounce = 250 * time.Millisecond
	// reloadTimeout bounds each management call of a reload: an sslProfile
	// UPDATE loads certificate files and can take hundreds of milliseconds.
	reloadTimeout = 5 * time.Second
	// applyAttempts: a failed apply is followed by up to this many converge
	// attempts, backing off from applyBackoff, doubling; then the running
	// configuration is restored and the reload reported failed.
	applyAttempts = 5
	applyBackoff  = 200 * time.Millisecond
)

// reloadTarget is what a reload changes besides the router: the prober's
// expectations and the supervisor's planned restart.
type reloadTarget interface {
	SetTarget(health.Target)
	SetReload(health.ReloadStatus)
	// Withholds: the connector gate keeps this tcpConnector out of the
	// router (its target does not accept), so a reload does not create it.
	Withholds(routerconf.Entity) bool
}

// restarter is the supervisor as a reload uses it.
type restarter interface {
	Restart(reason string)
	SetManagement(hostPort string)
}

// reloader applies configuration changes to the running router: on SIGHUP
// and when the --config file or the uplink's TLS files change, it loads
// the configuration with the same loader and validation as at start, diffs
// the rendered entities and applies the difference over management
// (package live), or asks the supervisor for one planned restart when the
// router cannot make the change at run time. Its actor runs one reload at a
// time; requests that arrive meanwhile are merged into one.
type reloader struct {
	c        *cli
	log      *slog.Logger
	sup      restarter
	target   reloadTarget
	m        live.Management
	watcher  *live.Watcher
	clients  []*mgmt.Client // pointed at a moved management address
	requests chan string

	cur        *settings
	entities   []routerconf.Entity
	tlsDigests map[string]string // per uplink name: its TLS files' content
	status     health.ReloadStatus
}

func newReloader(c *cli, s *settings, logger *slog.Logger, sup restarter, target reloadTarget, clients ...*mgmt.Client) (*reloader, error) {
	ents, err := routerconf.Entities(s.Router)
	if err != nil {
		return nil, &configError{err}
	}
	client := mgmt.NewClient(mgmt.ClientConfig{Address: s.Router.Router.Management, Timeout: reloadTimeout, Name: "edgeproxy-reload", Logger: logger})
	w, err := live.NewWatcher(watchDebounce, logger)
	if err != nil {
		return nil, err
	}
	r := &reloader{c: c, log: logger, sup: sup, target: target, m: client, watcher: w,
		clients: append(clients, client), requests: make(chan string, 1),
		cur: s, entities: ents, tlsDigests: tlsDigests(s.Router.Uplinks)}
	if err := w.SetFiles(r.watched(s)...); err != nil {
		_ = w.Close()
		return nil, err
	}
	return r, nil
}

// watched are the files whose change starts a reload.
func (r *reloader) watched(s *settings) []string {
	files := []string{s.Source}
	for _, u := range s.Router.Uplinks {
		files = append(files, u.TLS.CAFile, u.TLS.CertFile, u.TLS.KeyFile)
	}
	return files
}

// request asks for a reload; it never blocks (a pending one covers it).
func (r *reloader) request(trigger string) {
	select {
	case r.requests <- trigger:
	default:
		r.log.Debug("reload already pending", "trigger", trigger)
	}
}

// actors are the reloader (one reload at a time) and the file watcher.
func (r *reloader) actors() []actor {
	ctx, cancel := context.WithCancel(context.Background())
	return []actor{
		{
			name: "reloader",
			execute: func() error {
				for {
					select {
					case <-ctx.Done():
						return nil
					case trigger := <-r.requests:
						r.reload(ctx, trigger)
					}
				}
			},
			interrupt: func(error) { cancel() },
		},
		{
			name: "file-watcher",
			execute: func() error {
				return r.watcher.Run(ctx, func(changed []string) {
					r.request("file change: " + strings.Join(changed, ", "))
				})
			},
			interrupt: func(error) { cancel(); _ = r.watcher.Close() },
		},
	}
}

// reload loads the configuration again and applies what changed. It logs
// and publishes (/status) how that went; nothing is returned, as a failed
// reload leaves the proxy running as it was.
func (r *reloader) reload(ctx context.Context, trigger string) {
	began := time.Now()
	r.status.Reloads++
	r.status.Trigger, r.status.LastAttempt = trigger, began
	r.log.Info("reloading the configuration", "trigger", trigger)
	next, err := r.c.load()
	if err != nil {
		r.reject(err, "configuration reload rejected: nothing changed")
		return
	}
	if fixed := fixedChanges(r.cur, next); len(fixed) > 0 {
		r.log.Warn("configuration reload: these keys take effect only when edgeproxy restarts; kept as they are", "keys", fixed)
	}
	s := *r.cur
	s.Router, s.Source = next.Router, next.Source
	digests := r.rotate(s.Router.Uplinks)
	ents, err := routerconf.Entities(s.Router)
	if err != nil {
		r.reject(err, "configuration reload rejected: nothing changed")
		return
	}
	plan := routerconf.Diff(r.entities, ents)
	if plan.Empty() {
		r.commit(&s, ents, digests)
		r.succeeded(began, "unchanged", nil)
		return
	}
	if len(plan.Restart) > 0 {
		reason := "configuration reload: " + strings.Join(plan.Restart, "; ")
		if err := r.write(&s); err != nil {
			r.reject(err, "configuration reload failed: nothing changed")
			return
		}
		r.commit(&s, ents, digests)
		r.sup.Restart(reason)
		r.succeeded(began, "restart: "+strings.Join(plan.Restart, "; "), nil)
		return
	}
	if err := r.preflight(plan, s.Router); err != nil {
		r.reject(err, "configuration reload rejected: nothing changed")
		return
	}
	plan.Create = r.present(plan.Create)
	res, err := live.Apply(ctx, r.m, plan)
	done := res.Deleted
	for attempt, wait := 1, applyBackoff; err != nil && attempt <= applyAttempts && ctx.Err() == nil; attempt, wait = attempt+1, 2*wait {
		r.log.Warn("configuration reload: a step failed; converging the router to the new configuration", "err", err, "attempt", attempt, "retry_in", wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		res, err = r.converge(ctx, ents, plan.Update)
	}
	if err != nil {
		rb, rbErr := r.converge(context.Background(), r.entities, nil)
		msg := fmt.Sprintf("could not apply it after %d attempts: %v; restored the running configuration", applyAttempts+1, err)
		if rbErr != nil {
			msg = fmt.Sprintf("could not apply it after %d attempts: %v; restoring the running configuration failed too: %v", applyAttempts+1, err, rbErr)
		}
		r.log.Error("configuration reload failed", "trigger", trigger, "err", msg, "restored", rb.Changes(), "deleted_first", done)
		r.failed(msg)
		return
	}
	if err := r.write(&s); err != nil {
		// The router runs the new configuration; a restart would read the old file.
		r.log.Error("configuration applied live, but the router configuration file could not be written: a restart would start from the old one", "err", err)
	}
	r.commit(&s, ents, digests)
	changes := append(append(prefixed("deleted ", plan.Delete), prefixed("created ", plan.Create)...), updated(plan.Update)...)
	r.succeeded(began, "live", changes)
}

// rotate carries each uplink's sslProfile ordinal over from the running
// configuration and raises it where the content of its TLS files changed
// (same paths or not): the router then opens a new edge connection with
// the files, and the old one carries its flows until they end. It returns
// the files' digests.
func (r *reloader) rotate(uplinks []routerconf.Uplink) map[string]string {
	digests := tlsDigests(uplinks)
	for i := range uplinks {
		u := &uplinks[i]
		j := slices.IndexFunc(r.cur.Router.Uplinks, func(c routerconf.Uplink) bool { return c.Name == u.Name })
		if j < 0 || !u.TLS.Enabled() || !r.cur.Router.Uplinks[j].TLS.Enabled() {
			continue
		}
		u.TLS.Ordinal = r.cur.Router.Uplinks[j].TLS.Ordinal
		if digests[u.Name] != r.tlsDigests[u.Name] {
			u.TLS.Ordinal++
		}
	}
	return digests
}

// present leaves out of ents the tcpConnectors the connector gate
// withholds: it creates them itself once their targets accept.
func (r *reloader) present(ents []routerconf.Entity) []routerconf.Entity {
	return slices.DeleteFunc(slices.Clone(ents), r.target.Withholds)
}

// converge makes the router's runtime entities ents and repeats updates.
func (r *reloader) converge(ctx context.Context, ents []routerconf.Entity, updates []routerconf.Update) (live.Result, error) {
	res, err := live.Converge(ctx, r.m, r.present(ents))
	if err != nil {
		return res, err
	}
	up, err := live.Apply(ctx, r.m, routerconf.Plan{Update: updates})
	res.Updated = up.Updated
	return res, err
}

// preflight bind-checks the tcpListeners the plan creates on an address the
// router does not hold already (one it deletes first, or an unchanged one).
func (r *reloader) preflight(plan routerconf.Plan, rc routerconf.Config) error {
	held := map[string]bool{}
	for _, e := range r.entities {
		if e.Type == "tcpListener" {
			held[entityHostPort(e)] = true
		}
	}
	creating := map[string]bool{}
	for _, e := range plan.Create {
		if e.Type == "tcpListener" {
			creating[e.Name()] = true
		}
	}
	var p problems.List
	bindListeners(&p, rc.Listeners, func(l routerconf.Listener) bool {
		return creating[l.Name] && !held[net.JoinHostPort(l.Host, strconv.Itoa(l.Port))]
	})
	if err := p.Err(); err != nil {
		return &configError{err}
	}
	return nil
}

func entityHostPort(e routerconf.Entity) string {
	h, _ := e.Get("host")
	p, _ := e.Get("port")
	return net.JoinHostPort(fmt.Sprint(h), fmt.Sprint(p))
}

// write renders s's router configuration to router.config_file, so that a
// later restart starts from the same state.
func (r *reloader) write(s *settings) error {
	data, err := routerconf.Render(s.Router)
	if err != nil {
		return err
	}
	if err := routerconf.WriteFile(s.Supervisor.ConfigFile, data); err != nil {
		return fmt.Errorf("write the router configuration: %w", err)
	}
	return nil
}

// commit makes s the running configuration.
func (r *reloader) commit(s *settings, ents []routerconf.Entity, digests map[string]string) {
	if s.Router.Router.Management != r.cur.Router.Router.Management {
		for _, c := range r.clients {
			c.SetAddress(s.Router.Router.Management)
		}
		r.sup.SetManagement(routerconf.ListenerHostPort(s.Router.Router.Management))
	}
	r.cur, r.entities, r.tlsDigests = s, ents, digests
	r.target.SetTarget(healthTarget(s.Router))
	if err := r.watcher.SetFiles(r.watched(s)...); err != nil {
		r.log.Warn("cannot watch the configuration files", "err", err)
	}
}

func (r *reloader) succeeded(began time.Time, applied string, changes []string) {
	took := time.Since(began)
	r.status.OK, r.status.Error, r.status.Applied, r.status.Changes = true, "", applied, changes
	r.status.LastSuccess, r.status.Duration = time.Now(), took
	r.target.SetReload(r.status)
	r.log.Info("configuration reloaded", "trigger", r.status.Trigger, "applied", applied, "changes", changes, "took", took.Round(time.Microsecond))
}

// reject reports a configuration that is not applied, every problem on
// its own line (and as a list in the log record).
func (r *reloader) reject(err error, msg string) {
	lines := strings.Split(err.Error(), "\n")
	r.log.Error(msg, "trigger", r.status.Trigger, "problems", lines)
	var ce *configError
	if errors.As(err, &ce) {
		r.failed("invalid configuration: " + strings.Join(lines, "; "))
		return
	}
	r.failed(strings.Join(lines, "; "))
}

func (r *reloader) failed(why string) {
	r.status.OK, r.status.Error = false, why
	r.status.Applied, r.status.Changes = "", nil
	r.status.Duration = time.Since(r.status.LastAttempt)
	r.target.SetReload(r.status)
}

// fixedChanges lists the sections a reload keeps as they are (edgeproxy's
// own health server, log and supervisor settings, the router binary and
// its file), by key prefix.
func fixedChanges(cur, next *settings) []string {
	// The management address is derived from router.management, which a
	// reload applies.
	h, sc := next.Health, next.Supervisor
	h.Management, sc.Management = cur.Health.Management, cur.Supervisor.Management
	var out []string
	for _, c := range []struct {
		key  string
		a, b any
	}{
		{"health", cur.Health, h},
		{"supervisor (and router.binary, router.config_file)", cur.Supervisor, sc},
		{"log", cur.Log, next.Log},
	} {
		if !reflect.DeepEqual(c.a, c.b) {
			out = append(out, c.key)
		}
	}
	return out
}

// tlsDigests identify the content of each uplink's TLS files, by name.
func tlsDigests(uplinks []routerconf.Uplink) map[string]string {
	out := map[string]string{}
	for _, u := range uplinks {
		var parts []string
		for _, f := range []string{u.TLS.CAFile, u.TLS.CertFile, u.TLS.KeyFile} {
			if f != "" {
				parts = append(parts, live.FileDigest(f))
			}
		}
		out[u.Name] = strings.Join(parts, ",")
	}
	return out
}

func prefixed(p string, es []routerconf.Entity) []string {
	var out []string
	for _, e := range es {
		out = append(out, p+e.Key())
	}
	return out
}

func updated(us []routerconf.Update) []string {
	var out []string
	for _, u := range us {
		keys := make([]string, 0, len(u.Changed))
		for k := range u.Changed {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out = append(out, fmt.Sprintf("updated %s (%s)", u.Entity.Key(), strings.Join(keys, ", ")))
	}
	return out
}
