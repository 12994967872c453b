package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"presign.dev/internal/config"
	"presign.dev/policy"
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
	return cfg.WriteRedacted(c.stdout)
}

// policyCmd serves "presign policy explain": would this caller be allowed
// this request, and by which rule?
func (c *cli) policyCmd(args []string) error {
	if len(args) == 0 || args[0] != "explain" {
		return usageError{"usage: presign policy explain [flags]"}
	}
	fs := c.newFlagSet("policy explain", "policy explain --as WHO --op OP [--key KEY] [flags]")
	file := fs.String("config", "", "YAML configuration file (default $PRESIGN_CONFIG)")
	as := fs.String("as", "anonymous", "the caller: anonymous, api_key:NAME or jwt:SUB")
	groups := fs.String("groups", "", "jwt: comma-separated groups")
	claims := fs.String("claims", "", "jwt: comma-separated claim=value pairs")
	op := fs.String("op", "get", "operation: get, head, put, post or delete")
	key := fs.String("key", "", "object key (omit for uploads with server-chosen keys)")
	backend := fs.String("backend", "", "backend name (default: the first)")
	contentType := fs.String("content-type", "", "uploads: the declared Content-Type")
	contentLength := fs.Int64("content-length", -1, "uploads: the declared size")
	filename := fs.String("filename", "", "the client's file name")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	p, err := principalFlag(*as, *groups, *claims)
	if err != nil {
		return err
	}
	cfg, err := config.Load(c.lookup, *file)
	if err != nil {
		return configError(err)
	}
	if len(cfg.Rules) == 0 {
		fmt.Fprintln(c.stdout, "no rules: every authenticated caller may do every operation on every backend (environment-only configuration)")
		return nil
	}
	pol, err := policy.New(cfg.Rules, policy.Options{})
	if err != nil {
		return configError(err)
	}
	req := presign.Request{Op: presign.Op(*op), Key: *key, Backend: *backend, ContentType: *contentType, Filename: *filename}
	if req.Backend == "" {
		req.Backend = cfg.Backends[0].Name
	}
	if *contentLength >= 0 {
		req.ContentLength = contentLength
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(pol.Explain(p, &req))
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
