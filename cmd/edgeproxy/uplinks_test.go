package main

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/edgeproxy/edgeproxy/routerconf"
)

// The uplinks: the one-entry form, the list from YAML, and the spec string
// with indexed variables from the environment.
func TestLoadUplinks(t *testing.T) {
	tlsDir, _ := filepath.Abs("testdata/tls")
	ca := tlsDir + "/ca.crt"
	tests := []struct {
		name string
		env  []string
		yaml string
		want []routerconf.Uplink
	}{
		{"default: the one uplink", nil, "",
			[]routerconf.Uplink{{Name: "uplink", Host: "host.docker.internal", Port: 45671, TLS: routerconf.TLS{VerifyHostname: true}, Key: "uplink"}}},
		{"yaml list", nil, "uplinks:\n  - {host: a, port: 1}\n  - {name: site-b, host: b, port: 2, tls: {ca_file: " + ca + "}}\n  - {host: c, port: 3, tls: {verify_hostname: false}}\n",
			[]routerconf.Uplink{
				{Name: "uplink", Host: "a", Port: 1, TLS: routerconf.TLS{VerifyHostname: true}, Key: "uplinks[0]"},
				{Name: "site-b", Host: "b", Port: 2, TLS: routerconf.TLS{CAFile: ca, VerifyHostname: true}, Key: "uplinks[1]"},
				{Name: "uplink-3", Host: "c", Port: 3, Key: "uplinks[2]"},
			}},
		{"env spec with indexed variables", []string{"EDGEPROXY_UPLINKS= a:45671, site-b=[fd00::2]:45672",
			"EDGEPROXY_UPLINKS__1__TLS__CA_FILE=" + ca, "EDGEPROXY_UPLINKS__1__TLS__VERIFY_HOSTNAME=false", "EDGEPROXY_UPLINKS__0__NAME=site-a"}, "",
			[]routerconf.Uplink{
				{Name: "site-a", Host: "a", Port: 45671, TLS: routerconf.TLS{VerifyHostname: true}, Key: "uplinks[0]"},
				{Name: "site-b", Host: "fd00::2", Port: 45672, TLS: routerconf.TLS{CAFile: ca}, Key: "uplinks[1]"},
			}},
		{"indexed variables refine the yaml list", []string{"EDGEPROXY_UPLINKS__1__PORT=9"}, "uplinks:\n  - {host: a, port: 1}\n  - {host: b, port: 2}\n",
			[]routerconf.Uplink{
				{Name: "uplink", Host: "a", Port: 1, TLS: routerconf.TLS{VerifyHostname: true}, Key: "uplinks[0]"},
				{Name: "uplink-2", Host: "b", Port: 9, TLS: routerconf.TLS{VerifyHostname: true}, Key: "uplinks[1]"},
			}},
		{"env spec replaces the yaml list", []string{"EDGEPROXY_UPLINKS=x:7"}, "uplinks:\n  - {host: a, port: 1}\n  - {host: b, port: 2}\n",
			[]routerconf.Uplink{{Name: "uplink", Host: "x", Port: 7, TLS: routerconf.TLS{VerifyHostname: true}, Key: "uplinks[0]"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := append([]string{seedListeners}, tc.env...)
			if tc.yaml != "" {
				env = append(env, "EDGEPROXY_CONFIG="+writeYAML(t, tc.yaml))
			}
			s, err := loadSettings("", env)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.Router.Uplinks, tc.want) {
				t.Errorf("uplinks\n got %+v\nwant %+v", s.Router.Uplinks, tc.want)
			}
			// Each uplink is one connector of the rendered file.
			out, err := routerconf.Render(s.Router)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(out), `"role": "edge"`); n != len(tc.want) {
				t.Errorf("%d edge connectors rendered, want %d:\n%s", n, len(tc.want), out)
			}
		})
	}
}

func TestInvalidUplinks(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		yaml string
		want []string
	}{
		{"both forms from env", []string{"EDGEPROXY_UPLINK__HOST=a", "EDGEPROXY_UPLINKS=b:1"}, "",
			[]string{"uplinks: uplink and uplinks are both set (EDGEPROXY_UPLINK__HOST and EDGEPROXY_UPLINKS)"}},
		{"both forms from file and env", []string{"EDGEPROXY_UPLINK__TLS__VERIFY_HOSTNAME=false"}, "uplinks:\n  - {host: a, port: 1}\n",
			[]string{"uplink and uplinks are both set (EDGEPROXY_UPLINK__TLS__VERIFY_HOSTNAME and uplinks)"}},
		{"index past the end", []string{"EDGEPROXY_UPLINKS=a:1,b:2", "EDGEPROXY_UPLINKS__2__TLS__CA_FILE=/x"}, "",
			[]string{"EDGEPROXY_UPLINKS__2__TLS__CA_FILE: sets uplinks[2].tls.ca_file, but uplinks has 2 entries"}},
		{"indexed without uplinks", []string{"EDGEPROXY_UPLINKS__0__HOST=a"}, "",
			[]string{"EDGEPROXY_UPLINKS__0__HOST: sets uplinks[0].host, but uplinks has 0 entries"}},
		{"unknown indexed field", []string{"EDGEPROXY_UPLINKS=a:1", "EDGEPROXY_UPLINKS__0__TLS__CA=/x", "EDGEPROXY_UPLINKS__0__HOTS=b"}, "",
			[]string{"EDGEPROXY_UPLINKS__0__TLS__CA: unknown key; tls has ca_file, cert_file, key_file, verify_hostname",
				"EDGEPROXY_UPLINKS__0__HOTS: unknown key; an uplink has name, host, port, tls"}},
		{"unknown yaml field", nil, "uplinks:\n  - {host: a, prot: 1, tls: {cafile: x}}\n",
			[]string{"uplinks[0].prot: unknown key; an uplink has", "uplinks[0].tls.cafile: unknown key", "uplinks[0].port: must be a whole number"}},
		{"malformed spec", []string{"EDGEPROXY_UPLINKS=a:1,nohost,b:x"}, "",
			[]string{`uplinks[1]: "nohost" is not HOST:PORT; each entry is [NAME=]HOST:PORT`, `uplinks[2]: port "x" is not a number`}},
		{"duplicates", []string{"EDGEPROXY_UPLINKS=a:1,x=b:2,x=a:1"}, "",
			[]string{"uplinks[2].name: duplicates uplinks[1].name", "uplinks[2]: duplicates uplinks[0]"}},
		{"bad host and tls", []string{"EDGEPROXY_UPLINKS=a!b:1,c:2", "EDGEPROXY_UPLINKS__1__TLS__CA_FILE=/nonexistent/ca.crt"}, "",
			[]string{"uplinks[0].host: must be an IP address or a host name", "uplinks[1].tls.ca_file: file does not exist"}},
		{"bad value type", nil, "uplinks:\n  - {host: a, port: http, tls: {verify_hostname: maybe}}\n",
			[]string{`uplinks[0].port: must be a whole number`, `uplinks[0].tls.verify_hostname: must be true or false`}},
		{"not a list", nil, "uplinks: {host: a}\n",
			[]string{"uplinks: must be a list of {name, host, port, tls} or a spec string of [NAME=]HOST:PORT"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := append([]string{seedListeners}, tc.env...)
			if tc.yaml != "" {
				env = append(env, "EDGEPROXY_CONFIG="+writeYAML(t, tc.yaml))
			}
			var stdout, stderr bytes.Buffer
			if code := realMain([]string{"render"}, env, &stdout, &stderr); code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}
