package main

// runCommand is the container entrypoint. STUB: the supervisor helper
// replaces this file (render, write, supervise, health actors).
func runCommand(c *cli, _ []string) error {
	s, err := c.load()
	if err != nil {
		return err
	}
	_ = s
	return nil
}
