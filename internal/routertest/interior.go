package routertest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Interior is an interior router (fake or real) on loopback with an edge
// listener for edges to connect to and tcpConnectors to test backends.
type Interior struct {
	t        testing.TB
	ID       string
	bin      string
	edgePort int
	mgmtPort int
	// irPort is the inter-router listener's port (0: none).
	irPort int
	linkTo []*Interior

	tls *TLSFiles

	mu       sync.Mutex
	proc     *Process
	services map[string]*Service
}

// StartInterior starts an interior router and waits until it answers
// management.
func StartInterior(t testing.TB) *Interior {
	t.Helper()
	return StartInteriorTLS(t, nil)
}

// StartInteriorTLS is StartInterior with, when tls is not nil, an edge
// listener that requires mutual TLS as a Skupper site's does: an
// sslProfile with tls's files, requireSsl, authenticatePeer and SASL
// EXTERNAL (the edge is identified by its client certificate). The fake
// accepts that configuration and links in plain TCP; a real router does TLS.
func StartInteriorTLS(t testing.TB, tls *TLSFiles) *Interior {
	t.Helper()
	return StartInteriorWith(t, InteriorOptions{TLS: tls})
}

// InteriorOptions configures StartInteriorWith.
type InteriorOptions struct {
	// ID is the router id ("interior" when empty). Interiors of one network
	// need different ids.
	ID string
	// TLS: as StartInteriorTLS.
	TLS *TLSFiles
	// InterRouter gives the interior an inter-router listener
	// (InterRouterAddr) for other interiors to link to.
	InterRouter bool
	// LinkTo are interiors (started with InterRouter) this one links to with
	// an inter-router connector each, as a Skupper site links to another.
	// Only a real router routes over them: the fake has no inter-router
	// links (use RequireReal).
	LinkTo []*Interior
}

// StartInteriorWith starts an interior router configured by o and waits
// until it answers management.
func StartInteriorWith(t testing.TB, o InteriorOptions) *Interior {
	t.Helper()
	in := &Interior{t: t, ID: cmp.Or(o.ID, "interior"), bin: Binary(t, Controls{}), services: map[string]*Service{}, tls: o.TLS, linkTo: o.LinkTo}
	for attempt := 0; ; attempt++ {
		in.edgePort, in.mgmtPort = FreePort(t), FreePort(t)
		if o.InterRouter {
			in.irPort = FreePort(t)
		}
		err := in.start()
		if err == nil {
			return in
		}
		if !errors.Is(err, errPortTaken) || attempt >= 4 {
			t.Fatalf("start interior: %v", err)
		}
	}
}

var errPortTaken = errors.New("port taken")

// EdgeHost is the host of the edge listener.
func (in *Interior) EdgeHost() string { return Loopback }

// EdgePort is the port of the edge listener; it stays the same across Stop/Start.
func (in *Interior) EdgePort() int { return in.edgePort }

// EdgeAddr is host:port of the edge listener (an edge's uplink).
func (in *Interior) EdgeAddr() string { return net.JoinHostPort(Loopback, strconv.Itoa(in.edgePort)) }

// InterRouterAddr is host:port of the inter-router listener ("" for none).
func (in *Interior) InterRouterAddr() string {
	if in.irPort == 0 {
		return ""
	}
	return net.JoinHostPort(Loopback, strconv.Itoa(in.irPort))
}

// MgmtAddr is host:port of the interior's management listener.
func (in *Interior) MgmtAddr() string { return net.JoinHostPort(Loopback, strconv.Itoa(in.mgmtPort)) }

// Process is the running interior process (nil while stopped).
func (in *Interior) Process() *Process {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.proc
}

func (in *Interior) config() string {
	edge := map[string]any{"name": "edge", "host": Loopback, "port": strconv.Itoa(in.edgePort), "role": "edge"}
	ents := []Entity{
		{"router", map[string]any{"mode": "interior", "id": in.ID}},
		{"listener", map[string]any{"name": "amqp", "host": Loopback, "port": strconv.Itoa(in.mgmtPort), "role": "normal"}},
	}
	if in.tls != nil {
		ents = append(ents, Entity{"sslProfile", map[string]any{"name": "edge-tls",
			"caCertFile": in.tls.CAFile, "certFile": in.tls.CertFile, "privateKeyFile": in.tls.KeyFile}})
		edge["sslProfile"], edge["requireSsl"], edge["authenticatePeer"], edge["saslMechanisms"] = "edge-tls", true, true, "EXTERNAL"
	}
	ents = append(ents, Entity{"listener", edge})
	if in.irPort != 0 {
		ents = append(ents, Entity{"listener", map[string]any{"name": "inter-router", "host": Loopback, "port": strconv.Itoa(in.irPort), "role": "inter-router"}})
	}
	for _, peer := range in.linkTo {
		ents = append(ents, Entity{"connector", map[string]any{"name": "to-" + peer.ID, "host": Loopback, "port": strconv.Itoa(peer.irPort), "role": "inter-router"}})
	}
	for _, s := range in.services {
		ents = append(ents, s.connector())
	}
	return WriteConfig(in.t, "interior.json", ents)
}

