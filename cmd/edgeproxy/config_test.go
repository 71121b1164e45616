package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/routerconf"
)

const seedListeners = "EDGEPROXY_LISTENERS=8080=my-service:8080,5201=my-tcp-service:5201"

func writeYAML(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "edgeproxy.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Defaults, then YAML, then environment: later wins, key by key.
func TestLoadSettingsPrecedence(t *testing.T) {
	yml := writeYAML(t, `
router:
  id: from-yaml
  management: 127.0.0.1:15672
uplink:
  host: yaml-host
  port: 1111
supervisor:
  stop_timeout: 5s
listeners:
  - port: 9000
    address: yaml-svc:9000
`)
	env := []string{
		"EDGEPROXY_CONFIG=" + yml,
		"EDGEPROXY_UPLINK__PORT=2222",
		"EDGEPROXY_HEALTH__INTERVAL=250ms",
		"EDGEPROXY_ROUTER__FLOW_LOG=true",
		"EDGEPROXY_ROUTER__OBSERVER=none",
		seedListeners,
		"SKROUTERD=/ignored/not/ours", // not EDGEPROXY_: never configuration
	}
	s, err := loadSettings("", env)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"router.id from yaml", s.Router.Router.ID, "from-yaml"},
		{"management from yaml", s.Router.Router.Management, "127.0.0.1:15672"},
		{"health follows management", s.Health.Management, "127.0.0.1:15672"},
		{"uplink.host from yaml", s.Router.Uplinks[0].Host, "yaml-host"},
		{"uplink.port from env", s.Router.Uplinks[0].Port, 2222},
		{"flow_log from env", s.Router.Router.FlowLog, true},
		{"observer from env", s.Router.Router.Observer, "none"},
		{"stop_timeout from yaml", s.Supervisor.StopTimeout, 5 * time.Second},
		{"interval from env", s.Health.Interval, 250 * time.Millisecond},
		{"timeout default", s.Health.Timeout, time.Second},
		{"binary default", s.Supervisor.Binary, "skrouterd"},
		{"verify_hostname default", s.Router.Uplinks[0].TLS.VerifyHostname, true},
		{"source", s.Source, yml},
		{"listeners from env replace yaml", s.Router.Listeners, []routerconf.Listener{
			{Name: "my-service-8080", Host: "0.0.0.0", Port: 8080, Address: "my-service:8080"},
			{Name: "my-tcp-service-5201", Host: "0.0.0.0", Port: 5201, Address: "my-tcp-service:5201"},
		}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestListenerSpecNames(t *testing.T) {
	tests := []struct {
		spec string
		want []routerconf.Listener
	}{
		{"8080=my-service:8080", []routerconf.Listener{{Name: "my-service-8080", Host: "0.0.0.0", Port: 8080, Address: "my-service:8080"}}},
		{" 127.0.0.1:80 = web , [::1]:81=web ", []routerconf.Listener{
			{Name: "web", Host: "127.0.0.1", Port: 80, Address: "web"},
			{Name: "web-81", Host: "::1", Port: 81, Address: "web"},
		}},
		{"1=uplink,2=uplink", []routerconf.Listener{ // reserved names are avoided
			{Name: "uplink-1", Host: "0.0.0.0", Port: 1, Address: "uplink"},
			{Name: "uplink-2", Host: "0.0.0.0", Port: 2, Address: "uplink"},
		}},
	}
	for _, tc := range tests {
		s, err := loadSettings("", []string{"EDGEPROXY_LISTENERS=" + tc.spec})
		if err != nil {
			t.Errorf("%q: %v", tc.spec, err)
			continue
		}
		if !reflect.DeepEqual(s.Router.Listeners, tc.want) {
			t.Errorf("%q: got %+v, want %+v", tc.spec, s.Router.Listeners, tc.want)
		}
	}
}

func TestConnectorSpecNames(t *testing.T) {
	tests := []struct {
		env  []string
		want []routerconf.Connector
	}{
		{[]string{"EDGEPROXY_CONNECTORS=my-service:8080=nginx:8080, my-tcp-service:5201 = iperf3:5201"}, []routerconf.Connector{
			{Name: "my-service-8080", Address: "my-service:8080", Host: "nginx", Port: 8080},
			{Name: "my-tcp-service-5201", Address: "my-tcp-service:5201", Host: "iperf3", Port: 5201},
		}},
		{[]string{"EDGEPROXY_CONNECTORS=web=[::1]:81,web=10.0.0.2:80", "EDGEPROXY_LISTENERS=80=web"}, []routerconf.Connector{
			{Name: "web-connector", Address: "web", Host: "::1", Port: 81}, // the listener has "web"
			{Name: "web-connector-2", Address: "web", Host: "10.0.0.2", Port: 80},
		}},
	}
	for _, tc := range tests {
		s, err := loadSettings("", tc.env)
		if err != nil {
			t.Errorf("%q: %v", tc.env, err)
			continue
		}
		if !reflect.DeepEqual(s.Router.Connectors, tc.want) {
			t.Errorf("%q: got %+v, want %+v", tc.env, s.Router.Connectors, tc.want)
		}
	}
	// YAML: the same fields, and the environment replaces the whole list.
	yml := writeYAML(t, "connectors:\n  - {name: web, address: my-service:8080, host: nginx, port: '8080'}\n")
	s, err := loadSettings(yml, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []routerconf.Connector{{Name: "web", Address: "my-service:8080", Host: "nginx", Port: 8080}}; !reflect.DeepEqual(s.Router.Connectors, want) || len(s.Router.Listeners) != 0 {
		t.Errorf("yaml: got %+v / %+v, want %+v and no listeners", s.Router.Connectors, s.Router.Listeners, want)
	}
	s, err = loadSettings(yml, []string{"EDGEPROXY_CONNECTORS=x=h:1"})
	if err != nil || len(s.Router.Connectors) != 1 || s.Router.Connectors[0].Address != "x" {
		t.Errorf("env does not replace the yaml list: %+v, %v", s, err)
	}
}

// Every bad input exits 2 with one message per problem, naming the key, and
// writes no file. The messages are what the closing note shows.
func TestInvalidConfiguration(t *testing.T) {
	tlsDir, _ := filepath.Abs("testdata/tls")
	tests := []struct {
		name string
		env  []string
		yaml string
		want []string // each must appear in stderr
	}{
		{"unknown env key", []string{seedListeners, "EDGEPROXY_UPLINK__HOTS=x"}, "",
			[]string{"EDGEPROXY_UPLINK__HOTS: unknown key; did you mean uplink.host (EDGEPROXY_UPLINK__HOST)?"}},
		{"unknown key far from any", []string{seedListeners, "EDGEPROXY_FROBNICATE=1"}, "",
			[]string{"EDGEPROXY_FROBNICATE: unknown key; known keys: connectors, health.connector_interval, health.interval"}},
		{"unknown yaml key", []string{seedListeners}, "uplink:\n  prot: 1\n",
			[]string{"uplink.prot: unknown key"}},
		{"unknown listener field", nil, "listeners:\n  - port: 80\n    adress: a\n",
			[]string{"listeners[0].adress: unknown key", "listeners[0].address: must not be empty"}},
		{"port out of range", []string{"EDGEPROXY_LISTENERS=70000=svc:1", "EDGEPROXY_UPLINK__PORT=0"}, "",
			[]string{"listeners[0].port: must be from 1 to 65535", "uplink.port: must be from 1 to 65535"}},
		{"port not a number", []string{seedListeners, "EDGEPROXY_UPLINK__PORT=http"}, "",
			[]string{`uplink.port: must be a whole number (got "http")`}},
		{"duplicate host:port", []string{"EDGEPROXY_LISTENERS=8080=a:1,8080=b:2"}, "",
			[]string{"listeners[1].port: duplicates listeners[0]"}},
		{"listener on management port", []string{"EDGEPROXY_LISTENERS=5672=a:1"}, "",
			[]string{"listeners[0].port: is the router's management port"}},
		{"listener on health port", []string{"EDGEPROXY_LISTENERS=9090=a:1"}, "",
			[]string{"listeners[0].port: is edgeproxy's health port"}},
		{"link watchdog shorter than the probes", []string{seedListeners, "EDGEPROXY_SUPERVISOR__LINK_DOWN_RESTART_AFTER=20s"}, "",
			[]string{"supervisor.link_down_restart_after: must be at least 3 times health.interval and health.listener_interval (30s)"}},
		{"link watchdog negative", []string{seedListeners, "EDGEPROXY_SUPERVISOR__LINK_DOWN_RESTART_AFTER=-1s"}, "",
			[]string{"supervisor.link_down_restart_after: must be 0 (off) or a positive duration"}},
		{"bad routing address", []string{"EDGEPROXY_LISTENERS=8080=,8081=bad address,8082=-x"}, "",
			[]string{"listeners[0].address: must not be empty", `listeners[1].address: must be a routing address`, `listeners[2].address: must be a routing address`}},
		{"malformed spec", []string{"EDGEPROXY_LISTENERS=8080,x=svc,8081=bad address"}, "",
			[]string{`listeners[0]: no '=' between port and address; each entry is [HOST:]PORT=ADDRESS`, `listeners[1]: port "x" is not a number`, `listeners[2].address: must be a routing address`}},
		{"duplicate names", nil, "listeners:\n  - {name: a, port: 1, address: x}\n  - {name: a, port: 2, address: y}\n",
			[]string{"listeners[1].name: duplicates listeners[0].name"}},
		{"reserved name", nil, "listeners:\n  - {name: uplink, port: 1, address: x}\n",
			[]string{"listeners[0].name: is reserved"}},
		{"non-loopback management", []string{seedListeners, "EDGEPROXY_ROUTER__MANAGEMENT=0.0.0.0:5672"}, "",
			[]string{"router.management: must be a loopback address"}},
		{"cert without key", []string{seedListeners, "EDGEPROXY_UPLINK__TLS__CA_FILE=" + tlsDir + "/ca.crt", "EDGEPROXY_UPLINK__TLS__CERT_FILE=" + tlsDir + "/tls.crt"}, "",
			[]string{"uplink.tls: cert_file and key_file go together"}},
		{"missing files", []string{seedListeners, "EDGEPROXY_UPLINK__TLS__CA_FILE=/nonexistent/ca.crt"}, "",
			[]string{`uplink.tls.ca_file: file does not exist or is not a regular file (got "/nonexistent/ca.crt")`}},
		{"bad durations", []string{seedListeners, "EDGEPROXY_SUPERVISOR__STOP_TIMEOUT=8", "EDGEPROXY_HEALTH__INTERVAL=soon"}, "",
			[]string{"supervisor.stop_timeout: must be a duration with a unit", "health.interval: must be a duration with a unit"}},
		{"non-positive duration", []string{seedListeners, "EDGEPROXY_HEALTH__TIMEOUT=0s", "EDGEPROXY_SUPERVISOR__RESET_AFTER=-1s"}, "",
			[]string{"health.timeout: must be a positive duration", "supervisor.reset_after: must be a positive duration"}},
		{"backoff order", []string{seedListeners, "EDGEPROXY_SUPERVISOR__BACKOFF_INITIAL=1m", "EDGEPROXY_SUPERVISOR__BACKOFF_MAX=10s"}, "",
			[]string{"supervisor.backoff_initial: must not exceed supervisor.backoff_max"}},
		{"bad bool and log level", []string{seedListeners, "EDGEPROXY_ROUTER__FLOW_LOG=sometimes", "EDGEPROXY_ROUTER__LOG_LEVEL=loud"}, "",
			[]string{"router.flow_log: must be true or false", "router.log_level: must be one of"}},
		{"config file not json", []string{seedListeners, "EDGEPROXY_ROUTER__CONFIG_FILE=/tmp/skrouterd.conf"}, "",
			[]string{"router.config_file: must end in .json"}},
		{"no listeners", nil, "",
			[]string{"listeners: at least one listener or connector is needed"}},
		{"unknown connector field", nil, "connectors:\n  - {address: a, host: nginx, port: 80, target: x}\n",
			[]string{"connectors[0].target: unknown key; a connector has name, address, host, port"}},
		{"malformed connector spec", []string{"EDGEPROXY_CONNECTORS=nginx:8080,svc=nginx,svc=nginx:http"}, "",
			[]string{`connectors[0]: no '=' between address and target; each entry is ADDRESS=HOST:PORT`, `connectors[1]: target "nginx" is not HOST:PORT`, `connectors[2]: port "http" is not a number`}},
		{"connector targets that never work", []string{"EDGEPROXY_CONNECTORS=a=nginx:0,b=nginx:70000,c=bad!host:80,=nginx:80"}, "",
			[]string{"connectors[0].port: must be from 1 to 65535", "connectors[1].port: must be from 1 to 65535", "connectors[2].host: must be an IP address or a host name", "connectors[3].address: must not be empty"}},
		{"connector host missing in yaml", nil, "connectors:\n  - {address: a, port: 80}\n  - {address: b, host: nginx}\n",
			[]string{"connectors[0].host: must not be empty", `connectors[1].port: must be a whole number (got "<nil>")`}},
		{"connector to our own ports", []string{seedListeners, "EDGEPROXY_CONNECTORS=a=127.0.0.1:5672,b=localhost:9090,c=127.0.0.1:8080"}, "",
			[]string{"connectors[0].port: is the router's own management listener", "connectors[1].port: is edgeproxy's own health listener", "connectors[2].port: is one of this proxy's own listeners"}},
		{"connector name clashes", nil, "listeners:\n  - {name: web, port: 80, address: a}\nconnectors:\n  - {name: web, address: a, host: nginx, port: 80}\n  - {name: management, address: a, host: nginx, port: 80}\n",
			[]string{"connectors[0].name: duplicates listeners[0].name", "connectors[1].name: is reserved"}},
		{"missing config file", []string{seedListeners, "EDGEPROXY_CONFIG=/nonexistent/edgeproxy.yaml"}, "",
			[]string{"config file /nonexistent/edgeproxy.yaml"}},
		{"bad yaml", nil, "router: [unclosed\n",
			[]string{"config file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "skrouterd.json")
			env := append([]string{"EDGEPROXY_ROUTER__CONFIG_FILE=" + out}, tc.env...)
			if tc.yaml != "" {
				env = append(env, "EDGEPROXY_CONFIG="+writeYAML(t, tc.yaml))
			}
			for _, cmd := range []string{"render", "run"} {
				var stdout, stderr bytes.Buffer
				code := realMain([]string{cmd}, env, &stdout, &stderr)
				if code != exitUsage {
					t.Fatalf("%s: exit %d, want %d; stderr:\n%s", cmd, code, exitUsage, stderr.String())
				}
				for _, w := range tc.want {
					if !strings.Contains(stderr.String(), w) {
						t.Errorf("%s: stderr lacks %q:\n%s", cmd, w, stderr.String())
					}
				}
				if stdout.Len() != 0 {
					t.Errorf("%s: stdout should be empty, got %q", cmd, stdout.String())
				}
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Errorf("%s: %s was written despite the bad configuration", cmd, out)
				}
			}
		})
	}
}

// A valid configuration is accepted: the negative control for the table above.
func TestValidConfigurationAccepted(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"render"}, []string{seedListeners}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args       []string
		code       int
		wantStdout string
		wantStderr string
	}{
		{[]string{"--help"}, exitOK, "Commands:", ""},
		{[]string{"render", "--help"}, exitOK, "docs/configuration.md", ""},
		{[]string{"healthcheck", "--help"}, exitOK, "-live", ""},
		{[]string{"run", "-h"}, exitOK, "-config", ""},
		{[]string{}, exitUsage, "Usage:", ""},
		{[]string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{[]string{"render", "--nope"}, exitUsage, "", "flag provided but not defined"},
		{[]string{"render", "extra"}, exitUsage, "", "unexpected arguments"},
		{[]string{"render", "--log-format", "xml"}, exitUsage, "", "--log-format must be text or json"},
		{[]string{"version"}, exitOK, "edgeproxy ", ""},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		code := realMain(tc.args, nil, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String(), tc.wantStdout) || !strings.Contains(stderr.String(), tc.wantStderr) {
			t.Errorf("%v: exit %d (want %d)\nstdout: %s\nstderr: %s", tc.args, code, tc.code, stdout.String(), stderr.String())
		}
	}
}

// The decode hooks accept what edgeproxy always accepted, and no more: a
// scalar is a string as written, numbers are whole, spaces are trimmed, and
// a YAML null is reported, never taken for zero or false.
func TestDecodeLeniencyAndNulls(t *testing.T) {
	yml := writeYAML(t, "router: {id: 7, worker_threads: 2.0}\nlisteners:\n  - {port: ' 8080 ', address: svc}\n")
	s, err := loadSettings(yml, []string{"EDGEPROXY_UPLINK__PORT= 5 ", "EDGEPROXY_ROUTER__FLOW_LOG=1"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Router.Router.ID != "7" || s.Router.Router.WorkerThreads != 2 || s.Router.Uplinks[0].Port != 5 || !s.Router.Router.FlowLog ||
		s.Router.Listeners[0] != (routerconf.Listener{Name: "svc", Host: "0.0.0.0", Port: 8080, Address: "svc"}) {
		t.Errorf("got %+v", s.Router)
	}
	yml = writeYAML(t, "uplink: {tls: {verify_hostname: ~}}\nsupervisor: {stop_timeout: ~}\nlisteners:\n  - {port: 1.5, address: x}\n  - {port: '0x10', address: y}\n  - {address: z}\n")
	_, err = loadSettings(yml, nil)
	for _, want := range []string{
		`uplink.tls.verify_hostname: must be true or false (got "<nil>")`,
		`supervisor.stop_timeout: must be a duration with a unit, such as 500ms, 2s or 1m (got "<nil>")`,
		`listeners[0].port: must be a whole number (got "1.5")`,
		`listeners[1].port: must be a whole number (got "0x10")`,
		`listeners[2].port: must be a whole number (got "<nil>")`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
