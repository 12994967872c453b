// Command presign issues short-lived presigned URLs for S3-compatible object
// storage: an HTTP server (serve), a zero-config local stack on an embedded
// store (dev), a local signer (url) and version.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"presign.dev/internal/config"
)

// version and commit are set at build time with -ldflags
// "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD)"; without
// commit, the VCS revision Go stamps into a build from a checkout is used.
var version, commit = "dev", ""

const usage = `presign issues short-lived presigned URLs for S3-compatible object storage.

Usage:
  presign serve [--addr ADDR] [--config FILE]
                                          run the HTTP API (config from the environment and FILE)
  presign dev [--addr 127.0.0.1:8080] [--s3-addr 127.0.0.1:9000] [--data DIR] [--webhook URL]
                                          run a local stack on an embedded S3 store
  presign url [--op OP] [--content-type TYPE] [--content-length N] [--filename NAME]
              [--expires DURATION] [--backend NAME] [--config FILE] [-o url|json] KEY
                                          sign one URL locally and print it (--op list: KEY is the prefix)
  presign config check [--lambda] [FILE]  validate the configuration as the service does, print it with secrets redacted
  presign policy explain [--config FILE] [--lambda] --as WHO --op OP [--key KEY] [--prefix PREFIX] [--backend NAME]
              [--content-type TYPE] [--content-length N] [--filename NAME] [--metadata K=V,...]
              [--expires DURATION] [--groups G1,G2] [--claims NAME=VALUE,...]
                                          would this caller be allowed this request, by which rule?
                                          (WHO: anonymous, api_key:NAME, jwt:SUB or iam:ARN)
  presign doctor [--config FILE] [--backend NAME] [--origin URL] [-o text|json]
                                          check each backend from the outside (credentials, clock, bucket CORS,
                                          POST, conditional writes, unsigned headers) and print what to fix
  presign version                         print version, commit and Go version

Run 'presign COMMAND --help' for a command's flags. Configuration variables
(PRESIGN_S3_BUCKET, AWS_ACCESS_KEY_ID, PRESIGN_API_KEYS, ...) are listed in the README.
`

// cli is one invocation: its I/O, environment and randomness are inputs so
// tests can drive it.
type cli struct {
	stdout, stderr io.Writer
	lookup         config.Lookup
	random         io.Reader
	// ready, when set, is called once the command serves, with its API URL.
	ready func(apiURL string)
	// wrap, when set, wraps the served handler (tests observe requests in flight).
	wrap func(http.Handler) http.Handler
	// reload: serve reloads its configuration for every value (SIGHUP).
	reload <-chan os.Signal
	// hurry: a value while serve drains cuts the rest of the shutdown
	// delay short (a second SIGTERM or SIGINT).
	hurry <-chan os.Signal
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, lookup: os.LookupEnv, random: rand.Reader}
	// The first SIGTERM or SIGINT ends ctx (serve drains); the next one is
	// serve's hurry (the rest of the shutdown delay is skipped).
	ctx, cancel := context.WithCancel(context.Background())
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-term
		cancel()
	}()
	c.hurry = term
	// SIGHUP reloads serve's configuration; other commands keep its default
	// (a hangup ends them).
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		c.reload = hup
	}
	status := c.main(ctx, os.Args[1:])
	signal.Reset(syscall.SIGTERM, os.Interrupt, syscall.SIGHUP)
	cancel()
	os.Exit(status)
}

// main runs args, reports an error on stderr and returns the exit status:
// 0 (also for --help), 1 for a failure, 2 for a mistake on the command line.
// A mistake is reported in two lines, the error and where to find the usage;
// only a missing command prints the whole usage.
func (c *cli) main(ctx context.Context, args []string) int {
	err := c.run(ctx, args)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		if len(args) == 0 {
			fmt.Fprintf(c.stderr, "presign: %v\n\n%s", err, usage)
		} else {
			fmt.Fprintf(c.stderr, "presign: %v\nRun '%s --help' for usage.\n", err, commandName(args))
		}
		return 2
	default:
		fmt.Fprintf(c.stderr, "presign: %v\n", err)
		return 1
	}
}

// commandName is the command args invoke, as typed before --help
// ("presign policy explain"), or "presign" when there is none.
func commandName(args []string) string {
	switch {
	case len(args) == 0:
	case args[0] == "serve", args[0] == "dev", args[0] == "url", args[0] == "doctor":
		return "presign " + args[0]
	case len(args) > 1 && (args[0] == "config" && args[1] == "check" || args[0] == "policy" && args[1] == "explain"):
		return "presign " + args[0] + " " + args[1]
	}
	return "presign"
}

func (c *cli) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{"a command is required"}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return c.serve(ctx, rest)
	case "dev":
		return c.dev(ctx, rest)
	case "url":
		return c.url(rest)
	case "config":
		return c.configCmd(rest)
	case "policy":
		return c.policyCmd(rest)
	case "doctor":
		return c.doctorCmd(ctx, rest)
	case "version", "--version", "-version":
		fmt.Fprintln(c.stdout, versionLine())
		return nil
	case "help", "--help", "-help", "-h":
		fmt.Fprint(c.stdout, usage)
		return nil
	default:
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

// newFlagSet returns a flag set whose -help prints a usage line and the flags
// (on stderr).
func (c *cli) newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: presign %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, allowing flags after positional arguments
// ("presign url KEY -o json"). On a mistake it prints nothing and returns a
// usageError (the flag package's own report, the error and the whole flag
// list, is silenced); -help prints the flag set's usage and returns
// flag.ErrHelp.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	out, help := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	defer func() { fs.SetOutput(out); fs.Usage = help }()
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(out)
				help()
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func versionLine() string {
	rev := commit
	if bi, ok := debug.ReadBuildInfo(); ok && rev == "" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	return fmt.Sprintf("presign %s (commit %s, %s %s/%s)", version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// configError formats every configuration problem on its own line.
func configError(err error) error {
	return fmt.Errorf("invalid configuration:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
}
