package routertest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/Azure/go-amqp"
)

// EntityPrefix is the prefix of every skupper-router management entity type.
const EntityPrefix = "io.skupper.router."

// Mgmt is a minimal AMQP management client for tests: one connection, a
// dynamic reply receiver and a sender to $management. Requests are serialised.
type Mgmt struct {
	conn  *amqp.Conn
	sess  *amqp.Session
	snd   *amqp.Sender
	rcv   *amqp.Receiver
	mu    sync.Mutex
	seq   int
	stray int
}

// Response is one management answer.
type Response struct {
	Status        int32
	Description   string
	Body          any
	CorrelationID any
	Message       *amqp.Message
}

// OK reports whether the status is 2xx.
func (r *Response) OK() bool { return r.Status >= 200 && r.Status < 300 }

// DialMgmt opens a management session to addr (host:port).
func DialMgmt(ctx context.Context, addr string) (*Mgmt, error) {
	conn, err := amqp.Dial(ctx, "amqp://"+addr, &amqp.ConnOptions{SASLType: amqp.SASLTypeAnonymous()})
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	m := &Mgmt{conn: conn}
	if err := m.open(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("management session on %s: %w", addr, err)
	}
	return m, nil
}

func (m *Mgmt) open(ctx context.Context) error {
	var err error
	if m.sess, err = m.conn.NewSession(ctx, nil); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if m.rcv, err = m.sess.NewReceiver(ctx, "", &amqp.ReceiverOptions{DynamicAddress: true, Credit: 10}); err != nil {
		return fmt.Errorf("dynamic receiver: %w", err)
	}
	if m.snd, err = m.sess.NewSender(ctx, "$management", nil); err != nil {
		return fmt.Errorf("sender to $management: %w", err)
	}
	return nil
}

// ReplyTo is the dynamic address the router gave the reply receiver.
func (m *Mgmt) ReplyTo() string { return m.rcv.Address() }

// Conn is the underlying connection (for its open-frame Properties).
func (m *Mgmt) Conn() *amqp.Conn { return m.conn }

// Close closes the connection.
func (m *Mgmt) Close() error { return m.conn.Close() }

// Request sends one request with the given application properties and body
// and waits for the answer whose correlation id matches. A nil correlation id
// gets a fresh string one; replyTo "" means the dynamic reply address, and
// noReply sends no reply-to at all (the router then drops the request, so
// Request waits for ctx).
func (m *Mgmt) Request(ctx context.Context, props map[string]any, body any) (*Response, error) {
	return m.request(ctx, props, body, nil, false)
}

// RequestWith is Request with an explicit correlation id and, when noReply is
// set, no reply-to.
func (m *Mgmt) RequestWith(ctx context.Context, props map[string]any, body any, correlationID any, noReply bool) (*Response, error) {
	return m.request(ctx, props, body, correlationID, noReply)
}

func (m *Mgmt) request(ctx context.Context, props map[string]any, body any, cid any, noReply bool) (*Response, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	if cid == nil {
		cid = "rt-" + strconv.Itoa(m.seq)
	}
	msg := &amqp.Message{
		Properties:            &amqp.MessageProperties{CorrelationID: cid},
		ApplicationProperties: props,
		Value:                 body,
	}
	if !noReply {
		reply := m.rcv.Address()
		msg.Properties.ReplyTo = &reply
	}
	if err := m.snd.Send(ctx, msg, nil); err != nil {
		return nil, fmt.Errorf("send %v: %w", props["operation"], err)
	}
	for {
		in, err := m.rcv.Receive(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("receive answer to %v: %w", props["operation"], err)
		}
		_ = m.rcv.AcceptMessage(ctx, in)
		if in.Properties == nil || fmt.Sprint(in.Properties.CorrelationID) != fmt.Sprint(cid) {
			m.stray++
			continue // a late answer to an earlier, abandoned request
		}
		r := &Response{Body: in.Value, CorrelationID: in.Properties.CorrelationID, Message: in}
		code, ok := in.ApplicationProperties["statusCode"].(int32)
		if !ok {
			return nil, fmt.Errorf("answer to %v: statusCode %T %v is not an int32", props["operation"], in.ApplicationProperties["statusCode"], in.ApplicationProperties["statusCode"])
		}
		r.Status = code
		r.Description, _ = in.ApplicationProperties["statusDescription"].(string)
		return r, nil
	}
}

// StatusError is a non-2xx management answer.
type StatusError struct {
	Operation   string
	Status      int32
	Description string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: status %d: %s", e.Operation, e.Status, e.Description)
}

// LongType returns entity with the io.skupper.router. prefix added if missing.
func LongType(entity string) string {
	if len(entity) > len(EntityPrefix) && entity[:len(EntityPrefix)] == EntityPrefix {
		return entity
	}
	return EntityPrefix + entity
}

