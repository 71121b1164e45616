package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeproxy/edgeproxy/internal/routertest"
	"github.com/edgeproxy/edgeproxy/internal/schema"
	"github.com/edgeproxy/edgeproxy/routerconf"
)

var update = flag.Bool("update", false, "rewrite testdata/render/*.golden.json")

// Each testdata/render/*.yaml renders to its .golden.json, byte for byte,
// and every golden file passes the router's schema.
func TestRenderGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/render/*.yaml")
	if err != nil || len(inputs) < 4 {
		t.Fatalf("want at least 4 golden inputs, got %v (%v)", inputs, err)
	}
	sch, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".yaml")
		t.Run(name, func(t *testing.T) {
			s, err := loadSettings(in, nil)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			got, err := routerconf.Render(s.Router)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			golden := strings.TrimSuffix(in, ".yaml") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/edgeproxy -run TestRenderGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("render differs from %s:\n got: %s\nwant: %s", golden, got, want)
			}
			if err := sch.Check(want); err != nil {
				t.Errorf("%s fails the router schema:\n%v", golden, err)
			}
		})
	}
}

// The render command prints exactly the rendered config and nothing else.
func TestRenderCommandStdoutOnly(t *testing.T) {
	var stdout, stderr bytes.Buffer
	env := []string{"EDGEPROXY_LISTENERS=8080=my-service:8080,5201=my-tcp-service:5201", "EDGEPROXY_ROUTER__ID=edge-proxy-1"}
	if code := realMain([]string{"render"}, env, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr.String())
	}
	want, err := os.ReadFile("testdata/render/seed.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if stdout.String() != string(want) {
		t.Errorf("stdout:\n%s\nwant (seed golden):\n%s", stdout.String(), want)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr should be empty, got %q", stderr.String())
	}
}

// TestRenderGoldenStartsRealRouter: every golden file is a configuration a
// real skrouterd starts with (the schema check above is not proof: the
// golden files are written by Render itself). It needs a real router
// (SKROUTERD) and skips without one.
func TestRenderGoldenStartsRealRouter(t *testing.T) {
	routertest.RequireReal(t, "only the real router's own loader is proof")
	goldens, err := filepath.Glob("testdata/render/*.golden.json")
	if err != nil || len(goldens) < 4 {
		t.Fatalf("want at least 4 golden files, got %v (%v)", goldens, err)
	}
	for _, g := range goldens {
		t.Run(filepath.Base(g), func(t *testing.T) {
			t.Parallel()
			abs, err := filepath.Abs(g)
			if err != nil {
				t.Fatal(err)
			}
			p := routertest.StartProcess(t, routertest.Binary(t, routertest.Controls{}), abs)
			p.WaitLog(t, "SERVER (info) Operational", routertest.StartTimeout)
			if p.HasLog("Router start-up failed") || p.Exited() {
				t.Fatalf("the router refused %s:\n%s", g, strings.Join(p.Stderr(), "\n"))
			}
			if st := p.Stop(10 * time.Second); st == nil || st.ExitCode() != 0 {
				t.Errorf("router did not stop cleanly: %v", st)
			}
		})
	}
}
