package routerconf

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// Several uplinks are several connectors with role edge. The router opens
// all of them at once; the first edge connection to open is the active one
// (it carries the traffic), the others stay open as standbys, and when the
// active one closes the router activates another open one at once (with
// TLS, the one of the highest sslProfile ordinal). Each connector retries
// its interior on its own, every 2 s. docs/operations.md has the measured
// failover times.

// uplinkKey is the configuration key of uplink i: its Key, else uplink for
// the only one, else uplinks[i].
func (c Config) uplinkKey(i int) string {
	switch {
	case c.Uplinks[i].Key != "":
		return c.Uplinks[i].Key
	case len(c.Uplinks) == 1:
		return "uplink"
	default:
		return fmt.Sprintf("uplinks[%d]", i)
	}
}

// UplinkName is the connector name NameUplinks gives the unnamed uplink at
// index i: uplink, uplink-2, uplink-3, ...
func UplinkName(i int) string {
	if i == 0 {
		return UplinkConnectorName
	}
	return fmt.Sprintf("%s-%d", UplinkConnectorName, i+1)
}

// NameUplinks gives every unnamed uplink its name by position (UplinkName),
// skipping names another uplink was given, so names are unique and stable.
func NameUplinks(us []Uplink) {
	taken := map[string]bool{}
	for _, u := range us {
		if u.Name != "" {
			taken[u.Name] = true
		}
	}
	for i := range us {
		if us[i].Name != "" {
			continue
		}
		name := UplinkName(i)
		for n := 2; taken[name]; n++ {
			name = fmt.Sprintf("%s-%d", UplinkName(i), n)
		}
		taken[name] = true
		us[i].Name = name
	}
}

// SSLProfileNames returns the sslProfile each uplink's connector uses, by
// index ("" for none): uplinks with the same TLS files share one profile,
// named after the first of them (<name>-tls; uplink-tls for the first
// uplink).
func (c Config) SSLProfileNames() []string {
	out := make([]string, len(c.Uplinks))
	byFiles := map[TLS]string{}
	for i, u := range c.Uplinks {
		if !u.TLS.Enabled() {
			continue
		}
		files := u.TLS
		files.VerifyHostname = false // a connector attribute, not the profile's
		name, ok := byFiles[files]
		if !ok {
			name = u.Name + "-tls"
			if u.Name == UplinkConnectorName {
				name = UplinkSSLProfileName
			}
			byFiles[files] = name
		}
		out[i] = name
	}
	return out
}

// UplinkSpecEntry is one entry of an uplink spec.
type UplinkSpecEntry = SpecEntry[Uplink]

// ParseUplinkSpec parses "[NAME=]HOST:PORT" entries separated by commas
// (the form EDGEPROXY_UPLINKS takes; see ParseUplinkEntry).
func ParseUplinkSpec(spec string) []UplinkSpecEntry {
	return parseSpec(spec, ParseUplinkEntry)
}

// ParseUplinkEntry parses one "[NAME=]HOST:PORT" entry of an uplink spec.
// An IPv6 host is written in brackets ([fd00::1]:45671). The uplink has no
// TLS, and VerifyHostname true (the default, should TLS be added).
func ParseUplinkEntry(entry string) (Uplink, error) {
	u := Uplink{TLS: TLS{VerifyHostname: true}}
	if name, hp, ok := strings.Cut(entry, "="); ok {
		u.Name, entry = strings.TrimSpace(name), strings.TrimSpace(hp)
		if u.Name == "" {
			return u, errors.New("empty name before '='")
		}
	}
	host, portStr, err := net.SplitHostPort(entry)
	if err != nil {
		return u, fmt.Errorf("%q is not HOST:PORT", entry)
	}
	u.Host = host
	u.Port, err = parsePort(portStr)
	return u, err
}
