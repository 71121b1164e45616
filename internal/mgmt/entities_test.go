package mgmt

import (
	"reflect"
	"testing"
)

// Records as the router gives them in the captures (a-link-up,
// b-interior-down), limited to what the health prober asks.
var (
	connectorDown = Record{"name": "uplink", "role": "edge", "host": "127.0.0.1", "port": "45671", "connectionStatus": "CONNECTING",
		"connectionMsg": "Connection to 127.0.0.1:45671 failed: proton:io Connection refused - disconnected 127.0.0.1:45671"}
	edgeConnection  = Record{"role": "edge", "dir": "out", "opened": true, "operStatus": "up", "container": "interior", "host": "127.0.0.1:45671"}
	tcpConnection   = Record{"role": "normal", "dir": "in", "opened": true, "operStatus": "up", "container": "TcpAdaptor", "host": "127.0.0.1:38850"}
	mgmtConnection  = Record{"role": "normal", "dir": "in", "opened": true, "operStatus": "up", "container": "d706afa1-2a1e-4a48-b39c-40f81d830e46", "host": "127.0.0.1:56654"}
	listenerService = func(oper string, opened, closed int32) Record {
		return Record{"name": "my-service", "host": "127.0.0.1", "port": "18080", "address": "my-service:8080", "operStatus": oper,
			"connectionMsg": "", "connectionsOpened": opened, "connectionsClosed": closed}
	}
)

func TestEntityDecoders(t *testing.T) {
	if got, want := ConnectorFrom(connectorDown), (Connector{Name: "uplink", Role: "edge", Host: "127.0.0.1", Port: 45671,
		ConnectionStatus: "CONNECTING", ConnectionMsg: "Connection to 127.0.0.1:45671 failed: proton:io Connection refused - disconnected 127.0.0.1:45671"}); got != want {
		t.Errorf("connector = %+v\nwant %+v", got, want)
	}
	if got, want := TCPListenerFrom(listenerService("down", 55, 55)), (TCPListener{Name: "my-service", Host: "127.0.0.1", Port: 18080,
		Address: "my-service:8080", OperStatus: "down", ConnectionsOpened: 55, ConnectionsClosed: 55}); got != want {
		t.Errorf("tcpListener = %+v\nwant %+v", got, want)
	}
	// The port-in-use case from runtime-create-delete/10-read-y-port-in-use.json.
	y := TCPListenerFrom(Record{"name": "y", "host": "127.0.0.1", "port": "8888", "address": "my-service:8080", "operStatus": "down",
		"connectionMsg": "Address already in use - listen on 127.0.0.1:8888", "connectionsOpened": int32(0), "connectionsClosed": int32(0)})
	if y.Port != 8888 || y.ConnectionMsg != "Address already in use - listen on 127.0.0.1:8888" {
		t.Errorf("tcpListener y = %+v", y)
	}
	if got := TCPListenerFrom(Record{}); !reflect.DeepEqual(got, TCPListener{}) {
		t.Errorf("empty record = %+v, want zero", got)
	}
	tests := []struct {
		rec  Record
		want bool
	}{
		{edgeConnection, true},
		{tcpConnection, false},
		{mgmtConnection, false},
		{Record{"role": "edge", "dir": "in", "opened": true}, false},
		{Record{"role": "edge", "dir": "out", "opened": false}, false},
		{Record{"role": "edge", "dir": "out", "opened": nil}, false},
	}
	for _, tt := range tests {
		if got := ConnectionFrom(tt.rec).IsEdgeUplink(); got != tt.want {
			t.Errorf("IsEdgeUplink(%v) = %v, want %v", tt.rec, got, tt.want)
		}
	}
}

// The connector's own status and message say whether its link is open.
func TestConnectorOpened(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status, msg string
		open        bool
		peer        string
	}{
		{"SUCCESS", "[C1] Connection Opened: dir=out host=127.0.0.1:45671 encrypted=no auth=ANONYMOUS user=(null) container_id=interior", true, "interior"},
		{"SUCCESS", "[C3] Connection Opened: dir=out host=127.0.0.1:45681 encrypted=TLSv1.3 auth=EXTERNAL user=(null) container_id=site-a props={}", true, "site-a"},
		{"SUCCESS", "", false, ""}, // a real router, for a moment before the connection opens
		{"CONNECTING", "Connection to 127.0.0.1:45671 failed: proton:io Connection refused - disconnected 127.0.0.1:45671", false, ""},
	} {
		c := Connector{ConnectionStatus: tt.status, ConnectionMsg: tt.msg}
		if c.Opened() != tt.open || c.Peer() != tt.peer {
			t.Errorf("%s %q: opened %v peer %q, want %v %q", tt.status, tt.msg, c.Opened(), c.Peer(), tt.open, tt.peer)
		}
	}
}
