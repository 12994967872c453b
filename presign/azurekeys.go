package presign

import (
	"context"
	"time"

	"presign.dev/azuresas"
)

// AzureKeySource supplies the signer of a kind azure backend's user
// delegation SAS: a user delegation key of the backend's storage account
// (Backend.Credentials.AccessKeyID), from its Blob service (the backend's
// Endpoint), valid now. Signer is called for every grant and for every
// call presign makes to the store, so it must answer from a cache (renewing
// ahead of time, once for concurrent callers) and be safe for concurrent
// use. *azuresas.DelegationKeys is one.
//
// A user delegation SAS is valid until its own expiry, which never passes
// its key's: presign clamps every URL's lifetime to the key's expiry
// (Signer.KeyExpiry), not to the token that got the key.
type AzureKeySource interface {
	Signer(ctx context.Context) (*azuresas.Signer, error)
}

// azureKeys gives the SAS signer of an azure backend: its account key's,
// or the current user delegation key's.
type azureKeys struct {
	static *azuresas.Signer // nil with source
	source AzureKeySource
}

func newAzureKeys(b Backend) (azureKeys, error) {
	if b.AzureKeys != nil {
		return azureKeys{source: b.AzureKeys}, nil
	}
	a, err := azuresas.ParseAccountKey(b.Credentials.AccessKeyID, b.Credentials.SecretAccessKey)
	if err != nil {
		return azureKeys{}, err
	}
	return azureKeys{static: azuresas.NewSigner(a)}, nil
}

// signer returns the signer valid now. A source that fails is
// CodeUnavailable.
func (k azureKeys) signer(ctx context.Context) (*azuresas.Signer, error) {
	if k.source == nil {
		return k.static, nil
	}
	sg, err := k.source.Signer(ctx)
	if err != nil {
		return nil, &Error{Code: CodeUnavailable, Message: "the backend's user delegation key could not be obtained; try again", Err: err}
	}
	return sg, nil
}

// signerFor returns the signer valid now and the lifetime of a URL from
// now: expires, clamped to the user delegation key's remaining life
// (withinCredentials; an account key does not expire).
func (k azureKeys) signerFor(ctx context.Context, now time.Time, expires time.Duration) (*azuresas.Signer, time.Duration, error) {
	sg, err := k.signer(ctx)
	if err != nil {
		return nil, 0, err
	}
	expires, err = withinCredentials(now, expires, sg.KeyExpiry())
	return sg, expires, err
}

// client returns a Blob client signed by the signer valid now.
func (k azureKeys) client(ctx context.Context, c azuresas.Client) (*azuresas.Client, error) {
	sg, err := k.signer(ctx)
	if err != nil {
		return nil, err
	}
	c.Signer = sg
	return &c, nil
}
