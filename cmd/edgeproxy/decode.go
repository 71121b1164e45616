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
				durationHook, listenersHook, listenerHook, connectorsHook, connectorHook, uplinksHook, uplinkHook, stringHook, intHook, boolHook,
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
// "[HOST:]PORT=ADDRESS,...".
var listenersHook = listHook(routerconf.ParseListenerSpec, listenerFields,
	"[HOST:]PORT=ADDRESS, e.g. 8080=my-service:8080")

// connectorsHook decodes `connectors`: a YAML list of {name, address, host,
// port} or, as EDGEPROXY_CONNECTORS gives it, a spec string
// "ADDRESS=HOST:PORT,...".
var connectorsHook = listHook(routerconf.ParseConnectorSpec, connectorFields,
	"ADDRESS=HOST:PORT, e.g. my-service:8080=nginx:8080")

// uplinksHook decodes `uplinks`: a YAML list of {name, host, port, tls} or,
// as EDGEPROXY_UPLINKS gives it, a spec string "[NAME=]HOST:PORT,...".
var uplinksHook = listHook(routerconf.ParseUplinkSpec, uplinkFields,
	"[NAME=]HOST:PORT, e.g. interior-a:45671")

// listenerHook decodes one listener: host defaults to 0.0.0.0, and a missing
// port is reported like a null one.
var listenerHook = entryHook[routerconf.Listener](map[string]any{"host": routerconf.DefaultListenerHost, "port": nil}, listenerFields)

// connectorHook decodes one connector: a missing port is reported like a
// null one (a missing host or address is an empty one, which validation
// reports).
var connectorHook = entryHook[routerconf.Connector](map[string]any{"port": nil}, connectorFields)

// uplinkEntryHook decodes one uplink: a missing port is reported like a
// null one.
var uplinkEntryHook = entryHook[routerconf.Uplink](map[string]any{"port": nil}, uplinkFields)

// uplinkHook is uplinkEntryHook with tls.verify_hostname defaulting to true
// (as uplink.tls.verify_hostname) and YAML nulls marked within tls too.
func uplinkHook(from, to reflect.Type, data any) (any, error) {
	if m, ok := data.(map[string]any); ok && to == reflect.TypeFor[routerconf.Uplink]() {
		m = maps.Clone(m)
		tls, isMap := m["tls"].(map[string]any)
		if m["tls"] == nil || isMap {
			tls = maps.Clone(tls)
			if tls == nil {
				tls = map[string]any{}
			}
			if _, ok := tls["verify_hostname"]; !ok {
				tls["verify_hostname"] = true
			}
			for f, value := range tls {
				if value == nil {
					tls[f] = null{}
				}
			}
			m["tls"] = tls
		}
		data = m
	}
	return uplinkEntryHook(from, to, data)
}

// listHook decodes a list of T: a YAML list, or a spec string that parse
// splits into entries (entryForm says what one looks like). A spec entry
// that does not parse becomes its error, which the entry hook reports at
// that entry.
func listHook[T any](parse func(string) []routerconf.SpecEntry[T], fields []string, entryForm string) mapstructure.DecodeHookFuncType {
	return func(_, to reflect.Type, data any) (any, error) {
		if to != reflect.TypeFor[[]T]() {
			return data, nil
		}
		switch v := data.(type) {
		case []T, null:
			return v, nil
		case string:
			var out []any
			for _, e := range parse(v) {
				if e.Err != nil {
					out = append(out, bad(e.Spec, "%v; each entry is %s", e.Err, entryForm))
				} else {
					out = append(out, e.Value)
				}
			}
			return out, nil
		case []any:
			out := make([]any, len(v))
			for i, item := range v {
				out[i] = item
				if item == nil {
					out[i] = null{}
				}
			}
			return out, nil
		default:
			return nil, bad(v, "must be a list of {%s} or a spec string of %s", strings.Join(fields, ", "), entryForm)
		}
	}
}

// entryHook decodes one T from a map: keys missing from it take their value
// in defaults (nil: reported like a null).
func entryHook[T any](defaults map[string]any, fields []string) mapstructure.DecodeHookFuncType {
	return func(_, to reflect.Type, data any) (any, error) {
		if to != reflect.TypeFor[T]() {
			return data, nil
		}
		switch v := data.(type) {
		case T:
			return v, nil
		case *badValue:
			return nil, v
		case map[string]any:
			m := maps.Clone(v)
			for f, def := range defaults {
				if _, ok := m[f]; !ok {
					m[f] = def
				}
			}
			for f, value := range m {
				if value == nil {
					m[f] = null{}
				}
			}
			return m, nil
		default:
			return nil, bad(v, "must be a map with keys %s", strings.Join(fields, ", "))
		}
	}
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
// key was reported) and a null listeners or connectors list empty.
func nullHook(_, _ reflect.Type, data any) (any, error) {
	if _, ok := data.(null); ok {
		return nil, nil
	}
	return data, nil
}
