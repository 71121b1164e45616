package mgmt

import (
	"fmt"
	"strconv"

	"github.com/Azure/go-amqp"
)

// Record is one entity: attribute name → value as decoded from AMQP (nil
// for null). Its accessors convert the router's types.
type Record map[string]any

// String returns the attribute as a string ("" when absent or null).
// Numbers are formatted, so a port given as 18080 or "18080" reads alike.
func (r Record) String(name string) string {
	switch v := r[name].(type) {
	case nil:
		return ""
	case string:
		return v
	case amqp.Symbol:
		return string(v)
	default:
		if n, ok := toInt64(v); ok {
			return strconv.FormatInt(n, 10)
		}
		return fmt.Sprint(v)
	}
}

// Int returns the attribute as an integer: AMQP integers of any width, or
// a string of digits (the router gives ports as strings). ok is false when
// absent, null or not a number.
func (r Record) Int(name string) (n int64, ok bool) {
	v := r[name]
	if s, isStr := v.(string); isStr {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	return toInt64(v)
}

// Bool returns the attribute as a boolean (false when absent or null).
func (r Record) Bool(name string) bool {
	b, _ := r[name].(bool)
	return b
}
