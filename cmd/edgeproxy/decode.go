package main

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/v2"

	"github.com/edgeproxy/edgeproxy/internal/problems"
	"github.com/edgeproxy/edgeproxy/routerconf"
)

// tagName is the struct tag that names configuration keys.
const tagName = "koanf"

// decode unmarshals koanf's merged values (YAML types or environment
// strings) into c. The hooks below turn each value into its field's type,
// or say why it does not fit; decodeProblems reads those reasons back.
func decode(k *koanf.Koanf, c *configKeys) error {
	// A YAML null is not the zero value (verify_hostname: ~ is not false):
	// mark each so the hooks report it rather than skip it.
	for key, v := range k.All() {
		if v == nil {
			_ = k.Set(key, null{})
		}
	}
	return k.UnmarshalWithConf("", c, koanf.UnmarshalConf{
		Tag: tagName,
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook: mapstructure.ComposeDecodeHookFunc(
				durationHook, listenersHook, listenerHook, uplinksHook, uplinkHook, stringHook, intHook, boolHook,
				nullHook, // last: the only hook that may return nil
			),
			MatchName: func(mapKey, fieldName string) bool { return mapKey == fieldName },
		},
	})
}

// null stands for a YAML null (an empty value).
type null struct{}

// badValue is why a hook could not decode value.
type badValue struct {
	value   any
	problem string
}

func (e *badValue) Error() string { return e.problem }

func bad(value any, format string, args ...any) error {
	if _, ok := value.(null); ok {
		value = nil
	}
	return &badValue{value: value, problem: fmt.Sprintf(format, args...)}
}

// decodeProblems turns the decoder's errors into one problem per key.
func decodeProblems(err error, k *koanf.Koanf) problems.List {
	var p problems.List
	var walk func(error)
	walk = func(err error) {
		if de, ok := err.(*mapstructure.DecodeError); ok { // a leaf: it wraps no other DecodeError
			var bv *badValue
			if errors.As(de, &bv) {
				p.Add(de.Name(), bv.value, "%s", bv.problem)
			} else {
				p.Add(de.Name(), k.Get(de.Name()), "%v", de.Unwrap())
			}
			return
		}
		switch e := err.(type) {
		case interface{ Unwrap() []error }:
			for _, err := range e.Unwrap() {
				walk(err)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		default:
			p = append(p, err)
		}
	}
	walk(err)
	return p
}

// The hooks turn a value into its field's type or say why it does not fit.
// They, not mapstructure's weak typing, decide what is accepted: weak typing
// would take 1.5 for 1, 0x10 for 16, and a null for zero or false.

var durationType = reflect.TypeFor[time.Duration]()

// durationHook decodes durations: a string with a unit, such as 500ms (the
// built-in defaults are durations already).
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType || from == durationType {
		return data, nil
	}
	if s, ok := data.(string); ok {
		if d, err := time.ParseDuration(strings.TrimSpace(s)); err == nil {
			return d, nil
		}
	}
	return nil, bad(data, "must be a duration with a unit, such as 500ms, 2s or 1m")
}

// listenersHook decodes `listeners`: a YAML list of {name, host, port,
// address} or, as EDGEPROXY_LISTENERS gives it, a spec string
// "[HOST:]PORT=ADDRESS,...". A spec entry that does not parse becomes its
// error, which listenerHook reports at that entry.
func listenersHook(_, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[[]routerconf.Listener]() {
		return data, nil
	}
	switch v := data.(type) {
	case []routerconf.Listener, null:
		return v, nil
	case string:
		var out []any
		for _, e := range routerconf.ParseListenerSpec(v) {
			if e.Err != nil {
				out = append(out, bad(e.Spec, "%v; each entry is [HOST:]PORT=ADDRESS, e.g. 8080=my-service:8080", e.Err))
			} else {
				out = append(out, e.Listener)
			}
		}
		return out, nil
	case []any:
		return nullItems(v), nil
	default:
		return nil, bad(v, "must be a list of {%s} or a PORT=ADDRESS spec string", strings.Join(listenerFields, ", "))
	}
}

// listenerHook decodes one listener: host defaults to 0.0.0.0, and a missing
// port is reported like a null one.
func listenerHook(_, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[routerconf.Listener]() {
		return data, nil
	}
	switch v := data.(type) {
	case routerconf.Listener:
		return v, nil
	case *badValue:
		return nil, v
	case map[string]any:
		m := maps.Clone(v)
		if _, ok := m["host"]; !ok {
			m["host"] = routerconf.DefaultListenerHost
		}
		if _, ok := m["port"]; !ok {
			m["port"] = nil
		}
		return nullValues(m), nil
	default:
		return nil, bad(v, "must be a map with keys %s", strings.Join(listenerFields, ", "))
	}
}

