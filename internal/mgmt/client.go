package mgmt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/go-amqp"
)

// ClientConfig configures a management client.
type ClientConfig struct {
	// Address is the router's management host:port.
	Address string
	// Timeout bounds every call, connection set-up included.
	Timeout time.Duration
	// BackoffInitial and BackoffMax pace reconnection after failures
	// (defaults 100ms and 2s).
	BackoffInitial time.Duration
	BackoffMax     time.Duration
	// Name names the client in the router's logs and connection list: the
	// AMQP container id is Name-<random hex> (default "edgeproxy-mgmt").
	Name   string
	Logger *slog.Logger
}

// Client is an AMQP management client. It is safe for concurrent use.
type Client struct {
	cfg  ClientConfig
	addr atomic.Pointer[string] // cfg.Address, until SetAddress
	dial dialFunc
	log  *slog.Logger
	now  func() time.Time

	// connSem serialises connection set-up; a channel so waiting honours ctx.
	connSem chan struct{}

	mu          sync.Mutex
	cur         *conn // nil when not connected
	lastErr     error // last connection failure
	nextAttempt time.Time
	backoff     time.Duration
	closed      bool

	seq     atomic.Uint64
	calls   atomic.Uint64 // requests sent, for tests and metrics
	dials   atomic.Uint64
	dropped atomic.Uint64 // answers no call waited for
}

// NewClient returns a client for cfg; it connects on first use (or on
// Connect).
func NewClient(cfg ClientConfig) *Client {
	name := cfg.Name
	if name == "" {
		name = "edgeproxy-mgmt"
	}
	return newClient(cfg, func(ctx context.Context, addr string) (link, error) {
		return dialAMQP(ctx, addr, name+"-"+randomHex(6))
	})
}

func newClient(cfg ClientConfig, dial dialFunc) *Client {
	if cfg.BackoffInitial <= 0 {
		cfg.BackoffInitial = 100 * time.Millisecond
	}
	if cfg.BackoffMax < cfg.BackoffInitial {
		cfg.BackoffMax = max(2*time.Second, cfg.BackoffInitial)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, dial: dial, log: log, now: time.Now, connSem: make(chan struct{}, 1)}
	c.addr.Store(&cfg.Address)
	return c
}

// Address is the management address the client connects to.
func (c *Client) Address() string { return *c.addr.Load() }

// SetAddress points the client at another management address (the
// router's management listener moved, with a restart of the router): the
// current connection is dropped, and the next call connects there.
func (c *Client) SetAddress(addr string) {
	c.addr.Store(&addr)
	c.Reset()
}

// Requests returns how many requests the client has sent.
func (c *Client) Requests() uint64 { return c.calls.Load() }

// Dials returns how many connections the client has attempted.
func (c *Client) Dials() uint64 { return c.dials.Load() }

// Dropped returns how many answers arrived that no call waited for: late
// answers to calls that gave up, and answers with an unknown correlation id.
func (c *Client) Dropped() uint64 { return c.dropped.Load() }

// Query returns the entities of entityType with the named attributes (all
// when none are named).
func (c *Client) Query(ctx context.Context, entityType string, attributeNames ...string) ([]Record, error) {
	req := Request{Operation: OpQuery, EntityType: entityType, AttributeNames: attributeNames}
	body, err := c.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	recs, err := ParseQueryBody(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req, err)
	}
	return recs, nil
}

// Read returns the entity of entityType named name.
func (c *Client) Read(ctx context.Context, entityType, name string) (Record, error) {
	return c.entity(ctx, Request{Operation: OpRead, EntityType: entityType, Name: name})
}

// Create creates an entity and returns it as the router reports it; any
// answer but 201 is a *StatusError with the router's description.
func (c *Client) Create(ctx context.Context, entityType, name string, attributes map[string]any) (Record, error) {
	return c.entity(ctx, Request{Operation: OpCreate, EntityType: entityType, Name: name, Attributes: attributes, Expect: StatusCreated})
}

// Update changes the named entity's attributes (only those the schema
// marks updatable; the router answers 400 for others) and returns the
// entity as the router now reports it; any answer but 200 is a
// *StatusError.
func (c *Client) Update(ctx context.Context, entityType, name string, attributes map[string]any) (Record, error) {
	return c.entity(ctx, Request{Operation: OpUpdate, EntityType: entityType, Name: name, Attributes: attributes, Expect: StatusOK})
}

