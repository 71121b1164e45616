package routertest

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// Loopback is the host every harness router and backend binds.
const Loopback = "127.0.0.1"

// FreePort returns a loopback TCP port that was free a moment ago. Use it only
// for router processes, which cannot report the port they bound; anything in
// Go should listen on :0 instead. It never returns the same port twice in one
// test binary: the kernel may hand a port out again once it is closed, before
// the router that was given it has bound it.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", Loopback+":0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if _, taken := givenPorts.LoadOrStore(port, true); !taken {
			return port
		}
	}
	t.Fatal("free port: the kernel keeps handing out ports given before")
	return 0
}

// givenPorts are the ports FreePort returned.
var givenPorts sync.Map

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
	Listeners  []Listener
}

// Entities renders the spec like edgeproxy does (router, listener, connector
// "uplink", tcpListeners).
func (s EdgeSpec) Entities() []Entity {
	out := []Entity{
		{"router", map[string]any{"mode": "edge", "id": s.ID}},
		{"listener", map[string]any{"name": "amqp", "host": Loopback, "port": strconv.Itoa(s.Management), "role": "normal"}},
	}
	if s.Uplink != "" {
		host, port, _ := net.SplitHostPort(s.Uplink)
		out = append(out, Entity{"connector", map[string]any{"name": "uplink", "host": host, "port": port, "role": "edge"}})
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
