package routertest

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// linkedEdge is an edge linked to an interior that has a tcpConnector for
// my-service:8080; its tcpListener "my-service" is up.
func linkedEdge(t *testing.T) (*Edge, *Interior, map[string]int) {
	t.Helper()
	in := StartInterior(t)
	in.AddService(t, "my-service:8080")
	e, ports := edgeWith(t, in.EdgeAddr(), Controls{}, "my-service:8080", "my-tcp-service:5201")
	e.WaitLink(t, "SUCCESS", linkTimeout)
	e.WaitListener(t, "my-service", "up", linkTimeout)
	return e, in, ports
}

// settled reports whether the message (an *amqp.Message) arrived
// pre-settled (go-amqp keeps it unexported).
func settled(m any) bool {
	return reflect.ValueOf(m).Elem().FieldByName("settled").Bool()
}

// Follows captures/raw/edge-raw-management-frames.trace: SASL ANONYMOUS,
// dynamic reply address amqp:/_edge/<id>/temp.…, open properties product and
// version, answers pre-settled with an int32 statusCode, string correlation-id
// echoed.
func TestManagementSession(t *testing.T) {
	t.Parallel()
	e, _ := edgeWith(t, "", Controls{})
	m := e.Dial(t)
	if got := m.ReplyTo(); !strings.HasPrefix(got, "amqp:/_edge/edge-proxy-1/temp.") {
		t.Errorf("dynamic reply address %q", got)
	}
	props := m.Properties()
	if props["product"] != "skupper-router" {
		t.Errorf("open properties product = %v", props["product"])
	}
	if v, _ := props["version"].(string); v == "" {
		t.Errorf("open properties carry no version: %v", props)
	}
	r, err := m.RequestWith(ctxT(t), map[string]any{
		"operation": "QUERY", "type": "org.amqp.management", "name": "self", "entityType": LongType("router"),
	}, map[string]any{"attributeNames": []any{}}, "abc-1", false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || r.Description != "OK" {
		t.Errorf("status %d %q", r.Status, r.Description)
	}
	if r.CorrelationID != "abc-1" {
		t.Errorf("correlation id %#v, want \"abc-1\"", r.CorrelationID)
	}
	if !settled(r.Raw.Message) {
		t.Error("answer not pre-settled")
	}
}

// Follows README "a request without reply-to is silently dropped".
func TestManagementDropsRequestWithoutReplyTo(t *testing.T) {
	t.Parallel()
	e, _ := edgeWith(t, "", Controls{})
	m := e.Dial(t)
	q := map[string]any{"operation": "QUERY", "type": "org.amqp.management", "name": "self", "entityType": LongType("router")}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := m.RequestWith(ctx, q, map[string]any{"attributeNames": []any{}}, "dropped", true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("request without reply-to: err %v, want no answer", err)
	}
	// Negative control: the same request with reply-to is answered, and the
	// dropped one never arrives late.
	r, err := m.RequestWith(ctxT(t), q, map[string]any{"attributeNames": []any{}}, "kept", false)
	if err != nil || r.Status != 200 {
		t.Fatalf("request with reply-to: %v %v", r, err)
	}
	if m.Stray() != 0 {
		t.Fatalf("%d answers to other requests arrived", m.Stray())
	}
}

// Attribute order of an empty attributeNames QUERY follows
// captures/raw/edge-raw-management-exchange.json (connector) and the schema.
var connectorAttributes = []string{"host", "port", "socketAddressFamily", "role", "cost", "sslProfile", "proxyProfile",
	"saslMechanisms", "allowRedirect", "maxFrameSize", "maxSessions", "maxSessionFrames", "idleTimeoutSeconds",
	"stripAnnotations", "linkCapacity", "verifyHostname", "saslUsername", "saslPassword", "messageLoggingComponents",
	"failoverUrls", "connectionStatus", "connectionMsg", "policyVhost", "openProperties", "name", "identity", "type"}

func TestManagementQuery(t *testing.T) {
	t.Parallel()
	e, in, ports := linkedEdge(t)
	m := e.Dial(t)
	ctx := ctxT(t)

	t.Run("all attributes", func(t *testing.T) {
		r, err := m.QueryRaw(ctx, "connector")
		if err != nil {
			t.Fatal(err)
		}
		body := r.Body.(map[string]any)
		names := body["attributeNames"].([]any)
		got := make([]string, len(names))
		for i, n := range names {
			got[i] = n.(string)
		}
		if !reflect.DeepEqual(got, connectorAttributes) {
			t.Errorf("attributeNames\n got %v\nwant %v", got, connectorAttributes)
		}
		results := body["results"].([]any)
		if len(results) != 1 {
			t.Fatalf("results %v", results)
		}
		row := results[0].([]any)
		if row[2] != nil { // socketAddressFamily: missing values are null
			t.Errorf("socketAddressFamily = %v, want nil", row[2])
		}
		if row[24] != "uplink" || row[26] != "io.skupper.router.connector" {
			t.Errorf("row %v", row)
		}
	})

	// Values follow captures/a-link-up/query-*.json.
	cases := []struct {
		entity string
		attrs  []string
		key    string
		value  any
		want   map[string]any
	}{
		{"router", nil, "id", "edge-proxy-1", map[string]any{"mode": "edge", "name": "router/edge-proxy-1", "identity": "router/edge-proxy-1", "type": "io.skupper.router.router", "workerThreads": int32(4)}},
		{"connector", []string{"name", "role", "connectionStatus"}, "name", "uplink", map[string]any{"role": "edge", "connectionStatus": "SUCCESS"}},
		{"listener", nil, "name", "amqp", map[string]any{"role": "normal", "host": "127.0.0.1", "port": strings.TrimPrefix(e.MgmtAddr, "127.0.0.1:"), "identity": "listener/" + e.MgmtAddr + ":amqp", "http": false}},
		{"tcpListener", []string{"name", "port", "address", "operStatus", "connectionsOpened"}, "name", "my-service", map[string]any{"address": "my-service:8080", "operStatus": "up", "connectionsOpened": int32(0), "port": itoa(ports["my-service:8080"])}},
		{"tcpListener", nil, "name", "my-tcp-service", map[string]any{"operStatus": "down", "connectionMsg": "", "bytesIn": int32(0), "backlog": int32(0), "multiAddressStrategy": "none", "observer": "auto", "identity": "tcpListener/127.0.0.1:" + itoa(ports["my-tcp-service:5201"]) + ":my-tcp-service"}},
		{"connection", []string{"identity", "host", "role", "dir", "opened", "operStatus", "container"}, "role", "edge", map[string]any{"host": in.EdgeAddr(), "dir": "out", "opened": true, "operStatus": "up", "container": "interior"}},
		{"connection", nil, "role", "normal", map[string]any{"protocol": "amqp", "dir": "in", "user": "anonymous", "sasl": "ANONYMOUS", "isAuthenticated": true}},
	}
	for _, tc := range cases {
		t.Run(tc.entity+"/"+strings.Join(tc.attrs, ","), func(t *testing.T) {
			r, err := m.QueryRaw(ctx, tc.entity, tc.attrs...)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 200 || r.Description != "OK" {
				t.Fatalf("status %d %s", r.Status, r.Description)
			}
			if tc.attrs != nil {
				names := r.Body.(map[string]any)["attributeNames"].([]any)
				if len(names) != len(tc.attrs) {
					t.Fatalf("attributeNames %v, asked %v", names, tc.attrs)
				}
			}
			rows, err := Rows(r.Body)
			if err != nil {
				t.Fatal(err)
			}
			got := row(t, rows, tc.key, tc.value)
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s %s = %#v, want %#v", tc.entity, k, got[k], v)
				}
			}
		})
	}

	// Follows src/router_core/agent_connection.c: uptimeSeconds is a uint.
	t.Run("connection types", func(t *testing.T) {
		rows, err := m.Query(ctx, "connection", "role", "uptimeSeconds", "opened")
		if err != nil {
			t.Fatal(err)
		}
		r := row(t, rows, "role", "edge")
		if _, ok := r["uptimeSeconds"].(uint32); !ok {
			t.Errorf("uptimeSeconds %T, want uint32", r["uptimeSeconds"])
		}
	})

	// Follows captures/raw/edge-raw-management-frames.trace: a numeric
	// correlation-id comes back as an int32 from the Python agent and as it was
	// sent from the C agent (connection); strings come back as they were.
	t.Run("numeric correlation id", func(t *testing.T) {
		for _, tc := range []struct {
			entity string
			want   any
		}{{"tcpListener", int32(7)}, {"connection", uint64(7)}} {
			r, err := m.RequestWith(ctx, map[string]any{"operation": "QUERY", "type": "org.amqp.management", "name": "self",
				"entityType": LongType(tc.entity)}, map[string]any{"attributeNames": []any{"name"}}, uint64(7), false)
			if err != nil {
				t.Fatal(err)
			}
			if r.CorrelationID != tc.want {
				t.Errorf("%s: correlation id %#v, want %#v", tc.entity, r.CorrelationID, tc.want)
			}
		}
	})

	t.Run("router has no version", func(t *testing.T) {
		rows, err := m.Query(ctx, "router", "id", "version")
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := rows[0]["version"]; ok {
			t.Errorf("router version = %v, want null (README: the open frame carries it)", v)
		}
	})
}

