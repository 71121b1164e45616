package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeproxy/edgeproxy/internal/schema"
	"github.com/edgeproxy/edgeproxy/routerconf"
)

// FuzzLoadRender feeds arbitrary YAML and listener specs to the loader and
// renderer: they must never panic, and whatever loads must render, pass
// validation and the router's schema, and render identically twice.
func FuzzLoadRender(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/render/*.yaml")
	for _, s := range seeds {
		data, _ := os.ReadFile(s)
		f.Add(data, "")
	}
	f.Add([]byte(""), "8080=my-service:8080,5201=my-tcp-service:5201")
	f.Add([]byte("router: {management: '[::1]:1'}\n"), "[::]:80=a,1=b")
	f.Add([]byte("listeners: [{port: 1.5, address: x}]"), "")
	f.Add([]byte("uplink: {port: '45671'}\nhealth: {interval: 1ms}"), "65535=z/y.x_w-v:1")
	sch, err := schema.Default()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, yml []byte, spec string) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, yml, 0o600); err != nil {
			t.Fatal(err)
		}
		env := []string{"EDGEPROXY_ROUTER__ID=fuzz"}
		if spec != "" {
			env = append(env, "EDGEPROXY_LISTENERS="+spec)
		}
		s, err := loadSettings(path, env)
		if err != nil {
			return
		}
		if err := s.Router.Validate(); err != nil {
			t.Fatalf("loaded settings fail validation: %v", err)
		}
		out, err := routerconf.Render(s.Router)
		if err != nil {
			t.Fatalf("loaded settings do not render: %v", err)
		}
		again, _ := routerconf.Render(s.Router)
		if !bytes.Equal(out, again) {
			t.Fatalf("render is not deterministic")
		}
		if err := sch.Check(out); err != nil {
			t.Fatalf("rendered config fails the schema: %v\n%s", err, out)
		}
	})
}
