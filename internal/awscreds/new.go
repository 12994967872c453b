package awscreds

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"presign.dev/presign"
	"presign.dev/sigv4"
)

// New returns the Provider cfg describes, after validating it (the error
// is then a presign.Problems) and, for aws_default, reading the
// environment (an *Error when it is inconsistent: a web identity token
// file without a role ARN, a container URL that is not allowed). It does
// no network I/O: the first Retrieve fetches.
func New(cfg Config, o Options) (Provider, error) {
	if ps := cfg.Validate(); len(ps) > 0 {
		return nil, ps
	}
	o = o.withDefaults()
	switch cfg.source() {
	case SourceStatic:
		return static(cfg.Static), nil
	case SourceAWSDefault:
		return awsDefault(cfg, o)
	}
	var base Provider
	if cfg.base() == SourceStatic {
		base = static(cfg.Static)
	} else {
		var err error
		if base, err = awsDefault(cfg, o); err != nil {
			return nil, err
		}
	}
	s, err := newSTS(cfg, o)
	if err != nil {
		return nil, err
	}
	params := url.Values{"RoleArn": {cfg.RoleARN}}
	if cfg.SessionName != "" {
		params.Set("RoleSessionName", cfg.SessionName)
	}
	if cfg.ExternalID != "" {
		params.Set("ExternalId", cfg.ExternalID)
	}
	if cfg.SessionPolicy != "" {
		params.Set("Policy", cfg.SessionPolicy)
	}
	if cfg.Duration != 0 {
		params.Set("DurationSeconds", strconv.FormatInt(int64(cfg.Duration.Seconds()), 10))
	}
	a := &assumeRole{sts: s, base: base, params: params}
	return newSourceCache(a, o), nil
}

// static is the static source: credentials that do not expire.
func static(c sigv4.Credentials) Provider {
	cr := Credentials{Credentials: c, Source: "static"}
	return ProviderFunc(func(context.Context) (Credentials, error) { return cr, nil })
}

// newSTS is the STS client of cfg: the endpoint from the environment, the
// configuration or the region, signed for the region.
func newSTS(cfg Config, o Options) (*sts, error) {
	region := cfg.Region
	if region == "" {
		region = o.getenv("AWS_REGION", "AWS_DEFAULT_REGION")
		if region != "" && !isRegion(region) {
			return nil, errorf("sts", "environment", "AWS_REGION or AWS_DEFAULT_REGION is not a region name")
		}
	}
	explicit := o.getenv("AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL")
	if explicit == "" {
		explicit = cfg.STSEndpoint
	}
	u, err := stsEndpoint(explicit, region)
	if err != nil {
		return nil, &Error{Source: "sts", Op: "endpoint", Err: err}
	}
	return &sts{endpoint: u, region: stsRegion(region), client: o.HTTPClient, now: o.Now}, nil
}

// awsDefault resolves the default chain from the environment.
func awsDefault(cfg Config, o Options) (Provider, error) {
	const op = "environment"
	id := o.getenv("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY")
	secret := o.getenv("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY")
	switch {
	case id != "" && secret != "":
		cr := Credentials{
			Credentials: sigv4.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: o.getenv("AWS_SESSION_TOKEN")},
			Source:      "environment",
		}
		return ProviderFunc(func(context.Context) (Credentials, error) { return cr, nil }), nil
	case id != "":
		// aws-sdk-go-v2 would go on down the chain; a half-set key is a
		// mistake worth stopping for.
		return nil, errorf("environment", op, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
	case secret != "":
		return nil, errorf("environment", op, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
	}

	if file := o.getenv("AWS_WEB_IDENTITY_TOKEN_FILE"); file != "" {
		role := o.getenv("AWS_ROLE_ARN")
		if role == "" {
			return nil, errorf("web_identity", op, "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not")
		}
		s, err := newSTS(cfg, o)
		if err != nil {
			return nil, err
		}
		w := &webIdentity{sts: s, tokenFile: file, roleARN: role, sessionName: o.getenv("AWS_ROLE_SESSION_NAME"), readFile: o.ReadFile}
		return newSourceCache(w, o), nil
	}

	if rel := o.getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); rel != "" {
		if !strings.HasPrefix(rel, "/") {
			return nil, errorf("container", op, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with /")
		}
		u, err := url.Parse(ecsEndpoint + rel)
		if err != nil || u.Host != ecsHost {
			return nil, errorf("container", op, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a path")
		}
		return newSourceCache(newContainer(u, false, o), o), nil
	}

	if full := o.getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"); full != "" {
		u, err := url.Parse(full)
		if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, errorf("container", op, "AWS_CONTAINER_CREDENTIALS_FULL_URI must be an http(s) URL with a host")
		}
		return newSourceCache(newContainer(u, u.Scheme == "http", o), o), nil
	}

	if v := o.getenv("AWS_EC2_METADATA_DISABLED"); strings.EqualFold(v, "true") {
		return nil, errNoSource
	}
	m, err := newIMDS(o)
	if err != nil {
		return nil, err
	}
	return newSourceCache(m, o), nil
}

// errNoSource: aws_default found nothing to use.
var errNoSource = &Error{Source: "aws_default", Op: "environment", Err: errors.New(
	"no credentials: none of AWS_ACCESS_KEY_ID, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI is set, and AWS_EC2_METADATA_DISABLED=true")}

// Source adapts p to presign's CredentialSource: the credentials and, for
// those that can expire, their expiry (the zero time for those that do
// not: static keys, and the environment's, whose expiry AWS does not say).
func Source(p Provider) presign.CredentialSource { return source{p} }

type source struct{ p Provider }

func (s source) Credentials(ctx context.Context) (sigv4.Credentials, time.Time, error) {
	c, err := s.p.Retrieve(ctx)
	if err != nil {
		return sigv4.Credentials{}, time.Time{}, err
	}
	if !c.CanExpire {
		return c.Credentials, time.Time{}, nil
	}
	return c.Credentials, c.Expires, nil
}
