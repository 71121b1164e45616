package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const docsHint = "Configuration reference: docs/configuration.md (every key, its EDGEPROXY_ variable and default)."

// cli is what a command runs with: its options, environment and streams.
type cli struct {
	opts    options
	environ []string
	stdout  io.Writer
	stderr  io.Writer
}

// options are the flags; each command registers the ones it takes.
type options struct {
	configFile string
	logFormat  string
	live       bool
}

type command struct {
	name     string
	summary  string
	flags    func(fs *flag.FlagSet, o *options)
	run      func(c *cli, args []string) error
	longHelp string
}

func commands() []command {
	return []command{
		{name: "run", summary: "render the config, supervise skrouterd and serve health (container entrypoint)", flags: configFlags, run: runCommand,
			longHelp: "Renders router.config_file, launches router.binary -c router.config_file in its own process group,\nrestarts it with backoff, stops it gracefully on SIGTERM/SIGINT and serves /livez /readyz /status /metrics on health.listen."},
		{name: "render", summary: "print the rendered skrouterd.json on stdout", flags: configFlags, run: renderCommand,
			longHelp: "Prints the edge-mode skrouterd.json that `run` would write, and nothing else."},
		{name: "healthcheck", summary: "exit 0 when ready, 1 otherwise (for HEALTHCHECK)", flags: healthcheckFlags, run: healthcheckCommand,
			longHelp: "GETs /readyz (or /livez with --live) on health.listen; prints the reasons on failure; finishes within 2s."},
		{name: "version", summary: "print version, commit and Go version", flags: func(*flag.FlagSet, *options) {}, run: versionCommand},
	}
}

func configFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.configFile, "config", "", "YAML configuration `file` (default: $EDGEPROXY_CONFIG; optional)")
	fs.StringVar(&o.logFormat, "log-format", "", "log format: text or json (default: $EDGEPROXY_LOG__FORMAT, else text)")
}

func healthcheckFlags(fs *flag.FlagSet, o *options) {
	configFlags(fs, o)
	fs.BoolVar(&o.live, "live", false, "check /livez instead of /readyz")
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// realMain runs the command named by args and returns the exit code.
func realMain(args, environ []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout, cmds)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	var cmd *command
	for i := range cmds {
		if cmds[i].name == args[0] {
			cmd = &cmds[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "edgeproxy: unknown command %q\n\n", args[0])
		printUsage(stderr, cmds)
		return exitUsage
	}
	c := &cli{environ: environ, stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("edgeproxy "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cmd.flags(fs, &c.opts)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: edgeproxy %s [flags]\n\n%s\n", cmd.name, cmd.summary)
		if cmd.longHelp != "" {
			fmt.Fprintf(out, "\n%s\n", cmd.longHelp)
		}
		fmt.Fprintf(out, "\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(out, "\n%s\n", docsHint)
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "edgeproxy %s: unexpected arguments: %s\n", cmd.name, strings.Join(fs.Args(), " "))
		return exitUsage
	}
	if c.opts.logFormat != "" && c.opts.logFormat != "text" && c.opts.logFormat != "json" {
		fmt.Fprintf(stderr, "edgeproxy %s: --log-format must be text or json (got %q)\n", cmd.name, c.opts.logFormat)
		return exitUsage
	}
	return exitCode(stderr, cmd.name, cmd.run(c, fs.Args()))
}

// exitError carries a specific exit code (for example the router's, or 1
// when edgeproxy gave up on it) whose reason has already been logged.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit code %d", e.code) }

func exitCode(stderr io.Writer, name string, err error) int {
	var ce *configError
	var ee *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ce):
		fmt.Fprintf(stderr, "edgeproxy %s: invalid configuration:\n", name)
		for _, line := range strings.Split(ce.Error(), "\n") {
			fmt.Fprintf(stderr, "  %s\n", line)
		}
		fmt.Fprintf(stderr, "%s\n", docsHint)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "edgeproxy %s: %v\n", name, err)
		return exitFailure
	}
}

func printUsage(w io.Writer, cmds []command) {
	fmt.Fprintf(w, "edgeproxy runs skupper-router in edge mode as a container's service proxy.\n\nUsage: edgeproxy COMMAND [flags]\n\nCommands:\n")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'edgeproxy COMMAND --help' for its flags.\n%s\n", docsHint)
}

// load reads the settings for a command, honouring --config and --log-format.
func (c *cli) load() (*settings, error) {
	s, err := loadSettings(c.opts.configFile, c.environ)
	if err != nil {
		return nil, err
	}
	if c.opts.logFormat != "" {
		s.Log.Format = c.opts.logFormat
	}
	return s, nil
}