// Status codes and descriptions follow captures/raw/edge-raw-management-exchange.json
// and captures/runtime-create-delete/.
func TestManagementErrors(t *testing.T) {
	t.Parallel()
	e, _, _ := linkedEdge(t)
	m := e.Dial(t)
	mq := func(entity string, attrs ...any) (map[string]any, any) {
		return map[string]any{"operation": "QUERY", "type": "org.amqp.management", "name": "self", "entityType": entity},
			map[string]any{"attributeNames": attrs}
	}
	type errorCase struct {
		name   string
		props  map[string]any
		body   any
		status int32
		desc   string // exact, or prefix when it ends with "…"
	}
	cases := []errorCase{
		{"READ nonexistent", map[string]any{"operation": "READ", "type": LongType("tcpListener"), "name": "does-not-exist"}, map[string]any{}, 404, "No entity with name=does-not-exist"},
		{"DELETE nonexistent", map[string]any{"operation": "DELETE", "type": LongType("tcpListener"), "name": "nosuch"}, map[string]any{}, 404, "No entity with name=nosuch"},
		{"CREATE without address", map[string]any{"operation": "CREATE", "type": LongType("tcpListener"), "name": "noaddr"}, map[string]any{"host": "127.0.0.1", "port": itoa(FreePort(t))}, 500, "CError: Configuration: Exactly one of the 'address' or 'multiAddressStrategy' field must be set"},
		{"CREATE duplicate name", map[string]any{"operation": "CREATE", "type": LongType("tcpListener"), "name": "my-service"}, map[string]any{"host": "127.0.0.1", "port": itoa(FreePort(t)), "address": "my-service:8080"}, 400, "adding TcpListenerEntity(address=my-service:8080, …"},
		{"UPDATE listener", map[string]any{"operation": "UPDATE", "type": LongType("listener"), "name": "amqp"}, map[string]any{}, 501, "Operation 'UPDATE' not implemented for 'io.skupper.router.listener' ['CREATE', 'DELETE', 'READ']"},
	}
	p, b := mq("io.skupper.router.bogus")
	cases = append(cases, errorCase{"QUERY unknown type", p, b, 400, "No such entity type 'io.skupper.router.bogus'"})
	p, b = mq(LongType("tcpListener"), "nosuchattr")
	cases = append(cases, errorCase{"QUERY unknown attribute", p, b, 404, "Unknown attributes ['nosuchattr'] for type io.skupper.router.tcpListener."})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := m.Request(ctxT(t), tc.props, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tc.status {
				t.Errorf("status %d (%s), want %d", r.Status, r.Description, tc.status)
			}
			if want, ok := strings.CutSuffix(tc.desc, "…"); ok {
				if !strings.HasPrefix(r.Description, want) {
					t.Errorf("description %q, want prefix %q", r.Description, want)
				}
			} else if r.Description != tc.desc {
				t.Errorf("description %q, want %q", r.Description, tc.desc)
			}
			if !emptyMap(r.Body) {
				t.Errorf("error body %#v, want {}", r.Body)
			}
			// runtime-create-delete/15-edge-log-excerpt.txt: the agent logs each failure.
			e.WaitLog(t, "AGENT (error) Error performing "+tc.props["operation"].(string)+": "+strings.TrimSuffix(tc.desc, "…"), StartTimeout)
		})
	}
}

