package main

import "errors"

// healthcheckCommand GETs /readyz (or /livez). STUB: the health helper fills it in.
func healthcheckCommand(c *cli, _ []string) error {
	return errors.New("healthcheck: not implemented yet")
}
