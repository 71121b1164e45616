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

// The configurations the harness writes for real routers (the interior with
// its tcpConnectors, an edge as edgeproxy renders it) must be ones the real
// schema accepts, with names unique across entity types.
func TestHarnessConfigsPassSchema(t *testing.T) {
	s, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	in := &Interior{t: t, ID: "interior", edgePort: 45671, mgmtPort: 25672, services: map[string]*Service{}}
	for _, a := range []string{"my-service:8080", "my-tcp-service:5201"} {
		in.services[a] = &Service{Address: a, Name: connectorName(a), Backend: "127.0.0.1:8888"}
	}
	edge := EdgeSpec{ID: "edge-proxy-1", Management: 5672, Uplink: "127.0.0.1:45671", Listeners: []Listener{
		{Name: "my-service", Port: 18080, Address: "my-service:8080"}, {Name: "my-tcp-service", Port: 15201, Address: "my-tcp-service:5201"}}}
	for name, path := range map[string]string{"interior": in.config(), "edge": WriteEdgeConfig(t, edge)} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Check(b); err != nil {
			t.Errorf("%s configuration refused by the schema: %v\n%s", name, err, b)
		}
	}
	// Negative control: the check does refuse a name shared across types.
	edge.Listeners[0].Name = "uplink"
	b, err := os.ReadFile(WriteEdgeConfig(t, edge))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(b); err == nil {
		t.Error("a tcpListener named like the connector passed the schema check")
	}
}
