package mgmt

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/Azure/go-amqp"
)

// The messages below are shaped like internal/routertest/testdata/captures/raw/
// edge-raw-management-exchange.json: statusCode int32, string
// statusDescription, QUERY bodies {attributeNames, results}, counters as
// int32/int64, ports as strings, empty bodies as empty maps.

const captureReplyTo = "amqp:/_edge/edge-proxy-1/temp.bFuzHTfbZq_BeM7"

// answer builds a management answer as the router sends it.
func answer(correlationID any, props map[string]any, body any) *amqp.Message {
	return &amqp.Message{
		Properties:            &amqp.MessageProperties{To: ptr(captureReplyTo), CorrelationID: correlationID},
		ApplicationProperties: props,
		Value:                 body,
	}
}

func ok200(body any) *amqp.Message {
	return answer("edgeproxy-1", map[string]any{"statusCode": int32(200), "statusDescription": "OK"}, body)
}

func ptr[T any](v T) *T { return &v }

func TestBuildMessage(t *testing.T) {
	tests := []struct {
		name      string
		req       Request
		wantProps map[string]any
		wantBody  any
	}{
		{
			name: "query with attribute names",
			req:  Request{Operation: OpQuery, EntityType: EntityTCPListener, AttributeNames: []string{"name", "port", "address", "operStatus", "connectionsOpened"}},
			wantProps: map[string]any{"operation": "QUERY", "type": "org.amqp.management", "name": "self",
				"entityType": "io.skupper.router.tcpListener"},
			wantBody: map[string]any{"attributeNames": []any{"name", "port", "address", "operStatus", "connectionsOpened"}},
		},
		{
			name: "query for all attributes sends an empty list",
			req:  Request{Operation: OpQuery, EntityType: EntityConnector},
			wantProps: map[string]any{"operation": "QUERY", "type": "org.amqp.management", "name": "self",
				"entityType": "io.skupper.router.connector"},
			wantBody: map[string]any{"attributeNames": []any{}},
		},
		{
			name:      "read by name",
			req:       Request{Operation: OpRead, EntityType: EntityTCPListener, Name: "my-tcp-service"},
			wantProps: map[string]any{"operation": "READ", "type": "io.skupper.router.tcpListener", "name": "my-tcp-service"},
			wantBody:  map[string]any{},
		},
		{
			name: "create carries the attributes",
			req: Request{Operation: OpCreate, EntityType: EntityTCPListener, Name: "raw-created",
				Attributes: map[string]any{"host": "127.0.0.1", "port": "18082", "address": "my-tcp-service:5201"}},
			wantProps: map[string]any{"operation": "CREATE", "type": "io.skupper.router.tcpListener", "name": "raw-created"},
			wantBody:  map[string]any{"host": "127.0.0.1", "port": "18082", "address": "my-tcp-service:5201"},
		},
		{
			name: "update carries the changed attributes",
			req: Request{Operation: OpUpdate, EntityType: "io.skupper.router.sslProfile", Name: "uplink-tls",
				Attributes: map[string]any{"certFile": "/tls/tls.crt", "ordinal": int64(2)}},
			wantProps: map[string]any{"operation": "UPDATE", "type": "io.skupper.router.sslProfile", "name": "uplink-tls"},
			wantBody:  map[string]any{"certFile": "/tls/tls.crt", "ordinal": int64(2)},
		},
		{
			name: "delete ignores attributes",
			req: Request{Operation: OpDelete, EntityType: EntityTCPListener, Name: "raw-created",
				Attributes: map[string]any{"port": "1"}},
			wantProps: map[string]any{"operation": "DELETE", "type": "io.skupper.router.tcpListener", "name": "raw-created"},
			wantBody:  map[string]any{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := buildMessage(tt.req, captureReplyTo, "edgeproxy-7")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(msg.ApplicationProperties, tt.wantProps) {
				t.Errorf("application properties = %#v, want %#v", msg.ApplicationProperties, tt.wantProps)
			}
			if !reflect.DeepEqual(msg.Value, tt.wantBody) {
				t.Errorf("body = %#v, want %#v", msg.Value, tt.wantBody)
			}
			if msg.Properties == nil || msg.Properties.ReplyTo == nil || *msg.Properties.ReplyTo != captureReplyTo {
				t.Errorf("reply-to not set to the dynamic address: %+v", msg.Properties)
			}
			if id, ok := msg.Properties.CorrelationID.(string); !ok || id != "edgeproxy-7" {
				t.Errorf("correlation id = %#v, want the string edgeproxy-7", msg.Properties.CorrelationID)
			}
			if msg.Properties.To != nil {
				t.Errorf("message address set to %q; the link target carries $management", *msg.Properties.To)
			}
		})
	}
}

