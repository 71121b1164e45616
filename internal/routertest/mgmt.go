package routertest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/mgmt"
)

// EntityPrefix is the prefix of every skupper-router management entity type.
const EntityPrefix = "io.skupper.router."

// Mgmt is the harness's management session: an internal/mgmt client
// connected at once, with calls that return the answer as it came (status
// unchecked) for tests that pin down the router's management behaviour.
type Mgmt struct {
	c *mgmt.Client
}

// Response is one management answer.
type Response struct {
	Status        int32
	Description   string
	Body          any
	CorrelationID any
	// Raw is the answer as internal/mgmt received it (its Message is the
	// decoded AMQP message, for wire-level checks).
	Raw *mgmt.RawAnswer
}

// OK reports whether the status is 2xx.
func (r *Response) OK() bool { return r.Status >= 200 && r.Status < 300 }

// DialMgmt opens a management session to addr (host:port).
func DialMgmt(ctx context.Context, addr string) (*Mgmt, error) {
	c := mgmt.NewClient(mgmt.ClientConfig{Address: addr, Timeout: MgmtTimeout, Name: "routertest"})
	if err := c.Connect(ctx); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("management session on %s: %w", addr, err)
	}
	return &Mgmt{c: c}, nil
}

// ReplyTo is the dynamic address the router gave the reply receiver.
func (m *Mgmt) ReplyTo() string { return m.c.ReplyTo() }

// Properties are the router's open-frame properties (product, version).
func (m *Mgmt) Properties() map[string]any { return m.c.RemoteProperties() }

// Close closes the connection.
func (m *Mgmt) Close() error { return m.c.Close() }

// Request sends one request with the given application properties and body
// and waits for the answer whose correlation id matches (a fresh string one).
func (m *Mgmt) Request(ctx context.Context, props map[string]any, body any) (*Response, error) {
	return m.RequestWith(ctx, props, body, nil, false)
}

// RequestWith is Request with an explicit correlation id (nil: a fresh
// string one) and, when noReply is set, no reply-to (the router then drops
// the request, so RequestWith waits for ctx).
func (m *Mgmt) RequestWith(ctx context.Context, props map[string]any, body any, correlationID any, noReply bool) (*Response, error) {
	a, err := m.c.Call(ctx, mgmt.RawRequest{Properties: props, Body: body, CorrelationID: correlationID, NoReplyTo: noReply})
	if err != nil {
		return nil, err
	}
	code, ok := a.Properties["statusCode"].(int32)
	if !ok {
		return nil, fmt.Errorf("answer to %v: statusCode %T %v is not an int32", props["operation"], a.Properties["statusCode"], a.Properties["statusCode"])
	}
	r := &Response{Status: code, Body: a.Body, CorrelationID: a.CorrelationID, Raw: a}
	r.Description, _ = a.Properties["statusDescription"].(string)
	return r, nil
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
		return nil, statusError("QUERY "+entity, r)
	}
	return Rows(r.Body)
}

// Rows turns a QUERY body into one map per row, leaving out null values.
func Rows(body any) ([]map[string]any, error) {
	recs, err := mgmt.ParseQueryBody(body)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(recs))
	for _, rec := range recs {
		row := map[string]any{}
		for k, v := range rec {
			if v != nil {
				row[k] = v
			}
		}
		out = append(out, row)
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
		return nil, statusError("CREATE "+entity+" "+name, r)
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
		return statusError("DELETE "+entity+" "+name, r)
	}
	return nil
}

// statusError is the *mgmt.StatusError for an unexpected answer to req.
func statusError(req string, r *Response) error {
	return &mgmt.StatusError{Request: req, Code: int(r.Status), Description: r.Description}
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
func (m *Mgmt) Stray() int { return int(m.c.Dropped()) }
