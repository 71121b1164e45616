package routerconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/edgeproxy/edgeproxy/internal/problems"
)

// validateTLSFiles checks what the router will do with the uplink's TLS
// files when it creates the sslProfile: a CA file without a certificate, or
// a certificate and key that do not load as a pair, make skrouterd refuse
// its whole configuration ("Failed to configure TLS caCertFile ..."), and
// edgeproxy has no password to give an encrypted key. Each problem names
// its key (under key, e.g. uplinks[1].tls); files that do not exist were reported already.
func validateTLSFiles(p *problems.List, key string, t TLS) {
	if t.CAFile != "" && fileExists(t.CAFile) {
		if why := caProblem(t.CAFile); why != "" {
			p.Add(key+".ca_file", t.CAFile, "%s", why)
		}
	}
	if t.CertFile == "" || t.KeyFile == "" || !fileExists(t.CertFile) || !fileExists(t.KeyFile) {
		return
	}
	if why := keyProblem(t.KeyFile); why != "" {
		p.Add(key+".key_file", t.KeyFile, "%s", why)
		return
	}
	if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
		p.Add(key, fmt.Sprintf("cert_file=%q key_file=%q", t.CertFile, t.KeyFile),
			"cert_file and key_file do not load as a certificate and its key: %v", err)
	}
}

// caProblem says why path is no usable CA bundle, or "".
func caProblem(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "cannot be read: " + err.Error()
	}
	n := 0
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return "holds a certificate that does not parse: " + err.Error()
		}
		n++
	}
	if n == 0 {
		return "holds no PEM certificate (-----BEGIN CERTIFICATE-----): the router could not load it"
	}
	return ""
}

// keyProblem says why the key file cannot be used without a password, or "".
func keyProblem(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "cannot be read: " + err.Error()
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return "holds no PEM private key (-----BEGIN PRIVATE KEY-----)"
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
			return "is encrypted: edgeproxy gives the router no password; use an unencrypted key (mode 0600)"
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			return ""
		}
	}
}
