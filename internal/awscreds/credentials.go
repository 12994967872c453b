// Package awscreds provides the credentials presign signs with, from the
// sources AWS workloads use, with their real expiry.
//
// # Sources
//
//   - static: an access key (and session token) given in the configuration.
//   - aws_default: the first source the environment configures, in the order
//     of aws-sdk-go-v2's default chain (config.LoadDefaultConfig), without
//     its shared files (~/.aws/config, ~/.aws/credentials: profiles, SSO,
//     credential_process), which a server has no use for:
//     1. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (AWS_ACCESS_KEY and
//     AWS_SECRET_KEY too), with AWS_SESSION_TOKEN: also Lambda's execution
//     role, whose environment gives no expiry;
//     2. AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN (AWS_ROLE_SESSION_NAME):
//     STS AssumeRoleWithWebIdentity with the token read anew on every refresh
//     (EKS IAM roles for service accounts);
//     3. AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: the ECS task role from
//     http://169.254.170.2;
//     4. AWS_CONTAINER_CREDENTIALS_FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
//     (read anew on every refresh) or AWS_CONTAINER_AUTHORIZATION_TOKEN: EKS
//     Pod Identity, Lambda SnapStart, Greengrass; an http URL must reach only
//     a loopback address or 169.254.170.2, 169.254.170.23, fd00:ec2::23;
//     5. EC2 instance metadata, IMDSv2 only (a session token first), unless
//     AWS_EC2_METADATA_DISABLED=true; AWS_EC2_METADATA_SERVICE_ENDPOINT and
//     AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6 choose the endpoint.
//   - assume_role: STS AssumeRole (role ARN, external ID, session name,
//     session policy, duration) signed with static or aws_default
//     credentials.
//
// STS is reached at AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else the
// configured endpoint, else https://sts.<region>.amazonaws.com
// (https://sts.amazonaws.com without a region).
//
// # Expiry
//
// [Credentials.Expires] is the expiry the source gave, never later: when a
// refresh fails, the credentials held are used until that expiry and not a
// moment longer (aws-sdk-go-v2's ec2rolecreds extends them by 5 to 15
// minutes when IMDS is down; credentials that come back already expired are
// an error here). A URL presigned with temporary credentials stops working
// when they expire, whatever its own X-Amz-Expires says, so a presigner
// clamps each URL's lifetime to Expires. Credentials from the environment
// have no known expiry (CanExpire false), even Lambda's, which are temporary.
//
// # Refresh
//
// [Cache] refreshes credentials a window before their expiry (5 minutes plus
// up to 1 minute of jitter, at most half their lifetime), in the background
// while the held ones are still valid, with one fetch at a time however many
// callers ask. Time and randomness are inputs ([Options]).
//
// Errors never contain a secret key, session token, web identity token or
// container authorization token.
package awscreds

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"presign.dev/sigv4"
)

// Credentials are signing credentials with their expiry.
type Credentials struct {
	sigv4.Credentials
	// CanExpire is set when the source gave an expiry; Expires is then
	// that expiry (never later), else zero.
	CanExpire bool
	Expires   time.Time
	// Source names where they came from: "static", "environment",
	// "web_identity", "container", "imds" or "assume_role".
	Source string
}

// Remaining is how long c stays valid at now: the time until Expires, or
// a very long time when c cannot expire. It is zero or negative once
// expired.
func (c Credentials) Remaining(now time.Time) time.Duration {
	if !c.CanExpire {
		return 1<<63 - 1
	}
	return c.Expires.Sub(now)
}

// String shows the access key ID, source and expiry, never the secret.
func (c Credentials) String() string {
	s := "awscreds.Credentials{AccessKeyID:" + c.AccessKeyID + ", Source:" + c.Source
	if c.SessionToken != "" {
		s += ", SessionToken:<redacted>"
	}
	if c.CanExpire {
		s += ", Expires:" + c.Expires.UTC().Format(time.RFC3339)
	}
	return s + ", SecretAccessKey:<redacted>}"
}

// GoString is String, so that %#v shows no secret either.
func (c Credentials) GoString() string { return c.String() }

// Provider gives credentials to sign with.
type Provider interface {
	// Retrieve returns credentials that have not expired at the time of
	// the call, or an error.
	Retrieve(ctx context.Context) (Credentials, error)
}

// ProviderFunc is a function as a Provider.
type ProviderFunc func(ctx context.Context) (Credentials, error)

// Retrieve calls f.
func (f ProviderFunc) Retrieve(ctx context.Context) (Credentials, error) { return f(ctx) }

// Error is a failure to obtain credentials from a source. Its text never
// holds a secret.
type Error struct {
	Source string // as Credentials.Source
	// Op is what failed, e.g. "AssumeRole", "GET role name".
	Op string
	// StatusCode is the HTTP status of the answer, 0 without one.
	StatusCode int
	// Code and Message are the source's own, when its answer had them
	// (STS: "AccessDenied"; containers: "code", "message").
	Code, Message string
	Err           error // the cause, if any
}

func (e *Error) Error() string {
	s := "credentials (" + e.Source + "): " + e.Op
	if e.StatusCode != 0 {
		s += ": HTTP " + strconv.Itoa(e.StatusCode)
	}
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(source, op, format string, args ...any) *Error {
	return &Error{Source: source, Op: op, Err: fmt.Errorf(format, args...)}
}

// clip makes text taken from an answer fit in an error: one line of at
// most 300 bytes of valid UTF-8, control characters made spaces.
func clip(s string) string {
	const max = 300
	cut := len(s) > max
	if cut {
		s = s[:max]
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	if cut {
		s += "…"
	}
	return s
}
