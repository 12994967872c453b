package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"presign.dev/httpapi"
	"presign.dev/internal/config"
	"presign.dev/internal/service"
	"presign.dev/presign"
)

// configCmd serves "presign config check [--lambda] [FILE]": validate the
// configuration exactly as the service builder does, and print it,
// effective and with secrets redacted.
func (c *cli) configCmd(args []string) error {
	if len(args) == 0 || args[0] != "check" {
		return usageError{"usage: presign config check [--lambda] [FILE]"}
	}
	fs := c.newFlagSet("config check", "config check [--lambda] [FILE]   (default $PRESIGN_CONFIG, else the environment)")
	lambda := fs.Bool("lambda", false, "check as the Lambda function runs it (it alone takes PRESIGN_PLATFORM_AUTH)")
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
	cfg, _, err := c.loadService(file, *lambda)
	if err != nil {
		return err
	}
	return cfg.WriteRedacted(c.stdout)
}

// loadService reads the configuration as presign serve does and builds
// the same service from it (no I/O), so that what config check accepts
// and policy explain answers is what serve runs. With lambda, it builds as
// the Lambda function does, whose platform identity (PRESIGN_PLATFORM_AUTH)
// stands in here by an authenticator that refuses every request.
func (c *cli) loadService(file string, lambda bool) (config.Config, *service.Service, error) {
	cfg, err := config.LoadServing(c.lookup, file)
	if err != nil {
		return cfg, nil, configError(err)
	}
	var o service.Options
	if lambda {
		o.PlatformAuth = httpapi.APIKeys{} // the platform's identity exists on Lambda only
	}
	svc, err := service.New(cfg, o)
	if err != nil {
		if errors.Is(err, service.ErrNoPlatform) {
			err = fmt.Errorf("%w (with --lambda, check it as the Lambda function runs it)", err)
		}
		return cfg, nil, configError(err)
	}
	return cfg, svc, nil
}

// policyCmd serves "presign policy explain": would this caller be allowed
// this request, and by which rule? The request goes through the service's
// own path (validation, rules, limits), so the answer is the server's.
func (c *cli) policyCmd(args []string) error {
	if len(args) == 0 || args[0] != "explain" {
		return usageError{"usage: presign policy explain [flags]"}
	}
	fs := c.newFlagSet("policy explain", "policy explain [--config FILE] --as WHO --op OP [--key KEY | --prefix PREFIX] [flags]")
	file := fs.String("config", "", "YAML configuration file (default $PRESIGN_CONFIG, else the environment)")
	lambda := fs.Bool("lambda", false, "answer as the Lambda function (its platform identity: --as iam:ARN or jwt:SUB)")
	as := fs.String("as", "anonymous", "the caller: anonymous, api_key:NAME, jwt:SUB or iam:ARN")
	groups := fs.String("groups", "", "jwt: comma-separated groups")
	claims := fs.String("claims", "", "jwt: comma-separated claim=value pairs")
	var req presign.Request
	fs.Func("op", "operation: "+presign.OpNames()+" (default get)", func(v string) error { req.Op = presign.Op(v); return nil })
	fs.StringVar(&req.Key, "key", "", "object key (omit for uploads with server-chosen keys, and for list)")
	fs.StringVar(&req.Prefix, "prefix", "", "list: the prefix to list (default \"\", the whole bucket)")
	fs.StringVar(&req.Backend, "backend", "", "backend name (default: the first)")
	fs.StringVar(&req.ContentType, "content-type", "", "uploads: the declared Content-Type")
	fs.Func("content-length", "uploads: the declared size in bytes", func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		req.ContentLength = &n
		return err
	})
	fs.StringVar(&req.Filename, "filename", "", "the client's file name")
	fs.Func("metadata", "uploads: comma-separated name=value pairs (x-amz-meta-*)", func(v string) error {
		if req.Metadata == nil {
			req.Metadata = map[string]string{} // repeated flags add up
		}
		for _, kv := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("%q is not name=value", kv)
			}
			req.Metadata[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
		return nil
	})
	fs.Func("expires", "the requested lifetime (15m, 1h, 2d or seconds)", func(v string) error {
		d, ok := config.ParseDuration(v)
		switch {
		case !ok:
			return fmt.Errorf("%q is not a duration like 15m, 1h30m, 2d or 900", v)
		case d == 0:
			return fmt.Errorf("0 is not a lifetime; leave the flag out for the default")
		}
		req.ExpiresIn = d
		return nil
	})
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("policy explain takes flags only, not %q (the key is --key KEY)", pos[0])}
	}
	if req.Op == "" {
		req.Op = presign.OpGet
	}
	p, err := principalFlag(*as, *groups, *claims)
	if err != nil {
		return err
	}
	cfg, svc, err := c.loadService(*file, *lambda)
	if err != nil {
		return err
	}
	if p, err = serverPrincipal(cfg, p, *as); err != nil {
		return err
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(svc.Explain(context.Background(), p, req))
}

// serverPrincipal returns p as the server of cfg would see that caller,
// or a usage error for a caller it cannot have (an API key it does not
// know, a JWT without issuers, an IAM caller without the platform's IAM).
func serverPrincipal(cfg config.Config, p presign.Principal, as string) (presign.Principal, error) {
	if cfg.AuthNone {
		return presign.Principal{Kind: presign.KindOpen}, nil // everyone, as the server sees them
	}
	can := map[string]bool{presign.KindAnonymous: cfg.PlatformAuth == "", presign.KindAPIKey: cfg.PlatformAuth == "",
		presign.KindJWT: len(cfg.JWT) > 0 && cfg.PlatformAuth == "" || cfg.PlatformAuth == config.PlatformJWT,
		presign.KindIAM: cfg.PlatformAuth == config.PlatformIAM}
	switch {
	case !can[p.Kind]:
		return p, usageError{fmt.Sprintf("--as %s: this configuration has no %s callers", as, p.Kind)}
	case p.Kind == presign.KindAPIKey && !slices.ContainsFunc(cfg.APIKeys, func(k httpapi.APIKey) bool { return k.Name == p.Name }):
		return p, usageError{fmt.Sprintf("--as %s: no API key of the configuration is named %q", as, p.Name)}
	}
	return p, nil
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
	case "iam":
		p.Kind = presign.KindIAM
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
		return p, usageError{fmt.Sprintf("--as %q: use anonymous, api_key:NAME, jwt:SUB or iam:ARN", as)}
	}
	if p.Kind != presign.KindAnonymous && p.Name == "" {
		return p, usageError{fmt.Sprintf("--as %q needs a name after the colon", as)}
	}
	return p, nil
}
