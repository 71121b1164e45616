package health

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// checks serves /livez or /readyz the way kube-apiserver does: 200 "ok"
// or 503; with ?verbose one "[+]name ok" / "[-]name failed: reason" line
// per check and a closing line; ?exclude=NAME (repeatable) skips a check.
// Without ?verbose a failure still lists the failing checks, with their
// reasons withheld.
func (s *Server) checks(endpoint string, eval func(*Snapshot, time.Time) []Check) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		_, verbose := q["verbose"]
		excluded := map[string]bool{}
		for _, v := range q["exclude"] {
			for _, name := range strings.Split(v, ",") {
				if name = strings.TrimSpace(name); name != "" {
					excluded[name] = false
				}
			}
		}
		var b strings.Builder
		ok := true
		for _, c := range eval(s.src.Snapshot(), s.now()) {
			if _, skip := excluded[c.Name]; skip {
				excluded[c.Name] = true
				if verbose {
					fmt.Fprintf(&b, "[+]%s excluded: ok\n", c.Name)
				}
				continue
			}
			ok = ok && c.OK
			switch {
			case c.OK && verbose && c.Message != "":
				fmt.Fprintf(&b, "[+]%s ok: %s\n", c.Name, oneLine(c.Message))
			case c.OK && verbose:
				fmt.Fprintf(&b, "[+]%s ok\n", c.Name)
			case !c.OK && verbose:
				fmt.Fprintf(&b, "[-]%s failed: %s\n", c.Name, oneLine(c.Message))
			case !c.OK:
				fmt.Fprintf(&b, "[-]%s failed: reason withheld\n", c.Name)
			}
		}
		var unknown []string
		for name, matched := range excluded {
			if !matched {
				unknown = append(unknown, fmt.Sprintf("%q", name))
			}
		}
		if len(unknown) > 0 && verbose {
			slices.Sort(unknown)
			fmt.Fprintf(&b, "warn: some health checks cannot be excluded: no matches for %s\n", strings.Join(unknown, ","))
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		switch {
		case !ok:
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(&b, "%s check failed\n", endpoint)
		case verbose:
			fmt.Fprintf(&b, "%s check passed\n", endpoint)
		default:
			b.Reset()
			b.WriteString("ok")
		}
		_, _ = w.Write([]byte(b.String()))
	}
}

// oneCheck serves /readyz/NAME and /livez/NAME: one check's result.
func (s *Server) oneCheck(eval func(*Snapshot, time.Time) []Check) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("check")
		for _, c := range eval(s.src.Snapshot(), s.now()) {
			if c.Name != name {
				continue
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			if !c.OK {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, "[-]%s failed: %s\n", c.Name, oneLine(c.Message))
				return
			}
			fmt.Fprint(w, "ok")
			return
		}
		http.NotFound(w, r)
	}
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	body, err := json.MarshalIndent(NewStatusDoc(s.src.Snapshot(), s.now()), "", "  ")
	if err != nil {
		s.log.Error("render /status", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(body, '\n'))
}
