package routerconf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeproxy/edgeproxy/internal/schema"
)

func seed() Config {
	return Config{
		Router: Router{ID: "edge-proxy-1", Management: "127.0.0.1:5672", LogLevel: "info"},
		Uplink: Uplink{Host: "host.docker.internal", Port: 45671, TLS: TLS{VerifyHostname: true}},
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
		{"key without cert", func(c *Config) { c.Uplink.TLS.KeyFile = "/etc/hostname" }, []string{"uplink.tls: cert_file and key_file go together", "uplink.tls.ca_file: must be set"}},
		{"all at once", func(c *Config) { c.Uplink.Port = 0; c.Uplink.Host = ""; c.Listeners[0].Address = "" },
			[]string{"uplink.port", "uplink.host", "listeners[0].address"}},
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

func BenchmarkRender(b *testing.B) {
	c := seed()
	for i := 0; i < 30; i++ {
		c.Listeners = append(c.Listeners, Listener{Name: "l" + strings.Repeat("x", i), Host: "0.0.0.0", Port: 9000 + i, Address: "svc:1"})
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Render(c); err != nil {
			b.Fatal(err)
		}
	}
}