// TestBuildMessageWireTypes encodes a request and decodes it again, the
// way the router sees it: string properties, string correlation id, a list
// (not an array) of attribute names.
func TestBuildMessageWireTypes(t *testing.T) {
	msg, err := buildMessage(Request{Operation: OpQuery, EntityType: EntityConnection, AttributeNames: []string{"role", "dir"}}, captureReplyTo, "edgeproxy-2")
	if err != nil {
		t.Fatal(err)
	}
	wire, err := msg.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got amqp.Message
	if err := got.UnmarshalBinary(wire); err != nil {
		t.Fatal(err)
	}
	for k, v := range got.ApplicationProperties {
		if _, ok := v.(string); !ok {
			t.Errorf("application property %s is %T on the wire, want string", k, v)
		}
	}
	if _, ok := got.Properties.CorrelationID.(string); !ok {
		t.Errorf("correlation id is %T on the wire, want string", got.Properties.CorrelationID)
	}
	body, _ := got.Value.(map[string]any)
	if names, ok := body["attributeNames"].([]any); !ok || len(names) != 2 {
		t.Errorf("attributeNames = %#v (%T), want a list of 2", body["attributeNames"], body["attributeNames"])
	}
}

func TestBuildMessageErrors(t *testing.T) {
	tests := []struct {
		name    string
		req     Request
		replyTo string
		id      string
		want    string
	}{
		{"no reply-to", Request{Operation: OpQuery, EntityType: EntityRouter}, "", "x", "reply-to"},
		{"no correlation id", Request{Operation: OpQuery, EntityType: EntityRouter}, captureReplyTo, "", "correlation id"},
		{"read without name", Request{Operation: OpRead, EntityType: EntityTCPListener}, captureReplyTo, "x", "empty entity name"},
		{"no entity type", Request{Operation: OpQuery}, captureReplyTo, "x", "empty entity type"},
		{"unknown operation", Request{Operation: "RESET", EntityType: EntityRouter, Name: "r"}, captureReplyTo, "x", "unsupported operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := buildMessage(tt.req, tt.replyTo, tt.id)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseAnswerStatus(t *testing.T) {
	req := Request{Operation: OpRead, EntityType: EntityTCPListener, Name: "does-not-exist"}
	tests := []struct {
		name     string
		props    map[string]any
		wantCode int // 0: success expected
		wantErr  string
	}{
		{"200 int32", map[string]any{"statusCode": int32(200), "statusDescription": "OK"}, 0, ""},
		{"201 int64", map[string]any{"statusCode": int64(201), "statusDescription": "Created"}, 0, ""},
		{"204 uint8", map[string]any{"statusCode": uint8(204), "statusDescription": "No Content"}, 0, ""},
		{"200 uint32 description first", map[string]any{"statusDescription": "OK", "statusCode": uint32(200)}, 0, ""},
		{"404 not found", map[string]any{"statusCode": int32(404), "statusDescription": "No entity with name=does-not-exist"}, 404, "No entity with name=does-not-exist"},
		{"400 bad type", map[string]any{"statusCode": int32(400), "statusDescription": "No such entity type 'io.skupper.router.bogus'"}, 400, "No such entity type"},
		{"500 internal", map[string]any{"statusCode": int32(500), "statusDescription": "CError: Configuration: Exactly one of the 'address' or 'multiAddressStrategy' field must be set"}, 500, "multiAddressStrategy"},
		{"501 not implemented", map[string]any{"statusCode": int16(501), "statusDescription": "Not Implemented"}, 501, "Not Implemented"},
		{"3xx is not success", map[string]any{"statusCode": int32(301), "statusDescription": "Moved"}, 301, "Moved"},
		{"missing statusCode", map[string]any{"statusDescription": "OK"}, -1, "without statusCode"},
		{"no properties at all", nil, -1, "without statusCode"},
		{"statusCode as string", map[string]any{"statusCode": "200"}, -1, "not an integer"},
		{"error without description", map[string]any{"statusCode": int32(500)}, 500, "no statusDescription"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := parseAnswer(req, answer("edgeproxy-1", tt.props, map[any]any{}))
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				if _, ok := body.(map[any]any); !ok {
					t.Errorf("body = %#v, want the message's value", body)
				}
				return
			}
			var se *StatusError
			if err == nil || !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *StatusError", err)
			}
			if tt.wantCode > 0 && se.Code != tt.wantCode {
				t.Errorf("code = %d, want %d", se.Code, tt.wantCode)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "READ io.skupper.router.tcpListener does-not-exist") {
				t.Errorf("err = %q, want it to name the request and contain %q", err, tt.wantErr)
			}
			if IsNotFound(err) != (tt.wantCode == 404) {
				t.Errorf("IsNotFound = %v for code %d", IsNotFound(err), se.Code)
			}
		})
	}
	if _, err := parseAnswer(req, nil); err == nil {
		t.Error("nil answer parsed as success")
	}
}

