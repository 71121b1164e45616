package routertest

import (
	"io"
	"net/http"
	"testing"
	"time"
)

func TestSmoke(t *testing.T) {
	in := StartInterior(t)
	svc := in.AddService(t, "my-service:8080")
	port := FreePort(t)
	cfg := WriteEdgeConfig(t, EdgeSpec{ID: "edge-proxy-1", Uplink: in.EdgeAddr(), Listeners: []Listener{{Name: "my-service", Port: port, Address: svc.Address}}})
	e := StartEdge(t, cfg, Controls{})
	e.WaitReady(t)
	e.WaitLink(t, "SUCCESS", 5*time.Second)
	e.WaitListener(t, "my-service", "up", 5*time.Second)
	resp, err := http.Get("http://127.0.0.1:" + itoa(port) + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != svc.Greeting() {
		t.Fatalf("got %q", b)
	}
	t.Log(e.Query(t, "connection"))
	t.Log(e.Query(t, "connector"))
	t.Log(e.Query(t, "tcpListener"))
	t.Log(e.Stderr())
}
