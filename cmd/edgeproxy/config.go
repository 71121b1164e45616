package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"

	"github.com/edgeproxy/edgeproxy/health"
	"github.com/edgeproxy/edgeproxy/internal/problems"
	"github.com/edgeproxy/edgeproxy/routerconf"
	"github.com/edgeproxy/edgeproxy/supervisor"
)

// envPrefix marks configuration variables. EDGEPROXY_CONFIG names the YAML
// file; every other EDGEPROXY_SECTION__KEY variable is a configuration key.
const (
	envPrefix     = "EDGEPROXY_"
	envConfigFile = envPrefix + "CONFIG"
)

// settings is the whole configuration, in the typed sections each package owns.
type settings struct {
	Router     routerconf.Config
	Supervisor supervisor.Config
	Health     health.Config
	Log        logSettings
	Source     string // the YAML file read, "" when none
}

// logSettings configures edgeproxy's own log.
type logSettings struct {
	Format string // text or json
	Level  string // debug, info, warn, error
}

// defaults are the built-in values; their keys are the only keys there are
// (besides listeners' fields). docs/configuration.md documents each one.
func defaults() map[string]any {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "edgeproxy"
	}
	return map[string]any{
		"router.id":                    host,
		"router.binary":                "skrouterd",
		"router.config_file":           "/tmp/edgeproxy/skrouterd.json",
		"router.management":            "127.0.0.1:5672",
		"router.worker_threads":        0,
		"router.log_level":             "info",
		"router.flow_log":              false,
		"router.site_id":               "",
		"uplink.host":                  "host.docker.internal",
		"uplink.port":                  45671,
		"uplink.tls.ca_file":           "",
		"uplink.tls.cert_file":         "",
		"uplink.tls.key_file":          "",
		"uplink.tls.verify_hostname":   true,
		"listeners":                    []any{},
		"health.listen":                "127.0.0.1:9090",
		"health.interval":              "1s",
		"health.timeout":               "1s",
		"health.require_listeners":     false,
		"supervisor.stop_timeout":      "8s",
		"supervisor.backoff_initial":   "100ms",
		"supervisor.backoff_max":       "30s",
		"supervisor.reset_after":       "30s",
		"supervisor.max_fast_failures": 10,
		"log.format":                   "text",
		"log.level":                    "info",
	}
}

// listenerFields are the keys one entry of `listeners` may have.
var listenerFields = []string{"name", "host", "port", "address"}

// configError marks an error as the user's configuration's (exit code 2).
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// loadSettings merges defaults, the YAML file (configFile, else
// EDGEPROXY_CONFIG from environ) and EDGEPROXY_ variables from environ, later
// winning, and returns the typed, validated settings. Every problem found is
// reported at once, each naming its key.
func loadSettings(configFile string, environ []string) (*settings, error) {
	k := koanf.New(".")
	if err := k.Load(confmap.Provider(defaults(), "."), nil); err != nil {
		return nil, fmt.Errorf("load defaults: %w", err)
	}
	if configFile == "" {
		configFile = lookupEnv(environ, envConfigFile)
	}
	if configFile != "" {
		if _, err := os.Stat(configFile); err != nil {
			return nil, &configError{fmt.Errorf("config file %s: %w", configFile, err)}
		}
		if err := k.Load(file.Provider(configFile), yaml.Parser()); err != nil {
			return nil, &configError{fmt.Errorf("config file %s: %w", configFile, err)}
		}
	}
	fromEnv := map[string]string{} // key → variable, for messages
	err := k.Load(env.Provider(".", env.Opt{
		Prefix:      envPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			if name == envConfigFile {
				return "", nil
			}
			key := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, envPrefix)), "__", ".")
			fromEnv[key] = name
			return key, value
		},
	}), nil)
	if err != nil {
		return nil, fmt.Errorf("load environment: %w", err)
	}

	var p problems.List
	checkKeys(k, fromEnv, &p)
	d := decoder{get: k.Get, p: &p}
	s := &settings{
		Source: configFile,
		Router: routerconf.Config{
			Router: routerconf.Router{
				ID:            d.str("router.id"),
				Management:    d.str("router.management"),
				WorkerThreads: d.integer("router.worker_threads"),
				LogLevel:      d.str("router.log_level"),
				FlowLog:       d.boolean("router.flow_log"),
				SiteID:        d.str("router.site_id"),
			},
			Uplink: routerconf.Uplink{
				Host: d.str("uplink.host"),
				Port: d.integer("uplink.port"),
				TLS: routerconf.TLS{
					CAFile:         d.str("uplink.tls.ca_file"),
					CertFile:       d.str("uplink.tls.cert_file"),
					KeyFile:        d.str("uplink.tls.key_file"),
					VerifyHostname: d.boolean("uplink.tls.verify_hostname"),
				},
			},
			Listeners: d.listeners("listeners"),
		},
		Supervisor: supervisor.Config{
			Binary:          d.str("router.binary"),
			ConfigFile:      d.str("router.config_file"),
			StopTimeout:     d.duration("supervisor.stop_timeout"),
			BackoffInitial:  d.duration("supervisor.backoff_initial"),
			BackoffMax:      d.duration("supervisor.backoff_max"),
			ResetAfter:      d.duration("supervisor.reset_after"),
			MaxFastFailures: d.integer("supervisor.max_fast_failures"),
		},
		Health: health.Config{
			Listen:           d.str("health.listen"),
			Interval:         d.duration("health.interval"),
			Timeout:          d.duration("health.timeout"),
			RequireListeners: d.boolean("health.require_listeners"),
		},
		Log: logSettings{Format: d.str("log.format"), Level: d.str("log.level")},
	}
	s.Health.Management = s.Router.Router.Management
	s.Supervisor.Management = routerconf.ListenerHostPort(s.Router.Router.Management)
	// Check what the values mean, leaving out keys whose value could not
	// even be decoded (they were reported above), so every problem shows once.
	var semantic problems.List
	semantic.Merge(s.Router.Validate())
	semantic.Merge(s.Supervisor.Validate())
	semantic.Merge(s.Health.Validate())
	s.crossCheck(&semantic)
	p = append(p, semantic.Without(p.Keys())...)
	if err := p.Err(); err != nil {
		return nil, &configError{err}
	}
	return s, nil
}

