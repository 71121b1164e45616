package main

// actor is one member of the run.Group that `edgeproxy run` wires: execute
// runs until done or interrupted; interrupt makes execute return.
type actor struct {
	name      string
	execute   func() error
	interrupt func(error)
}
