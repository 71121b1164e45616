// Package jsonl reads files of JSON lines that another process may still be
// appending to (the test routers' records).
package jsonl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// Read decodes the complete lines of path as T, in order: a last line with
// no newline yet is being written and is left out; a complete line that
// does not decode is an error. A file that does not exist has no lines.
func Read[T any](path string) ([]T, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, '\n')
	if i < 0 {
		return nil, nil
	}
	var out []T
	for _, line := range bytes.Split(b[:i], []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(line, &v); err != nil {
			return nil, fmt.Errorf("%s: line %q: %w", path, line, err)
		}
		out = append(out, v)
	}
	return out, nil
}
