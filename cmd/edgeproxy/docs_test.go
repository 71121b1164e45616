package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The package doc and docs/configuration.md are the configuration
// reference: every key must be there with its variable and its default, so
// the reference cannot drift from defaults().
func TestConfigurationReferenceComplete(t *testing.T) {
	pkgDoc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for key, def := range defaults() {
		env := envName(key)
		if key == "router.id" || key == "listeners" || key == "connectors" || key == "uplinks" {
			def = nil // host name / no default (an empty list): described in words
		}
		for name, doc := range map[string]string{"doc.go": string(pkgDoc), "docs/configuration.md": string(ref)} {
			line := lineWith(doc, env)
			if line == "" {
				t.Errorf("%s: %s (%s) is not documented", name, key, env)
				continue
			}
			if s := fmt.Sprint(def); def != nil && s != "" && !regexp.MustCompile(`(^|[\s|`+"`"+`])`+regexp.QuoteMeta(s)+`($|[\s|`+"`"+`])`).MatchString(line) {
				t.Errorf("%s: the line for %s does not give its default %q:\n%s", name, env, s, line)
			}
		}
	}
}

func lineWith(doc, word string) string {
	for _, l := range strings.Split(doc, "\n") {
		if regexp.MustCompile(`(^|[^A-Z_])` + word + `([^A-Z_]|$)`).MatchString(l) {
			return l
		}
	}
	return ""
}
