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

// ListenerSpecEntry is one entry of a listener spec: as written, as parsed,
// and why it did not parse (nil when it did).
type ListenerSpecEntry struct {
	Spec     string
	Listener Listener
	Err      error
}

// ParseListenerSpec parses "[HOST:]PORT=ADDRESS" entries separated by commas
// (the form EDGEPROXY_LISTENERS takes). It returns one entry per non-empty
// entry, in order, each with its own error, so every bad entry is reported
// and good ones are still validated. Names are left empty: see NameListeners.
func ParseListenerSpec(spec string) []ListenerSpecEntry {
	var out []ListenerSpecEntry
	for _, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		l, err := parseListenerEntry(entry)
		out = append(out, ListenerSpecEntry{Spec: entry, Listener: l, Err: err})
	}
	return out
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
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return l, fmt.Errorf("port %q is not a number", portStr)
	}
	l.Port = port
	return l, nil
}

// NameListeners gives every unnamed listener a name derived from its address
// (my-service:8080 → my-service-8080), adding the port and then an index
// where that would collide, so names are unique and stable. The reserved
// names of edgeproxy's own entities, and the names in own, are never given.
func NameListeners(ls []Listener, own ...string) {
	taken := map[string]bool{}
	for _, n := range append(slices.Clone(reservedNames), own...) {
		taken[n] = true
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

// sanitizeName turns an address into a name: every character a name may
// not have becomes '-', and leading or trailing punctuation is dropped.
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

// NameEntities names the unnamed uplinks (NameUplinks) and then the unnamed
// listeners (NameListeners), never with a name of edgeproxy's own entities.
func (c *Config) NameEntities() {
	NameUplinks(c.Uplinks)
	NameListeners(c.Listeners, slices.Collect(maps.Keys(c.ownNames()))...)
}
