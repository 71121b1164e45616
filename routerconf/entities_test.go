package routerconf

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/edgeproxy/edgeproxy/internal/schema"
)

func mustEntities(t *testing.T, c Config) []Entity {
	t.Helper()
	es, err := Entities(c)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func keys(es []Entity) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Key())
	}
	return out
}

func TestDiff(t *testing.T) {
	tlsOn := func(c *Config) {
		c.Uplinks[0].TLS = TLS{CAFile: "../cmd/edgeproxy/testdata/tls/ca.crt", CertFile: "../cmd/edgeproxy/testdata/tls/tls.crt", KeyFile: "../cmd/edgeproxy/testdata/tls/tls.key", VerifyHostname: true}
	}
	cases := []struct {
		name         string
		before, edit func(*Config)
		deletes      []string
		creates      []string
		updates      []string
		restart      []string // substrings, one per reason
	}{
		{name: "nothing", edit: func(*Config) {}},
		{name: "listener added", edit: func(c *Config) {
			c.Listeners = append(c.Listeners, Listener{Name: "new", Host: "0.0.0.0", Port: 9000, Address: "new:9000"})
		}, creates: []string{"tcpListener/new"}},
		{name: "listener removed", edit: func(c *Config) { c.Listeners = c.Listeners[1:] }, deletes: []string{"tcpListener/my-service"}},
		{name: "connector added", edit: func(c *Config) {
			c.Connectors = append(c.Connectors, Connector{Name: "workload", Address: "workload:80", Host: "127.0.0.1", Port: 8081})
		}, creates: []string{"tcpConnector/workload"}},
		{name: "second uplink: restart", edit: func(c *Config) {
			c.Uplinks = append(c.Uplinks, Uplink{Name: "uplink-2", Host: "other", Port: 45671})
		}, restart: []string{"connector/uplink-2 is new"}},
		{name: "listener changed", edit: func(c *Config) { c.Listeners[1].Port = 5202 },
			deletes: []string{"tcpListener/my-tcp-service"}, creates: []string{"tcpListener/my-tcp-service"}},
		{name: "site id: router restarts, listeners are recreated", edit: func(c *Config) { c.Router.SiteID = "s1" },
			deletes: []string{"tcpListener/my-service", "tcpListener/my-tcp-service"},
			creates: []string{"tcpListener/my-service", "tcpListener/my-tcp-service"},
			restart: []string{"router/: metadata changed"}},
		{name: "log level updates in place", edit: func(c *Config) { c.Router.LogLevel = "debug" },
			updates: []string{"log/log/DEFAULT"}},
		{name: "flow log updates in place", edit: func(c *Config) { c.Router.FlowLog = true }, updates: []string{"log/log/FLOW_LOG"}},
		{name: "router id", edit: func(c *Config) { c.Router.ID = "other" }, restart: []string{"router/: id changed"}},
		{name: "worker threads", edit: func(c *Config) { c.Router.WorkerThreads = 2 }, restart: []string{"workerThreads changed"}},
		{name: "management", edit: func(c *Config) { c.Router.Management = "127.0.0.1:5673" }, restart: []string{"listener/management: port changed"}},
		{name: "uplink", edit: func(c *Config) { c.Uplinks[0].Host = "elsewhere" }, restart: []string{"connector/uplink: host changed"}},
		{name: "tls turned on", edit: tlsOn, restart: []string{"sslProfile/uplink-tls is new", "connector/uplink: sslProfile, verifyHostname changed"}},
		{name: "tls files and ordinal update in place", before: tlsOn, edit: func(c *Config) {
			c.Uplinks[0].TLS.CAFile = "../cmd/edgeproxy/testdata/tls/tls.crt"
			c.Uplinks[0].TLS.Ordinal = 1
		}, updates: []string{"sslProfile/uplink-tls"}},
		{name: "tls turned off", before: tlsOn, edit: func(c *Config) { c.Uplinks[0].TLS = TLS{} },
			restart: []string{"connector/uplink", "sslProfile/uplink-tls is gone"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := seed()
			if tc.before != nil {
				tc.before(&old)
			}
			cur := old
			cur.Listeners = slices.Clone(old.Listeners)
			cur.Uplinks = slices.Clone(old.Uplinks)
			tc.edit(&cur)
			p := Diff(mustEntities(t, old), mustEntities(t, cur))
			if got := keys(p.Delete); !slices.Equal(got, append([]string{}, tc.deletes...)) && !(len(got) == 0 && len(tc.deletes) == 0) {
				t.Errorf("deletes %v, want %v", got, tc.deletes)
			}
			if got := keys(p.Create); !slices.Equal(got, tc.creates) && !(len(got) == 0 && len(tc.creates) == 0) {
				t.Errorf("creates %v, want %v", got, tc.creates)
			}
			var ups []string
			for _, u := range p.Update {
				ups = append(ups, u.Entity.Key())
				if len(u.Changed) == 0 {
					t.Errorf("update of %s changes nothing", u.Entity.Key())
				}
			}
			if !slices.Equal(ups, tc.updates) {
				t.Errorf("updates %v, want %v", ups, tc.updates)
			}
			if len(p.Restart) != len(tc.restart) {
				t.Fatalf("restart reasons %q, want %d like %q", p.Restart, len(tc.restart), tc.restart)
			}
			for i, want := range tc.restart {
				if !strings.Contains(p.Restart[i], want) {
					t.Errorf("restart reason %q, want it to contain %q", p.Restart[i], want)
				}
			}
			if tc.name == "nothing" && !p.Empty() {
				t.Errorf("plan for no change is not empty: %+v", p)
			}
		})
	}
}

// TestUpdatableMatchesSchema: what Diff updates in place is what the
// router's schema allows UPDATE of; the runtime types are created and
// deleted at run time.
func TestUpdatableMatchesSchema(t *testing.T) {
	sch, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	for typ, attrs := range updatable {
		et, ok := sch.EntityTypes[typ]
		if !ok {
			t.Fatalf("%s: not in the schema", typ)
		}
		for _, a := range attrs {
			if !et.Attributes[a].Update {
				t.Errorf("%s.%s: the schema does not allow UPDATE", typ, a)
			}
		}
	}
	for _, typ := range RuntimeTypes {
		if _, ok := sch.EntityTypes[typ]; !ok {
			t.Errorf("%s: not in the schema", typ)
		}
	}
}

func TestEntityNames(t *testing.T) {
	es := mustEntities(t, seed())
	var got []string
	for _, e := range es {
		got = append(got, e.Key())
	}
	want := "router/ listener/management connector/uplink tcpListener/my-service tcpListener/my-tcp-service log/log/DEFAULT log/log/FLOW_LOG"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("keys %s, want %s", s, want)
	}
	if m := es[3].Map(); fmt.Sprint(m) != "map[address:my-service:8080 host:0.0.0.0 port:8080]" {
		t.Errorf("Map %v", m)
	}
}
