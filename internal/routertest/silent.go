package routertest

import (
	"net"
	"sync"
	"testing"
)

// StartSilentPeer listens on loopback, accepts TCP connections and never
// writes to them: an uplink that accepts but speaks nothing, or a management
// port that never answers. It returns the address; everything is closed at
// cleanup.
func StartSilentPeer(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", Loopback+":0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}
