package schema

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// captureSchema is the schema the real router printed (GET-SCHEMA, skupper-router
// main e2ec51a4), as the router test harness keeps it.
const captureSchema = "../routertest/testdata/skrouter-schema.json"

// The embedded copy must be the schema the real router printed.
func TestEmbeddedMatchesCapture(t *testing.T) {
	captured, err := os.ReadFile(captureSchema)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(captured, Embedded()) {
		t.Fatalf("internal/schema/skrouter-schema.json differs from %s: copy it again", captureSchema)
	}
}

// Configs the real router accepted pass; configs it refused for schema
// reasons fail, naming the reason.
func TestCheckAgainstRealRouterVerdicts(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	// testdata/accepted: configs the real router started with;
	// ../routertest/testdata/invalid: configs it refused (with their outputs
	// there as the harness tests follow them).
	for _, name := range []string{"edge.json", "interior.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "accepted", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Check(data); err != nil {
			t.Errorf("%s was accepted by the real router but fails the check: %v", name, err)
		}
	}
	refused := map[string]string{
		"01-json-syntax-error.json":       "not a list",
		"02-unknown-entity-type.json":     "unknown entity type",
		"03-unknown-attribute.json":       "unknown attribute",
		"04-bad-enum-value.json":          "is not one of",
		"10-duplicate-listener-name.json": "already used",
		"11-bad-attribute-type.json":      "is not",
	}
	for file, want := range refused {
		data, err := os.ReadFile(filepath.Join("..", "routertest", "testdata", "invalid", file))
		if err != nil {
			t.Fatal(err)
		}
		err = s.Check(data)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", file, err, want)
		}
	}
}