// Delete deletes the entity of entityType named name; any answer but 204 is
// a *StatusError (a missing entity: 404, see IsNotFound).
func (c *Client) Delete(ctx context.Context, entityType, name string) error {
	_, err := c.Do(ctx, Request{Operation: OpDelete, EntityType: entityType, Name: name, Expect: StatusNoContent})
	return err
}

func (c *Client) entity(ctx context.Context, req Request) (Record, error) {
	body, err := c.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	rec, err := parseEntityBody(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req, err)
	}
	return rec, nil
}

// RemoteProperties returns the router's open-frame properties (version,
// product) of the current connection, or nil when not connected.
func (c *Client) RemoteProperties() map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return nil
	}
	return c.cur.link.Properties()
}

// ReplyTo returns the dynamic reply address the router gave the current
// connection, or "" when not connected.
func (c *Client) ReplyTo() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return ""
	}
	return c.cur.link.ReplyTo()
}

// Connect opens the connection now, if there is none, within the timeout;
// calls otherwise connect on first use.
func (c *Client) Connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	_, err := c.connectFor(ctx, "")
	return err
}

// Reset drops the current connection and the reconnect backoff, so the
// next call connects at once (the router process was replaced).
func (c *Client) Reset() {
	c.mu.Lock()
	cur := c.cur
	c.cur = nil
	c.backoff = 0
	c.nextAttempt = time.Time{}
	c.lastErr = nil
	c.mu.Unlock()
	if cur != nil {
		cur.shutdown(errors.New("management connection reset"))
	}
}

// Close drops the connection; later calls fail.
func (c *Client) Close() error {
	c.mu.Lock()
	cur := c.cur
	c.cur = nil
	c.closed = true
	c.mu.Unlock()
	if cur != nil {
		cur.shutdown(errClientClosed)
	}
	return nil
}

var errClientClosed = errors.New("management client closed")

// TimeoutError says a call got no answer in time.
type TimeoutError struct {
	Request string // the call, "" when only connecting
	Address string
	Timeout time.Duration
	Stage   string // "connect", "send" or "answer"
}

func (e *TimeoutError) Error() string {
	var msg string
	if e.Stage == "connect" {
		msg = fmt.Sprintf("connect %s: no AMQP open within %s", e.Address, e.Timeout)
	} else {
		msg = fmt.Sprintf("no %s within %s", e.Stage, e.Timeout)
	}
	if e.Request != "" {
		return e.Request + ": " + msg
	}
	return msg
}

// backoffError is returned while waiting to reconnect; it deliberately
// does not unwrap, so an old timeout is not reported as a new one.
type backoffError struct{ last error }

func (e *backoffError) Error() string {
	return "not connected, retrying after backoff: " + e.last.Error()
}

// Do sends req and returns the answer's body once its status is 2xx.
func (c *Client) Do(ctx context.Context, req Request) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	cn, err := c.connectFor(ctx, req.String())
	if err != nil {
		return nil, err
	}
	id := c.nextID()
	msg, err := buildMessage(req, cn.link.ReplyTo(), id)
	if err != nil {
		return nil, err
	}
	m, err := c.exchange(ctx, cn, msg, key{id: id}, req.String(), true)
	if err != nil {
		return nil, err
	}
	return parseAnswer(req, m)
}

func (c *Client) nextID() string { return fmt.Sprintf("edgeproxy-%d", c.seq.Add(1)) }

// connectFor returns the live connection for the call named what ("" for
// Connect), reporting a connect that ran out of time as a *TimeoutError.
func (c *Client) connectFor(ctx context.Context, what string) (*conn, error) {
	cn, err := c.connection(ctx)
	if err == nil {
		return cn, nil
	}
	var te *TimeoutError
	if errors.As(err, &te) {
		return nil, &TimeoutError{Request: what, Address: te.Address, Timeout: te.Timeout, Stage: te.Stage}
	}
	if errors.Is(err, context.DeadlineExceeded) { // waited for another call's connect
		return nil, &TimeoutError{Request: what, Address: c.Address(), Timeout: c.cfg.Timeout, Stage: "connect"}
	}
	if what == "" {
		return nil, err
	}
	return nil, fmt.Errorf("%s: %w", what, err)
}

