package connectors

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/notify"
	"github.com/edgeproxy/edgeproxy/routerconf"
)

// Status is what the last dial of one connector's target found.
type Status struct {
	routerconf.Connector
	// Checked: the target was dialed at least once.
	Checked bool
	// Reachable: the last dial connected within the timeout.
	Reachable bool
	// Error is why the last dial failed ("" when it connected).
	Error string
	// CheckedAt is when the last dial ended; Since is when Reachable last
	// changed (the first dial counts as a change).
	CheckedAt time.Time
	Since     time.Time
	// DialTime is how long the last dial took.
	DialTime time.Duration
}

// Watcher dials every connector's target once per interval, concurrently,
// each bounded by timeout, and keeps the latest results.
type Watcher struct {
	interval time.Duration
	timeout  time.Duration
	dial     func(ctx context.Context, network, address string) (net.Conn, error)
	now      func() time.Time

	status  atomic.Pointer[[]Status]
	changes notify.Broadcast
}

// NewWatcher returns a watcher of targets (none dialed yet).
func NewWatcher(targets []routerconf.Connector, interval, timeout time.Duration) *Watcher {
	w := &Watcher{interval: interval, timeout: timeout, now: time.Now}
	d := net.Dialer{}
	w.dial = d.DialContext
	w.SetTargets(targets)
	return w
}

// SetTargets replaces the targets (a reloaded configuration): a connector
// whose name and target are unchanged keeps its last result, the others
// start undialed (the gate leaves them alone until dialed); the next round
// dials them.
func (w *Watcher) SetTargets(targets []routerconf.Connector) {
	prev := map[string]Status{}
	if old := w.status.Load(); old != nil {
		for _, s := range *old {
			prev[s.Name] = s
		}
	}
	st := make([]Status, len(targets))
	for i, t := range targets {
		if p, ok := prev[t.Name]; ok && p.Connector == t {
			st[i] = p
		} else {
			st[i] = Status{Connector: t}
		}
	}
	w.status.Store(&st)
	w.changes.Notify()
}

// Statuses returns the latest results, one per target in configuration
// order. The slice is shared: do not modify it.
func (w *Watcher) Statuses() []Status { return *w.status.Load() }

// Changed returns a channel closed at the next change of any target's
// reachability.
func (w *Watcher) Changed() <-chan struct{} { return w.changes.Changed() }

// Run dials the targets at once and then every interval until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.Check(ctx)
			t.Reset(w.interval)
		}
	}
}

// Check dials every target once and stores the results.
func (w *Watcher) Check(ctx context.Context) {
	prevp := w.status.Load()
	prev := *prevp
	next := make([]Status, len(prev))
	var wg sync.WaitGroup
	for i := range prev {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next[i] = w.dialOne(ctx, prev[i])
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	if !w.status.CompareAndSwap(prevp, &next) {
		return // SetTargets replaced the targets meanwhile: the next round dials them
	}
	for i := range next {
		if !prev[i].Checked || prev[i].Reachable != next[i].Reachable {
			w.changes.Notify()
			return
		}
	}
}

func (w *Watcher) dialOne(ctx context.Context, prev Status) Status {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	start := w.now()
	c, err := w.dial(ctx, "tcp", prev.Target())
	s := prev
	s.Checked = true
	s.CheckedAt = w.now()
	s.DialTime = s.CheckedAt.Sub(start)
	s.Reachable, s.Error = err == nil, ""
	if err != nil {
		s.Error = err.Error()
	} else {
		_ = c.Close()
	}
	if !prev.Checked || prev.Reachable != s.Reachable {
		s.Since = s.CheckedAt
	}
	return s
}
