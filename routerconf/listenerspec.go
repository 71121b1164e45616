package routerconf

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
)

// DefaultListenerHost is where a listener listens when no host is given: every address.
const DefaultListenerHost = "0.0.0.0"

// SpecEntry is one entry of a listener or connector spec: as written, as
// parsed, and why it did not parse (nil when it did).
type SpecEntry[T any] struct {
	Spec  string
	Value T
	Err   error
}

// ListenerSpecEntry is one entry of a listener spec.
type ListenerSpecEntry = SpecEntry[Listener]

// ConnectorSpecEntry is one entry of a connector spec.
type ConnectorSpecEntry = SpecEntry[Connector]

// parseSpec splits spec at commas and parses each non-empty entry, in order,
// each with its own error, so every bad entry is reported and good ones are
// still validated.
func parseSpec[T any](spec string, parse func(string) (T, error)) []SpecEntry[T] {
	var out []SpecEntry[T]
	for _, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		v, err := parse(entry)
		out = append(out, SpecEntry[T]{Spec: entry, Value: v, Err: err})
	}
	return out
}

// ParseListenerSpec parses "[HOST:]PORT=ADDRESS" entries separated by commas
// (the form EDGEPROXY_LISTENERS takes). Names are left empty: see NameEntities.
func ParseListenerSpec(spec string) []ListenerSpecEntry {
	return parseSpec(spec, parseListenerEntry)
}

// ParseConnectorSpec parses "ADDRESS=HOST:PORT" entries separated by commas
// (the form EDGEPROXY_CONNECTORS takes): the routing address on the left,
// as in a listener spec the address is on the right, so that '=' always
// points from where a connection comes in to where it goes. Names are left
// empty: see NameEntities.
func ParseConnectorSpec(spec string) []ConnectorSpecEntry {
	return parseSpec(spec, parseConnectorEntry)
}

func parseListenerEntry(entry string) (Listener, error) {
	l := Listener{Host: DefaultListenerHost}
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
	port, err := parsePort(portStr)
	l.Port = port
	return l, err
}

func parseConnectorEntry(entry string) (Connector, error) {
	var c Connector
	address, target, ok := strings.Cut(entry, "=")
	if !ok {
		return c, errors.New("no '=' between address and target")
	}
	c.Address = strings.TrimSpace(address)
	target = strings.TrimSpace(target)
	h, ps, err := net.SplitHostPort(target)
	if err != nil {
		return c, fmt.Errorf("target %q is not HOST:PORT", target)
	}
	c.Host = h
	port, err := parsePort(ps)
	c.Port = port
	return c, err
}

func parsePort(s string) (int, error) {
	port, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("port %q is not a number", s)
	}
	return port, nil
}

// NameEntities gives every unnamed listener and connector a name derived
// from its address (my-service:8080 → my-service-8080). Names are unique
// across both lists and never one of edgeproxy's own entity names; where a
// derived name is taken, a listener adds its port (web, web-81) and a
// connector adds "-connector" (my-service-8080-connector), then an index.
// Listeners are named first, so adding a connector never renames a
// listener, and a name depends only on the entries before it. The names in
// own (the uplinks' connectors and sslProfiles) are never given either.
func NameEntities(ls []Listener, cs []Connector, own ...string) {
	taken := map[string]bool{}
	for _, n := range append(slices.Clone(reservedNames), own...) {
		taken[n] = true
	}
	for _, l := range ls {
		if l.Name != "" {
			taken[l.Name] = true
		}
	}
	for _, c := range cs {
		if c.Name != "" {
			taken[c.Name] = true
		}
	}
	for i := range ls {
		if ls[i].Name == "" {
			ls[i].Name = freeName(taken, sanitizeName(ls[i].Address, "listener"), strconv.Itoa(ls[i].Port))
		}
	}
	for i := range cs {
		if cs[i].Name == "" {
			cs[i].Name = freeName(taken, sanitizeName(cs[i].Address, "connector"), "connector")
		}
	}
}

// freeName returns base, else base-suffix, else base-suffix-N, the first
// that is not taken, and takes it.
func freeName(taken map[string]bool, base, suffix string) string {
	name := base
	if taken[name] {
		name = base + "-" + suffix
	}
	for n := 2; taken[name]; n++ {
		name = fmt.Sprintf("%s-%s-%d", base, suffix, n)
	}
	taken[name] = true
	return name
}

// sanitizeName turns an address into a name: every character a name may
// not have becomes '-', and leading or trailing punctuation is dropped;
// what is left empty becomes fallback.
func sanitizeName(address, fallback string) string {
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
		name = fallback
	}
	return name
}

// Name names the unnamed uplinks (NameUplinks), then the unnamed listeners
// and connectors (NameEntities), never with a name of edgeproxy's own
// entities.
func (c *Config) Name() {
	NameUplinks(c.Uplinks)
	NameEntities(c.Listeners, c.Connectors, slices.Sorted(maps.Keys(c.ownNames()))...)
}
