package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestDialAddress(t *testing.T) {
	tests := []struct{ listen, want string }{
		{"127.0.0.1:9090", "127.0.0.1:9090"},
		{"0.0.0.0:9090", "127.0.0.1:9090"},
		{"[::]:9090", "[::1]:9090"},
		{":9090", "127.0.0.1:9090"},
		{"[::1]:9090", "[::1]:9090"},
		{"localhost:9090", "localhost:9090"},
		{"10.1.2.3:9090", "10.1.2.3:9090"},
	}
	for _, tt := range tests {
		if got := dialAddress(tt.listen); got != tt.want {
			t.Errorf("dialAddress(%q) = %q, want %q", tt.listen, got, tt.want)
		}
	}
}

// healthStub answers /readyz and /livez with the given statuses, and
// records the query it was asked with.
func healthStub(t *testing.T, ready, live int) (*httptest.Server, *string) {
	t.Helper()
	var query string
	mux := http.NewServeMux()
	answer := func(code int, name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			query = r.URL.RawQuery
			w.WriteHeader(code)
			if code == http.StatusOK {
				w.Write([]byte("[+]" + name + " ok\n" + r.URL.Path[1:] + " check passed\n"))
				return
			}
			w.Write([]byte("[-]edge-link failed: CONNECTING: Connection to host.docker.internal:45671 failed: refused\n" + r.URL.Path[1:] + " check failed\n"))
		}
	}
	mux.HandleFunc("GET /readyz", answer(ready, "edge-link"))
	mux.HandleFunc("GET /livez", answer(live, "supervisor"))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &query
}

func runHealthcheck(t *testing.T, listen string, args ...string) (code int, stdout, stderr string, took time.Duration) {
	t.Helper()
	var out, errb bytes.Buffer
	env := []string{"EDGEPROXY_HEALTH__LISTEN=" + listen, seedListeners}
	start := time.Now()
	code = realMain(append([]string{"healthcheck"}, args...), env, &out, &errb)
	return code, out.String(), errb.String(), time.Since(start)
}

func TestHealthcheckExitCodes(t *testing.T) {
	tests := []struct {
		name        string
		ready, live int
		args        []string
		code        int
		stdout      string
		stderr      string
	}{
		{"ready", 200, 200, nil, 0, "[+]edge-link ok", ""},
		{"not ready", 503, 200, nil, 1, "", "[-]edge-link failed: CONNECTING: Connection to host.docker.internal:45671 failed"},
		{"live while not ready", 503, 200, []string{"--live"}, 0, "[+]supervisor ok", ""},
		{"not live", 200, 503, []string{"--live"}, 1, "", "HTTP 503"},
		{"unexpected status", 500, 200, nil, 1, "", "HTTP 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, query := healthStub(t, tt.ready, tt.live)
			code, stdout, stderr, _ := runHealthcheck(t, strings.TrimPrefix(srv.URL, "http://"), tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (stdout %q, stderr %q)", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stdout %q stderr %q, want %q and %q", stdout, stderr, tt.stdout, tt.stderr)
			}
			if *query != "verbose" {
				t.Errorf("asked with query %q, want verbose", *query)
			}
		})
	}
}

// TestHealthcheckWildcardListen: health.listen 0.0.0.0:PORT is dialled on loopback.
func TestHealthcheckWildcardListen(t *testing.T) {
	srv, _ := healthStub(t, 200, 200)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	if code, _, stderr, _ := runHealthcheck(t, "0.0.0.0:"+port); code != 0 {
		t.Errorf("exit code %d: %s", code, stderr)
	}
}

// TestHealthcheckNothingAnswers: exit 1 within 2 s whether nothing listens
// (refused) or a server accepts and never answers.
func TestHealthcheckNothingAnswers(t *testing.T) {
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close() // nothing listens there now

	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts (backlog), never answers
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })

	for name, addr := range map[string]string{"refused": refusedAddr, "silent": silent.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr, took := runHealthcheck(t, addr)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			// The bound that matters: the compose healthcheck's timeout (3 s),
			// after which the engine would kill the check; its own is shorter.
			if took >= 3*time.Second {
				t.Errorf("took %s, must finish within the compose healthcheck's 3s", took)
			}
			if !strings.Contains(stderr, "edgeproxy healthcheck: http://"+addr+"/readyz?verbose") {
				t.Errorf("stderr %q does not say what failed", stderr)
			}
			t.Logf("%s: exit %d after %s: %s", name, code, took.Round(time.Millisecond), strings.TrimSpace(stderr))
		})
	}
}

func TestHealthcheckBadConfig(t *testing.T) {
	if code, _, stderr, _ := runHealthcheck(t, "not-an-address"); code != exitUsage || !strings.Contains(stderr, "health.listen") {
		t.Errorf("exit code %d, stderr %q; want 2 naming health.listen", code, stderr)
	}
}
