package routerconf

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"

	"github.com/edgeproxy/edgeproxy/internal/problems"
)

// Reserved entity names: the rendered file uses them for its own entities,
// and the router wants names unique across all entity types.
const (
	ManagementListenerName = "management"
	UplinkConnectorName    = "uplink"
	UplinkSSLProfileName   = "uplink-tls"
)

// reservedNames are the names a listener cannot have.
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
	c.validateUplink(&p)
	c.validateListeners(&p)
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

func (c Config) validateUplink(p *problems.List) {
	u := c.Uplink
	if u.Host == "" {
		p.Add("uplink.host", u.Host, "must not be empty")
	}
	if !ValidPort(u.Port) {
		p.Add("uplink.port", u.Port, "must be from 1 to 65535")
	}
	t := u.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		p.Add("uplink.tls", fmt.Sprintf("cert_file=%q key_file=%q", t.CertFile, t.KeyFile), "cert_file and key_file go together: set both or neither")
	}
	if t.Enabled() && t.CAFile == "" {
		p.Add("uplink.tls.ca_file", t.CAFile, "must be set when TLS is on, to verify the interior router")
	}
	for _, f := range []struct{ key, path string }{
		{"uplink.tls.ca_file", t.CAFile}, {"uplink.tls.cert_file", t.CertFile}, {"uplink.tls.key_file", t.KeyFile},
	} {
		if f.path != "" && !fileExists(f.path) {
			p.Add(f.key, f.path, "file does not exist or is not a regular file")
		}
	}
	validateTLSFiles(p, t)
}

func (c Config) validateListeners(p *problems.List) {
	if len(c.Listeners) == 0 {
		p.Add("listeners", "", "at least one listener is needed, e.g. EDGEPROXY_LISTENERS=\"8080=my-service:8080\"")
	}
	mgmtPort := 0
	if _, ps, err := net.SplitHostPort(c.Router.Management); err == nil {
		mgmtPort, _ = strconv.Atoi(ps)
	}
	names := map[string]int{}
	endpoints := map[string]int{}
	for i, l := range c.Listeners {
		key := fmt.Sprintf("listeners[%d]", i)
		switch {
		case l.Name == "":
			p.Add(key+".name", l.Name, "must not be empty")
		case !namePattern.MatchString(l.Name):
			p.Add(key+".name", l.Name, "may contain letters, digits, '.', '_' and '-' only, starting with a letter or digit")
		case slices.Contains(reservedNames, l.Name):
			p.Add(key+".name", l.Name, "is reserved for edgeproxy's own router entities (%s, %s, %s)", ManagementListenerName, UplinkConnectorName, UplinkSSLProfileName)
		default:
			if j, dup := names[l.Name]; dup {
				p.Add(key+".name", l.Name, "duplicates listeners[%d].name: names must be unique", j)
			}
			names[l.Name] = i
		}
		if l.Host == "" {
			p.Add(key+".host", l.Host, "must not be empty (0.0.0.0 listens on every address)")
		} else if net.ParseIP(l.Host) == nil && !namePattern.MatchString(l.Host) {
			p.Add(key+".host", l.Host, "must be an IP address or a host name")
		}
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
		}
		if l.Address == "" {
			p.Add(key+".address", l.Address, "must not be empty: the routing address, e.g. my-service:8080")
		} else if len(l.Address) > 255 || !addressPattern.MatchString(l.Address) {
			p.Add(key+".address", l.Address, "must be a routing address of letters, digits and . _ : / - (at most 255), starting with a letter or digit")
		}
	}
}
