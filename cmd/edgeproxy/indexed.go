package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/knadh/koanf/v2"

	"github.com/edgeproxy/edgeproxy/internal/problems"
	"github.com/edgeproxy/edgeproxy/routerconf"
)

// Indexed variables set one field of one entry of `uplinks`, which the
// environment otherwise gives only as a spec string (EDGEPROXY_UPLINKS=
// "a:45671,b:45671"): EDGEPROXY_UPLINKS__<i>__<FIELD>[__<SUB>], with i
// counting entries from 0, e.g. EDGEPROXY_UPLINKS__1__TLS__CA_FILE. They
// refine the entries EDGEPROXY_UPLINKS or the file's `uplinks` list gives;
// they do not make entries of their own.

// indexedVar is one EDGEPROXY_UPLINKS__<i>__... variable.
type indexedVar struct {
	name  string // the variable
	index int
	path  string // the field within the entry, e.g. tls.ca_file
	value string
}

// key is the entry field's key as messages name it: uplinks[1].tls.ca_file.
func (v indexedVar) key() string { return fmt.Sprintf("uplinks[%d].%s", v.index, v.path) }

var indexedKey = regexp.MustCompile(`^uplinks\.([0-9]+)\.(.+)$`)

// parseIndexed recognises an indexed variable by its key (uplinks.1.tls.ca_file).
func parseIndexed(name, key, value string) (indexedVar, bool) {
	m := indexedKey.FindStringSubmatch(key)
	if m == nil {
		return indexedVar{}, false
	}
	i, err := strconv.Atoi(m[1])
	if err != nil {
		return indexedVar{}, false
	}
	return indexedVar{name: name, index: i, path: m[2], value: value}, true
}

// applyIndexed sets each indexed variable's field in user's `uplinks`
// entries (a spec string becomes a list first). It reports a variable
// whose entry does not exist, and returns the keys it reported.
func applyIndexed(user *koanf.Koanf, vars []indexedVar) (problems.List, []string) {
	var p problems.List
	var reported []string
	if len(vars) == 0 {
		return p, nil
	}
	var items []any
	switch v := user.Get("uplinks").(type) {
	case string:
		for _, e := range routerconf.ParseUplinkSpec(v) {
			if e.Err != nil {
				return p, nil // the decoder reports the entry; fix it first
			}
			m := map[string]any{"host": e.Value.Host, "port": e.Value.Port}
			if e.Value.Name != "" {
				m["name"] = e.Value.Name
			}
			items = append(items, m)
		}
	case []any:
		items = v
	}
	for _, v := range vars {
		if v.index >= len(items) {
			p.Add(v.name, v.value, "sets %s, but uplinks has %d entries (EDGEPROXY_UPLINKS=\"HOST:PORT,...\" or the file's uplinks list makes them; indexes count from 0)", v.key(), len(items))
			reported = append(reported, v.key())
			continue
		}
		m, ok := items[v.index].(map[string]any)
		if !ok {
			continue // the entry's own problem is reported by the decoder
		}
		setPath(m, strings.Split(v.path, "."), v.value)
	}
	if err := user.Set("uplinks", items); err != nil {
		p.Add("uplinks", "", "cannot apply the EDGEPROXY_UPLINKS__<i>__ variables: %v", err)
	}
	return p, reported
}

// setPath sets m[path[0]][path[1]]... to value, making maps on the way (a
// value that is no map is replaced: the variable wins, as environment does).
func setPath(m map[string]any, path []string, value string) {
	for _, k := range path[:len(path)-1] {
		sub, ok := m[k].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[k] = sub
		}
		m = sub
	}
	m[path[len(path)-1]] = value
}
