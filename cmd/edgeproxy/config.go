package main

import (
	"cmp"
	"fmt"
	"net"
	"os"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/v2"

	"github.com/edgeproxy/edgeproxy/health"
	"github.com/edgeproxy/edgeproxy/internal/problems"
	"github.com/edgeproxy/edgeproxy/routerconf"
	"github.com/edgeproxy/edgeproxy/supervisor"
)

// settings is the whole configuration, in the typed sections each package
// owns, as the commands use it.
type settings struct {
	Router     routerconf.Config
	Supervisor supervisor.Config
	Health     health.Config
	Log        logSettings
	Source     string // the YAML file read, "" when none
}

// logSettings configures edgeproxy's own log.
type logSettings struct {
	Format string `koanf:"format"` // text or json
	Level  string `koanf:"level"`  // debug, info, warn, error
}

// configKeys is the configuration as its keys lay it out. The koanf tags
// here and in the sections' own types are the keys: there is no other list
// of them (doc.go and docs/configuration.md document each one, and
// docs_test.go checks they do). loadSettings decodes into it.
type configKeys struct {
	Router     routerKeys             `koanf:"router"`
	Uplink     uplinkKeys             `koanf:"uplink"`
	Uplinks    []routerconf.Uplink    `koanf:"uplinks"`
	Listeners  []routerconf.Listener  `koanf:"listeners"`
	Connectors []routerconf.Connector `koanf:"connectors"`
	Supervisor supervisor.Config      `koanf:"supervisor"`
	Health     health.Config          `koanf:"health"`
	Log        logSettings            `koanf:"log"`
}

// routerKeys is the router section: the router's own settings, and the
// executable and file the supervisor runs it with.
type routerKeys struct {
	routerconf.Router `koanf:",squash"`
	Binary            string `koanf:"binary"`
	ConfigFile        string `koanf:"config_file"`
}

// uplinkKeys is the one-entry form of the uplinks: `uplink` is the only
// interior router when `uplinks` is not set (its connector is named uplink).
type uplinkKeys struct {
	Host string         `koanf:"host"`
	Port int            `koanf:"port"`
	TLS  routerconf.TLS `koanf:"tls"`
}

// defaultKeys are the built-in values (the zero value for keys not set here).
func defaultKeys() configKeys {
	host, _ := os.Hostname()
	return configKeys{
		Router: routerKeys{
			Router: routerconf.Router{
				ID:                cmp.Or(host, "edgeproxy"),
				Management:        "127.0.0.1:5672",
				LogLevel:          "info",
				UplinkIdleTimeout: defaultUplinkIdleTimeout,
			},
			Binary:     "skrouterd",
			ConfigFile: "/tmp/edgeproxy/skrouterd.json",
		},
		Uplink: uplinkKeys{
			Host: "host.docker.internal",
			Port: 45671,
			TLS:  routerconf.TLS{VerifyHostname: true},
		},
		Health: health.Config{
			Listen:           "127.0.0.1:9090",
			Interval:         time.Second,
			ListenerInterval: 10 * time.Second,
			Timeout:          time.Second,
			// A TCP connect per target every 5 s: cheap for any workload,
			// and a dead one is seen (and withdrawn) within 5 s.
			ConnectorInterval:  5 * time.Second,
			WithdrawConnectors: true,
		},
		Supervisor: supervisor.Config{
			StopTimeout:     8 * time.Second,
			BackoffInitial:  100 * time.Millisecond,
			BackoffMax:      30 * time.Second,
			ResetAfter:      30 * time.Second,
			MaxFastFailures: 10,
		},
		Log: logSettings{Format: "text", Level: "info"},
	}
}

// defaults are the built-in values by key ("supervisor.stop_timeout"):
// defaultKeys flattened, so its keys are the only keys there are (besides
// the fields of listeners and connectors).
func defaults() map[string]any {
	var nested map[string]any
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{TagName: tagName, Result: &nested})
	if err == nil {
		err = d.Decode(defaultKeys())
	}
	k := koanf.New(".")
	if err == nil {
		err = k.Load(confmap.Provider(nested, ""), nil)
	}
	if err != nil {
		panic(fmt.Sprintf("flatten the defaults: %v", err)) // a tagged struct always flattens
	}
	return k.All()
}

// listenerFields, connectorFields and uplinkFields are the keys one entry
// of `listeners`, of `connectors` and of `uplinks` may have, in order;
// tlsFields those of an uplink's tls.
var (
	listenerFields  = tagNames(reflect.TypeFor[routerconf.Listener]())
	connectorFields = tagNames(reflect.TypeFor[routerconf.Connector]())
	uplinkFields    = tagNames(reflect.TypeFor[routerconf.Uplink]())
	tlsFields       = tagNames(reflect.TypeFor[routerconf.TLS]())
)

// tagNames are the keys of a struct's fields, in field order.
func tagNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if name := f.Tag.Get(tagName); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// toSettings arranges the decoded keys into the packages' sections, with
// the values derived from them.
func (c configKeys) toSettings(source string) *settings {
	s := &settings{
		Router: routerconf.Config{
			Router:     c.Router.Router,
			Uplinks:    c.uplinks(),
			Listeners:  c.Listeners,
			Connectors: c.Connectors,
		},
		Supervisor: c.Supervisor,
		Health:     c.Health,
		Log:        c.Log,
		Source:     source,
	}
	s.Router.Name()
	s.Supervisor.Binary = c.Router.Binary
	s.Supervisor.ConfigFile = c.Router.ConfigFile
	s.Supervisor.Management = routerconf.ListenerHostPort(s.Router.Router.Management)
	s.Health.Management = s.Router.Router.Management
	return s
}

// uplinks are the interior routers: `uplinks` when set, else the one
// `uplink` (loadSettings refuses both). Each carries its key for messages.
func (c configKeys) uplinks() []routerconf.Uplink {
	if len(c.Uplinks) == 0 {
		u := c.Uplink
		return []routerconf.Uplink{{Host: u.Host, Port: u.Port, TLS: u.TLS, Key: "uplink"}}
	}
	out := slices.Clone(c.Uplinks)
	for i := range out {
		out[i].Key = fmt.Sprintf("uplinks[%d]", i)
	}
	return out
}

// validate reports every problem with what the values mean: each section's
// own checks, then the log section's and those between sections.
func (s *settings) validate() problems.List {
	var p problems.List
	p.Merge(s.Router.Validate())
	p.Merge(s.Supervisor.Validate())
	p.Merge(s.Health.Validate())
	if !slices.Contains([]string{"text", "json"}, s.Log.Format) {
		p.Add("log.format", s.Log.Format, "must be text or json")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, s.Log.Level) {
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
	for i, c := range s.Router.Connectors {
		if routerconf.IsLoopback(c.Host) && strconv.Itoa(c.Port) == hp {
			p.Add(fmt.Sprintf("connectors[%d].port", i), c.Target(), "is edgeproxy's own health listener (health.listen), not a workload")
		}
	}
	return p
}

// defaultUplinkIdleTimeout is router.uplink_idle_timeout's default: the edge
// link to a frozen interior (SIGSTOP) drops after about this long instead of
// the router's 16 s, with no false drops under load (docs/performance.md).
const defaultUplinkIdleTimeout = 4 * time.Second