// crossCheck finds problems between sections.
func (s *settings) crossCheck(p *problems.List) {
	if !oneOf(s.Log.Format, "text", "json") {
		p.Add("log.format", s.Log.Format, "must be text or json")
	}
	if !oneOf(s.Log.Level, "debug", "info", "warn", "error") {
		p.Add("log.level", s.Log.Level, "must be debug, info, warn or error")
	}
	_, hp, _ := net.SplitHostPort(s.Health.Listen)
	_, mp, _ := net.SplitHostPort(s.Router.Router.Management)
	if hp != "" && hp == mp {
		p.Add("health.listen", s.Health.Listen, "must not use the router's management port (router.management)")
	}
	for i, l := range s.Router.Listeners {
		if strconv.Itoa(l.Port) == hp {
			p.Add(fmt.Sprintf("listeners[%d].port", i), l.Port, "is edgeproxy's health port (health.listen)")
		}
	}
}

// checkKeys reports every key that is not a known one (a typo must not be
// silently ignored), naming the environment variable it came from.
func checkKeys(k *koanf.Koanf, fromEnv map[string]string, p *problems.List) {
	known := defaults()
	for _, key := range k.Keys() {
		if _, ok := known[key]; ok {
			continue
		}
		where := key
		if v, ok := fromEnv[key]; ok {
			where = v
		}
		if near := nearestKey(key); near != "" {
			p.Add(where, k.Get(key), "unknown key; did you mean %s (%s)?", near, envName(near))
		} else {
			p.Add(where, k.Get(key), "unknown key; known keys: %s", strings.Join(knownKeys(), ", "))
		}
	}
}

// envName is the environment variable of a key.
func envName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "__"))
}

