package routerconf

import (
	"reflect"
	"strings"
	"testing"

	"github.com/edgeproxy/edgeproxy/internal/schema"
)

func TestNameUplinks(t *testing.T) {
	us := []Uplink{{}, {Name: "uplink-3"}, {}, {Name: "b"}}
	NameUplinks(us)
	var got []string
	for _, u := range us {
		got = append(got, u.Name)
	}
	want := []string{"uplink", "uplink-3", "uplink-3-2", "b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("names %q, want %q", got, want)
	}
}

func TestParseUplinkEntry(t *testing.T) {
	for _, tc := range []struct {
		entry string
		want  Uplink
		err   string
	}{
		{" a:45671", Uplink{Host: "a", Port: 45671}, ""},
		{"site-b = 10.0.0.2:5671", Uplink{Name: "site-b", Host: "10.0.0.2", Port: 5671}, ""},
		{"[fd00::1]:45671", Uplink{Host: "fd00::1", Port: 45671}, ""},
		{"nohost", Uplink{}, `"nohost" is not HOST:PORT`},
		{"x:y", Uplink{}, `port "y" is not a number`},
		{"=h:1", Uplink{}, "empty name"},
	} {
		u, err := ParseUplinkEntry(strings.TrimSpace(tc.entry))
		tc.want.TLS.VerifyHostname = true
		switch {
		case tc.err == "" && (err != nil || u != tc.want):
			t.Errorf("%q: got %+v (%v), want %+v", tc.entry, u, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want %q", tc.entry, err, tc.err)
		}
	}
}

// Several uplinks render as several edge connectors in order; uplinks with
// the same TLS files share an sslProfile, different files get their own.
func TestRenderUplinks(t *testing.T) {
	const ca, crt, key = "../cmd/edgeproxy/testdata/tls/ca.crt", "../cmd/edgeproxy/testdata/tls/tls.crt", "../cmd/edgeproxy/testdata/tls/tls.key"
	c := seed()
	c.Uplinks = []Uplink{
		{Host: "a.example", Port: 45671, TLS: TLS{CAFile: ca, CertFile: crt, KeyFile: key, VerifyHostname: true}},
		{Host: "b.example", Port: 45671, TLS: TLS{CAFile: ca, CertFile: crt, KeyFile: key}},
		{Name: "site-c", Host: "10.0.0.3", Port: 45671, TLS: TLS{CAFile: ca}},
		{Host: "10.0.0.4", Port: 45671},
	}
	c.Name()
	out, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	sch, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Check(out); err != nil {
		t.Errorf("schema: %v", err)
	}
	want := []string{
		`["sslProfile", {"name": "uplink-tls", "caCertFile": "` + ca + `", "certFile": "` + crt + `", "privateKeyFile": "` + key + `"}]`,
		`["sslProfile", {"name": "site-c-tls", "caCertFile": "` + ca + `"}]`,
		`["listener", {"name": "management"`,
		`["connector", {"name": "uplink", "host": "a.example", "port": "45671", "role": "edge", "sslProfile": "uplink-tls", "verifyHostname": true}]`,
		`["connector", {"name": "uplink-2", "host": "b.example", "port": "45671", "role": "edge", "sslProfile": "uplink-tls", "verifyHostname": false}]`,
		`["connector", {"name": "site-c", "host": "10.0.0.3", "port": "45671", "role": "edge", "sslProfile": "site-c-tls", "verifyHostname": false}]`,
		`["connector", {"name": "uplink-4", "host": "10.0.0.4", "port": "45671", "role": "edge"}]`,
		`["tcpListener", {"name": "my-service"`,
	}
	rest := string(out)
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("rendered config lacks (in this order) %s:\n%s", w, out)
		}
		rest = rest[i+len(w):]
	}
	if n := strings.Count(string(out), `"sslProfile", {`); n != 2 {
		t.Errorf("%d sslProfiles, want 2:\n%s", n, out)
	}
}
