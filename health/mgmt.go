package health

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/go-amqp"
)

// Management client design
//
// One long-lived AMQP connection (SASL ANONYMOUS), one session, one receiver
// on a dynamic address for the answers and one sender to $management. The
// router logs every accepted connection, so the client keeps its connection
// and reconnects only after a failure (or when told the router restarted).
//
// Calls may run concurrently (the poller, and later runtime listener
// changes): one reader goroutine per connection receives every answer and
// hands it to the waiting call with the same correlation id. Matching by id
// (rather than taking "the next message") also means an answer that arrives
// after its call timed out is recognised and dropped instead of being
// mistaken for the answer to the next call.
//
// Every call is bounded by the timeout, connection set-up included. After a
// timeout the connection is dropped: a router that stopped answering on an
// open connection (wedged, or replaced behind a half-open socket) would
// otherwise be waited on forever; reconnecting is cheap on loopback.
// Reconnection is paced by a capped exponential backoff so a router that is
// down is not hammered; Reset clears the backoff (the supervisor started a
// new router process).

// link is what the client needs from one connection; the AMQP
// implementation is amqpLink, tests substitute in-memory ones.
type link interface {
	// ReplyTo is the dynamic address answers come back to.
	ReplyTo() string
	// Properties are the peer's open-frame properties (version, product).
	Properties() map[string]any
	Send(ctx context.Context, msg *amqp.Message) error
	// Receive blocks for the next answer; it fails once the link is closed.
	Receive(ctx context.Context) (*amqp.Message, error)
	Close() error
}

// dialFunc opens a link to the management address.
type dialFunc func(ctx context.Context, addr string) (link, error)

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
	Logger         *slog.Logger
}

// Client is an AMQP management client. It is safe for concurrent use.
type Client struct {
	cfg  ClientConfig
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

	seq   atomic.Uint64
	calls atomic.Uint64 // requests sent, for tests and metrics
	dials atomic.Uint64
}

// NewClient returns a client for cfg; it connects on first use.
func NewClient(cfg ClientConfig) *Client {
	return newClient(cfg, dialAMQP)
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
	return &Client{cfg: cfg, dial: dial, log: log, now: time.Now, connSem: make(chan struct{}, 1)}
}

// Requests returns how many requests the client has sent.
func (c *Client) Requests() uint64 { return c.calls.Load() }

// Dials returns how many connections the client has attempted.
func (c *Client) Dials() uint64 { return c.dials.Load() }

// Query returns the entities of entityType with the named attributes (all
// when none are named).
func (c *Client) Query(ctx context.Context, entityType string, attributeNames ...string) ([]Record, error) {
	req := Request{Operation: OpQuery, EntityType: entityType, AttributeNames: attributeNames}
	body, err := c.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	recs, err := parseQueryBody(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req, err)
	}
	return recs, nil
}

// Read returns the entity of entityType named name.
func (c *Client) Read(ctx context.Context, entityType, name string) (Record, error) {
	return c.entity(ctx, Request{Operation: OpRead, EntityType: entityType, Name: name})
}

// Create creates an entity and returns it as the router reports it.
func (c *Client) Create(ctx context.Context, entityType, name string, attributes map[string]any) (Record, error) {
	return c.entity(ctx, Request{Operation: OpCreate, EntityType: entityType, Name: name, Attributes: attributes})
}

