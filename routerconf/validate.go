package routerconf

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/problems"
)

// Reserved entity names: the rendered file uses them for its own entities,
// and the router wants names unique across all entity types.
const (
	ManagementListenerName = "management"
	UplinkConnectorName    = "uplink"
	UplinkSSLProfileName   = "uplink-tls"
)

// reservedNames are the names a listener or connector cannot have.
var reservedNames = []string{ManagementListenerName, UplinkConnectorName, UplinkSSLProfileName}

// LogLevels are the values router.log_level accepts, lowest first (the
// levels the schema names for the log entity's enable attribute).
var LogLevels = []string{"debug", "info", "warning", "error", "critical"}

// Observers are the values router.observer accepts (the schema's values for
// the tcpListener observer attribute), and empty for the router's default.
var Observers = []string{"none", "auto", "http1", "http2"}

var (
	addressPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`)
	namePattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// ValidPort reports whether port is a usable TCP port.
func ValidPort(port int) bool { return port >= 1 && port <= 65535 }

// IsLoopback reports whether host is a loopback IP or "localhost".
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Validate checks the configuration and reports every problem at once.
// File existence (TLS files) is checked too, since the router would refuse
// to start without them.
func (c Config) Validate() error {
	var p problems.List
	c.validateRouter(&p)
	c.validateUplinks(&p)
	c.validateEntities(&p)
	return p.Err()
}

func (c Config) validateRouter(p *problems.List) {
	r := c.Router
	if r.ID == "" {
		p.Add("router.id", r.ID, "must not be empty")
	} else if !namePattern.MatchString(r.ID) {
		p.Add("router.id", r.ID, "may contain letters, digits, '.', '_' and '-' only, starting with a letter or digit")
	}
	if p.HostPort("router.management", r.Management, "127.0.0.1:5672", "") != 0 {
		host, _, _ := net.SplitHostPort(r.Management)
		if !IsLoopback(host) {
			p.Add("router.management", r.Management, "must be a loopback address (127.0.0.1, ::1 or localhost): anyone on the container network could otherwise reconfigure the router")
		}
	}
	if t := r.UplinkIdleTimeout; t < 0 || t%time.Second != 0 || t > time.Hour {
		p.Add("router.uplink_idle_timeout", t, "must be whole seconds from 1s to 1h, or 0 for the router's default (16s)")
	}
	if r.WorkerThreads < 0 || r.WorkerThreads > 64 {
		p.Add("router.worker_threads", r.WorkerThreads, "must be from 1 to 64, or 0 for the router's default")
	}
	if !slices.Contains(LogLevels, r.LogLevel) {
		p.Add("router.log_level", r.LogLevel, "must be one of %v", LogLevels)
	}
	if r.Observer != "" && !slices.Contains(Observers, r.Observer) {
		p.Add("router.observer", r.Observer, "must be one of %v", Observers)
	}
	if r.SiteID != "" && !namePattern.MatchString(r.SiteID) {
		p.Add("router.site_id", r.SiteID, "may contain letters, digits, '.', '_' and '-' only")
	}
}

func (c Config) validateUplinks(p *problems.List) {
	if len(c.Uplinks) == 0 {
		p.Add("uplinks", "", "at least one uplink is needed, e.g. EDGEPROXY_UPLINK__HOST=host.docker.internal")
	}
	names := map[string]int{}
	endpoints := map[string]int{}
	for i, u := range c.Uplinks {
		key := c.uplinkKey(i)
		switch {
		case u.Name == "":
			p.Add(key+".name", u.Name, "must not be empty")
		case !namePattern.MatchString(u.Name):
			p.Add(key+".name", u.Name, "may contain letters, digits, '.', '_' and '-' only, starting with a letter or digit")
		case u.Name == ManagementListenerName:
			p.Add(key+".name", u.Name, "is reserved for edgeproxy's management listener")
		default:
			if j, dup := names[u.Name]; dup {
				p.Add(key+".name", u.Name, "duplicates %s.name: names must be unique", c.uplinkKey(j))
			}
			names[u.Name] = i
		}
		validateHost(p, key+".host", u.Host, "must not be empty: the interior router's host name or IP address",
			"must be an IP address or a host name (letters, digits, '.', '_', '-')")
		if !ValidPort(u.Port) {
			p.Add(key+".port", u.Port, "must be from 1 to 65535")
		} else if u.Host != "" {
			ep := net.JoinHostPort(u.Host, strconv.Itoa(u.Port))
			if j, dup := endpoints[ep]; dup {
				p.Add(key, ep, "duplicates %s: two uplinks to the same interior edge listener", c.uplinkKey(j))
			}
			endpoints[ep] = i
		}
		validateTLS(p, key+".tls", u.TLS)
	}
}

func validateTLS(p *problems.List, key string, t TLS) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		p.Add(key, fmt.Sprintf("cert_file=%q key_file=%q", t.CertFile, t.KeyFile), "cert_file and key_file go together: set both or neither")
	}
	if t.Enabled() && t.CAFile == "" {
		p.Add(key+".ca_file", t.CAFile, "must be set when TLS is on, to verify the interior router")
	}
	for _, f := range []struct{ key, path string }{
		{key + ".ca_file", t.CAFile}, {key + ".cert_file", t.CertFile}, {key + ".key_file", t.KeyFile},
	} {
		if f.path != "" && !fileExists(f.path) {
			p.Add(f.key, f.path, "file does not exist or is not a regular file")
		}
	}
	validateTLSFiles(p, key, t)
}

// ownNames are the names of edgeproxy's own entities in the rendered file,
// each with what it is, for messages: the reserved names, the uplinks'
// connectors and their sslProfiles.
func (c Config) ownNames() map[string]string {
	own := map[string]string{
		ManagementListenerName: "edgeproxy's management listener",
		UplinkConnectorName:    "edgeproxy's first uplink connector",
		UplinkSSLProfileName:   "edgeproxy's first uplink sslProfile",
	}
	profiles := c.SSLProfileNames()
	for i, u := range c.Uplinks {
		if u.Name != "" {
			own[u.Name] = "the edge connector of " + c.uplinkKey(i)
		}
		if profiles[i] != "" {
			own[profiles[i]] = "the sslProfile of " + c.uplinkKey(i)
		}
	}
	return own
}

// validateEntities checks the listeners and the connectors: at least one of
// them, and names unique across both and edgeproxy's own entities (ownNames:
// the router wants names unique across all entity types).
func (c Config) validateEntities(p *problems.List) {
	if len(c.Listeners) == 0 && len(c.Connectors) == 0 {
		p.Add("listeners", "", "at least one listener or connector is needed, e.g. EDGEPROXY_LISTENERS=\"8080=my-service:8080\" (a service proxy) or EDGEPROXY_CONNECTORS=\"my-service:8080=nginx:8080\" (a workload-side proxy)")
	}
	own := c.ownNames()
	names := map[string]string{} // name → key of its first holder
	checkName := func(key, name string) {
		switch {
		case name == "":
			p.Add(key, name, "must not be empty")
		case !namePattern.MatchString(name):
			p.Add(key, name, "may contain letters, digits, '.', '_' and '-' only, starting with a letter or digit")
		case own[name] != "":
			p.Add(key, name, "is reserved: it names %s, and the router wants names unique across its entities", own[name])
		default:
			if first, dup := names[name]; dup {
				p.Add(key, name, "duplicates %s: names must be unique across listeners and connectors", first)
				return
			}
			names[name] = key
		}
	}
	mgmtPort := portOf(c.Router.Management)
	endpoints := map[string]int{}
	listenPorts := map[int]bool{}
	for i, l := range c.Listeners {
		key := fmt.Sprintf("listeners[%d]", i)
		checkName(key+".name", l.Name)
		validateHost(p, key+".host", l.Host, "must not be empty (0.0.0.0 listens on every address)", "must be an IP address or a host name")
		if !ValidPort(l.Port) {
			p.Add(key+".port", l.Port, "must be from 1 to 65535")
		} else {
			ep := net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
			if j, dup := endpoints[ep]; dup {
				p.Add(key+".port", ep, "duplicates listeners[%d]: two listeners cannot share a host:port", j)
			}
			endpoints[ep] = i
			if l.Port == mgmtPort {
				p.Add(key+".port", l.Port, "is the router's management port (router.management)")
			}
			if l.Host == DefaultListenerHost || IsLoopback(l.Host) {
				listenPorts[l.Port] = true
			}
		}
		validateAddress(p, key+".address", l.Address)
	}
	for i, cn := range c.Connectors {
		key := fmt.Sprintf("connectors[%d]", i)
		checkName(key+".name", cn.Name)
		validateAddress(p, key+".address", cn.Address)
		validateHost(p, key+".host", cn.Host, "must not be empty: the workload's host name or IP address, e.g. nginx or 127.0.0.1",
			"must be an IP address or a host name the router can connect to (letters, digits, '.', '_', '-'); the router accepts any string and then fails every connection to it")
		if !ValidPort(cn.Port) {
			p.Add(key+".port", cn.Port, "must be from 1 to 65535: the router accepts other values and then closes every connection at once")
			continue
		}
		if IsLoopback(cn.Host) {
			switch {
			case cn.Port == mgmtPort:
				p.Add(key+".port", cn.Target(), "is the router's own management listener (router.management): a connector there would let the router network reconfigure this router")
			case listenPorts[cn.Port]:
				p.Add(key+".port", cn.Target(), "is one of this proxy's own listeners: connections would loop back into the router")
			}
		}
	}
}

// validateAddress checks a routing address.
func validateAddress(p *problems.List, key, address string) {
	if address == "" {
		p.Add(key, address, "must not be empty: the routing address, e.g. my-service:8080")
	} else if len(address) > 255 || !addressPattern.MatchString(address) {
		p.Add(key, address, "must be a routing address of letters, digits and . _ : / - (at most 255), starting with a letter or digit")
	}
}

// validateHost checks a host: why is what to say when it is empty, or not a host.
func validateHost(p *problems.List, key, host, whyEmpty, whyBad string) {
	if host == "" {
		p.Add(key, host, "%s", whyEmpty)
	} else if !validHost(host) {
		p.Add(key, host, "%s", whyBad)
	}
}

// validHost reports whether host is an IP address or a host name.
func validHost(host string) bool {
	return net.ParseIP(host) != nil || (len(host) <= 253 && namePattern.MatchString(host))
}

// portOf is the port of host:port, 0 when there is none.
func portOf(hostPort string) int {
	_, ps, err := net.SplitHostPort(hostPort)
	if err != nil {
		return 0
	}
	port, _ := strconv.Atoi(ps)
	return port
}
