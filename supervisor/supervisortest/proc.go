package supervisortest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Proc is one process as /proc/PID/stat shows it.
type Proc struct {
	PID, PPID, PGID int
	State           byte // R, S, D, Z, ...
	Comm            string
}

// Procs lists every process visible in /proc.
func Procs() ([]Proc, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	var ps []Proc
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue // exited meanwhile
		}
		p, err := parseStat(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// parseStat reads "pid (comm) S ppid pgrp ..."; comm may hold spaces and parentheses.
func parseStat(s string) (Proc, error) {
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return Proc{}, fmt.Errorf("unexpected stat %q", s)
	}
	var p Proc
	var err error
	if p.PID, err = strconv.Atoi(strings.TrimSpace(s[:open])); err != nil {
		return Proc{}, err
	}
	p.Comm = s[open+1 : closing]
	f := strings.Fields(s[closing+1:])
	if len(f) < 3 {
		return Proc{}, fmt.Errorf("short stat %q", s)
	}
	p.State = f[0][0]
	if p.PPID, err = strconv.Atoi(f[1]); err != nil {
		return Proc{}, err
	}
	if p.PGID, err = strconv.Atoi(f[2]); err != nil {
		return Proc{}, err
	}
	return p, nil
}

// Descendants returns every process below root (not root itself).
func Descendants(root int) ([]Proc, error) {
	ps, err := Procs()
	if err != nil {
		return nil, err
	}
	children := map[int][]Proc{}
	for _, p := range ps {
		children[p.PPID] = append(children[p.PPID], p)
	}
	var out []Proc
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			out = append(out, c)
			queue = append(queue, c.PID)
		}
	}
	return out, nil
}

// Zombies returns the zombies among root's descendants.
func Zombies(root int) ([]Proc, error) {
	ds, err := Descendants(root)
	if err != nil {
		return nil, err
	}
	var z []Proc
	for _, p := range ds {
		if p.State == 'Z' {
			z = append(z, p)
		}
	}
	return z, nil
}

// GroupMembers returns the processes in process group pgid.
func GroupMembers(pgid int) ([]Proc, error) {
	ps, err := Procs()
	if err != nil {
		return nil, err
	}
	var out []Proc
	for _, p := range ps {
		if p.PGID == pgid {
			out = append(out, p)
		}
	}
	return out, nil
}

// Alive reports whether pid exists (zombies included).
func Alive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}