// QueryRaw runs QUERY and returns the answer as it came.
func (m *Mgmt) QueryRaw(ctx context.Context, entity string, attrs ...string) (*Response, error) {
	names := make([]any, len(attrs))
	for i, a := range attrs {
		names[i] = a
	}
	return m.Request(ctx, map[string]any{
		"operation": "QUERY", "type": "org.amqp.management", "name": "self", "entityType": LongType(entity),
	}, map[string]any{"attributeNames": names})
}

// Query runs QUERY and returns one map per result row (attributes with a nil
// value are left out, as skmanage prints them).
func (m *Mgmt) Query(ctx context.Context, entity string, attrs ...string) ([]map[string]any, error) {
	r, err := m.QueryRaw(ctx, entity, attrs...)
	if err != nil {
		return nil, err
	}
	if r.Status != 200 {
		return nil, &StatusError{Operation: "QUERY " + entity, Status: r.Status, Description: r.Description}
	}
	return Rows(r.Body)
}

// Rows turns a QUERY body into one map per row.
func Rows(body any) ([]map[string]any, error) {
	b, ok := body.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("query body is %T, not a map", body)
	}
	names, _ := b["attributeNames"].([]any)
	results, _ := b["results"].([]any)
	out := make([]map[string]any, 0, len(results))
	for _, r := range results {
		row, ok := r.([]any)
		if !ok || len(row) != len(names) {
			return nil, fmt.Errorf("query row %v does not match attributeNames %v", r, names)
		}
		m := map[string]any{}
		for i, n := range names {
			if row[i] != nil {
				m[fmt.Sprint(n)] = row[i]
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// Op runs an entity operation (READ, CREATE, DELETE, ...) on entity type
// entity by name; body nil sends an empty map.
func (m *Mgmt) Op(ctx context.Context, operation, entity, name string, body map[string]any) (*Response, error) {
	if body == nil {
		body = map[string]any{}
	}
	return m.Request(ctx, map[string]any{"operation": operation, "type": LongType(entity), "name": name}, body)
}

// Create creates an entity and fails on a non-2xx answer.
func (m *Mgmt) Create(ctx context.Context, entity, name string, attrs map[string]any) (map[string]any, error) {
	r, err := m.Op(ctx, "CREATE", entity, name, attrs)
	if err != nil {
		return nil, err
	}
	if !r.OK() {
		return nil, &StatusError{Operation: "CREATE " + entity + " " + name, Status: r.Status, Description: r.Description}
	}
	body, _ := r.Body.(map[string]any)
	return body, nil
}

// Delete deletes an entity and fails on a non-2xx answer.
func (m *Mgmt) Delete(ctx context.Context, entity, name string) error {
	r, err := m.Op(ctx, "DELETE", entity, name, nil)
	if err != nil {
		return err
	}
	if !r.OK() {
		return &StatusError{Operation: "DELETE " + entity + " " + name, Status: r.Status, Description: r.Description}
	}
	return nil
}

// MgmtTimeout bounds each one-shot management call made by the helpers below.
const MgmtTimeout = 5 * time.Second

// withMgmt dials addr, runs fn and closes.
func withMgmt(addr string, fn func(ctx context.Context, m *Mgmt) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), MgmtTimeout)
	defer cancel()
	m, err := DialMgmt(ctx, addr)
	if err != nil {
		return err
	}
	defer m.Close()
	return fn(ctx, m)
}

// QueryOnce dials addr, runs one QUERY and closes: handy inside Eventually.
func QueryOnce(addr, entity string, attrs ...string) ([]map[string]any, error) {
	var rows []map[string]any
	err := withMgmt(addr, func(ctx context.Context, m *Mgmt) error {
		var err error
		rows, err = m.Query(ctx, entity, attrs...)
		return err
	})
	return rows, err
}

// MustQuery is QueryOnce that fails the test on error.
func MustQuery(t testing.TB, addr, entity string, attrs ...string) []map[string]any {
	t.Helper()
	rows, err := QueryOnce(addr, entity, attrs...)
	if err != nil {
		t.Fatalf("query %s on %s: %v", entity, addr, err)
	}
	return rows
}

// ErrNotFound is returned by Find when no row matches.
var ErrNotFound = errors.New("no matching row")

// Find returns the first row whose attribute key equals value.
func Find(rows []map[string]any, key string, value any) (map[string]any, error) {
	for _, r := range rows {
		if r[key] == value {
			return r, nil
		}
	}
	return nil, fmt.Errorf("%s=%v: %w", key, value, ErrNotFound)
}

// Stray returns how many answers arrived whose correlation id matched no
// waiting request.
func (m *Mgmt) Stray() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stray
}