// Delete deletes the entity of entityType named name.
func (c *Client) Delete(ctx context.Context, entityType, name string) error {
	_, err := c.Do(ctx, Request{Operation: OpDelete, EntityType: entityType, Name: name})
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
	cn, err := c.connection(ctx)
	if err != nil {
		var te *TimeoutError
		if errors.As(err, &te) {
			return nil, &TimeoutError{Request: req.String(), Address: te.Address, Timeout: te.Timeout, Stage: te.Stage}
		}
		if errors.Is(err, context.DeadlineExceeded) { // waited for another call's connect
			return nil, &TimeoutError{Request: req.String(), Address: c.cfg.Address, Timeout: c.cfg.Timeout, Stage: "connect"}
		}
		return nil, fmt.Errorf("%s: %w", req, err)
	}
	id := fmt.Sprintf("edgeproxy-%d", c.seq.Add(1))
	msg, err := buildMessage(req, cn.link.ReplyTo(), id)
	if err != nil {
		return nil, err
	}
	answer := cn.expect(id)
	defer cn.forget(id)
	c.calls.Add(1)
	if err := cn.link.Send(ctx, msg); err != nil {
		c.drop(cn, fmt.Errorf("send: %w", err))
		if ctx.Err() != nil {
			return nil, &TimeoutError{Request: req.String(), Address: c.cfg.Address, Timeout: c.cfg.Timeout, Stage: "send"}
		}
		return nil, fmt.Errorf("%s: send: %w", req, err)
	}
	select {
	case m := <-answer:
		return parseAnswer(req, m)
	case <-cn.done:
		return nil, fmt.Errorf("%s: %w", req, cn.err())
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.Canceled) { // the caller gave up; a late answer is dropped by the reader
			return nil, fmt.Errorf("%s: %w", req, ctx.Err())
		}
		c.drop(cn, fmt.Errorf("%s: no answer within %s", req, c.cfg.Timeout))
		return nil, &TimeoutError{Request: req.String(), Address: c.cfg.Address, Timeout: c.cfg.Timeout, Stage: "answer"}
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
	l, err := c.dial(ctx, c.cfg.Address)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		// go-amqp turns the ctx deadline into a socket deadline, which can
		// fire a moment before ctx reports it: both are a timeout.
		var ne net.Error
		if ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
			err = &TimeoutError{Address: c.cfg.Address, Timeout: c.cfg.Timeout, Stage: "connect"}
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
	go cn.read(c.log)
	c.cur = cn
	c.log.Debug("management connected", "address", c.cfg.Address, "reply_to", l.ReplyTo())
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
	c.log.Debug("management connection failed", "address", c.cfg.Address, "err", err, "retry_in", c.backoff)
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

// conn is one open link with its reader and the calls waiting on it.
type conn struct {
	link link
	done chan struct{}

	mu      sync.Mutex
	pending map[string]chan *amqp.Message
	closeMu sync.Once
	failure error
}

func newConn(l link) *conn {
	return &conn{link: l, done: make(chan struct{}), pending: map[string]chan *amqp.Message{}}
}

func (cn *conn) expect(id string) <-chan *amqp.Message {
	ch := make(chan *amqp.Message, 1)
	cn.mu.Lock()
	cn.pending[id] = ch
	cn.mu.Unlock()
	return ch
}

func (cn *conn) forget(id string) {
	cn.mu.Lock()
	delete(cn.pending, id)
	cn.mu.Unlock()
}

// read is the connection's single reader: it dispatches each answer to
// the call waiting for its correlation id until the link fails.
func (cn *conn) read(log *slog.Logger) {
	for {
		msg, err := cn.link.Receive(context.Background())
		if err != nil {
			cn.shutdown(fmt.Errorf("management connection lost: %w", err))
			return
		}
		id, ok := correlationID(msg)
		cn.mu.Lock()
		ch := cn.pending[id]
		delete(cn.pending, id)
		cn.mu.Unlock()
		if !ok || ch == nil {
			log.Debug("management answer dropped: no call waits for it", "correlation_id", id, "string_id", ok)
			continue
		}
		ch <- msg // buffered, and each id is delivered at most once
	}
}

func (cn *conn) shutdown(err error) {
	cn.closeMu.Do(func() {
		cn.mu.Lock()
		cn.failure = err
		cn.mu.Unlock()
		close(cn.done)
		_ = cn.link.Close()
	})
}

func (cn *conn) err() error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.failure == nil {
		return errors.New("management connection closed")
	}
	return cn.failure
}

// amqpLink is a link over github.com/Azure/go-amqp.
type amqpLink struct {
	conn     *amqp.Conn
	session  *amqp.Session
	receiver *amqp.Receiver
	sender   *amqp.Sender
}

// dialAMQP opens the connection (SASL ANONYMOUS), the session, the dynamic
// reply receiver and the sender to $management, all within ctx.
func dialAMQP(ctx context.Context, addr string) (link, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("management address %q: %w", addr, err)
	}
	conn, err := amqp.Dial(ctx, "amqp://"+addr, &amqp.ConnOptions{
		ContainerID: "edgeproxy-health-" + randomHex(6),
		HostName:    host,
		SASLType:    amqp.SASLTypeAnonymous(),
		// The router's own idle timeout is 8 s (open frame); go-amqp
		// answers with empty frames. Ours only detects a silent router.
		IdleTimeout:  30 * time.Second,
		WriteTimeout: 5 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	l := &amqpLink{conn: conn}
	if err := l.open(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	return l, nil
}

func (l *amqpLink) open(ctx context.Context) error {
	var err error
	if l.session, err = l.conn.NewSession(ctx, nil); err != nil {
		return fmt.Errorf("begin session: %w", err)
	}
	l.receiver, err = l.session.NewReceiver(ctx, "", &amqp.ReceiverOptions{DynamicAddress: true, Credit: 16})
	if err != nil {
		return fmt.Errorf("attach reply receiver: %w", err)
	}
	if l.receiver.Address() == "" {
		return errors.New("attach reply receiver: the router assigned no dynamic address")
	}
	if l.sender, err = l.session.NewSender(ctx, ManagementAddress, nil); err != nil {
		return fmt.Errorf("attach sender to %s: %w", ManagementAddress, err)
	}
	return nil
}

func (l *amqpLink) ReplyTo() string            { return l.receiver.Address() }
func (l *amqpLink) Properties() map[string]any { return l.conn.Properties() }
func (l *amqpLink) Close() error               { return l.conn.Close() }
func (l *amqpLink) Send(ctx context.Context, m *amqp.Message) error {
	return l.sender.Send(ctx, m, nil)
}

func (l *amqpLink) Receive(ctx context.Context) (*amqp.Message, error) {
	msg, err := l.receiver.Receive(ctx, nil)
	if err != nil {
		return nil, err
	}
	// Answers come pre-settled; accepting is a no-op then, and settles the
	// delivery (freeing credit) if a router ever sends them unsettled.
	if err := l.receiver.AcceptMessage(ctx, msg); err != nil {
		return nil, fmt.Errorf("accept answer: %w", err)
	}
	return msg, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
