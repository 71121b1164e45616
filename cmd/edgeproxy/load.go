package main

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"

	"github.com/edgeproxy/edgeproxy/internal/problems"
	"github.com/edgeproxy/edgeproxy/internal/proc"
)

// envPrefix marks configuration variables. EDGEPROXY_CONFIG names the YAML
// file; every other EDGEPROXY_SECTION__KEY variable is a configuration key.
const (
	envPrefix     = proc.ConfigEnvPrefix
	envConfigFile = envPrefix + "CONFIG"
)

// configError marks an error as the user's configuration's (exit code 2).
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// loadSettings merges defaults, the YAML file (configFile, else
// EDGEPROXY_CONFIG from environ) and EDGEPROXY_ variables from environ, later
// winning, and returns the typed, validated settings. Every problem found is
// reported at once, each naming its key, and each key at most once: an
// unknown key, else a value that does not decode, else what the value means.
func loadSettings(configFile string, environ []string) (*settings, error) {
	k := koanf.New(".")
	if err := k.Load(confmap.Provider(defaults(), "."), nil); err != nil {
		return nil, fmt.Errorf("load defaults: %w", err)
	}
	if configFile == "" {
		configFile = lookupEnv(environ, envConfigFile)
	}
	user := koanf.New(".") // what the file and the environment set
	if configFile != "" {
		if _, err := os.Stat(configFile); err != nil {
			return nil, &configError{fmt.Errorf("config file %s: %w", configFile, err)}
		}
		if err := user.Load(file.Provider(configFile), yaml.Parser()); err != nil {
			return nil, &configError{fmt.Errorf("config file %s: %w", configFile, err)}
		}
	}
	fromEnv := map[string]string{} // key → variable, for messages
	var indexed []indexedVar
	err := user.Load(env.Provider(".", env.Opt{
		Prefix:      envPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			if name == envConfigFile {
				return "", nil
			}
			key := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, envPrefix)), "__", ".")
			if v, ok := parseIndexed(name, key, value); ok {
				indexed = append(indexed, v)
				fromEnv[v.key()] = name
				return "", nil
			}
			fromEnv[key] = name
			return key, value
		},
	}), nil)
	if err != nil {
		return nil, fmt.Errorf("load environment: %w", err)
	}
	p, reported := applyIndexed(user, indexed)
	p = append(p, bothUplinkForms(user, fromEnv)...)
	if err := k.Merge(user); err != nil {
		return nil, fmt.Errorf("merge configuration: %w", err)
	}

	kp, kr := checkKeys(k, fromEnv)
	p, reported = append(p, kp.Without(reported)...), append(reported, kr...)
	var c configKeys
	if err := decode(k, &c); err != nil {
		bad := decodeProblems(err, k).Without(reported)
		p = append(p, bad...)
		reported = append(reported, bad.Keys()...)
	}
	s := c.toSettings(configFile)
	p = append(p, s.validate().Without(reported)...)
	if err := p.Err(); err != nil {
		return nil, &configError{err}
	}
	return s, nil
}

// bothUplinkForms reports `uplink` and `uplinks` set together: which one
// would win is not obvious, so neither does.
func bothUplinkForms(user *koanf.Koanf, fromEnv map[string]string) problems.List {
	var p problems.List
	if !user.Exists("uplinks") {
		return p
	}
	var single []string
	for _, key := range user.Keys() {
		if strings.HasPrefix(key, "uplink.") {
			single = append(single, cmp.Or(fromEnv[key], key))
		}
	}
	if len(single) > 0 {
		p.Add("uplinks", strings.Join(single, ", "),
			"uplink and uplinks are both set (%s and %s): use uplinks for several interior routers, or uplink for one, not both",
			strings.Join(single, ", "), cmp.Or(fromEnv["uplinks"], "uplinks"))
	}
	return p
}

// checkKeys reports every key that is not a known one (a typo must not be
// silently ignored), naming the environment variable it came from, and
// returns the keys it reported.
func checkKeys(k *koanf.Koanf, fromEnv map[string]string) (problems.List, []string) {
	var p problems.List
	var reported []string
	known := defaults()
	for _, key := range k.Keys() {
		if _, ok := known[key]; ok {
			continue
		}
		reported = append(reported, key)
		where := cmp.Or(fromEnv[key], key)
		if near := nearestKey(key); near != "" {
			p.Add(where, k.Get(key), "unknown key; did you mean %s (%s)?", near, envName(near))
		} else {
			p.Add(where, k.Get(key), "unknown key; known keys: %s", strings.Join(knownKeys(), ", "))
		}
	}
	// koanf does not look into lists: check the entries' fields here.
	for _, list := range []struct {
		key, noun string
		fields    []string
		nested    map[string][]string
	}{
		{"listeners", "a listener", listenerFields, nil},
		{"connectors", "a connector", connectorFields, nil},
		{"uplinks", "an uplink", uplinkFields, map[string][]string{"tls": tlsFields}},
	} {
		items, _ := k.Get(list.key).([]any)
		for i, item := range items {
			for _, f := range unknownFields(item, list.noun, list.fields, list.nested) {
				key := fmt.Sprintf("%s[%d].%s", list.key, i, f.path)
				reported = append(reported, key)
				p.Add(cmp.Or(fromEnv[key], key), f.value, "unknown key; %s", f.known)
			}
		}
	}
	return p, reported
}

type unknownField struct {
	path  string // field, or field.sub
	value any
	known string // what is known there
}

// unknownFields are the keys of a list entry (a map) that are not fields,
// looking one level into the nested maps.
func unknownFields(item any, noun string, fields []string, nested map[string][]string) []unknownField {
	m, _ := item.(map[string]any)
	var out []unknownField
	for _, f := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(fields, f) {
			out = append(out, unknownField{f, m[f], noun + " has " + strings.Join(fields, ", ")})
			continue
		}
		sub, _ := m[f].(map[string]any)
		for _, g := range slices.Sorted(maps.Keys(sub)) {
			if known, ok := nested[f]; ok && !slices.Contains(known, g) {
				out = append(out, unknownField{f + "." + g, sub[g], f + " has " + strings.Join(known, ", ")})
			}
		}
	}
	return out
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

// knownKeys are the keys there are, sorted.
func knownKeys() []string { return slices.Sorted(maps.Keys(defaults())) }

func lookupEnv(environ []string, name string) string {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}
