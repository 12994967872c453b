package presign

import (
	"context"
	"sync/atomic"
	"time"

	"presign.dev/sigv4"
)

// CredentialSource supplies a backend's signing credentials when they are
// not static: temporary ones (an assumed role, web identity, the container
// or instance role) that it renews before they expire. Credentials is
// called for every grant, so it must answer from a cache (renewing ahead
// of time, once for concurrent callers) and be safe for concurrent use. It
// returns when the credentials expire — the true expiry, never extended:
// presign clamps every URL's lifetime to it — or the zero time for
// credentials that do not expire.
type CredentialSource interface {
	Credentials(ctx context.Context) (creds sigv4.Credentials, expires time.Time, err error)
}

// sigv4Keys gives the SigV4 signer of a backend's credentials as they are
// now: static ones, or the current ones of its CredentialSource (a signer
// is built once per credentials: its signing keys are cached by date).
type sigv4Keys struct {
	static *sigv4.Signer
	source CredentialSource
	region string
	cur    atomic.Pointer[sourcedSigner]
}

type sourcedSigner struct {
	creds  sigv4.Credentials
	signer *sigv4.Signer
}

func newSigV4Keys(b Backend) *sigv4Keys {
	if b.CredentialSource != nil {
		return &sigv4Keys{source: b.CredentialSource, region: b.Region}
	}
	return &sigv4Keys{static: sigv4.NewSigner(b.Credentials, b.Region, "s3")}
}

// signer returns the signer of credentials valid now, and when they expire
// (the zero time: never). A source that fails is CodeUnavailable.
func (k *sigv4Keys) signer(ctx context.Context) (*sigv4.Signer, time.Time, error) {
	if k.source == nil {
		return k.static, time.Time{}, nil
	}
	creds, expires, err := k.source.Credentials(ctx)
	if err != nil {
		return nil, time.Time{}, &Error{Code: CodeUnavailable, Message: "the backend's signing credentials could not be obtained; try again", Err: err}
	}
	if cur := k.cur.Load(); cur != nil && cur.creds == creds {
		return cur.signer, expires, nil
	}
	s := &sourcedSigner{creds: creds, signer: sigv4.NewSigner(creds, k.region, "s3")}
	k.cur.Store(s)
	return s.signer, expires, nil
}

// signerFor returns the signer of credentials valid now and the lifetime
// of a URL from now: expires, clamped to the credentials' remaining life
// (withinCredentials).
func (k *sigv4Keys) signerFor(ctx context.Context, now time.Time, expires time.Duration) (*sigv4.Signer, time.Duration, error) {
	sg, credsExpire, err := k.signer(ctx)
	if err != nil {
		return nil, 0, err
	}
	expires, err = withinCredentials(now, expires, credsExpire)
	return sg, expires, err
}

// withinCredentials clamps a URL's lifetime from now to the signing
// credentials' remaining life (whole seconds), so that a URL never
// outlives the credentials that signed it and its expires_at is true.
// Credentials with less than a second left are CodeUnavailable.
func withinCredentials(now time.Time, expires time.Duration, credsExpire time.Time) (time.Duration, error) {
	if credsExpire.IsZero() {
		return expires, nil
	}
	left := credsExpire.Sub(now.Truncate(time.Second)).Truncate(time.Second)
	if left < time.Second {
		return 0, Errorf(CodeUnavailable, "the backend's signing credentials are expiring; try again")
	}
	return min(expires, left), nil
}
