package routerconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeproxy/edgeproxy/internal/problems"
)

// Files the router would refuse when it creates the sslProfile are refused
// at start, naming the key; the committed test files pass (negative control).
func TestValidateTLSFiles(t *testing.T) {
	t.Parallel()
	good := TLS{CAFile: "../cmd/edgeproxy/testdata/tls/ca.crt", CertFile: "../cmd/edgeproxy/testdata/tls/tls.crt", KeyFile: "../cmd/edgeproxy/testdata/tls/tls.key"}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	placeholder := write("placeholder.crt", "# not a certificate\n")
	encrypted := write("enc.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
	otherKey := write("other.key", "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n")
	for _, tt := range []struct {
		name string
		tls  TLS
		want string // "" = no problem
	}{
		{"committed test files", good, ""},
		{"CA file without a certificate", TLS{CAFile: placeholder}, "uplink.tls.ca_file: holds no PEM certificate"},
		{"encrypted key", TLS{CAFile: good.CAFile, CertFile: good.CertFile, KeyFile: encrypted}, "uplink.tls.key_file: is encrypted"},
		{"key of another certificate", TLS{CAFile: good.CAFile, CertFile: good.CertFile, KeyFile: otherKey}, "uplink.tls: cert_file and key_file do not load as a certificate and its key"},
		{"certificate file that is none", TLS{CAFile: good.CAFile, CertFile: placeholder, KeyFile: good.KeyFile}, "uplink.tls: cert_file and key_file do not load"},
	} {
		var p problems.List
		validateTLSFiles(&p, "uplink.tls", tt.tls)
		got := ""
		if err := p.Err(); err != nil {
			got = err.Error()
		}
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
