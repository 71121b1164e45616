package routertest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// Follows README "tcpListener": up only while a consumer of its address is
// reachable, otherwise down and closed (a-link-up, b-interior-down,
// c-tcpconnector-removed, logs/sample-edge-tcpConnector-removed-on-interior.log).
func TestTCPListenerFollowsReachability(t *testing.T) {
	t.Parallel()
	in := StartInterior(t)
	e, ports := edgeWith(t, in.EdgeAddr(), Controls{}, "my-service:8080")
	port := ports["my-service:8080"]
	e.WaitLink(t, "SUCCESS", linkTimeout)

	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"no tcpConnector", func() {}, "down"},
		{"tcpConnector created", func() { in.AddService(t, "my-service:8080") }, "up"},
		{"tcpConnector deleted", func() { in.RemoveService(t, "my-service:8080") }, "down"},
		{"created again", func() { in.AddService(t, "my-service:8080") }, "up"},
		{"interior killed", in.Kill, "down"},
	}
	for _, s := range steps {
		s.do()
		e.WaitListener(t, "my-service", s.want, linkTimeout)
		if s.want == "down" {
			Eventually(t, linkTimeout, func() error { return dialRefused(port) })
		} else {
			Eventually(t, linkTimeout, func() error { _, err := httpGet(port); return err })
		}
		// router.address M<address> has one subscriber while reachable
		// (query-router.address.json in a-link-up, b-interior-down, c-tcpconnector-removed).
		wantSubs := uint32(0)
		if s.want == "up" {
			wantSubs = 1
		}
		Eventually(t, linkTimeout, func() error {
			rows, err := QueryOnce(e.MgmtAddr, "router.address", "key", "subscriberCount")
			if err != nil {
				return err
			}
			r, err := Find(rows, "key", "Mmy-service:8080")
			if err != nil {
				return err
			}
			if r["subscriberCount"] != wantSubs {
				return fmt.Errorf("%s: Mmy-service:8080 subscriberCount %v, want %d", s.name, r["subscriberCount"], wantSubs)
			}
			return nil
		})
		if e.Exited() {
			t.Fatalf("%s: router exited", s.name)
		}
	}
	if !e.HasLog("TCP_ADAPTOR (info) Listener my-service: stopped listening for client connections on " + loopback(port)) {
		t.Error("no 'stopped listening' line")
	}
}

// Bytes go through unchanged and connectionsOpened/Closed count flows
// (captures/a-link-up/query-tcpListener.json; bytesIn/Out stay 0 as captured).
func TestTCPListenerForwards(t *testing.T) {
	t.Parallel()
	in := StartInterior(t)
	svc := in.AddService(t, "my-service:8080")
	e, ports := edgeWith(t, in.EdgeAddr(), Controls{}, "my-service:8080")
	port := ports["my-service:8080"]
	e.WaitListener(t, "my-service", "up", linkTimeout)

	body, err := httpGet(port)
	if err != nil || body != svc.Greeting() {
		t.Fatalf("GET: %q %v", body, err)
	}
	payload := make([]byte, 1<<20)
	rand.Read(payload)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Post("http://"+loopback(port)+"/echo", "application/octet-stream", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("echo: %d bytes back, equal=%v, err %v", len(got), bytes.Equal(got, payload), err)
	}
	Eventually(t, linkTimeout, func() error {
		rows, err := QueryOnce(e.MgmtAddr, "tcpListener", "name", "connectionsOpened", "connectionsClosed", "bytesIn")
		if err != nil {
			return err
		}
		r, err := Find(rows, "name", "my-service")
		if err != nil {
			return err
		}
		if r["connectionsOpened"] != int32(2) || r["connectionsClosed"] != int32(2) || r["bytesIn"] != int32(0) {
			return fmt.Errorf("counters %v", r)
		}
		return nil
	})
	if svc.Requests() != 2 {
		t.Errorf("backend served %d requests, want 2", svc.Requests())
	}
}

// Flows are cut when the link goes: logs/sample-edge-link-loss.log shows the
// real edge ending the flow (errorListenerSide=delivery-failed) about 5 s after
// the interior went; the fake cuts it at once.
func TestTCPListenerFlowCutOnLinkLoss(t *testing.T) {
	t.Parallel()
	in := StartInterior(t)
	in.AddService(t, "my-service:8080")
	e, ports := edgeWith(t, in.EdgeAddr(), Controls{}, "my-service:8080")
	e.WaitListener(t, "my-service", "up", linkTimeout)
	c, err := net.Dial("tcp", loopback(ports["my-service:8080"]))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	if _, err := c.Read(buf); err != nil {
		t.Fatalf("first answer: %v", err)
	}
	in.Kill()
	c.SetReadDeadline(time.Now().Add(linkTimeout))
	for {
		if _, err := c.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("flow still open after the link went down")
			}
			break
		}
	}
}
