package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"presign.dev/httpapi"
	"presign.dev/internal/config"
	"presign.dev/presign"
)

func (c *cli) url(args []string) error {
	fs := c.newFlagSet("url", "url [flags] KEY (with -op list, KEY is the prefix)")
	op := fs.String("op", "get", "operation: "+presign.OpNames())
	var expires time.Duration
	fs.Func("expires", "lifetime: 15m, 1h30m, 2d or seconds (default $PRESIGN_EXPIRES, capped by $PRESIGN_MAX_EXPIRES)", func(v string) error {
		d, ok := config.ParseDuration(v)
		switch {
		case !ok:
			return fmt.Errorf("%q is not a duration like 15m, 1h30m, 2d or 900", v)
		case d == 0:
			return fmt.Errorf("0 is not a lifetime; leave the flag out for the default")
		}
		expires = d
		return nil
	})
	contentType := fs.String("content-type", "", "uploads: the Content-Type to sign")
	contentLength := fs.Int64("content-length", -1, "uploads: the exact size in bytes to sign")
	filename := fs.String("filename", "", "get: the download name for Content-Disposition")
	output := fs.String("o", "url", "output: url, or json for the full grant (method, url, headers, fields)")
	backend := fs.String("backend", "", "backend name from the config file (default: the first)")
	file := fs.String("config", "", "YAML configuration file (default $PRESIGN_CONFIG)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"url takes exactly one KEY"}
	}
	if *output != "url" && *output != "json" {
		return usageError{fmt.Sprintf("-o %q: use url or json", *output)}
	}
	// The operator signs with the store's own credentials: rules, which
	// govern the API's callers, do not apply here.
	cfg, err := config.Load(c.lookup, *file)
	if err != nil {
		return configError(err)
	}
	iss, err := presign.New(cfg.IssuerConfig())
	if err != nil {
		return configError(err)
	}
	req := presign.Request{Op: presign.Op(*op), Key: pos[0], Backend: *backend, ContentType: *contentType, Filename: *filename, ExpiresIn: expires}
	if req.Op == presign.OpList {
		req.Key, req.Prefix = "", pos[0] // a listing's KEY is its prefix
	}
	if *contentLength >= 0 {
		req.ContentLength = contentLength
	}
	if req.ExpiresIn%time.Second != 0 {
		return usageError{"-expires must be whole seconds"}
	}
	g, err := iss.Issue(context.Background(), presign.Principal{Kind: "cli"}, req)
	if err != nil {
		return fmt.Errorf("%s", presign.ErrorMessage(err))
	}
	if *output == "url" {
		fmt.Fprintln(c.stdout, g.URL)
		return nil
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(httpapi.GrantResponse(g))
}
