package routertest

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// connectionOpened is the connector's connectionMsg while the link is up
// (captures/a-link-up/query-connector.json).
var connectionOpened = regexp.MustCompile(`^\[C\d+\] Connection Opened: dir=out host=(\S+) encrypted=no auth=ANONYMOUS user=\(null\) container_id=(\S+)$`)

func refusedMsg(hp string) string {
	return "Connection to " + hp + " failed: proton:io Connection refused - disconnected " + hp
}

// edgeConnection returns the role-edge entry of the connection list, or nil.
func edgeConnection(t *testing.T, e *Edge) map[string]any {
	t.Helper()
	for _, c := range e.Query(t, "connection") {
		if c["role"] == "edge" {
			return c
		}
	}
	return nil
}

// Follows captures/a-link-up, b-interior-down and later/, and
// logs/sample-edge-link-loss.log and sample-edge-reconnect.log.
func TestEdgeLink(t *testing.T) {
	t.Parallel()
	in := StartInterior(t)
	in.AddService(t, "my-service:8080")
	e, ports := edgeWith(t, in.EdgeAddr(), Controls{}, "my-service:8080")
	port := ports["my-service:8080"]

	// Up: SUCCESS, the edge connection, the listener open.
	e.WaitLink(t, "SUCCESS", linkTimeout)
	_, msg, err := LinkStatus(e.MgmtAddr)
	if err != nil {
		t.Fatal(err)
	}
	if m := connectionOpened.FindStringSubmatch(msg); m == nil || m[1] != in.EdgeAddr() || m[2] != "interior" {
		t.Errorf("connectionMsg %q", msg)
	}
	c := edgeConnection(t, e)
	if c == nil {
		t.Fatal("no edge connection while linked")
	}
	for k, v := range map[string]any{"dir": "out", "opened": true, "operStatus": "up", "container": "interior", "host": in.EdgeAddr(), "protocol": "amqp"} {
		if c[k] != v {
			t.Errorf("edge connection %s = %v, want %v", k, c[k], v)
		}
	}
	e.WaitListener(t, "my-service", "up", linkTimeout)

	// Down: CONNECTING with the refused text, no edge connection, listener closed.
	in.Stop()
	e.WaitLink(t, "CONNECTING", linkTimeout)
	Eventually(t, linkTimeout, func() error {
		_, msg, err := LinkStatus(e.MgmtAddr)
		if err != nil {
			return err
		}
		if msg != refusedMsg(in.EdgeAddr()) {
			return fmt.Errorf("connectionMsg %q", msg)
		}
		return nil
	})
	if c := edgeConnection(t, e); c != nil {
		t.Errorf("edge connection listed while the link is down: %v", c)
	}
	e.WaitListener(t, "my-service", "down", linkTimeout)
	Eventually(t, linkTimeout, func() error { return dialRefused(port) })
	// logs/sample-edge-link-loss.log (the "established" line is logged at start).
	e.WaitLog(t, "ROUTER_CORE (info) Edge connection (id=", linkTimeout)
	e.WaitLog(t, ") to interior lost, no alternate connection available", linkTimeout)

	// Back: the router reconnects on its own at its next retry.
	in.Start()
	e.WaitLink(t, "SUCCESS", linkTimeout)
	e.WaitListener(t, "my-service", "up", linkTimeout)
	if body, err := httpGet(port); err != nil || !strings.HasPrefix(body, "hello from my-service:8080") {
		t.Fatalf("GET through the edge after reconnect: %q %v", body, err)
	}
}

// Follows README "retries every 2 s, forever, and logs a failure only when
// its text changes" (logs/sample-edge-link-loss.log: one refused line).
func TestEdgeLinkRetriesQuietly(t *testing.T) {
	t.Parallel()
	uplink := loopback(FreePort(t))
	e, _ := edgeWith(t, uplink, Controls{})
	e.WaitLink(t, "CONNECTING", linkTimeout)
	e.WaitLog(t, refusedMsg(uplink), linkTimeout)
	// Let at least two 2 s retries pass, then a listener appears: the router
	// must connect to it (it kept retrying) having logged the refusal once.
	first := time.Now()
	Eventually(t, 10*time.Second, func() error {
		if since := time.Since(first); since < 4500*time.Millisecond {
			return fmt.Errorf("waiting for two retries (%v)", since)
		}
		return nil
	})
	// Count the SERVER lines only: a real router's FLOW_LOG (on by default)
	// repeats each logged failure in a "FLOW_LOG (info) LOG ... logText=LOG_SERVER:"
	// line (logs/sample-edge-link-loss.log).
	n := 0
	for _, l := range e.Stderr() {
		if strings.Contains(l, "SERVER (error) [C") && strings.Contains(l, refusedMsg(uplink)) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("refused logged %d times, want once", n)
	}
	l, err := net.Listen("tcp", uplink)
	if err != nil {
		t.Skipf("uplink port taken meanwhile: %v", err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(linkTimeout):
		t.Fatal("router stopped retrying")
	}
}

// The fake counts a plain TCP peer on the uplink as a link with nothing
// reachable; a real router needs an AMQP peer, so this is fake only.
func TestEdgeLinkPlainTCPPeer(t *testing.T) {
	t.Parallel()
	RequireFake(t, "a real router's link needs an AMQP peer")
	peer := StartSilentPeer(t)
	e, ports := edgeWith(t, peer, Controls{}, "my-service:8080")
	e.WaitLink(t, "SUCCESS", linkTimeout)
	if c := edgeConnection(t, e); c == nil || c["container"] != "interior" {
		t.Errorf("edge connection %v", c)
	}
	if st, _ := ListenerStatus(e.MgmtAddr, "my-service"); st != "down" {
		t.Errorf("tcpListener %s with nothing reachable", st)
	}
	if err := dialRefused(ports["my-service:8080"]); err != nil {
		t.Error(err)
	}
}
