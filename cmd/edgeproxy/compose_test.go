package main

// Static checks of the scenario files under docs/compose and images/: every
// compose file's structure (services, networks, names, ports, healthchecks,
// stop grace periods), the edge-router proxies' environment loaded and
// validated by edgeproxy's own loader, the interior router configs they mount,
// the Envoy and HAProxy configs (Envoy cannot be run here: this is all the
// checking it gets), and the Containerfile's entrypoint contract. The e2e run
// (images/e2e/e2e.sh) runs the netfilter, haproxy, edge-router and
// edge-router-private files for real.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../.."

var strategies = []string{"netfilter", "edge-router", "edge-router-private", "haproxy", "envoy"}

// workloadProxy is the private scenario's workload-side proxy; a file with it
// is a private one (its workloads publish no port).
const workloadProxy = "workloads"

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Networks map[string]struct {
		Name string `yaml:"name"`
	} `yaml:"networks"`
	// Extensions holds the top-level x- keys (anchors for the shared service parts).
	Extensions map[string]any `yaml:",inline"`
}

type composeService struct {
	Image           string            `yaml:"image"`
	Build           *composeBuild     `yaml:"build"`
	Command         []string          `yaml:"command"`
	Entrypoint      []string          `yaml:"entrypoint"`
	Environment     map[string]string `yaml:"environment"`
	Volumes         []string          `yaml:"volumes"`
	Ports           []string          `yaml:"ports"`
	Networks        []string          `yaml:"networks"`
	NetworkMode     string            `yaml:"network_mode"`
	ExtraHosts      []string          `yaml:"extra_hosts"`
	CapAdd          []string          `yaml:"cap_add"`
	Sysctls         keyValues         `yaml:"sysctls"`
	Healthcheck     *healthcheck      `yaml:"healthcheck"`
	StopGracePeriod string            `yaml:"stop_grace_period"`
	Init            *bool             `yaml:"init"`
	DependsOn       yaml.Node         `yaml:"depends_on"`
}

// keyValues is a compose mapping given as a map or as a list of KEY=VALUE.
type keyValues map[string]string

func (kv *keyValues) UnmarshalYAML(n *yaml.Node) error {
	m := map[string]string{}
	if n.Kind == yaml.MappingNode {
		if err := n.Decode(&m); err != nil {
			return err
		}
		*kv = m
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return fmt.Errorf("want a map or a list of KEY=VALUE: %w", err)
	}
	for _, item := range list {
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			return fmt.Errorf("%q: want KEY=VALUE", item)
		}
		m[k] = v
	}
	*kv = m
	return nil
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

type healthcheck struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval"`
	Timeout     string   `yaml:"timeout"`
	Retries     int      `yaml:"retries"`
	StartPeriod string   `yaml:"start_period"`
}

// loadCompose parses a compose file strictly: a misspelt service key fails.
func loadCompose(t *testing.T, path string) composeFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f composeFile
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return f
}

func composePath(strategy string) string {
	return filepath.Join(repoRoot, "docs", "compose", strategy, "compose.yaml")
}

// dependsOn returns depends_on as service → condition (list form: service_started).
func (s composeService) dependsOn() (map[string]string, error) {
	out := map[string]string{}
	switch s.DependsOn.Kind {
	case 0:
	case yaml.SequenceNode:
		var names []string
		if err := s.DependsOn.Decode(&names); err != nil {
			return nil, err
		}
		for _, n := range names {
			out[n] = "service_started"
		}
	case yaml.MappingNode:
		var m map[string]struct {
			Condition string `yaml:"condition"`
		}
		if err := s.DependsOn.Decode(&m); err != nil {
			return nil, err
		}
		for n, c := range m {
			out[n] = c.Condition
		}
	default:
		return nil, fmt.Errorf("depends_on: want a list or a map")
	}
	return out, nil
}

// healthTest is the healthcheck's test, nil without a healthcheck.
func (s composeService) healthTest() []string {
	if s.Healthcheck == nil {
		return nil
	}
	return s.Healthcheck.Test
}

// duration parses a compose duration ("5s", "1m30s").
func duration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err == nil && d <= 0 {
		err = fmt.Errorf("not positive")
	}
	return d, err
}

// proxyPorts is each service proxy's port: the scenario's stable names.
var proxyPorts = map[string]int{"my-service": 8080, "my-tcp-service": 5201}

