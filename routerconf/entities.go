package routerconf

import (
	"fmt"
	"slices"
	"strings"
)

// Entity is one entity of the rendered configuration: its type (short, as
// in skrouterd.json: "tcpListener") and its attributes in rendering order,
// so nothing depends on map iteration.
type Entity struct {
	Type  string
	Attrs []Attr
}

// Attr is one attribute of an Entity.
type Attr struct {
	Key   string
	Value any
}

func (e *Entity) set(key string, value any) { e.Attrs = append(e.Attrs, Attr{key, value}) }

// Get returns the value of attribute key, and whether it is set.
func (e Entity) Get(key string) (any, bool) {
	for _, a := range e.Attrs {
		if a.Key == key {
			return a.Value, true
		}
	}
	return nil, false
}

// Name is the entity's management name: its name attribute, or for a log
// entity "log/MODULE", as the router names it (READ or UPDATE by that name).
func (e Entity) Name() string {
	if e.Type == "log" {
		m, _ := e.Get("module")
		return fmt.Sprintf("log/%v", m)
	}
	n, _ := e.Get("name")
	s, _ := n.(string)
	return s
}

// Key identifies the entity among the rendered ones: type and name.
func (e Entity) Key() string { return e.Type + "/" + e.Name() }

// Map returns the attributes as a map (a management CREATE body), without
// the name (it travels as the request's name).
func (e Entity) Map() map[string]any {
	m := make(map[string]any, len(e.Attrs))
	for _, a := range e.Attrs {
		if a.Key != "name" {
			m[a.Key] = a.Value
		}
	}
	return m
}

// String renders the entity briefly for logs: tcpListener/web(host=..., port=...).
func (e Entity) String() string {
	var parts []string
	for _, a := range e.Attrs {
		if a.Key != "name" {
			parts = append(parts, fmt.Sprintf("%s=%v", a.Key, a.Value))
		}
	}
	return e.Key() + "(" + strings.Join(parts, ", ") + ")"
}

// Entities validates c and returns the entities Render writes, in the same
// order. Live reconfiguration diffs the entities of two configurations.
func Entities(c Config) ([]Entity, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("render router config: %w", err)
	}
	return entities(c), nil
}

// RuntimeTypes are the entity types the router creates and deletes at run
// time over management (CREATE and DELETE in its schema) and that a change
// of configuration applies that way; a changed one is deleted and created
// again (the schema allows UPDATE of none of their rendered attributes).
var RuntimeTypes = []string{"tcpListener", "tcpConnector"}

// updatable are, per entity type, the attributes the router's schema lets
// an UPDATE change (skrouter.json, "update": true): a change of only these
// is applied in place. Any other change of an entity that is not of a
// RuntimeType needs a restart of the router.
var updatable = map[string][]string{
	"sslProfile": {"caCertFile", "certFile", "privateKeyFile", "ordinal"},
	"log":        {"enable"},
}

// Plan is how the router gets from one rendered configuration to another.
type Plan struct {
	// Delete and Create are the runtime entities that went away or changed
	// (Delete, in reverse rendering order) and the new or changed ones
	// (Create, in rendering order): DELETE them, then CREATE.
	Delete []Entity
	Create []Entity
	// Update are in-place changes: the entity as it now is, and Changed,
	// the attributes whose values changed (an UPDATE body).
	Update []Update
	// Restart lists why the change cannot be made at run time, one reason
	// per entity; empty when it can.
	Restart []string
}

// Update is one in-place change.
type Update struct {
	Entity  Entity
	Changed map[string]any
}

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool {
	return len(p.Delete) == 0 && len(p.Create) == 0 && len(p.Update) == 0 && len(p.Restart) == 0
}

// Diff compares the entities rendered for the running configuration (old)
// with those for the new one (new) and says how to apply the change.
func Diff(old, new []Entity) Plan {
	var p Plan
	before := map[string]Entity{}
	for _, e := range old {
		before[e.Key()] = e
	}
	after := map[string]bool{}
	for _, e := range new {
		after[e.Key()] = true
		prev, had := before[e.Key()]
		runtime := slices.Contains(RuntimeTypes, e.Type)
		switch {
		case had && equalAttrs(prev, e):
		case runtime:
			if had {
				p.Delete = append(p.Delete, prev)
			}
			p.Create = append(p.Create, e)
		case !had:
			p.Restart = append(p.Restart, fmt.Sprintf("%s is new", e.Key()))
		default:
			changed, fixed := changes(prev, e)
			if len(fixed) > 0 {
				p.Restart = append(p.Restart, fmt.Sprintf("%s: %s changed (the router cannot change that at run time)", e.Key(), strings.Join(fixed, ", ")))
			} else {
				p.Update = append(p.Update, Update{Entity: e, Changed: changed})
			}
		}
	}
	for i := len(old) - 1; i >= 0; i-- {
		e := old[i]
		if after[e.Key()] {
			continue
		}
		if slices.Contains(RuntimeTypes, e.Type) {
			p.Delete = append(p.Delete, e)
		} else {
			p.Restart = append(p.Restart, fmt.Sprintf("%s is gone", e.Key()))
		}
	}
	return p
}

// changes returns the attributes of b that differ from a's: the updatable
// ones with their new values, and the names of the others (set, changed or
// removed), in rendering order.
func changes(a, b Entity) (map[string]any, []string) {
	changed := map[string]any{}
	var fixed []string
	keys := attrKeys(a, b)
	for _, k := range keys {
		va, oka := a.Get(k)
		vb, okb := b.Get(k)
		if oka == okb && fmt.Sprint(va) == fmt.Sprint(vb) {
			continue
		}
		if okb && slices.Contains(updatable[b.Type], k) {
			changed[k] = vb
			continue
		}
		fixed = append(fixed, k)
	}
	return changed, fixed
}

// attrKeys are the attribute names of a and b, a's first, each once.
func attrKeys(a, b Entity) []string {
	var keys []string
	for _, e := range []Entity{a, b} {
		for _, at := range e.Attrs {
			if !slices.Contains(keys, at.Key) {
				keys = append(keys, at.Key)
			}
		}
	}
	return keys
}

// equalAttrs reports whether a and b have the same attributes and values.
func equalAttrs(a, b Entity) bool {
	changed, fixed := changes(a, b)
	return len(changed) == 0 && len(fixed) == 0
}
