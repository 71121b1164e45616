package live

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/mgmt"
	"github.com/edgeproxy/edgeproxy/internal/routertest"
	"github.com/edgeproxy/edgeproxy/routerconf"
)

func tcpListener(name string, port int, address string) routerconf.Entity {
	return routerconf.Entity{Type: "tcpListener", Attrs: []routerconf.Attr{
		{Key: "name", Value: name}, {Key: "host", Value: routertest.Loopback}, {Key: "port", Value: strconv.Itoa(port)}, {Key: "address", Value: address}}}
}

func listenerNames(t *testing.T, c *mgmt.Client) []string {
	t.Helper()
	ls, err := c.TCPListeners(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range ls {
		names = append(names, l.Name+":"+strconv.Itoa(l.Port))
	}
	slices.Sort(names)
	return names
}

// TestApplyAndConverge against the router harness (fake, or real with
// SKROUTERD): Apply deletes and creates; a failed step stops it; Converge
// then makes the router's tcpListeners the desired ones, leaving the one
// that already matches alone.
func TestApplyAndConverge(t *testing.T) {
	t.Parallel()
	sc := routertest.StartScenario(t, routertest.Controls{})
	c := mgmt.NewClient(mgmt.ClientConfig{Address: sc.Edge.MgmtAddr, Timeout: 2 * time.Second})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	keep := tcpListener(sc.Listener.Name, sc.Listener.Port, sc.Listener.Address)
	before, err := c.Read(ctx, mgmt.EntityTCPListener, keep.Name())
	if err != nil {
		t.Fatal(err)
	}

	a, b := routertest.FreePort(t), routertest.FreePort(t)
	added := tcpListener("added", a, "my-service:8080")
	r, err := Apply(ctx, c, routerconf.Plan{Create: []routerconf.Entity{added}})
	if err != nil || len(r.Created) != 1 {
		t.Fatalf("apply create: %+v, %v", r, err)
	}
	// A plan that fails halfway: the second create duplicates a name.
	other := tcpListener("other", b, "my-service:8080")
	_, err = Apply(ctx, c, routerconf.Plan{Delete: []routerconf.Entity{added}, Create: []routerconf.Entity{other, tcpListener("other", routertest.FreePort(t), "x")}})
	var se *mgmt.StatusError
	if err == nil || !errors.As(err, &se) || se.Code != 400 {
		t.Fatalf("half-failing apply: %v, want a 400 for the duplicate name", err)
	}
	if got := listenerNames(t, c); !slices.Equal(got, sorted(keep, other)) {
		t.Fatalf("after the failed apply: %v", got)
	}
	// Converge to keep + added again (with a stray one, and other moved).
	if _, err := c.Create(ctx, mgmt.EntityTCPListener, "stray", map[string]any{"host": routertest.Loopback, "port": strconv.Itoa(routertest.FreePort(t)), "address": "s"}); err != nil {
		t.Fatal(err)
	}
	moved := tcpListener("other", routertest.FreePort(t), "my-service:8080")
	r, err = Converge(ctx, c, []routerconf.Entity{keep, added, moved})
	if err != nil {
		t.Fatal(err)
	}
	if got := listenerNames(t, c); !slices.Equal(got, sorted(keep, added, moved)) {
		t.Errorf("after converge: %v", got)
	}
	if slices.Contains(r.Deleted, "tcpListener/"+keep.Name()) || slices.Contains(r.Created, "tcpListener/"+keep.Name()) {
		t.Errorf("converge touched the matching listener: %+v", r)
	}
	after, err := c.Read(ctx, mgmt.EntityTCPListener, keep.Name())
	if err != nil || after.String("identity") != before.String("identity") {
		t.Errorf("matching listener %v replaced: %v", before, after)
	}
	// Converged: another converge changes nothing.
	if r, err := Converge(ctx, c, []routerconf.Entity{keep, added, moved}); err != nil || r.Changes() != 0 {
		t.Errorf("second converge: %+v, %v", r, err)
	}
}

func sorted(es ...routerconf.Entity) []string {
	var out []string
	for _, e := range es {
		p, _ := e.Get("port")
		out = append(out, e.Name()+":"+p.(string))
	}
	slices.Sort(out)
	return out
}