// uplinksHook decodes `uplinks`: a YAML list of {name, host, port, tls} or,
// as EDGEPROXY_UPLINKS gives it, a spec string "[NAME=]HOST:PORT,...",
// whose entries uplinkHook parses (and reports, each at its index).
func uplinksHook(_, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[[]routerconf.Uplink]() {
		return data, nil
	}
	switch v := data.(type) {
	case []routerconf.Uplink, null:
		return v, nil
	case string:
		return uplinkSpecEntries(v), nil
	case []any:
		return nullItems(v), nil
	default:
		return nil, bad(v, "must be a list of {%s} or a [NAME=]HOST:PORT spec string", strings.Join(uplinkFields, ", "))
	}
}

// uplinkSpecEntries are the non-empty entries of an uplink spec string,
// each still a string (uplinkHook parses it).
func uplinkSpecEntries(spec string) []any {
	var out []any
	for _, e := range strings.Split(spec, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// uplinkSpecMap parses one spec entry into the map a YAML entry would be.
func uplinkSpecMap(entry string) (map[string]any, error) {
	u, err := routerconf.ParseUplinkEntry(entry)
	if err != nil {
		return nil, bad(entry, "%v; each entry is [NAME=]HOST:PORT, e.g. interior-a:45671", err)
	}
	m := map[string]any{"host": u.Host, "port": u.Port}
	if u.Name != "" {
		m["name"] = u.Name
	}
	return m, nil
}

// uplinkHook decodes one entry of `uplinks`: a missing port is reported
// like a null one, and tls.verify_hostname defaults to true as uplink's.
func uplinkHook(_, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[routerconf.Uplink]() {
		return data, nil
	}
	switch v := data.(type) {
	case routerconf.Uplink:
		return v, nil
	case string: // an entry of EDGEPROXY_UPLINKS
		m, err := uplinkSpecMap(v)
		if err != nil {
			return nil, err
		}
		return uplinkHook(nil, to, m)
	case map[string]any:
		m := maps.Clone(v)
		if _, ok := m["port"]; !ok {
			m["port"] = nil
		}
		tls := map[string]any{}
		switch t := m["tls"].(type) {
		case map[string]any:
			tls = maps.Clone(t)
		case nil:
		default:
			return nil, bad(t, "tls must be a map with keys %s", strings.Join(tlsFields, ", "))
		}
		if _, ok := tls["verify_hostname"]; !ok {
			tls["verify_hostname"] = true
		}
		m["tls"] = nullValues(tls)
		return nullValues(m), nil
	default:
		return nil, bad(v, "must be a map with keys %s", strings.Join(uplinkFields, ", "))
	}
}

// nullItems is items with each nil (a YAML null entry) marked null{}.
func nullItems(items []any) []any {
	out := make([]any, len(items))
	for i, item := range items {
		out[i] = item
		if item == nil {
			out[i] = null{}
		}
	}
	return out
}

// nullValues marks each nil value of m (a YAML null) null{}, in place.
func nullValues(m map[string]any) map[string]any {
	for f, value := range m {
		if value == nil {
			m[f] = null{}
		}
	}
	return m
}

// stringHook decodes strings: scalars are taken as written, spaces trimmed.
func stringHook(_, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.String {
		return data, nil
	}
	switch v := data.(type) {
	case null:
		return "", nil
	case string:
		return strings.TrimSpace(v), nil
	case int, int64, float64, bool:
		return fmt.Sprint(v), nil
	default:
		return nil, bad(v, "must be a string")
	}
}

// intHook decodes whole numbers.
func intHook(_, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.Int {
		return data, nil
	}
	switch n := data.(type) {
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case uint64:
		return int(n), nil
	case float64:
		if n == float64(int(n)) {
			return int(n), nil
		}
	case string:
		if i, err := strconv.Atoi(strings.TrimSpace(n)); err == nil {
			return i, nil
		}
	}
	return nil, bad(data, "must be a whole number")
}

// boolHook decodes true or false (also 1 or 0 and the like, from strings).
func boolHook(_, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.Bool {
		return data, nil
	}
	switch v := data.(type) {
	case bool:
		return v, nil
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			return b, nil
		}
	}
	return nil, bad(data, "must be true or false")
}

// nullHook leaves a section given as null at its zero value (the unknown
// key was reported) and a null listeners list empty.
func nullHook(_, _ reflect.Type, data any) (any, error) {
	if _, ok := data.(null); ok {
		return nil, nil
	}
	return data, nil
}