// TestParseAnswerExpect: Create, Delete and Update take only their own
// success status (201, 204, 200); another 2xx is an error with the
// router's description.
func TestParseAnswerExpect(t *testing.T) {
	for _, tt := range []struct {
		op     string
		expect int
		code   int32
		ok     bool
	}{
		{OpCreate, StatusCreated, 201, true},
		{OpCreate, StatusCreated, 200, false},
		{OpDelete, StatusNoContent, 204, true},
		{OpDelete, StatusNoContent, 200, false},
		{OpUpdate, StatusOK, 200, true},
		{OpUpdate, StatusOK, 204, false},
	} {
		req := Request{Operation: tt.op, EntityType: EntityTCPListener, Name: "x", Expect: tt.expect}
		_, err := parseAnswer(req, answer("edgeproxy-1", map[string]any{"statusCode": tt.code, "statusDescription": "Said so"}, map[any]any{}))
		if (err == nil) != tt.ok {
			t.Errorf("%s answered %d: err = %v, want ok=%v", tt.op, tt.code, err, tt.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), "Said so") || !strings.Contains(err.Error(), "expected status")) {
			t.Errorf("%s answered %d: err = %q, want the description and the expected status", tt.op, tt.code, err)
		}
	}
}

func TestParseQueryBody(t *testing.T) {
	tests := []struct {
		name string
		body any
		want []Record
	}{
		{
			name: "tcpListener selected attributes (python agent, int32 counters)",
			body: map[string]any{
				"attributeNames": []any{"name", "port", "address", "operStatus", "connectionsOpened"},
				"results": []any{
					[]any{"my-service", "18080", "my-service:8080", "down", int32(56)},
					[]any{"my-tcp-service", "15201", "my-tcp-service:5201", "up", int32(4)},
				},
			},
			want: []Record{
				{"name": "my-service", "port": "18080", "address": "my-service:8080", "operStatus": "down", "connectionsOpened": int32(56)},
				{"name": "my-tcp-service", "port": "15201", "address": "my-tcp-service:5201", "operStatus": "up", "connectionsOpened": int32(4)},
			},
		},
		{
			name: "connection (C agent) with booleans",
			body: map[string]any{
				"attributeNames": []any{"identity", "host", "role", "dir", "opened", "operStatus", "container"},
				"results": []any{
					[]any{"107", "127.0.0.1:45671", "edge", "out", true, "up", "interior"},
					[]any{"123", "127.0.0.1:55452", "normal", "in", true, "up", "8d02013e-22c0-4297-975b-8240bdad9d99"},
				},
			},
			want: []Record{
				{"identity": "107", "host": "127.0.0.1:45671", "role": "edge", "dir": "out", "opened": true, "operStatus": "up", "container": "interior"},
				{"identity": "123", "host": "127.0.0.1:55452", "role": "normal", "dir": "in", "opened": true, "operStatus": "up", "container": "8d02013e-22c0-4297-975b-8240bdad9d99"},
			},
		},
		{
			name: "connector with nulls and an empty properties map",
			body: map[string]any{
				"attributeNames": []any{"host", "port", "sslProfile", "connectionStatus", "connectionMsg", "openProperties", "maxFrameSize"},
				"results": []any{
					[]any{"127.0.0.1", "45671", nil, "CONNECTING", "Connection to 127.0.0.1:45671 failed: proton:io Connection refused - disconnected 127.0.0.1:45671", map[any]any{}, int64(16384)},
				},
			},
			want: []Record{{"host": "127.0.0.1", "port": "45671", "sslProfile": nil, "connectionStatus": "CONNECTING",
				"connectionMsg":  "Connection to 127.0.0.1:45671 failed: proton:io Connection refused - disconnected 127.0.0.1:45671",
				"openProperties": map[string]any{}, "maxFrameSize": int64(16384)}},
		},
		{name: "no entities", body: map[string]any{"attributeNames": []any{"name"}, "results": []any{}}, want: []Record{}},
		{name: "empty map body (map[any]any)", body: map[any]any{}, want: nil},
		{name: "null body", body: nil, want: nil},
		{name: "results null", body: map[string]any{"attributeNames": []any{"name"}, "results": nil}, want: nil},
		{name: "symbol keys", body: map[any]any{amqp.Symbol("attributeNames"): []any{"name"}, amqp.Symbol("results"): []any{[]any{"x"}}},
			want: []Record{{"name": "x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseQueryBody(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("records = %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParseQueryBodyErrors(t *testing.T) {
	tests := []struct {
		name string
		body any
		want string
	}{
		{"body not a map", []any{"x"}, "not a map"},
		{"row length mismatch", map[string]any{"attributeNames": []any{"a", "b"}, "results": []any{[]any{"x"}}}, "1 values for 2"},
		{"results not a list", map[string]any{"attributeNames": []any{"a"}, "results": "x"}, "not a list"},
		{"row not a list", map[string]any{"attributeNames": []any{"a"}, "results": []any{"x"}}, "results[0]"},
		{"name not a string", map[string]any{"attributeNames": []any{int32(1)}, "results": []any{}}, "attributeNames[0]"},
		{"non-string map key", map[any]any{int32(1): "x"}, "not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseQueryBody(tt.body)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseEntityBody(t *testing.T) {
	// READ tcpListener my-tcp-service, from the capture.
	body := map[string]any{
		"type": "io.skupper.router.tcpListener", "name": "my-tcp-service", "host": "127.0.0.1", "port": "15201",
		"address": "my-tcp-service:5201", "backlog": int32(0), "authenticatePeer": false,
		"identity": "tcpListener/127.0.0.1:15201:my-tcp-service", "connectionsOpened": int64(4),
		"connectionsClosed": uint8(4), "operStatus": "up", "connectionMsg": "",
	}
	rec, err := parseEntityBody(body)
	if err != nil {
		t.Fatal(err)
	}
	if rec.String("operStatus") != "up" || rec.String("name") != "my-tcp-service" {
		t.Errorf("record = %#v", rec)
	}
	if n, ok := rec.Int("connectionsClosed"); !ok || n != 4 {
		t.Errorf("connectionsClosed = %d, %v", n, ok)
	}
	empty, err := parseEntityBody(map[any]any{}) // DELETE answers {}
	if err != nil || len(empty) != 0 {
		t.Errorf("empty body: %#v, %v", empty, err)
	}
}

func TestRecordAccessors(t *testing.T) {
	r := Record{
		"i8": int8(-3), "i16": int16(300), "i32": int32(70000), "i64": int64(1 << 40), "u8": uint8(200),
		"u16": uint16(60000), "u32": uint32(4e9), "u64": uint64(1 << 50), "huge": uint64(1 << 63),
		"port": "18080", "word": "up", "null": nil, "sym": amqp.Symbol("edge"), "yes": true, "float": 1.5,
	}
	ints := map[string]int64{"i8": -3, "i16": 300, "i32": 70000, "i64": 1 << 40, "u8": 200, "u16": 60000, "u32": 4e9, "u64": 1 << 50, "port": 18080}
	for k, want := range ints {
		if got, ok := r.Int(k); !ok || got != want {
			t.Errorf("Int(%s) = %d, %v; want %d", k, got, ok, want)
		}
	}
	for _, k := range []string{"huge", "word", "null", "missing", "float", "yes"} {
		if _, ok := r.Int(k); ok {
			t.Errorf("Int(%s) ok, want not a number", k)
		}
	}
	strs := map[string]string{"port": "18080", "i32": "70000", "sym": "edge", "null": "", "missing": "", "word": "up"}
	for k, want := range strs {
		if got := r.String(k); got != want {
			t.Errorf("String(%s) = %q, want %q", k, got, want)
		}
	}
	if !r.Bool("yes") || r.Bool("word") || r.Bool("missing") {
		t.Error("Bool accessors wrong")
	}
}

func TestCorrelationID(t *testing.T) {
	tests := []struct {
		name string
		msg  *amqp.Message
		want string
		ok   bool
	}{
		{"string", answer("abc-1", nil, nil), "abc-1", true},
		{"python agent re-typed a number", answer(int32(1), nil, nil), "", false},
		{"null", answer(nil, nil, nil), "", false},
		{"no properties", &amqp.Message{}, "", false},
		{"nil", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := correlationID(tt.msg)
			if got != tt.want || ok != tt.ok {
				t.Errorf("correlationID = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
