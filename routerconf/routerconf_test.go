package routerconf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeproxy/edgeproxy/internal/schema"
)

func seed() Config {
	return Config{
		Router:  Router{ID: "edge-proxy-1", Management: "127.0.0.1:5672", LogLevel: "info"},
		Uplinks: []Uplink{{Name: "uplink", Host: "host.docker.internal", Port: 45671, TLS: TLS{VerifyHostname: true}}},
		Listeners: []Listener{
			{Name: "my-service", Host: "0.0.0.0", Port: 8080, Address: "my-service:8080"},
			{Name: "my-tcp-service", Host: "0.0.0.0", Port: 5201, Address: "my-tcp-service:5201"},
		},
	}
}

func TestRenderDeterministicAndSchemaValid(t *testing.T) {
	sch, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	cfgs := map[string]Config{"seed": seed()}
	withFlow := seed()
	withFlow.Router.FlowLog, withFlow.Router.WorkerThreads, withFlow.Router.SiteID = true, 2, "site-1"
	withFlow.Router.Observer = "http1"
	cfgs["flow"] = withFlow
	both := withFlow
	both.Connectors = []Connector{{Name: "nginx", Address: "my-service:8080", Host: "nginx", Port: 8080}}
	cfgs["connectors"] = both
	private := seed()
	private.Listeners, private.Connectors = nil, both.Connectors
	cfgs["connectors only"] = private
	for name, c := range cfgs {
		first, err := Render(c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := 0; i < 20; i++ {
			again, _ := Render(c)
			if !bytes.Equal(first, again) {
				t.Fatalf("%s: render %d differs:\n%s\n%s", name, i, first, again)
			}
		}
		if err := sch.Check(first); err != nil {
			t.Errorf("%s: schema: %v", name, err)
		}
	}
}

func TestRenderFlowLogOffByDefault(t *testing.T) {
	out, err := Render(seed())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `["log", {"module": "FLOW_LOG", "enable": "none"}]`) {
		t.Errorf("FLOW_LOG not off:\n%s", out)
	}
}