func (in *Interior) start() error {
	in.mu.Lock()
	cfg := in.config()
	in.mu.Unlock()
	p, err := startProcess(in.bin, cfg)
	if err != nil {
		return err
	}
	in.t.Cleanup(func() {
		p.KillGroup()
		if in.t.Failed() {
			in.t.Logf("interior stderr (pid %d):\n%s", p.PID(), strings.Join(p.Stderr(), "\n"))
		}
	})
	err = Poll(StartTimeout, func() error {
		if p.Exited() {
			return nil
		}
		_, err := QueryOnce(in.MgmtAddr(), "router", "id")
		return err
	})
	if p.Exited() {
		st, _ := p.Wait(0)
		if p.HasLog("Address already in use") {
			return fmt.Errorf("interior exited (%s): %w", ExitDescription(st), errPortTaken)
		}
		return fmt.Errorf("interior exited (%s):\n%s", ExitDescription(st), strings.Join(p.Stderr(), "\n"))
	}
	if err != nil {
		p.KillGroup()
		return fmt.Errorf("interior management on %s: %w", in.MgmtAddr(), err)
	}
	in.mu.Lock()
	in.proc = p
	in.mu.Unlock()
	return nil
}

// Stop stops the interior with SIGTERM (edges see their link drop).
func (in *Interior) Stop() {
	in.mu.Lock()
	p := in.proc
	in.proc = nil
	in.mu.Unlock()
	if p != nil {
		p.Stop(5 * time.Second)
	}
}

// Kill stops the interior with SIGKILL.
func (in *Interior) Kill() {
	in.mu.Lock()
	p := in.proc
	in.proc = nil
	in.mu.Unlock()
	if p != nil {
		p.KillGroup()
	}
}

// Start starts a stopped interior again on the same ports, with tcpConnectors
// for the services added so far (from its configuration file). A port another
// process took meanwhile is retried for a few seconds.
func (in *Interior) Start() {
	in.t.Helper()
	Eventually(in.t, StartTimeout, func() error { return in.start() })
}

// Service is a test backend behind the interior: an HTTP server on loopback
// that answers GET with "hello from <address>" and echoes any request body.
type Service struct {
	Address string // routing address, e.g. "my-service:8080"
	Name    string // tcpConnector name
	Backend string // host:port of the HTTP server
	hits    atomic.Int64
	srv     *http.Server
}

// Requests returns how many HTTP requests the backend served.
func (s *Service) Requests() int64 { return s.hits.Load() }

// Greeting is what the backend answers to GET.
func (s *Service) Greeting() string { return "hello from " + s.Address + "\n" }

func (s *Service) connector() Entity {
	host, port, _ := net.SplitHostPort(s.Backend)
	return Entity{"tcpConnector", map[string]any{"name": s.Name, "host": host, "port": port, "address": s.Address}}
}

// StartBackend starts the HTTP backend of a service without any router.
func StartBackend(t testing.TB, address string) *Service {
	t.Helper()
	l, err := net.Listen("tcp", Loopback+":0")
	if err != nil {
		t.Fatalf("backend for %s: %v", address, err)
	}
	s := &Service{Address: address, Name: connectorName(address), Backend: l.Addr().String()}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(l) //nolint:errcheck // returns on Close
	t.Cleanup(func() { s.srv.Close() })
	return s
}

func connectorName(address string) string {
	return "svc-" + strings.NewReplacer(":", "-", "/", "-").Replace(address)
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	w.Header().Set("X-Service", s.Address)
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		io.WriteString(w, s.Greeting())
		return
	}
	io.Copy(w, r.Body)
}

// AddService starts a backend and CREATEs a tcpConnector for address on the
// interior over management, so edges' tcpListeners for address come up.
func (in *Interior) AddService(t testing.TB, address string) *Service {
	t.Helper()
	s := StartBackend(t, address)
	c := s.connector()
	err := withMgmt(in.MgmtAddr(), func(ctx context.Context, m *Mgmt) error {
		_, err := m.Create(ctx, "tcpConnector", s.Name, map[string]any{
			"host": c.Attrs["host"], "port": c.Attrs["port"], "address": address})
		return err
	})
	if err != nil {
		t.Fatalf("add service %s: %v", address, err)
	}
	in.mu.Lock()
	in.services[address] = s
	in.mu.Unlock()
	return s
}

// AddConnector CREATEs a tcpConnector named name for address that connects to
// backend (host:port), for backends the test runs itself (iperf3, nginx, ...).
// Unlike AddService it is not restored by Start after Stop.
func (in *Interior) AddConnector(t testing.TB, name, address, backend string) {
	t.Helper()
	host, port, err := net.SplitHostPort(backend)
	if err != nil {
		t.Fatalf("add connector %s: %v", name, err)
	}
	err = withMgmt(in.MgmtAddr(), func(ctx context.Context, m *Mgmt) error {
		_, err := m.Create(ctx, "tcpConnector", name, map[string]any{"host": host, "port": port, "address": address})
		return err
	})
	if err != nil {
		t.Fatalf("add connector %s: %v", name, err)
	}
}

// RemoveService DELETEs the tcpConnector for address (the backend keeps
// running).
func (in *Interior) RemoveService(t testing.TB, address string) {
	t.Helper()
	in.mu.Lock()
	s := in.services[address]
	delete(in.services, address)
	in.mu.Unlock()
	if s == nil {
		t.Fatalf("remove service %s: not added", address)
	}
	err := withMgmt(in.MgmtAddr(), func(ctx context.Context, m *Mgmt) error {
		return m.Delete(ctx, "tcpConnector", s.Name)
	})
	if err != nil {
		t.Fatalf("remove service %s: %v", address, err)
	}
}
