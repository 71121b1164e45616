package main

import (
	"github.com/edgeproxy/edgeproxy/routerconf"
)

// renderCommand prints the rendered skrouterd.json and nothing else.
func renderCommand(c *cli, _ []string) error {
	s, err := c.load()
	if err != nil {
		return err
	}
	data, err := routerconf.Render(s.Router)
	if err != nil {
		return &configError{err}
	}
	_, err = c.stdout.Write(data)
	return err
}
