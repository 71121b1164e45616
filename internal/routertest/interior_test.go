package routertest

import (
	"strings"
	"testing"
)

// Follows captures/interior-side/query-tcpConnector.json, query-connection.json
// and runtime-create-delete/00-interior-recreate-tcpConnector.json.
func TestInterior(t *testing.T) {
	t.Parallel()
	in := StartInterior(t)
	svc := in.AddService(t, "my-service:8080")
	host, port, _ := strings.Cut(svc.Backend, ":")
	rows := MustQuery(t, in.MgmtAddr(), "tcpConnector")
	c := row(t, rows, "address", "my-service:8080")
	for k, v := range map[string]any{"host": host, "port": port, "name": svc.Name, "type": "io.skupper.router.tcpConnector",
		"identity": "tcpConnector/" + svc.Backend + ":" + svc.Name, "verifyHostname": true} {
		if c[k] != v {
			t.Errorf("tcpConnector %s = %#v, want %#v", k, c[k], v)
		}
	}
	// CREATE and DELETE of a tcpConnector, as in
	// runtime-create-delete/00-interior-recreate-tcpConnector.json.
	m := DialT(t, in.MgmtAddr())
	r, err := m.Op(ctxT(t), "CREATE", "tcpConnector", "extra", map[string]any{"host": "127.0.0.1", "port": "1", "address": "extra:1"})
	if err != nil || r.Status != 201 || r.Description != "Created" {
		t.Fatalf("CREATE tcpConnector: %v %v", r, err)
	}
	body := r.Body.(map[string]any)
	for _, k := range []string{"name", "host", "port", "address", "type", "identity", "verifyHostname", "bytesIn", "bytesOut", "connectionsOpened", "connectionsClosed"} {
		if _, ok := body[k]; !ok {
			t.Errorf("CREATE tcpConnector body lacks %s: %v", k, body)
		}
	}
	if r, err := m.Op(ctxT(t), "DELETE", "tcpConnector", "extra", nil); err != nil || r.Status != 204 {
		t.Fatalf("DELETE tcpConnector: %v %v", r, err)
	}
	if r := row(t, MustQuery(t, in.MgmtAddr(), "router"), "id", "interior"); r["mode"] != "interior" {
		t.Errorf("router %v", r)
	}
	if ls := MustQuery(t, in.MgmtAddr(), "listener"); len(ls) != 2 {
		t.Errorf("listeners %v", ls)
	} else {
		row(t, ls, "role", "edge")
	}

	e, ports := edgeWith(t, in.EdgeAddr(), Controls{}, "my-service:8080")
	e.WaitListener(t, "my-service", "up", linkTimeout)
	Eventually(t, linkTimeout, func() error {
		rows, err := QueryOnce(in.MgmtAddr(), "connection")
		if err != nil {
			return err
		}
		r, err := Find(rows, "role", "edge")
		if err != nil {
			return err
		}
		if r["dir"] != "in" || r["container"] != "edge-proxy-1" {
			t.Errorf("interior's edge connection %v", r)
		}
		return nil
	})

	// Stop and start on the same port: the edge reconnects and the service,
	// now in the interior's configuration file, is reachable again.
	edgePort := in.EdgePort()
	in.Stop()
	e.WaitListener(t, "my-service", "down", linkTimeout)
	in.Start()
	if in.EdgePort() != edgePort {
		t.Fatalf("edge port moved from %d to %d", edgePort, in.EdgePort())
	}
	e.WaitListener(t, "my-service", "up", linkTimeout)
	if body, err := httpGet(ports["my-service:8080"]); err != nil || body != svc.Greeting() {
		t.Fatalf("GET after restart: %q %v", body, err)
	}
}
