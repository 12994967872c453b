package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"presign.dev/internal/config"
	"presign.dev/internal/service"
	"presign.dev/presign"
)

// configCmd serves "presign config check [FILE]": validate the
// configuration and print it, effective and with secrets redacted.
func (c *cli) configCmd(args []string) error {
	if len(args) == 0 || args[0] != "check" {
		return usageError{"usage: presign config check [FILE]"}
	}
	fs := c.newFlagSet("config check", "config check [FILE]   (default $PRESIGN_CONFIG, else the environment)")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageError{"config check takes at most one FILE"}
	}
	file := ""
	if len(pos) == 1 {
		file = pos[0]
	}
	cfg, err := config.LoadServing(c.lookup, file)
	if err != nil {
		return configError(err)
	}
	// What is printed is what serve would run: the service builds from it
	// (no I/O), with the same rules config.Load applied.
	if _, err := service.New(cfg, service.Options{}); err != nil {
		return configError(err)
	}
	return cfg.WriteRedacted(c.stdout)
}

// policyCmd serves "presign policy explain": would this caller be allowed
// this request, and by which rule? The request goes through the service's
// own path (validation, rules, limits), so the answer is the server's.
func (c *cli) policyCmd(args []string) error {
	if len(args) == 0 || args[0] != "explain" {
		return usageError{"usage: presign policy explain [flags]"}
	}
	fs := c.newFlagSet("policy explain", "policy explain [--config FILE] --as WHO --op OP [--key KEY] [flags]")
	file := fs.String("config", "", "YAML configuration file (default $PRESIGN_CONFIG, else the environment)")
	as := fs.String("as", "anonymous", "the caller: anonymous, api_key:NAME or jwt:SUB")
	groups := fs.String("groups", "", "jwt: comma-separated groups")
	claims := fs.String("claims", "", "jwt: comma-separated claim=value pairs")
	op := fs.String("op", "get", "operation: get, head, put, post or delete")
	key := fs.String("key", "", "object key (omit for uploads with server-chosen keys)")
	backend := fs.String("backend", "", "backend name (default: the first)")
	contentType := fs.String("content-type", "", "uploads: the declared Content-Type")
	contentLength := fs.Int64("content-length", -1, "uploads: the declared size")
	filename := fs.String("filename", "", "the client's file name")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("policy explain takes flags only, not %q (the key is --key KEY)", pos[0])}
	}
	p, err := principalFlag(*as, *groups, *claims)
	if err != nil {
		return err
	}
	cfg, err := config.Load(c.lookup, *file)
	if err != nil {
		return configError(err)
	}
	switch {
	case cfg.AuthNone:
		p = presign.Principal{Kind: presign.KindOpen} // everyone, as the server sees them
	case p.Kind == presign.KindAPIKey && !slices.ContainsFunc(cfg.APIKeys, func(k config.APIKey) bool { return k.Name == p.Name }):
		return usageError{fmt.Sprintf("--as %s: no API key of the configuration is named %q", *as, p.Name)}
	}
	svc, err := service.New(cfg, service.Options{})
	if err != nil {
		return configError(err)
	}
	req := presign.Request{Op: presign.Op(*op), Key: *key, Backend: *backend, ContentType: *contentType, Filename: *filename}
	if *contentLength >= 0 {
		req.ContentLength = contentLength
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(svc.Explain(context.Background(), p, req))
}

// principalFlag parses --as with its groups and claims.
func principalFlag(as, groups, claims string) (presign.Principal, error) {
	kind, name, _ := strings.Cut(as, ":")
	p := presign.Principal{Name: name}
	switch kind {
	case "anonymous":
		p.Kind = presign.KindAnonymous
	case "api_key":
		p.Kind = presign.KindAPIKey
	case "jwt":
		p.Kind = presign.KindJWT
		p.Claims = map[string]string{"sub": name}
		for _, g := range strings.Split(groups, ",") {
			if g = strings.TrimSpace(g); g != "" {
				p.Groups = append(p.Groups, g)
			}
		}
		for _, kv := range strings.Split(claims, ",") {
			if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
				p.Claims[k] = v
			}
		}
	default:
		return p, usageError{fmt.Sprintf("--as %q: use anonymous, api_key:NAME or jwt:SUB", as)}
	}
	if p.Kind != presign.KindAnonymous && p.Name == "" {
		return p, usageError{fmt.Sprintf("--as %q needs a name after the colon", as)}
	}
	return p, nil
}
