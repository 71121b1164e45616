package routertest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Loopback is the host every harness router and backend binds.
const Loopback = "127.0.0.1"

// FreePort returns a loopback TCP port that was free a moment ago. Use it only
// for router processes, which cannot report the port they bound; anything in
// Go should listen on :0 instead.
//
// The port is taken below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range): a router closes a tcpListener's socket
// while its address is unreachable and listens again when it returns, and a
// port from the ephemeral range can meanwhile become the local port of any
// outgoing connection on the machine, so the router's listen fails with
// "Address already in use" (seen with a real router, one run in ten). It is
// claimed with a file under the temporary directory, so parallel test
// binaries never hand out the same port, and never returned twice in one
// test binary.
func FreePort(t testing.TB) int {
	t.Helper()
	lo, hi := portPool()
	for range 1000 {
		port := lo + rand.IntN(hi-lo)
		if _, taken := givenPorts.LoadOrStore(port, true); taken {
			continue
		}
		if !claimPort(port) {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(Loopback, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		l.Close()
		return port
	}
	t.Fatal("free port: no free port below the ephemeral range")
	return 0
}

// givenPorts are the ports FreePort returned.
var givenPorts sync.Map

// portPool is the range FreePort draws from: the 12,000 ports below the
// ephemeral range (20768-32767 with Linux's default 32768-60999).
var portPool = sync.OnceValues(func() (int, int) {
	start := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 13000 {
				start = n
			}
		}
	}
	return start - 12000, start
})

// claimPort claims port across test binaries with a file whose creation
// fails when another binary holds it; claims older than claimTTL are stale.
func claimPort(port int) bool {
	dir := filepath.Join(os.TempDir(), "edgeproxy-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return true // no claims possible: the bind check alone decides
	}
	path := filepath.Join(dir, strconv.Itoa(port))
	for range 2 {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			f.Close()
			return true
		}
		fi, serr := os.Stat(path)
		if serr != nil || time.Since(fi.ModTime()) < claimTTL {
			return false
		}
		_ = os.Remove(path) // stale: a binary long gone claimed it
	}
	return false
}

// claimTTL bounds how long a claimed port stays reserved for its test binary.
const claimTTL = 10 * time.Minute

// Entity is one [type, attributes] element of a skrouterd configuration.
type Entity struct {
	Type  string
	Attrs map[string]any
}

// MarshalJSON renders the entity as the router expects it.
func (e Entity) MarshalJSON() ([]byte, error) { return json.Marshal([]any{e.Type, e.Attrs}) }

// WriteConfig writes entities as a skrouterd JSON configuration in a new file
// under t.TempDir() and returns its path.
func WriteConfig(t testing.TB, name string, entities []Entity) string {
	t.Helper()
	if entities == nil {
		entities = []Entity{}
	}
	b, err := json.MarshalIndent(entities, "", "    ")
	if err != nil {
		t.Fatalf("render %s: %v", name, err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	return path
}

// Listener is one tcpListener of an edge.
type Listener struct {
	Name    string
	Port    int
	Address string
}

// EdgeSpec describes an edge router configuration for WriteEdgeConfig.
type EdgeSpec struct {
	ID         string // router id; "edge-<pid>" when empty
	Management int    // management listener port (FreePort when 0)
	Uplink     string // host:port of the interior's edge listener ("" for none)
	// Alternates are more uplinks (host:port), connectors uplink-2, uplink-3, ...
	Alternates []string
	Listeners  []Listener
}

// Entities renders the spec like edgeproxy does (router, listener, connector
// "uplink" and its alternates, tcpListeners).
func (s EdgeSpec) Entities() []Entity {
	out := []Entity{
		{"router", map[string]any{"mode": "edge", "id": s.ID}},
		{"listener", map[string]any{"name": "amqp", "host": Loopback, "port": strconv.Itoa(s.Management), "role": "normal"}},
	}
	for i, hp := range append([]string{s.Uplink}, s.Alternates...) {
		if hp == "" {
			continue
		}
		name := "uplink"
		if i > 0 {
			name = fmt.Sprintf("uplink-%d", i+1)
		}
		host, port, _ := net.SplitHostPort(hp)
		out = append(out, Entity{"connector", map[string]any{"name": name, "host": host, "port": port, "role": "edge"}})
	}
	for _, l := range s.Listeners {
		out = append(out, Entity{"tcpListener", map[string]any{
			"name": l.Name, "host": Loopback, "port": strconv.Itoa(l.Port), "address": l.Address}})
	}
	return out
}

// WriteEdgeConfig fills the spec's defaults, writes it and returns the path.
func WriteEdgeConfig(t testing.TB, s EdgeSpec) string {
	t.Helper()
	if s.ID == "" {
		s.ID = fmt.Sprintf("edge-%d", os.Getpid())
	}
	if s.Management == 0 {
		s.Management = FreePort(t)
	}
	return WriteConfig(t, "skrouterd.json", s.Entities())
}

// ManagementAddr returns host:port of the first normal-role listener of a
// configuration file.
func ManagementAddr(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return "", fmt.Errorf("parse %s: %w", path, err)
	}
	for _, raw := range items {
		var pair []json.RawMessage
		if json.Unmarshal(raw, &pair) != nil || len(pair) != 2 {
			continue
		}
		var typ string
		var attrs map[string]any
		if json.Unmarshal(pair[0], &typ) != nil || json.Unmarshal(pair[1], &attrs) != nil {
			continue
		}
		if typ != "listener" && typ != LongType("listener") {
			continue
		}
		if role, _ := attrs["role"].(string); role != "" && role != "normal" {
			continue
		}
		if http, _ := attrs["http"].(bool); http {
			continue
		}
		host, _ := attrs["host"].(string)
		if host == "" || host == "0.0.0.0" {
			host = Loopback
		}
		return net.JoinHostPort(host, fmt.Sprint(attrs["port"])), nil
	}
	return "", fmt.Errorf("%s has no normal-role listener", path)
}