func twoUplinks(c *Config) {
	c.Uplinks = []Uplink{{Name: "uplink", Host: "a", Port: 1}, {Name: "uplink-2", Host: "b", Port: 1}}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"valid", func(*Config) {}, nil},
		{"ipv6 loopback management", func(c *Config) { c.Router.Management = "[::1]:5672" }, nil},
		{"remote management", func(c *Config) { c.Router.Management = "10.0.0.1:5672" }, []string{"router.management: must be a loopback address"}},
		{"management not host:port", func(c *Config) { c.Router.Management = "5672" }, []string{"router.management: must be host:port"}},
		{"empty id", func(c *Config) { c.Router.ID = "" }, []string{"router.id: must not be empty"}},
		{"threads", func(c *Config) { c.Router.WorkerThreads = -1 }, []string{"router.worker_threads"}},
		{"observer", func(c *Config) { c.Router.Observer = "tcp" }, []string{"router.observer: must be one of"}},
		{"name clash", func(c *Config) { c.Listeners[1].Name = "my-service" }, []string{"listeners[1].name: duplicates"}},
		{"key without cert", func(c *Config) { c.Uplinks[0].TLS.KeyFile = "/etc/hostname" }, []string{"uplink.tls: cert_file and key_file go together", "uplink.tls.ca_file: must be set"}},
		{"connectors only", func(c *Config) {
			c.Listeners = nil
			c.Connectors = []Connector{{Name: "c", Address: "a", Host: "nginx", Port: 8080}}
		}, nil},
		{"neither listeners nor connectors", func(c *Config) { c.Listeners = nil }, []string{"listeners: at least one listener or connector is needed"}},
		{"connector name clashes with a listener", func(c *Config) { c.Connectors = []Connector{{Name: "my-service", Address: "a", Host: "h", Port: 1}} },
			[]string{"connectors[0].name: duplicates listeners[0].name: names must be unique across listeners and connectors"}},
		{"connector name reserved", func(c *Config) { c.Connectors = []Connector{{Name: "uplink", Address: "a", Host: "h", Port: 1}} }, []string{"connectors[0].name: is reserved"}},
		{"connector names clash", func(c *Config) {
			c.Connectors = []Connector{{Name: "c", Address: "a", Host: "h", Port: 1}, {Name: "c", Address: "a", Host: "h2", Port: 1}}
		}, []string{"connectors[1].name: duplicates connectors[0].name"}},
		{"connector targets", func(c *Config) {
			c.Connectors = []Connector{
				{Name: "c0", Address: "a", Host: "", Port: 8080},
				{Name: "c1", Address: "a", Host: "bad host!", Port: 8080},
				{Name: "c2", Address: "a", Host: "nginx", Port: 0},
				{Name: "c3", Address: "a", Host: "nginx", Port: 99999},
				{Name: "c4", Address: "", Host: "nginx", Port: 1},
				{Name: "c5", Address: "a b", Host: "nginx", Port: 1},
				{Name: "c6", Address: "a", Host: "127.0.0.1", Port: 5672},
				{Name: "c7", Address: "a", Host: "localhost", Port: 8080},
				{Name: "c8", Address: "a", Host: "-x", Port: 1},
			}
		}, []string{"connectors[0].host: must not be empty", "connectors[1].host: must be an IP address or a host name", "connectors[2].port: must be from 1 to 65535",
			"connectors[3].port: must be from 1 to 65535", "connectors[4].address: must not be empty", "connectors[5].address: must be a routing address",
			"connectors[6].port: is the router's own management listener", "connectors[7].port: is one of this proxy's own listeners", "connectors[8].host"}},
		{"connector targets that work", func(c *Config) {
			c.Connectors = []Connector{
				{Name: "c0", Address: "a", Host: "::1", Port: 8081},
				{Name: "c1", Address: "a", Host: "nginx_1.sample1", Port: 8080}, // another host's 8080 is not ours
				{Name: "c2", Address: "a", Host: "10.0.0.1", Port: 5672},
			}
		}, nil},
		{"all at once", func(c *Config) { c.Uplinks[0].Port = 0; c.Uplinks[0].Host = ""; c.Listeners[0].Address = "" },
			[]string{"uplink.port", "uplink.host", "listeners[0].address"}},
		// several uplinks (uplinks.go)
		{"two uplinks", twoUplinks, nil},
		{"no uplink", func(c *Config) { c.Uplinks = nil }, []string{"uplinks: at least one uplink is needed"}},
		{"same uplink name", func(c *Config) { twoUplinks(c); c.Uplinks[1].Name = "uplink" }, []string{"uplinks[1].name: duplicates uplinks[0].name"}},
		{"same interior", func(c *Config) { twoUplinks(c); c.Uplinks[1].Host = "a" }, []string{"uplinks[1]: duplicates uplinks[0]"}},
		{"bad uplink host", func(c *Config) { twoUplinks(c); c.Uplinks[1].Host = "b c" }, []string{"uplinks[1].host: must be an IP address or a host name"}},
		{"bad uplink port", func(c *Config) { twoUplinks(c); c.Uplinks[0].Port = 70000 }, []string{"uplinks[0].port: must be from 1 to 65535"}},
		{"uplink named management", func(c *Config) { twoUplinks(c); c.Uplinks[1].Name = "management" }, []string{"uplinks[1].name: is reserved"}},
		{"uplink tls file", func(c *Config) { twoUplinks(c); c.Uplinks[1].TLS.CAFile = "/nonexistent" }, []string{"uplinks[1].tls.ca_file: file does not exist"}},
		{"listener named like an uplink", func(c *Config) { twoUplinks(c); c.Listeners[0].Name = "uplink-2" },
			[]string{"listeners[0].name: is reserved: it names the edge connector of uplinks[1]"}},
		{"uplink key given", func(c *Config) { c.Uplinks[0].Key = "uplinks[0]"; c.Uplinks[0].Port = 0 }, []string{"uplinks[0].port"}},
	}
	for _, tc := range tests {
		c := seed()
		tc.mutate(&c)
		err := c.Validate()
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: unexpected error %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error, want %v", tc.name, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error lacks %q: %v", tc.name, w, err)
			}
		}
		if _, rerr := Render(c); rerr == nil {
			t.Errorf("%s: Render accepted an invalid config", tc.name)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "skrouterd.json")
	if err := WriteFile(path, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", di.Mode().Perm())
	}
	if err := WriteFile(path, []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "v2" {
		t.Errorf("content %q, want v2", got)
	}

	// A failure half-way leaves the previous file and no temporary behind.
	syncFile = func(*os.File) error { return errors.New("disk on fire") }
	t.Cleanup(func() { syncFile = (*os.File).Sync })
	err = WriteFile(path, []byte("v3-half-written"))
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.Contains(err.Error(), path) {
		t.Fatalf("want a wrapped failure naming the file, got %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "v2" {
		t.Errorf("after a failed write the file holds %q, want the old v2", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// BenchmarkRender renders configs of 1, 10 and 1,000 tcpListeners.
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{1, 10, 1000} {
		b.Run(fmt.Sprintf("listeners=%d", n), func(b *testing.B) {
			c := seed()
			c.Listeners = nil
			for i := 0; i < n; i++ {
				c.Listeners = append(c.Listeners, Listener{Name: fmt.Sprintf("l%d", i), Host: "0.0.0.0", Port: 9000 + i, Address: "svc:1"})
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Render(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
