package routertest

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkForwarding measures HTTP echo throughput through an edge
// tcpListener and the interior to a backend (bytes counted one way).
func BenchmarkForwarding(b *testing.B) {
	in := StartInterior(b)
	svc := in.AddService(b, "bench:8080")
	port := FreePort(b)
	cfg := WriteEdgeConfig(b, EdgeSpec{ID: "edge-bench", Uplink: in.EdgeAddr(), Listeners: []Listener{{Name: "bench", Port: port, Address: svc.Address}}})
	e := StartEdge(b, cfg, Controls{})
	e.WaitReady(b)
	e.WaitListener(b, "bench", "up", 10*time.Second)
	payload := bytes.Repeat([]byte("x"), 4<<20)
	c := &http.Client{Timeout: 30 * time.Second}
	url := "http://" + loopback(port) + "/echo"
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := c.Post(url, "application/octet-stream", bytes.NewReader(payload))
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n != int64(len(payload)) {
			b.Fatalf("echoed %d bytes", n)
		}
	}
}

// BenchmarkManagementQuery measures one QUERY round trip on an open session.
func BenchmarkManagementQuery(b *testing.B) {
	cfg := WriteEdgeConfig(b, EdgeSpec{})
	e := StartEdge(b, cfg, Controls{})
	e.WaitReady(b)
	m := DialT(b, e.MgmtAddr)
	ctx := b.Context()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Query(ctx, "tcpListener"); err != nil {
			b.Fatal(err)
		}
	}
}
