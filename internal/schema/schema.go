// Package schema checks a skrouterd.json against the router's management
// schema (skrouter-schema.json, as a real skrouterd printed it; copied from
// internal/routertest/testdata/skrouter-schema.json). Tests use it to prove that every rendered file
// names only entity types and attributes the router knows, with values of the
// right type and enums within their values.
package schema

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
)

//go:embed skrouter-schema.json
var embedded []byte

// Schema is the part of the router's schema that config files are checked against.
type Schema struct {
	EntityTypes map[string]EntityType `json:"entityTypes"`
}

// EntityType is one entity type of the schema.
type EntityType struct {
	Extends    string               `json:"extends"`
	Attributes map[string]Attribute `json:"attributes"`
}

// Attribute is one attribute definition; Type is a type name or a list of enum values.
type Attribute struct {
	Type     any  `json:"type"`
	Required bool `json:"required"`
	Create   bool `json:"create"`
	Update   bool `json:"update"`
}

// Default returns the embedded schema.
func Default() (*Schema, error) { return Parse(embedded) }

// Embedded returns the embedded schema's bytes.
func Embedded() []byte { return embedded }

// Parse reads a schema document.
func Parse(data []byte) (*Schema, error) {
	var s Schema
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	return &s, nil
}

// attributes returns the attributes of typ and of every type it extends.
func (s *Schema) attributes(typ string) (map[string]Attribute, bool) {
	et, ok := s.EntityTypes[typ]
	if !ok {
		return nil, false
	}
	out := map[string]Attribute{}
	for seen := map[string]bool{}; ok && !seen[typ]; typ = et.Extends {
		seen[typ] = true
		for k, v := range et.Attributes {
			if _, dup := out[k]; !dup {
				out[k] = v
			}
		}
		et, ok = s.EntityTypes[et.Extends]
	}
	return out, true
}

// Check validates a config file (a JSON list of [entityType, attributes])
// and returns every problem found. Names must be unique across entity types,
// as the router requires.
func (s *Schema) Check(config []byte) error {
	var entities [][2]json.RawMessage
	if err := json.Unmarshal(config, &entities); err != nil {
		return fmt.Errorf("config is not a list of [type, attributes]: %w", err)
	}
	var errs []error
	names := map[string]int{}
	for i, raw := range entities {
		var typ string
		var attrs map[string]any
		if err := json.Unmarshal(raw[0], &typ); err != nil {
			errs = append(errs, fmt.Errorf("entity %d: type: %w", i, err))
			continue
		}
		if err := json.Unmarshal(raw[1], &attrs); err != nil {
			errs = append(errs, fmt.Errorf("entity %d (%s): attributes: %w", i, typ, err))
			continue
		}
		defs, ok := s.attributes(typ)
		if !ok {
			errs = append(errs, fmt.Errorf("entity %d: unknown entity type %q", i, typ))
			continue
		}
		keys := make([]string, 0, len(attrs))
		for k := range attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			def, ok := defs[k]
			if !ok {
				errs = append(errs, fmt.Errorf("entity %d (%s): unknown attribute %q", i, typ, k))
				continue
			}
			if !def.Create && !def.Update && !def.Required { // log settings are "update" or required attributes
				errs = append(errs, fmt.Errorf("entity %d (%s): attribute %q cannot be configured", i, typ, k))
			}
			if err := checkValue(def.Type, attrs[k]); err != nil {
				errs = append(errs, fmt.Errorf("entity %d (%s): attribute %q: %w", i, typ, k, err))
			}
		}
		for k, def := range defs {
			if _, has := attrs[k]; def.Required && !has && k != "type" {
				errs = append(errs, fmt.Errorf("entity %d (%s): required attribute %q missing", i, typ, k))
			}
		}
		if name, ok := attrs["name"].(string); ok {
			if j, dup := names[name]; dup {
				errs = append(errs, fmt.Errorf("entity %d (%s): name %q already used by entity %d", i, typ, name, j))
			}
			names[name] = i
		}
	}
	return errors.Join(errs...)
}

func checkValue(typ any, v any) error {
	switch t := typ.(type) {
	case []any:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%v is not one of %v", v, t)
		}
		for _, allowed := range t {
			if allowed == s {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %v", s, t)
	case string:
		switch t {
		case "string", "path":
			if _, ok := v.(string); !ok {
				return fmt.Errorf("%v is not a string", v)
			}
		case "integer":
			switch n := v.(type) {
			case float64:
				if n != float64(int64(n)) {
					return fmt.Errorf("%v is not an integer", v)
				}
			case string:
				if _, err := strconv.Atoi(n); err != nil {
					return fmt.Errorf("%q is not an integer", n)
				}
			default:
				return fmt.Errorf("%v is not an integer", v)
			}
		case "boolean":
			if _, ok := v.(bool); !ok {
				return fmt.Errorf("%v is not a boolean", v)
			}
		case "map", "properties":
			if _, ok := v.(map[string]any); !ok {
				return fmt.Errorf("%v is not a map", v)
			}
		case "list":
			if _, ok := v.([]any); !ok {
				return fmt.Errorf("%v is not a list", v)
			}
		}
	}
	return nil
}