// exchange sends msg on cn and waits for the answer correlated by k. When
// ctx's deadline passes first and dropOnTimeout is set, the connection is
// dropped (the router may be wedged) and the error is a *TimeoutError;
// otherwise the connection is kept and the error wraps ctx's.
func (c *Client) exchange(ctx context.Context, cn *conn, msg *amqp.Message, k key, what string, dropOnTimeout bool) (*amqp.Message, error) {
	answer, err := cn.expect(k)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer cn.forget(k)
	c.calls.Add(1)
	if err := cn.link.Send(ctx, msg); err != nil {
		c.drop(cn, fmt.Errorf("send: %w", err))
		if ctx.Err() != nil && dropOnTimeout {
			return nil, &TimeoutError{Request: what, Address: c.Address(), Timeout: c.cfg.Timeout, Stage: "send"}
		}
		return nil, fmt.Errorf("%s: send: %w", what, err)
	}
	select {
	case m := <-answer:
		return m, nil
	case <-cn.done:
		return nil, fmt.Errorf("%s: %w", what, cn.err())
	case <-ctx.Done():
		if !dropOnTimeout || errors.Is(ctx.Err(), context.Canceled) { // a late answer is dropped by the reader
			return nil, fmt.Errorf("%s: %w", what, ctx.Err())
		}
		c.drop(cn, fmt.Errorf("%s: no answer within %s", what, c.cfg.Timeout))
		return nil, &TimeoutError{Request: what, Address: c.Address(), Timeout: c.cfg.Timeout, Stage: "answer"}
	}
}

// connection returns the live connection, opening one when needed and the
// backoff allows.
func (c *Client) connection(ctx context.Context) (*conn, error) {
	if cn := c.current(); cn != nil {
		return cn, nil
	}
	select {
	case c.connSem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.connSem }()
	if cn := c.current(); cn != nil { // another call connected meanwhile
		return cn, nil
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errClientClosed
	}
	if wait := c.nextAttempt.Sub(c.now()); wait > 0 && c.lastErr != nil {
		err := &backoffError{last: c.lastErr}
		c.mu.Unlock()
		return nil, err
	}
	c.mu.Unlock()

	c.dials.Add(1)
	l, err := c.dial(ctx, c.Address())
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		// go-amqp turns the ctx deadline into a socket deadline, which can
		// fire a moment before ctx reports it: both are a timeout.
		var ne net.Error
		if ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
			err = &TimeoutError{Address: c.Address(), Timeout: c.cfg.Timeout, Stage: "connect"}
		}
		c.failedLocked(err)
		return nil, err
	}
	if c.closed {
		_ = l.Close()
		return nil, errClientClosed
	}
	c.backoff, c.lastErr, c.nextAttempt = 0, nil, time.Time{}
	cn := newConn(l)
	go cn.read(c.log, &c.dropped)
	c.cur = cn
	c.log.Debug("management connected", "address", c.Address(), "reply_to", l.ReplyTo())
	return cn, nil
}

func (c *Client) current() *conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil {
		select {
		case <-c.cur.done: // the reader saw the link fail
			c.failedLocked(c.cur.err())
			c.cur = nil
		default:
		}
	}
	return c.cur
}

// failedLocked records a connection failure and schedules the next attempt.
func (c *Client) failedLocked(err error) {
	if c.backoff == 0 {
		c.backoff = c.cfg.BackoffInitial
	} else {
		c.backoff = min(2*c.backoff, c.cfg.BackoffMax)
	}
	c.lastErr = err
	c.nextAttempt = c.now().Add(c.backoff)
	c.log.Debug("management connection failed", "address", c.Address(), "err", err, "retry_in", c.backoff)
}

// drop closes cn (if still current) after a failed or unanswered call.
func (c *Client) drop(cn *conn, err error) {
	c.mu.Lock()
	if c.cur == cn {
		c.cur = nil
		c.failedLocked(err)
	}
	c.mu.Unlock()
	cn.shutdown(err)
}