// checkCompose returns every structural problem of one strategy's compose file.
func checkCompose(f composeFile) []string {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }

	for k := range f.Extensions {
		if !strings.HasPrefix(k, "x-") {
			bad("top-level key %q: only services, networks and x- extensions are expected", k)
		}
	}
	if n, ok := f.Networks["sample1"]; !ok || n.Name != "sample_sample1" {
		bad("networks: want sample1 named sample_sample1, got %+v", f.Networks)
	}
	_, private := f.Services[workloadProxy]
	want := []string{"interior", "iperf3", "my-service", "my-tcp-service", "nginx"}
	if private {
		want = append(want, workloadProxy)
	}
	var got []string
	for name := range f.Services {
		got = append(got, name)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		bad("services: got %v, want %v", got, want)
	}

	// The workloads: published host ports (none in the private file), on sample1.
	for name, port := range map[string]string{"nginx": "8888:8080", "iperf3": "4201:5201"} {
		s := f.Services[name]
		switch {
		case private && len(s.Ports) != 0:
			bad("%s.ports: got %v, want none (the private scenario publishes nothing)", name, s.Ports)
		case !private && !slices.Equal(s.Ports, []string{port}):
			bad("%s.ports: got %v, want [%s]", name, s.Ports, port)
		}
		if !slices.Equal(s.Networks, []string{"sample1"}) {
			bad("%s.networks: got %v, want [sample1]", name, s.Networks)
		}
	}

	// The interior router: on the host network, with a healthcheck and a config.
	in := f.Services["interior"]
	if in.NetworkMode != "host" {
		bad("interior.network_mode: got %q, want host", in.NetworkMode)
	}
	if len(in.Networks) != 0 || len(in.Ports) != 0 {
		bad("interior: on the host network it takes no networks or ports")
	}
	probs = append(probs, checkHealthcheck("interior", in.Healthcheck)...)
	if h := in.Healthcheck; h != nil && (len(h.Test) != 2 || h.Test[0] != "CMD-SHELL" || !strings.HasPrefix(h.Test[1], "skstat -b 127.0.0.1:")) {
		// An http: true listener for /healthz would bind every address (skrouterd ignores its host).
		bad("interior.healthcheck.test: want [CMD-SHELL, skstat -b 127.0.0.1:PORT -g ...] (AMQP management on loopback), got %v", h.Test)
	}
	if len(in.Command) != 3 || !slices.Equal(in.Command[:2], []string{"skrouterd", "-c"}) {
		bad("interior.command: got %v, want skrouterd -c FILE", in.Command)
	}

	// The service proxies.
	for name := range proxyPorts {
		s := f.Services[name]
		if !slices.Equal(s.Networks, []string{"sample1"}) {
			bad("%s.networks: got %v, want [sample1]", name, s.Networks)
		}
		if len(s.Ports) != 0 {
			bad("%s.ports: a proxy publishes no host port, got %v", name, s.Ports)
		}
		if !slices.Contains(s.ExtraHosts, "host.docker.internal:host-gateway") {
			bad("%s.extra_hosts: want host.docker.internal:host-gateway (docker on Linux needs it)", name)
		}
		probs = append(probs, checkHealthcheck(name, s.Healthcheck)...)
		if d, err := duration(s.StopGracePeriod); err != nil || d <= 8*time.Second {
			bad("%s.stop_grace_period: %q must be a duration above edgeproxy's 8s stop timeout", name, s.StopGracePeriod)
		}
		deps, err := s.dependsOn()
		if err != nil {
			bad("%s.%v", name, err)
		}
		for dep, cond := range deps {
			d, ok := f.Services[dep]
			switch {
			case !ok:
				bad("%s.depends_on: no service %q", name, dep)
			case cond == "service_healthy" && d.Healthcheck == nil:
				bad("%s.depends_on: %s has no healthcheck for service_healthy", name, dep)
			case !slices.Contains([]string{"service_started", "service_healthy"}, cond):
				bad("%s.depends_on.%s: condition %q", name, dep, cond)
			}
		}
	}
	return probs
}

func checkHealthcheck(name string, h *healthcheck) []string {
	if h == nil {
		return []string{name + ": no healthcheck"}
	}
	var probs []string
	switch {
	case len(h.Test) < 2 || h.Test[0] != "CMD" && h.Test[0] != "CMD-SHELL":
		probs = append(probs, fmt.Sprintf("%s.healthcheck.test: want [CMD, ...] or [CMD-SHELL, ...], got %v", name, h.Test))
	default:
		probs = append(probs, cmdSpaces(name, h.Test)...)
	}
	for key, v := range map[string]string{"interval": h.Interval, "timeout": h.Timeout, "start_period": h.StartPeriod} {
		if _, err := duration(v); err != nil {
			probs = append(probs, fmt.Sprintf("%s.healthcheck.%s: %q: %v", name, key, v, err))
		}
	}
	if h.Retries < 1 {
		probs = append(probs, fmt.Sprintf("%s.healthcheck.retries: %d, want >= 1", name, h.Retries))
	}
	if i, _ := duration(h.Interval); h.Timeout != "" && i > 0 {
		if to, _ := duration(h.Timeout); to > i {
			probs = append(probs, fmt.Sprintf("%s.healthcheck: timeout %s above interval %s", name, h.Timeout, h.Interval))
		}
	}
	return probs
}

// cmdSpaces reports every argument with spaces of a CMD healthcheck test:
// podman 4.3's Docker API splits such an argument into words (podman issue 26519).
func cmdSpaces(name string, test []string) []string {
	var probs []string
	if len(test) == 0 || test[0] != "CMD" {
		return nil
	}
	for _, arg := range test[1:] {
		if strings.ContainsAny(arg, " \t") {
			probs = append(probs, fmt.Sprintf("%s.healthcheck.test: CMD argument %q has spaces, which podman 4.3 splits: use CMD-SHELL", name, arg))
		}
	}
	return probs
}

func TestComposeFiles(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(strategy, func(t *testing.T) {
			f := loadCompose(t, composePath(strategy))
			for _, p := range checkCompose(f) {
				t.Error(p)
			}
			for _, p := range checkStrategy[strategy](t, f) {
				t.Error(p)
			}
		})
	}
}

