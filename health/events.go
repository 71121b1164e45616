package health

import (
	"context"
	"errors"
	"time"

	"github.com/Azure/go-amqp"

	"github.com/edgeproxy/edgeproxy/internal/mgmt"
)

// Events is what the prober needs to follow the router's flow records
// (*mgmt.Client). A Management that is not also an Events is polled.
type Events interface {
	FlowSource(ctx context.Context) (string, error)
	Subscribe(ctx context.Context, address string) (*mgmt.Subscription, error)
	Send(ctx context.Context, address string, msg *amqp.Message) error
}

// flushTimeout bounds the wait for the router's answer to FLUSH: a real
// router flushes its records first 2 s after it started, then once a
// second. No answer in time: its events are not usable, and the prober
// polls. After that answer the events are awaited without a deadline: with
// nobody on mc/sfe.all the router sends no heartbeats, only changes
// (captures/vanflow), so silence is normal.
const flushTimeout = 5 * time.Second

// watch follows the edge router's LINK records while the prober runs:
// after each (re)connect it finds the router's vanflow source (one QUERY of
// router.address), subscribes to its records and asks for them all
// (FLUSH). A change of a link's operStatus or down count probes at once;
// losing the events (no message within heartbeatTimeout, the connection
// lost, no answer to FLUSH) probes at once and leaves the prober polling at
// health.interval until the events are back (a router with no vanflow
// source, or whose FLUSH went unanswered, is polled until it is replaced).
// It returns when ctx ends.
func (p *Prober) watch(ctx context.Context, ev Events) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.connected:
		}
		pid := p.answeredPID.Load()
		err := p.follow(ctx, ev)
		p.eventsLive.Store(false)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errNoFlowSource) || errors.Is(err, errNoFlushAnswer) {
			p.noEventsPID.Store(pid)
			continue
		}
		p.log.Debug("router events stopped; polling", "err", err)
		p.kickProbe()
	}
}

// follow subscribes once and handles the events until they stop.
func (p *Prober) follow(ctx context.Context, ev Events) error {
	src, err := ev.FlowSource(ctx)
	if err != nil {
		return err
	}
	if src == "" {
		p.log.Info("the router publishes no flow records (no vanflow source): polling", "interval", p.cfg.Interval)
		return errNoFlowSource
	}
	sub, err := ev.Subscribe(ctx, mgmt.FlowEventAddress(src))
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = sub.Close(cctx)
	}()
	if err := ev.Send(ctx, mgmt.FlowCommandAddress(src), mgmt.FlushMessage(src)); err != nil {
		return err
	}
	links := map[string]*mgmt.FlowLink{}
	for {
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if !p.eventsLive.Load() {
			rctx, cancel = context.WithTimeout(ctx, flushTimeout)
		}
		msg, err := sub.Receive(rctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				p.log.Info("the router did not answer FLUSH with its flow records: polling", "interval", p.cfg.Interval, "waited", flushTimeout)
				return errNoFlushAnswer
			}
			return err
		}
		fm, err := mgmt.ParseFlowMessage(msg)
		if err != nil {
			p.log.Debug("flow message ignored", "err", err)
			continue
		}
		if fm.Subject != mgmt.SubjectRecord {
			continue
		}
		if p.eventsLive.CompareAndSwap(false, true) {
			p.log.Debug("following the router's flow records", "source", src)
		}
		if p.mergeLinks(links, fm.Records) {
			p.kickProbe()
		}
	}
}

var (
	errNoFlowSource  = errors.New("no vanflow source")
	errNoFlushAnswer = errors.New("no answer to FLUSH")
)

// mergeLinks applies the LINK records among recs and reports whether the
// operStatus or down count of an uplink changed: one LINK record per edge
// connector, named like it; each uplink is judged by the probe it triggers.
func (p *Prober) mergeLinks(links map[string]*mgmt.FlowLink, recs []mgmt.FlowRecord) bool {
	changed := false
	for _, r := range recs {
		id := r.ID()
		l, known := links[id]
		if !known {
			if r.Type() != mgmt.FlowRecordLink {
				continue
			}
			l = &mgmt.FlowLink{}
			links[id] = l
		}
		if l.Merge(r) && l.Role == "edge" && p.watchesUplink(l.Name) {
			changed = true
			p.log.Debug("edge link changed", "connector", l.Name, "oper_status", l.OperStatus, "down_count", l.DownCount, "reason", l.Reason)
		}
	}
	return changed
}

// watchesUplink reports whether the connector named name is one of the
// target's uplinks (any edge connector when an uplink's name is not known).
func (p *Prober) watchesUplink(name string) bool {
	for _, u := range p.target.Load().Uplinks {
		if u.Connector == "" || u.Connector == name {
			return true
		}
	}
	return false
}

// kickProbe asks Run for a full probe now.
func (p *Prober) kickProbe() {
	p.fullNext.Store(true)
	select {
	case p.kick <- struct{}{}:
	default: // one is pending
	}
}