// Follows captures/raw (READ tcpListener, GET-TYPES) and
// captures/runtime-create-delete (CREATE 201 with operStatus down, listening
// about 2 ms later; DELETE 204 {}; the port closes).
func TestManagementCreateReadDelete(t *testing.T) {
	t.Parallel()
	e, _, _ := linkedEdge(t)
	m := e.Dial(t)
	ctx := ctxT(t)
	port := FreePort(t)

	r, err := m.Op(ctx, "CREATE", "tcpListener", "x", map[string]any{"host": "127.0.0.1", "port": itoa(port), "address": "my-service:8080"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 201 || r.Description != "Created" {
		t.Fatalf("CREATE: %d %s", r.Status, r.Description)
	}
	body := r.Body.(map[string]any)
	for k, v := range map[string]any{"name": "x", "type": "io.skupper.router.tcpListener", "identity": "tcpListener/127.0.0.1:" + itoa(port) + ":x",
		"operStatus": "down", "connectionsOpened": int32(0), "observer": "auto", "multiAddressStrategy": "none", "authenticatePeer": false} {
		if body[k] != v {
			t.Errorf("CREATE body %s = %#v, want %#v", k, body[k], v)
		}
	}
	Eventually(t, linkTimeout, func() error { _, err := httpGet(port); return err })

	r, err = m.Op(ctx, "READ", "tcpListener", "x", nil)
	if err != nil || r.Status != 200 {
		t.Fatalf("READ: %v %v", r, err)
	}
	if got := r.Body.(map[string]any)["operStatus"]; got != "up" {
		t.Errorf("READ operStatus %v", got)
	}

	r, err = m.Request(ctx, map[string]any{"operation": "GET-TYPES", "type": "org.amqp.management", "name": "self", "entityType": LongType("tcpListener")}, map[string]any{})
	if err != nil || r.Status != 200 {
		t.Fatalf("GET-TYPES: %v %v", r, err)
	}
	wantTypes := map[string]any{"io.skupper.router.tcpListener": []any{"io.skupper.router.configurationEntity", "io.skupper.router.entity"}}
	if !reflect.DeepEqual(r.Body, wantTypes) {
		t.Errorf("GET-TYPES body %#v", r.Body)
	}

	r, err = m.Op(ctx, "DELETE", "tcpListener", "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 204 || r.Description != "No Content" {
		t.Fatalf("DELETE: %d %s", r.Status, r.Description)
	}
	if !emptyMap(r.Body) {
		t.Errorf("DELETE body %#v", r.Body)
	}
	Eventually(t, linkTimeout, func() error { return dialRefused(port) })
	rows, err := m.Query(ctx, "tcpListener", "name")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Find(rows, "name", "x"); err == nil {
		t.Error("deleted tcpListener still listed")
	}
}

// Follows captures/runtime-create-delete/09-create-y-port-in-use.json and
// 10-read-y-port-in-use.json, and invalid-config/08: a tcpListener whose port
// is taken stays down with the error in connectionMsg; the router runs on.
func TestTCPListenerPortInUse(t *testing.T) {
	t.Parallel()
	e, _, _ := linkedEdge(t)
	held := StartBackend(t, "held") // anything listening
	_, port, _ := strings.Cut(held.Backend, ":")
	m := e.Dial(t)
	body, err := m.Create(ctxT(t), "tcpListener", "y", map[string]any{"host": "127.0.0.1", "port": port, "address": "my-service:8080"})
	if err != nil {
		t.Fatal(err)
	}
	if body["operStatus"] != "down" || body["connectionMsg"] != "" {
		t.Errorf("CREATE body %v", body)
	}
	want := "Address already in use - listen on 127.0.0.1:" + port
	Eventually(t, linkTimeout, func() error {
		r, err := m.Op(ctxT(t), "READ", "tcpListener", "y", nil)
		if err != nil {
			return err
		}
		b := r.Body.(map[string]any)
		if b["connectionMsg"] != want || b["operStatus"] != "down" {
			return errors.New("READ y: " + strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(fmtAny(b), "\n", " "), "  ", " ")))
		}
		return nil
	})
	if e.Exited() {
		t.Fatal("router exited")
	}
}
