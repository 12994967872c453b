package presign

import (
	"slices"
	"strings"
)

// Kind is the API of a backend's store, which decides how presign signs
// for it.
type Kind string

const (
	// KindS3 is the S3 API, signed with SigV4: AWS S3 and every
	// S3-compatible store (its Provider says which).
	KindS3 Kind = "s3"
	// KindGCS is Google Cloud Storage's XML API, with Google's own V4
	// signatures (a service account key, or an HMAC key).
	KindGCS Kind = "gcs"
	// KindAzure is Azure Blob Storage, with shared access signatures.
	KindAzure Kind = "azure"
)

// kind is what presign needs of each kind of backend.
type kind struct {
	// withDefaults fills in the kind's defaults (Backend.WithDefaults sets
	// MaxExpires from the capabilities after it).
	withDefaults func(Backend) Backend
	// validate adds the problems of the kind's fields.
	validate func(Backend, *Problems)
	// capabilities says what the store enforces.
	capabilities func(Backend) Capabilities
	// newSigner returns the signer of a valid backend (with defaults).
	newSigner func(Backend) (urlSigner, error)
	// newStore returns its Store.
	newStore func(Backend, StoreOptions) (Store, error)
}

// kinds are the kinds of backend presign signs for, by name.
var kinds = map[Kind]kind{
	KindS3: {
		withDefaults: s3WithDefaults,
		validate:     s3Validate,
		capabilities: func(b Backend) Capabilities { return b.Provider.Capabilities() },
		newSigner:    func(b Backend) (urlSigner, error) { return newS3Signer(b), nil },
		newStore:     func(b Backend, o StoreOptions) (Store, error) { return newS3Store(b, o), nil },
	},
}

// kindNames names the kinds for a message: "azure, gcs, s3".
func kindNames() string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, string(k))
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// Capabilities returns what the store of b (with its defaults: the
// provider its endpoint names) enforces, with its configuration's own
// limits (post: false).
func (b Backend) Capabilities() Capabilities { return b.WithDefaults().capabilities() }

// capabilities returns what b's store enforces, with its configuration's
// own limits (post: false); the zero Capabilities for an unknown kind.
func (b Backend) capabilities() Capabilities {
	k, ok := kinds[b.Kind]
	if !ok {
		return Capabilities{}
	}
	c := k.capabilities(b)
	if b.NoPost {
		c.Post = false
	}
	return c
}

// StoreName names b's store in a message: its provider for an S3 backend
// ("r2"), else its kind ("azure").
func (b Backend) StoreName() string {
	if b.Kind == KindS3 || b.Kind == "" {
		return string(b.Provider)
	}
	return string(b.Kind)
}
