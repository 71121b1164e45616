package mgmt

import (
	"errors"
	"fmt"
	"math"

	"github.com/Azure/go-amqp"
)

// This file builds AMQP management requests and parses their answers. It is
// pure (no I/O) so it can be tested on hand-built messages shaped like the
// captures in internal/routertest/testdata/captures/raw.

// ManagementAddress is the router's management node (the sender's target).
const ManagementAddress = "$management"

// Entity types used by edgeproxy (the router's full type names).
const (
	EntityRouter        = "io.skupper.router.router"
	EntityConnector     = "io.skupper.router.connector"
	EntityConnection    = "io.skupper.router.connection"
	EntityTCPListener   = "io.skupper.router.tcpListener"
	EntityRouterAddress = "io.skupper.router.router.address"
	// EntityTCPConnector: a real tcpConnector has no operStatus and never
	// checks its target; see TCPConnector.
	EntityTCPConnector = "io.skupper.router.tcpConnector"
)

// Operations the client performs.
const (
	OpQuery  = "QUERY"
	OpRead   = "READ"
	OpCreate = "CREATE"
	OpDelete = "DELETE"
	OpUpdate = "UPDATE"
)

// The status each operation answers with when it succeeds (the router's
// agent: CREATED, NO_CONTENT, OK); Create, Delete and Update take any other
// as an error.
const (
	StatusOK        = 200
	StatusCreated   = 201
	StatusNoContent = 204
)

// Request is one management operation before it becomes a message.
type Request struct {
	Operation string
	// EntityType is the full type name (io.skupper.router.tcpListener).
	EntityType string
	// Name identifies the entity for READ, CREATE, UPDATE and DELETE.
	Name string
	// Attributes: for QUERY the attribute names wanted (empty: all); for
	// CREATE the new entity's attributes, for UPDATE the changed ones.
	AttributeNames []string
	Attributes     map[string]any
	// Expect is the one statusCode that means success (0: any 2xx).
	Expect int
}

func (r Request) String() string {
	if r.Name != "" {
		return fmt.Sprintf("%s %s %s", r.Operation, r.EntityType, r.Name)
	}
	return fmt.Sprintf("%s %s", r.Operation, r.EntityType)
}

// buildMessage turns req into the message the router expects: application
// properties with string values, a map body, reply-to set to the dynamic
// reply address (without it the router drops the request) and a string
// correlation id (a numeric one can come back re-typed or not at all).
func buildMessage(req Request, replyTo, correlationID string) (*amqp.Message, error) {
	if replyTo == "" {
		return nil, errors.New("build request: empty reply-to (the router drops such requests)")
	}
	if correlationID == "" {
		return nil, errors.New("build request: empty correlation id")
	}
	props := map[string]any{"operation": req.Operation}
	var body any
	switch req.Operation {
	case OpQuery:
		props["type"] = "org.amqp.management"
		props["name"] = "self"
		props["entityType"] = req.EntityType
		names := make([]any, len(req.AttributeNames)) // a list of strings, [] meaning all
		for i, n := range req.AttributeNames {
			names[i] = n
		}
		body = map[string]any{"attributeNames": names}
	case OpRead, OpDelete, OpCreate, OpUpdate:
		if req.Name == "" {
			return nil, fmt.Errorf("build %s %s: empty entity name", req.Operation, req.EntityType)
		}
		props["type"] = req.EntityType
		props["name"] = req.Name
		attrs := map[string]any{}
		if req.Operation == OpCreate || req.Operation == OpUpdate {
			for k, v := range req.Attributes {
				attrs[k] = v
			}
		}
		body = attrs
	default:
		return nil, fmt.Errorf("build request: unsupported operation %q", req.Operation)
	}
	if req.EntityType == "" {
		return nil, fmt.Errorf("build %s: empty entity type", req.Operation)
	}
	return &amqp.Message{
		Properties: &amqp.MessageProperties{
			ReplyTo:       &replyTo,
			CorrelationID: correlationID,
		},
		ApplicationProperties: props,
		Value:                 body,
	}, nil
}

// correlationID returns the answer's correlation id when it is a string.
func correlationID(msg *amqp.Message) (string, bool) {
	if msg == nil || msg.Properties == nil {
		return "", false
	}
	id, ok := msg.Properties.CorrelationID.(string)
	return id, ok
}

// StatusError is a management answer whose statusCode is not 2xx (or that
// has none).
type StatusError struct {
	Request     string // e.g. "READ io.skupper.router.tcpListener x"
	Code        int    // 0 when the answer carried no statusCode
	Description string
}

