package main

import (
	"context"
	"fmt"
	"time"

	"presign.dev/internal/doctor"
)

// doctorCmd serves "presign doctor": check each backend of the
// configuration (as serve loads it) from the outside and print what to
// fix. Exit status 0 when every check is ok or warn, 1 when one fails, 2
// for a mistake on the command line or in the configuration.
func (c *cli) doctorCmd(ctx context.Context, args []string) error {
	fs := c.newFlagSet("doctor", "doctor [--config FILE] [--backend NAME] [--origin URL] [-o text|json]")
	file := fs.String("config", "", "YAML configuration file (default $PRESIGN_CONFIG, else the environment)")
	backend := fs.String("backend", "", "check this backend only (default: every one)")
	origin := fs.String("origin", "", "the web app's origin whose bucket CORS to check (default: the configuration's first CORS origin, when it names one)")
	output := fs.String("o", "text", "output: text, or json for machines")
	lambda := fs.Bool("lambda", false, "load the configuration as the Lambda function runs it (it alone takes PRESIGN_PLATFORM_AUTH)")
	timeout := fs.Duration("timeout", doctor.DefaultTimeout, "bound on each probe request")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageError{fmt.Sprintf("doctor takes flags only, not %q", pos[0])}
	case *output != "text" && *output != "json":
		return usageError{fmt.Sprintf("-o %q: use text or json", *output)}
	case *timeout <= 0:
		return usageError{"--timeout must be positive"}
	}
	cfg, _, err := c.loadService(*file, *lambda)
	if err != nil {
		return usageError{err.Error()}
	}
	r, err := doctor.Run(ctx, cfg, doctor.Options{Backend: *backend, Origin: *origin, Random: c.random, Timeout: *timeout, Now: time.Now})
	if err != nil {
		return usageError{err.Error()}
	}
	if *output == "json" {
		err = r.WriteJSON(c.stdout)
	} else {
		err = r.WriteText(c.stdout)
	}
	if err != nil {
		return err
	}
	if n := r.Count(doctor.Fail); n > 0 {
		return fmt.Errorf("doctor: %d %s failed", n, plural(n, "check", "checks"))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