// TestComposeChecksCatchMistakes is the negative control: each mutation of a
// good file must be reported, so the checks above cannot pass vacuously.
func TestComposeChecksCatchMistakes(t *testing.T) {
	tests := []struct {
		name     string
		strategy string
		mutate   func(f *composeFile)
		want     string
	}{
		{"init on edgeproxy", "edge-router", func(f *composeFile) { setService(f, "my-service", func(s *composeService) { s.Init = ptr(true) }) }, "init"},
		{"short grace period", "edge-router", func(f *composeFile) {
			setService(f, "my-tcp-service", func(s *composeService) { s.StopGracePeriod = "8s" })
		}, "stop_grace_period"},
		{"no healthcheck", "haproxy", func(f *composeFile) { setService(f, "my-service", func(s *composeService) { s.Healthcheck = nil }) }, "no healthcheck"},
		{"healthcheck without retries", "netfilter", func(f *composeFile) {
			setService(f, "my-service", func(s *composeService) { h := *s.Healthcheck; h.Retries = 0; s.Healthcheck = &h })
		}, "retries"},
		{"healthcheck CMD with spaces", "haproxy", func(f *composeFile) {
			setService(f, "my-service", func(s *composeService) {
				h := *s.Healthcheck
				h.Test = []string{"CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8404"}
				s.Healthcheck = &h
			})
		}, "podman 4.3 splits"},
		{"interior healthcheck over HTTP", "edge-router", func(f *composeFile) {
			setService(f, "interior", func(s *composeService) {
				h := *s.Healthcheck
				h.Test = []string{"CMD-SHELL", "curl -f http://127.0.0.1:9191/healthz"}
				s.Healthcheck = &h
			})
		}, "AMQP management on loopback"},
		{"missing proxy", "envoy", func(f *composeFile) { delete(f.Services, "my-tcp-service") }, "services"},
		{"network renamed", "netfilter", func(f *composeFile) { f.Networks = nil }, "sample_sample1"},
		{"published proxy port", "haproxy", func(f *composeFile) {
			setService(f, "my-service", func(s *composeService) { s.Ports = []string{"8080:8080"} })
		}, "publishes no host port"},
		{"no host-gateway", "edge-router", func(f *composeFile) { setService(f, "my-service", func(s *composeService) { s.ExtraHosts = nil }) }, "extra_hosts"},
		{"wrong workload port", "edge-router", func(f *composeFile) {
			setService(f, "nginx", func(s *composeService) { s.Ports = []string{"8888:80"} })
		}, "nginx.ports"},
		{"bad listener spec", "edge-router", func(f *composeFile) {
			setService(f, "my-service", func(s *composeService) { s.Environment = cloneEnv(s.Environment, "EDGEPROXY_LISTENERS", "8080=") })
		}, "listeners[0].address"},
		{"listener on the wrong port", "edge-router", func(f *composeFile) {
			setService(f, "my-service", func(s *composeService) {
				s.Environment = cloneEnv(s.Environment, "EDGEPROXY_LISTENERS", "9999=my-service:8080")
			})
		}, "want one listener"},
		{"uplink port not the interior's", "edge-router", func(f *composeFile) {
			setService(f, "my-tcp-service", func(s *composeService) { s.Environment = cloneEnv(s.Environment, "EDGEPROXY_UPLINK__PORT", "45672") })
		}, "edge listener"},
		{"unknown edgeproxy key", "edge-router", func(f *composeFile) {
			setService(f, "my-service", func(s *composeService) { s.Environment = cloneEnv(s.Environment, "EDGEPROXY_UPLINK__HOTS", "x") })
		}, "EDGEPROXY_UPLINK__HOTS"},
		{"private workload published", "edge-router-private", func(f *composeFile) {
			setService(f, "iperf3", func(s *composeService) { s.Ports = []string{"4201:5201"} })
		}, "publishes nothing"},
		{"private interior with tcpConnectors", "edge-router-private", func(f *composeFile) {
			setService(f, "interior", func(s *composeService) {
				s.Volumes = []string{"../shared/interior-edge.json:/etc/skupper-router/skrouterd.json:ro"}
			})
		}, "tcpConnector, want none"},
		{"workload-side proxy required", "edge-router-private", func(f *composeFile) {
			setService(f, workloadProxy, func(s *composeService) {
				s.Environment = cloneEnv(s.Environment, "EDGEPROXY_HEALTH__REQUIRE_CONNECTORS", "true")
			})
		}, "require_connectors"},
		{"workload by host port", "edge-router-private", func(f *composeFile) {
			setService(f, workloadProxy, func(s *composeService) {
				s.Environment = cloneEnv(s.Environment, "EDGEPROXY_CONNECTORS", "my-service:8080=host.docker.internal:8888,my-tcp-service:5201=iperf3:5201")
			})
		}, "compose names"},
		{"workload-side proxy without gateway variable", "edge-router-private", func(f *composeFile) {
			setService(f, workloadProxy, func(s *composeService) { s.ExtraHosts = []string{"host.docker.internal:host-gateway"} })
		}, "HOST_GATEWAY"},
		{"bad connector spec", "edge-router-private", func(f *composeFile) {
			setService(f, workloadProxy, func(s *composeService) {
				s.Environment = cloneEnv(s.Environment, "EDGEPROXY_CONNECTORS", "my-service:8080=nginx:0")
			})
		}, "connectors[0].port"},
		{"netfilter without NET_ADMIN", "netfilter", func(f *composeFile) { setService(f, "my-service", func(s *composeService) { s.CapAdd = nil }) }, "NET_ADMIN"},
		{"netfilter forwarding elsewhere", "netfilter", func(f *composeFile) {
			setService(f, "my-service", func(s *composeService) {
				s.Environment = cloneEnv(s.Environment, "FORWARD", "8080=host.docker.internal:5201")
			})
		}, "FORWARD"},
		{"haproxy target", "haproxy", func(f *composeFile) {
			setService(f, "my-tcp-service", func(s *composeService) { s.Environment = cloneEnv(s.Environment, "TARGET", "localhost:5201") })
		}, "TARGET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := loadCompose(t, composePath(tt.strategy))
			if probs := append(checkCompose(f), checkStrategy[tt.strategy](t, f)...); len(probs) != 0 {
				t.Fatalf("the unmutated file already has problems: %v", probs)
			}
			tt.mutate(&f)
			probs := append(checkCompose(f), checkStrategy[tt.strategy](t, f)...)
			if !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("mutation not reported (want a problem mentioning %q), got %v", tt.want, probs)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// setService edits a copy of one service (the map holds values).
func setService(f *composeFile, name string, edit func(*composeService)) {
	s := f.Services[name]
	edit(&s)
	f.Services[name] = s
}

func cloneEnv(env map[string]string, key, value string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	out[key] = value
	return out
}

// checkStrategy holds each strategy's own checks.
var checkStrategy = map[string]func(*testing.T, composeFile) []string{
	"netfilter":           checkNetfilter,
	"edge-router":         checkEdgeRouter,
	"edge-router-private": checkEdgeRouterPrivate,
	"haproxy":             checkHAProxy,
	"envoy":               checkEnvoy,
}

// interiorConfig reads the skrouterd.json the interior service mounts.
func interiorConfig(t *testing.T, strategy string, s composeService) [][2]any {
	t.Helper()
	if len(s.Command) != 3 {
		t.Fatalf("interior.command %v: want skrouterd -c FILE", s.Command)
	}
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == s.Command[2] {
			data, err := os.ReadFile(filepath.Join(filepath.Dir(composePath(strategy)), parts[0]))
			if err != nil {
				t.Fatalf("interior config: %v", err)
			}
			var cfg [][2]any
			if err := json.Unmarshal(data, &cfg); err != nil {
				t.Fatalf("interior config %s: %v", parts[0], err)
			}
			return cfg
		}
	}
	t.Fatalf("interior: no volume mounts %s", s.Command[2])
	return nil
}

// entities returns the attributes of every entity of one type.
func entities(cfg [][2]any, typ string) []map[string]any {
	var out []map[string]any
	for _, e := range cfg {
		if e[0] == typ {
			out = append(out, e[1].(map[string]any))
		}
	}
	return out
}

func attrPort(a map[string]any) int {
	p, _ := strconv.Atoi(fmt.Sprint(a["port"]))
	return p
}

// checkInterior: interior mode, unique names, tcpConnectors for both routing
// addresses to the published ports, and (tcpListeners) the host's 8080/5201.
func checkInterior(cfg [][2]any, wantTCPListeners bool) []string {
	probs := checkInteriorBasics(cfg)
	connectors := map[string]int{}
	for _, c := range entities(cfg, "tcpConnector") {
		connectors[fmt.Sprint(c["address"])] = attrPort(c)
	}
	listeners := map[string]int{}
	for _, l := range entities(cfg, "tcpListener") {
		listeners[fmt.Sprint(l["address"])] = attrPort(l)
	}
	for addr, want := range map[string]int{"my-service:8080": 8888, "my-tcp-service:5201": 4201} {
		if connectors[addr] != want {
			probs = append(probs, fmt.Sprintf("interior config: tcpConnector %s to port %d, want %d", addr, connectors[addr], want))
		}
	}
	if wantTCPListeners {
		for name, port := range proxyPorts {
			if addr := fmt.Sprintf("%s:%d", name, port); listeners[addr] != port {
				probs = append(probs, fmt.Sprintf("interior config: want a tcpListener on %d for %s", port, addr))
			}
		}
	} else if len(listeners) != 0 {
		probs = append(probs, "interior config: the edge-router strategy needs no tcpListener on the interior")
	}
	return probs
}

// checkInteriorBasics: interior mode, names unique across entity types, no
// http: true listener.
func checkInteriorBasics(cfg [][2]any) []string {
	var probs []string
	if r := entities(cfg, "router"); len(r) != 1 || r[0]["mode"] != "interior" {
		probs = append(probs, "interior config: want one router in mode interior")
	}
	names := map[string]bool{}
	for _, e := range cfg {
		if n, ok := e[1].(map[string]any)["name"].(string); ok {
			if names[n] {
				probs = append(probs, fmt.Sprintf("interior config: name %q used twice (names are unique across entity types)", n))
			}
			names[n] = true
		}
	}
	for _, l := range entities(cfg, "listener") {
		if l["http"] == true {
			probs = append(probs, fmt.Sprintf("interior config: listener %v has http: true, which skrouterd binds on every address whatever its host", l["name"]))
		}
	}
	return probs
}

func edgeListenerPort(cfg [][2]any) int {
	for _, l := range entities(cfg, "listener") {
		if l["role"] == "edge" {
			return attrPort(l)
		}
	}
	return 0
}

func checkNetfilter(t *testing.T, f composeFile) []string {
	probs := checkInterior(interiorConfig(t, "netfilter", f.Services["interior"]), true)
	for name, port := range proxyPorts {
		s := f.Services[name]
		if want := fmt.Sprintf("%d=host.docker.internal:%d", port, port); s.Environment["FORWARD"] != want {
			probs = append(probs, fmt.Sprintf("%s: FORWARD=%q, want %q", name, s.Environment["FORWARD"], want))
		}
		if !slices.Contains(s.CapAdd, "NET_ADMIN") {
			probs = append(probs, name+": cap_add must hold NET_ADMIN")
		}
		if s.Sysctls["net.ipv4.ip_forward"] != "1" {
			probs = append(probs, name+": sysctls net.ipv4.ip_forward must be 1")
		}
	}
	return probs
}

func checkHAProxy(t *testing.T, f composeFile) []string {
	probs := checkInterior(interiorConfig(t, "haproxy", f.Services["interior"]), true)
	cfg, err := os.ReadFile(filepath.Join(repoRoot, "images", "haproxy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`bind ":${LISTEN_PORT}"`, `"${TARGET}" check`, "mode tcp", "bind 127.0.0.1:8404", "monitor-uri /healthz"} {
		if !bytes.Contains(cfg, []byte(want)) {
			probs = append(probs, fmt.Sprintf("haproxy.cfg: missing %q", want))
		}
	}
	for name, port := range proxyPorts {
		s := f.Services[name]
		if s.Environment["LISTEN_PORT"] != strconv.Itoa(port) || s.Environment["TARGET"] != fmt.Sprintf("host.docker.internal:%d", port) {
			probs = append(probs, fmt.Sprintf("%s: LISTEN_PORT=%q TARGET=%q, want %d and host.docker.internal:%d",
				name, s.Environment["LISTEN_PORT"], s.Environment["TARGET"], port, port))
		}
		if !slices.Contains(s.Volumes, "../../../images/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro") {
			probs = append(probs, name+": does not mount images/haproxy/haproxy.cfg")
		}
		if !strings.Contains(strings.Join(s.healthTest(), " "), "/dev/tcp/127.0.0.1/8404") {
			probs = append(probs, name+": the healthcheck does not read the monitor frontend on 8404")
		}
	}
	return probs
}

// envoyConfig is the part of an Envoy bootstrap the proxies use.
type envoyConfig struct {
	Admin struct {
		Address envoyAddress `yaml:"address"`
	} `yaml:"admin"`
	StaticResources struct {
		Listeners []struct {
			Name         string       `yaml:"name"`
			Address      envoyAddress `yaml:"address"`
			FilterChains []struct {
				Filters []struct {
					Name        string         `yaml:"name"`
					TypedConfig map[string]any `yaml:"typed_config"`
				} `yaml:"filters"`
			} `yaml:"filter_chains"`
		} `yaml:"listeners"`
		Clusters []struct {
			Name            string `yaml:"name"`
			Type            string `yaml:"type"`
			ConnectTimeout  string `yaml:"connect_timeout"`
			DNSLookupFamily string `yaml:"dns_lookup_family"`
			LoadAssignment  struct {
				ClusterName string `yaml:"cluster_name"`
				Endpoints   []struct {
					LbEndpoints []struct {
						Endpoint struct {
							Address envoyAddress `yaml:"address"`
						} `yaml:"endpoint"`
					} `yaml:"lb_endpoints"`
				} `yaml:"endpoints"`
			} `yaml:"load_assignment"`
		} `yaml:"clusters"`
	} `yaml:"static_resources"`
}

type envoyAddress struct {
	SocketAddress struct {
		Address   string `yaml:"address"`
		PortValue int    `yaml:"port_value"`
	} `yaml:"socket_address"`
}

func checkEnvoy(t *testing.T, f composeFile) []string {
	probs := checkInterior(interiorConfig(t, "envoy", f.Services["interior"]), true)
	const tcpProxyType = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
	for name, port := range proxyPorts {
		s := f.Services[name]
		want := fmt.Sprintf("../../../images/envoy/%s/envoy.yaml:/etc/envoy/envoy.yaml:ro", name)
		if !slices.Equal(s.Volumes, []string{want}) || !slices.Contains(s.Command, "/etc/envoy/envoy.yaml") {
			probs = append(probs, fmt.Sprintf("%s: want volume %s read by the command, got %v %v", name, want, s.Volumes, s.Command))
		}
		data, err := os.ReadFile(filepath.Join(repoRoot, "images", "envoy", name, "envoy.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		var cfg envoyConfig
		if err := dec.Decode(&cfg); err != nil {
			probs = append(probs, fmt.Sprintf("envoy %s: %v", name, err))
			continue
		}
		bad := func(format string, args ...any) {
			probs = append(probs, fmt.Sprintf("envoy %s: ", name)+fmt.Sprintf(format, args...))
		}
		if a := cfg.Admin.Address.SocketAddress; a.Address != "127.0.0.1" || a.PortValue != 9901 {
			bad("admin must be on 127.0.0.1:9901 (the healthcheck reads it), got %+v", a)
		}
		rs := cfg.StaticResources
		if len(rs.Listeners) != 1 || len(rs.Clusters) != 1 {
			bad("want one listener and one cluster")
			continue
		}
		l, c := rs.Listeners[0], rs.Clusters[0]
		if l.Address.SocketAddress.Address != "0.0.0.0" || l.Address.SocketAddress.PortValue != port {
			bad("listener on %+v, want 0.0.0.0:%d", l.Address.SocketAddress, port)
		}
		if len(l.FilterChains) != 1 || len(l.FilterChains[0].Filters) != 1 {
			bad("want one filter chain with one filter")
			continue
		}
		flt := l.FilterChains[0].Filters[0]
		if flt.Name != "envoy.filters.network.tcp_proxy" || flt.TypedConfig["@type"] != tcpProxyType || flt.TypedConfig["cluster"] != c.Name {
			bad("the filter must be a tcp_proxy to cluster %q, got %+v", c.Name, flt)
		}
		if c.Type != "STRICT_DNS" && c.Type != "LOGICAL_DNS" {
			bad("cluster type %q: host.docker.internal needs DNS resolution", c.Type)
		}
		if _, err := duration(c.ConnectTimeout); err != nil {
			bad("connect_timeout %q: %v", c.ConnectTimeout, err)
		}
		if c.LoadAssignment.ClusterName != c.Name || len(c.LoadAssignment.Endpoints) != 1 || len(c.LoadAssignment.Endpoints[0].LbEndpoints) != 1 {
			bad("want one endpoint for cluster %q", c.Name)
			continue
		}
		ep := c.LoadAssignment.Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress
		if ep.Address != "host.docker.internal" || ep.PortValue != port {
			bad("endpoint %+v, want host.docker.internal:%d", ep, port)
		}
	}
	return probs
}

func checkEdgeRouter(t *testing.T, f composeFile) []string {
	cfg := interiorConfig(t, "edge-router", f.Services["interior"])
	return append(checkInterior(cfg, false), checkEdgeProxies(f, edgeListenerPort(cfg))...)
}

// checkEdgeRouterPrivate: the interior has only its edge listener (no
// tcpListener, no tcpConnector), the service proxies are as in edge-router,
// and the workload-side proxy holds one tcpConnector per workload, by its
// compose DNS name, and does not fail its healthcheck for a workload down.
func checkEdgeRouterPrivate(t *testing.T, f composeFile) []string {
	cfg := interiorConfig(t, "edge-router-private", f.Services["interior"])
	probs := checkInteriorBasics(cfg)
	for _, typ := range []string{"tcpListener", "tcpConnector"} {
		if n := len(entities(cfg, typ)); n != 0 {
			probs = append(probs, fmt.Sprintf("interior config: %d %s, want none (the private interior has only its edge listener)", n, typ))
		}
	}
	if n := len(entities(cfg, "listener")); n != 2 {
		probs = append(probs, fmt.Sprintf("interior config: %d listeners, want its management and edge listeners only", n))
	}
	edgePort := edgeListenerPort(cfg)
	probs = append(probs, checkEdgeProxies(f, edgePort)...)
	w := f.Services[workloadProxy]
	bad := func(format string, args ...any) {
		probs = append(probs, workloadProxy+": "+fmt.Sprintf(format, args...))
	}
	if !slices.Contains(w.ExtraHosts, "host.docker.internal:${HOST_GATEWAY:-host-gateway}") {
		bad("extra_hosts: want host.docker.internal:${HOST_GATEWAY:-host-gateway} (host-gateway for docker, the bridge's gateway for podman)")
	}
	st := checkEdgeProxy(w, edgePort, bad)
	if st == nil {
		return probs
	}
	if len(st.Router.Listeners) != 0 {
		bad("want no listener on the workload-side proxy, got %+v", st.Router.Listeners)
	}
	want := map[string]string{"my-service:8080": "nginx:8080", "my-tcp-service:5201": "iperf3:5201"}
	got := map[string]string{}
	for _, c := range st.Router.Connectors {
		got[c.Address] = c.Target()
	}
	if !maps.Equal(got, want) {
		bad("connectors %v, want %v (the workloads by their compose names, on their own ports)", got, want)
	}
	if st.Health.RequireConnectors {
		bad("health.require_connectors is true: the healthcheck would fail (and an orchestrator restart) the proxy whenever a workload is down")
	}
	return probs
}

// checkEdgeProxies checks the service proxies of an edge-router file.
func checkEdgeProxies(f composeFile, edgePort int) []string {
	var probs []string
	for name, port := range proxyPorts {
		bad := func(format string, args ...any) { probs = append(probs, name+": "+fmt.Sprintf(format, args...)) }
		st := checkEdgeProxy(f.Services[name], edgePort, bad)
		if st == nil {
			continue
		}
		ls := st.Router.Listeners
		if len(ls) != 1 || ls[0].Port != port || ls[0].Address != fmt.Sprintf("%s:%d", name, port) {
			bad("want one listener on %d for %s:%d, got %+v", port, name, port, ls)
		}
	}
	return probs
}

// checkEdgeProxy checks one edgeproxy service and returns its loaded
// settings (nil when they do not load).
func checkEdgeProxy(s composeService, edgePort int, bad func(string, ...any)) *settings {
	if s.Init != nil && *s.Init {
		bad("init: true — edgeproxy is PID 1 and reaps; an init in front would hide that")
	}
	if !slices.Equal(s.healthTest(), []string{"CMD", "edgeproxy", "healthcheck"}) {
		bad("healthcheck.test %v, want [CMD edgeproxy healthcheck] (as the Containerfile's HEALTHCHECK)", s.healthTest())
	}
	if s.Build == nil || s.Build.Dockerfile != "images/edgeproxy/Containerfile" {
		bad("build: want dockerfile images/edgeproxy/Containerfile")
	}
	var environ []string
	for k, v := range s.Environment {
		environ = append(environ, k+"="+v)
	}
	slices.Sort(environ)
	st, err := loadSettings("", environ)
	if err != nil {
		bad("environment does not load: %v", err)
		return nil
	}
	if st.Router.Uplinks[0].Host != "host.docker.internal" || st.Router.Uplinks[0].Port != edgePort {
		bad("uplink %s:%d, want host.docker.internal and the interior's edge listener port %d",
			st.Router.Uplinks[0].Host, st.Router.Uplinks[0].Port, edgePort)
	}
	if host, _, err := net.SplitHostPort(st.Health.Listen); err != nil || !net.ParseIP(host).IsLoopback() {
		bad("health.listen %q: keep it on loopback (the healthcheck runs inside the container)", st.Health.Listen)
	}
	if grace, _ := duration(s.StopGracePeriod); grace <= st.Supervisor.StopTimeout {
		bad("stop_grace_period %s must be above supervisor.stop_timeout %s", s.StopGracePeriod, st.Supervisor.StopTimeout)
	}
	return st
}

// TestContainerfileContract checks the edgeproxy image's entrypoint contract
// and that its HEALTHCHECK matches the compose healthcheck.
func TestContainerfileContract(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "images", "edgeproxy", "Containerfile"))
	if err != nil {
		t.Fatal(err)
	}
	cf := string(data)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^ARG ROUTER_IMAGE=quay\.io/skupper/skupper-router:\d+\.\d+\.\d+$`),
		regexp.MustCompile(`(?m)^ARG GO_IMAGE=\S+:\S+$`),
		regexp.MustCompile(`(?m)^FROM \$\{GO_IMAGE\} AS build$`),
		regexp.MustCompile(`(?m)^FROM \$\{ROUTER_IMAGE\}$`),
		regexp.MustCompile(`(?m)^USER 10000$`),
		regexp.MustCompile(`(?m)^ENTRYPOINT \["edgeproxy", "run"\]$`),
		regexp.MustCompile(`(?m)^CMD \[\]$`),
		regexp.MustCompile(`(?m)^HEALTHCHECK .*CMD \["edgeproxy", "healthcheck"\]$`),
	} {
		if !want.MatchString(cf) {
			t.Errorf("images/edgeproxy/Containerfile: no line matching %s", want)
		}
	}
	hc := regexp.MustCompile(`(?m)^HEALTHCHECK --interval=(\S+) --timeout=(\S+) --start-period=(\S+) --retries=(\d+) `).FindStringSubmatch(cf)
	if hc == nil {
		t.Fatal("HEALTHCHECK: want --interval, --timeout, --start-period, --retries in that order")
	}
	f := loadCompose(t, composePath("edge-router"))
	h := f.Services["my-service"].Healthcheck
	if got := []string{h.Interval, h.Timeout, h.StartPeriod, strconv.Itoa(h.Retries)}; !slices.Equal(got, hc[1:]) {
		t.Errorf("compose healthcheck %v differs from the Containerfile's %v", got, hc[1:])
	}
}

// The overrides stacked on the strategies' files: the podman override
// (docs/compose/podman.override.yaml, for users and the podman e2e run) and the
// CI overrides (images/e2e/<strategy>.override.yaml). Their healthchecks must
// work on both engines too.

// podmanOverride is docs/compose/podman.override.yaml, parsed strictly.
type podmanOverride struct {
	Services map[string]struct {
		ExtraHosts []string `yaml:"extra_hosts"`
	} `yaml:"services"`
	Networks map[string]struct {
		Name string `yaml:"name"`
		IPAM struct {
			Options map[string]string `yaml:"options"`
			Config  []struct {
				Subnet  string `yaml:"subnet"`
				Gateway string `yaml:"gateway"`
			} `yaml:"config"`
		} `yaml:"ipam"`
	} `yaml:"networks"`
}

func podmanOverridePath() string {
	return filepath.Join(repoRoot, "docs", "compose", "podman.override.yaml")
}

func loadPodmanOverride(t *testing.T) podmanOverride {
	t.Helper()
	data, err := os.ReadFile(podmanOverridePath())
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var o podmanOverride
	if err := dec.Decode(&o); err != nil {
		t.Fatalf("parse %s: %v", podmanOverridePath(), err)
	}
	return o
}

// composeDefault is the value of "${VAR:-default}" with VAR unset; a plain
// value is itself. ok is false for a variable without a default.
func composeDefault(v string) (def string, ok bool) {
	if !strings.HasPrefix(v, "${") {
		return v, true
	}
	m := regexp.MustCompile(`^\$\{[A-Z0-9_]+:-([^}]*)\}$`).FindStringSubmatch(v)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// checkPodmanOverride returns every problem of the podman override: it gives
// sample_sample1 a fixed subnet and the proxies its gateway, an address in that
// subnet, as host.docker.internal (podman 4.3 writes host-gateway literally into
// /etc/hosts), keeps the IPAM driver option podman reports (or docker-compose
// 1.29 refuses the network on the next `up`), and changes nothing else.
func checkPodmanOverride(o podmanOverride) []string {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }

	var gateway string
	n, ok := o.Networks["sample1"]
	switch {
	case !ok || len(o.Networks) != 1 || n.Name != "sample_sample1":
		bad("networks: want only sample1 named sample_sample1, got %+v", o.Networks)
	case len(n.IPAM.Config) != 1:
		bad("networks.sample1.ipam.config: want one subnet with its gateway, got %+v", n.IPAM.Config)
	default:
		c := n.IPAM.Config[0]
		subnet, ok1 := composeDefault(c.Subnet)
		gw, ok2 := composeDefault(c.Gateway)
		_, ipnet, err := net.ParseCIDR(subnet)
		switch {
		case !ok1 || !ok2:
			bad("networks.sample1.ipam.config: subnet %q and gateway %q need defaults (${VAR:-value})", c.Subnet, c.Gateway)
		case err != nil:
			bad("networks.sample1.ipam.config.subnet: %q: %v", c.Subnet, err)
		case net.ParseIP(gw) == nil || !ipnet.Contains(net.ParseIP(gw)):
			bad("networks.sample1.ipam.config.gateway: %q is not an address in the subnet %s", c.Gateway, subnet)
		default:
			gateway = c.Gateway
		}
	}
	if d := n.IPAM.Options["driver"]; d != "host-local" || len(n.IPAM.Options) != 1 {
		bad("networks.sample1.ipam.options: want {driver: host-local} (what podman reports back), got %v", n.IPAM.Options)
	}

	var got []string
	for name := range o.Services {
		got = append(got, name)
	}
	slices.Sort(got)
	if want := []string{"my-service", "my-tcp-service"}; !slices.Equal(got, want) {
		bad("services: got %v, want only the proxies %v", got, want)
	}
	for name, s := range o.Services {
		if gateway == "" {
			break
		}
		if want := []string{"host.docker.internal:" + gateway}; !slices.Equal(s.ExtraHosts, want) {
			bad("%s.extra_hosts: got %v, want %v (the network's gateway, not host-gateway)", name, s.ExtraHosts, want)
		}
	}
	return probs
}

func TestPodmanOverride(t *testing.T) {
	o := loadPodmanOverride(t)
	for _, p := range checkPodmanOverride(o) {
		t.Error(p)
	}
	// It replaces an entry every strategy has: docker-compose merges
	// extra_hosts by name, so host.docker.internal must be there to replace.
	for _, strategy := range strategies {
		f := loadCompose(t, composePath(strategy))
		for name := range o.Services {
			s, ok := f.Services[name]
			if !ok || !slices.Contains(s.ExtraHosts, "host.docker.internal:host-gateway") {
				t.Errorf("%s: %s has no host.docker.internal:host-gateway for the podman override to replace", strategy, name)
			}
		}
	}
}

func TestPodmanOverrideChecksCatchMistakes(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(o *podmanOverride)
		want   string
	}{
		{"host-gateway kept", func(o *podmanOverride) {
			s := o.Services["my-service"]
			s.ExtraHosts = []string{"host.docker.internal:host-gateway"}
			o.Services["my-service"] = s
		}, "not host-gateway"},
		{"gateway outside the subnet", func(o *podmanOverride) {
			n := o.Networks["sample1"]
			n.IPAM.Config = append(n.IPAM.Config[:0:0], n.IPAM.Config...)
			n.IPAM.Config[0].Gateway = "${SAMPLE1_GATEWAY:-192.0.2.1}"
			o.Networks["sample1"] = n
		}, "not an address in the subnet"},
		{"no IPAM driver option", func(o *podmanOverride) {
			n := o.Networks["sample1"]
			n.IPAM.Options = nil
			o.Networks["sample1"] = n
		}, "host-local"},
		{"another service", func(o *podmanOverride) {
			o.Services["interior"] = o.Services["my-service"]
		}, "only the proxies"},
		{"network renamed", func(o *podmanOverride) {
			n := o.Networks["sample1"]
			n.Name = "sample1"
			o.Networks["sample1"] = n
		}, "sample_sample1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := loadPodmanOverride(t)
			if probs := checkPodmanOverride(o); len(probs) != 0 {
				t.Fatalf("the unmutated file already has problems: %v", probs)
			}
			tt.mutate(&o)
			probs := checkPodmanOverride(o)
			if !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("mutation not reported (want a problem mentioning %q), got %v", tt.want, probs)
			}
		})
	}
}

// TestE2EOverrideHealthchecks: the CI overrides' healthchecks run on docker and
// podman alike (no CMD argument with spaces).
func TestE2EOverrideHealthchecks(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "images", "e2e", "*.override.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CI overrides under images/e2e: %v", err)
	}
	for _, file := range files {
		f := loadCompose(t, file)
		for name, s := range f.Services {
			for _, p := range cmdSpaces(name, s.healthTest()) {
				t.Errorf("%s: %s", filepath.Base(file), p)
			}
		}
	}
	if p := cmdSpaces("x", []string{"CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"}); len(p) != 1 {
		t.Errorf("cmdSpaces missed a CMD argument with spaces: %v", p)
	}
}
