package routertest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The GET-* answers are compared with captures/a-link-up/get-*.json (copied
// to testdata/captures), as skmanage printed them.
func TestManagementGetOperations(t *testing.T) {
	t.Parallel()
	e, _ := edgeWith(t, "", Controls{})
	m := e.Dial(t)
	for _, tc := range []struct{ op, file string }{
		{"GET-TYPES", "get-types.json"},
		{"GET-ATTRIBUTES", "get-attributes.json"},
		{"GET-OPERATIONS", "get-operations.json"},
		{"GET-MGMT-NODES", "get-mgmt-nodes.json"},
		{"GET-ANNOTATIONS", "get-annotations.json"},
	} {
		t.Run(tc.op, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "captures", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var want any
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			r, err := m.Request(ctxT(t), map[string]any{"operation": tc.op, "type": "org.amqp.management", "name": "self"}, map[string]any{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 200 {
				t.Fatalf("%s: %d %s", tc.op, r.Status, r.Description)
			}
			got := jsonish(r.Body)
			if !reflect.DeepEqual(got, want) {
				gb, _ := json.Marshal(got)
				t.Errorf("%s differs from the capture:\n got %.600s\nwant %.600s", tc.op, gb, b)
			}
		})
	}
}

// jsonish converts an AMQP value to what encoding/json would decode.
func jsonish(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = jsonish(e)
		}
		return out
	case map[any]any:
		out := map[string]any{}
		for k, e := range x {
			out[k.(string)] = jsonish(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonish(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case int32, int64, uint32, uint64, int:
		b, _ := json.Marshal(x)
		var f float64
		json.Unmarshal(b, &f)
		return f
	}
	return v
}