func (e *StatusError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("%s: answer without statusCode (%s)", e.Request, e.Description)
	}
	return fmt.Sprintf("%s: status %d: %s", e.Request, e.Code, e.Description)
}

// IsNotFound reports whether err is a 404 answer (no such entity).
func IsNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == 404
}

// parseAnswer checks the answer's status and returns its body. Every
// non-2xx statusCode is an error carrying statusDescription; a missing or
// non-integer statusCode is an error too.
func parseAnswer(req Request, msg *amqp.Message) (any, error) {
	if msg == nil {
		return nil, &StatusError{Request: req.String(), Description: "empty answer"}
	}
	desc, _ := msg.ApplicationProperties["statusDescription"].(string)
	raw, present := msg.ApplicationProperties["statusCode"]
	if !present {
		return nil, &StatusError{Request: req.String(), Description: orDefault(desc, "no statusCode")}
	}
	code, ok := toInt64(raw)
	if !ok {
		return nil, &StatusError{Request: req.String(), Description: fmt.Sprintf("statusCode %v (%T) is not an integer", raw, raw)}
	}
	if code < 200 || code > 299 {
		return nil, &StatusError{Request: req.String(), Code: int(code), Description: orDefault(desc, "(no statusDescription)")}
	}
	if req.Expect != 0 && int(code) != req.Expect {
		return nil, &StatusError{Request: req.String(), Code: int(code),
			Description: fmt.Sprintf("%s (expected status %d)", orDefault(desc, "(no statusDescription)"), req.Expect)}
	}
	return msg.Value, nil
}

// ParseQueryBody turns a QUERY answer body {"attributeNames": [...],
// "results": [[...], ...]} into records. An empty map (decoded as
// map[any]any) or missing results mean no entities.
func ParseQueryBody(body any) ([]Record, error) {
	m, err := stringMap(body)
	if err != nil {
		return nil, fmt.Errorf("query answer body: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	rawNames, _ := m["attributeNames"].([]any)
	names := make([]string, len(rawNames))
	for i, n := range rawNames {
		s, ok := n.(string)
		if !ok {
			return nil, fmt.Errorf("query answer: attributeNames[%d] is %T, not a string", i, n)
		}
		names[i] = s
	}
	rawResults, present := m["results"]
	if !present || rawResults == nil {
		return nil, nil
	}
	rows, ok := rawResults.([]any)
	if !ok {
		return nil, fmt.Errorf("query answer: results is %T, not a list", rawResults)
	}
	out := make([]Record, 0, len(rows))
	for i, row := range rows {
		values, ok := row.([]any)
		if !ok {
			return nil, fmt.Errorf("query answer: results[%d] is %T, not a list", i, row)
		}
		if len(values) != len(names) {
			return nil, fmt.Errorf("query answer: results[%d] has %d values for %d attribute names", i, len(values), len(names))
		}
		rec := make(Record, len(names))
		for j, name := range names {
			rec[name] = normalize(values[j])
		}
		out = append(out, rec)
	}
	return out, nil
}

// parseEntityBody turns a READ or CREATE answer body (the entity's
// attribute map) into a record.
func parseEntityBody(body any) (Record, error) {
	m, err := stringMap(body)
	if err != nil {
		return nil, fmt.Errorf("entity answer body: %w", err)
	}
	rec := make(Record, len(m))
	for k, v := range m {
		rec[k] = normalize(v)
	}
	return rec, nil
}

// stringMap accepts the shapes an AMQP map arrives in: map[string]any
// (string or symbol keys), map[any]any (empty maps, or other keys), or nil.
func stringMap(v any) (map[string]any, error) {
	switch m := v.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return m, nil
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, val := range m {
			switch k := k.(type) {
			case string:
				out[k] = val
			case amqp.Symbol:
				out[string(k)] = val
			default:
				return nil, fmt.Errorf("map key %v is %T, not a string", k, k)
			}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%T is not a map", v)
	}
}

// normalize makes nested values uniform: maps become map[string]any where
// their keys allow, so an empty map reads like any other.
func normalize(v any) any {
	switch v.(type) {
	case map[any]any, map[string]any:
		if m, err := stringMap(v); err == nil {
			return m
		}
	}
	return v
}

// toInt64 converts any AMQP integer width to int64.
func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case uint:
		if uint64(n) > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	default:
		return 0, false
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
