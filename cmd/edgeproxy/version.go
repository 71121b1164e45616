package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Stamped by the Makefile with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "none"
)

func versionString() string {
	v, c := version, commit
	if c == "none" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 7 {
					c = s.Value[:7]
				}
			}
		}
	}
	return fmt.Sprintf("edgeproxy %s (commit %s, %s, %s/%s)", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func versionCommand(c *cli, _ []string) error {
	_, err := fmt.Fprintln(c.stdout, versionString())
	return err
}
