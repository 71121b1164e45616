package routertest

import (
	"bytes"
	"os"
	"testing"

	"github.com/edgeproxy/edgeproxy/internal/schema"
)

// The fake checks configs against its own copy of the schema (it is
// installed alone into test images); it must be the one edgeproxy's
// rendering is checked against.
func TestFakeSchemaCopyMatches(t *testing.T) {
	data, err := os.ReadFile("testdata/skrouter-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, schema.Embedded()) {
		t.Fatal("testdata/skrouter-schema.json differs from internal/schema/skrouter-schema.json: copy it again")
	}
}
