package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/routertest"
)

// routerNodes are the router ids the interior at addr knows in its network.
func routerNodes(addr string) ([]string, error) {
	rows, err := routertest.QueryOnce(addr, "router.node", "id")
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range rows {
		if id, ok := r["id"].(string); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// Services across sites, on loopback (scripts/cross-site.sh is the same in
// network namespaces): interior A with the proxy's uplink, interiors B and C
// linked to A by inter-router links. The proxy reaches my-service on B by its
// routing address; the workload moves to C (tcpConnector deleted on B,
// created on C) and traffic flows again without touching the proxy: same
// router process, same listener. Real routers only: the fake has no
// inter-router links.
func TestRunCrossSiteMove(t *testing.T) {
	routertest.RequireReal(t, "the fake router has no inter-router links")
	t.Parallel()
	a := routertest.StartInteriorWith(t, routertest.InteriorOptions{ID: "interior-a", InterRouter: true})
	b := routertest.StartInteriorWith(t, routertest.InteriorOptions{ID: "interior-b", LinkTo: []*routertest.Interior{a}})
	c := routertest.StartInteriorWith(t, routertest.InteriorOptions{ID: "interior-c", LinkTo: []*routertest.Interior{a}})
	routertest.Eventually(t, 30*time.Second, func() error {
		ids, err := routerNodes(a.MgmtAddr())
		if err != nil {
			return err
		}
		if !slices.Equal(ids, []string{"interior-a", "interior-b", "interior-c"}) {
			return fmt.Errorf("interior-a knows routers %v", ids)
		}
		return nil
	})
	onB := b.AddService(t, "my-service:8080")
	p, _, port := routerProxy(t, a, routertest.Controls{})
	base := "http://" + envValue(p.cmd.Env, "EDGEPROXY_HEALTH__LISTEN")
	routertest.Eventually(t, 30*time.Second, func() error {
		if code, body, err := httpGet(context.Background(), base+"/readyz?verbose"); err != nil || code != http.StatusOK {
			return fmt.Errorf("/readyz %d (%v):\n%s", code, err, body)
		}
		return greets(port, onB.Greeting())
	})
	if onB.Requests() == 0 {
		t.Fatal("my-service answered, but not from host B's backend")
	}
	pidBefore := harnessRouterPIDs(t, p.record)

	// A client loop through the proxy, one fresh connection each, counting
	// the attempts that failed (the gap is logged, not asserted).
	var attempts, failed atomic.Int64
	var lastOK atomic.Int64 // unix nanoseconds of the last answer
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			attempts.Add(1)
			if err := greets(port, onB.Greeting()); err != nil {
				failed.Add(1)
				continue
			}
			lastOK.Store(time.Now().UnixNano())
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-done
	}()
	routertest.Eventually(t, 5*time.Second, func() error {
		if lastOK.Load() == 0 {
			return fmt.Errorf("no answer through the proxy yet")
		}
		return nil
	})

	// The workload moves to host C.
	moved := time.Now()
	b.RemoveService(t, "my-service:8080")
	onC := c.AddService(t, "my-service:8080")
	routertest.EventuallyEvery(t, 30*time.Second, 5*time.Millisecond, func() error {
		if onC.Requests() == 0 {
			return fmt.Errorf("host C's backend has served no request yet")
		}
		if time.Unix(0, lastOK.Load()).Before(moved) {
			return fmt.Errorf("no answer through the proxy since the move")
		}
		return nil
	})
	back := time.Since(moved)
	close(stop)
	<-done
	t.Logf("workload moved from interior-b to interior-c: answers through the proxy again after %v; %d of %d attempts failed (real=%v)",
		back.Round(time.Millisecond), failed.Load(), attempts.Load(), routertest.Real())

	servedByB := onB.Requests()
	if err := greets(port, onC.Greeting()); err != nil {
		t.Fatalf("after the move: %v", err)
	}
	if onB.Requests() != servedByB {
		t.Error("host B's backend still served a request after its tcpConnector was deleted")
	}
	// The proxy was not touched: the same router process, ready.
	if pids := harnessRouterPIDs(t, p.record); !slices.Equal(pids, pidBefore) {
		t.Errorf("router processes %v, want %v (no restart)", pids, pidBefore)
	}
	if code, body, err := httpGet(context.Background(), base+"/readyz?verbose"); err != nil || code != http.StatusOK {
		t.Errorf("/readyz %d (%v):\n%s", code, err, body)
	}
}