// nearestKey returns the known key closest to key when it is a likely typo
// (at most a third of its letters differ), else "".
func nearestKey(key string) string {
	best, bestDist := "", len(key)/3+1
	for _, k := range knownKeys() {
		if d := editDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func knownKeys() []string {
	var keys []string
	for k := range defaults() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func lookupEnv(environ []string, name string) string {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

func oneOf(s string, allowed ...string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

// decoder turns koanf's loosely typed values (YAML types or environment
// strings) into Go types, recording a problem for each value that does not fit.
type decoder struct {
	get func(key string) any
	p   *problems.List
}

func (d decoder) str(key string) string {
	switch v := d.get(key).(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	case int, int64, float64, bool:
		return fmt.Sprint(v)
	default:
		d.p.Add(key, v, "must be a string")
		return ""
	}
}

func (d decoder) integer(key string) int {
	n, err := toInt(d.get(key))
	if err != nil {
		d.p.Add(key, d.get(key), "must be a whole number")
	}
	return n
}

func (d decoder) boolean(key string) bool {
	switch v := d.get(key).(type) {
	case bool:
		return v
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			d.p.Add(key, v, "must be true or false")
		}
		return b
	default:
		d.p.Add(key, v, "must be true or false")
		return false
	}
}

func (d decoder) duration(key string) time.Duration {
	v := d.get(key)
	s, ok := v.(string)
	if !ok {
		d.p.Add(key, v, "must be a duration with a unit, such as 500ms, 2s or 1m")
		return 0
	}
	dur, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		d.p.Add(key, v, "must be a duration with a unit, such as 500ms, 2s or 1m")
	}
	return dur
}

// listeners decodes `listeners`: a YAML list of {name, host, port, address}
// or, from EDGEPROXY_LISTENERS, a spec string "[HOST:]PORT=ADDRESS,...".
func (d decoder) listeners(key string) []routerconf.Listener {
	var out []routerconf.Listener
	switch v := d.get(key).(type) {
	case nil:
	case string:
		ls, errs := parseListenerSpec(v)
		for i, err := range errs {
			if err != nil {
				d.p.Add(fmt.Sprintf("%s[%d]", key, i), ls[i].spec, "%v; each entry is [HOST:]PORT=ADDRESS, e.g. 8080=my-service:8080", err)
			}
		}
		for _, l := range ls {
			out = append(out, l.Listener)
		}
	case []any:
		for i, item := range v {
			out = append(out, d.listenerEntry(fmt.Sprintf("%s[%d]", key, i), item))
		}
	default:
		d.p.Add(key, v, "must be a list of {name, host, port, address} or a PORT=ADDRESS spec string")
	}
	nameListeners(out)
	return out
}

func (d decoder) listenerEntry(key string, item any) routerconf.Listener {
	l := routerconf.Listener{Host: "0.0.0.0"}
	m, ok := item.(map[string]any)
	if !ok {
		d.p.Add(key, item, "must be a map with keys %s", strings.Join(listenerFields, ", "))
		return l
	}
	fields := make([]string, 0, len(m))
	for f := range m {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		if !oneOf(f, listenerFields...) {
			d.p.Add(key+"."+f, m[f], "unknown key; a listener has %s", strings.Join(listenerFields, ", "))
		}
	}
	sub := decoder{get: func(k string) any { return m[strings.TrimPrefix(k, key+".")] }, p: d.p}
	if _, ok := m["name"]; ok {
		l.Name = sub.str(key + ".name")
	}
	if _, ok := m["host"]; ok {
		l.Host = sub.str(key + ".host")
	}
	l.Port = sub.integer(key + ".port")
	l.Address = sub.str(key + ".address")
	return l
}

// specEntry is one entry of a listener spec, as written and as parsed.
type specEntry struct {
	routerconf.Listener
	spec string
}

// parseListenerSpec parses "[HOST:]PORT=ADDRESS" entries separated by commas.
// It returns one listener per entry, in order, and the entry's error (nil
// when it parsed), so every bad entry is reported and good ones still validated.
func parseListenerSpec(spec string) ([]specEntry, []error) {
	var out []specEntry
	var errs []error
	for _, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		l, err := parseListenerEntry(entry)
		out = append(out, specEntry{Listener: l, spec: entry})
		errs = append(errs, err)
	}
	return out, errs
}

func parseListenerEntry(entry string) (routerconf.Listener, error) {
	l := routerconf.Listener{Host: "0.0.0.0"}
	endpoint, address, ok := strings.Cut(entry, "=")
	if !ok {
		return l, errors.New("no '=' between port and address")
	}
	l.Address = strings.TrimSpace(address)
	portStr := strings.TrimSpace(endpoint)
	if strings.Contains(portStr, ":") {
		h, ps, err := net.SplitHostPort(portStr)
		if err != nil {
			return l, fmt.Errorf("%q is not HOST:PORT", portStr)
		}
		l.Host, portStr = h, ps
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return l, fmt.Errorf("port %q is not a number", portStr)
	}
	l.Port = port
	return l, nil
}

// nameListeners gives every unnamed listener a name derived from its address
// (my-service:8080 → my-service-8080), adding the port and then an index
// where that would collide, so names are unique and stable.
func nameListeners(ls []routerconf.Listener) {
	taken := map[string]bool{
		routerconf.ManagementListenerName: true,
		routerconf.UplinkConnectorName:    true,
		routerconf.UplinkSSLProfileName:   true,
	}
	for _, l := range ls {
		if l.Name != "" {
			taken[l.Name] = true
		}
	}
	for i := range ls {
		if ls[i].Name != "" {
			continue
		}
		base := sanitizeName(ls[i].Address)
		name := base
		if taken[name] {
			name = fmt.Sprintf("%s-%d", base, ls[i].Port)
		}
		for n := 2; taken[name]; n++ {
			name = fmt.Sprintf("%s-%d-%d", base, ls[i].Port, n)
		}
		taken[name] = true
		ls[i].Name = name
	}
}

func sanitizeName(address string) string {
	var b strings.Builder
	for _, r := range address {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-._")
	if name == "" {
		name = "listener"
	}
	return name
}

func toInt(v any) (int, error) {
	switch n := v.(type) {
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case uint64:
		return int(n), nil
	case float64:
		if n != float64(int(n)) {
			return 0, fmt.Errorf("%v is not whole", n)
		}
		return int(n), nil
	case string:
		return strconv.Atoi(strings.TrimSpace(n))
	default:
		return 0, fmt.Errorf("%v is not a number", v)
	}
}
