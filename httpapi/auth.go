package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"

	"presign.dev/presign"
)

// Authenticator establishes who is calling. It returns an *presign.Error
// with CodeUnauthenticated when the credential is missing or not valid.
// Package httpapi ships API keys and the open mode; the policy engine adds
// JWTs behind the same interface.
type Authenticator interface {
	Authenticate(r *http.Request) (presign.Principal, error)
}

// APIKey is an accepted key: its name (for rules and logs) and the SHA-256
// of its value. The value itself is never kept.
type APIKey struct {
	Name string
	Hash [sha256.Size]byte
}

// MinAPIKeyLength is the shortest API key accepted as a value (keys given
// as their SHA-256 are checked when they are made, not here).
const MinAPIKeyLength = 16

// HashAPIKey returns the SHA-256 of an API key given as its value, which
// must be at least MinAPIKeyLength characters.
func HashAPIKey(value string) ([sha256.Size]byte, error) {
	if len(value) < MinAPIKeyLength {
		return [sha256.Size]byte{}, presign.Errorf(presign.CodeInvalidArgument, "API keys must be at least %d characters", MinAPIKeyLength)
	}
	return sha256.Sum256([]byte(value)), nil
}

// ValidateAPIKeys reports every problem of a list of keys, scoped to
// "[i].name" and "[i].sha256": a name that is not a name
// (presign.ValidateName), or is another key's, and the same key twice. A
// zero Hash stands for a key whose hash could not be read (its reader
// reports that).
func ValidateAPIKeys(keys []APIKey) presign.Problems {
	var ps presign.Problems
	names := map[string]int{}
	hashes := map[[sha256.Size]byte]string{}
	for i, k := range keys {
		at := presign.Index("", i)
		if k.Name == "" {
			ps.Addf(presign.Join(at, "name"), "required: the name rules use for this key (who: {api_keys: [NAME]})")
		} else if err := presign.ValidateName(k.Name); err != nil {
			ps.Addf(presign.Join(at, "name"), "%s", presign.ErrorMessage(err))
		} else if j, dup := names[k.Name]; dup {
			ps.Addf(presign.Join(at, "name"), "%q is already the name of entry [%d] of this list", k.Name, j)
		}
		names[k.Name] = i
		if k.Hash == ([sha256.Size]byte{}) {
			continue
		}
		if other, dup := hashes[k.Hash]; dup {
			ps.Addf(presign.Join(at, "sha256"), "%s is the same key as %s", k.Name, other)
		}
		hashes[k.Hash] = k.Name
	}
	return ps
}

// APIKeys authenticates "Authorization: Bearer <key>" against a set of keys
// by SHA-256 digest, compared in constant time against every key.
type APIKeys []APIKey

func (keys APIKeys) Authenticate(r *http.Request) (presign.Principal, error) {
	token, err := bearer(r)
	if err != nil {
		return presign.Principal{}, err
	}
	sum := sumToken(token)
	match := -1
	for i := range keys {
		if subtle.ConstantTimeCompare(sum[:], keys[i].Hash[:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return presign.Principal{}, presign.Errorf(presign.CodeUnauthenticated, "the API key is not valid")
	}
	return presign.Principal{Kind: presign.KindAPIKey, Name: keys[match].Name}, nil
}

// sumToken is sha256.Sum256([]byte(token)) without the heap copy of
// token for tokens up to 256 bytes (API keys are far shorter): the copy is
// made on the stack.
func sumToken(token string) [sha256.Size]byte {
	var buf [256]byte
	if len(token) <= len(buf) {
		return sha256.Sum256(append(buf[:0], token...))
	}
	return sha256.Sum256([]byte(token))
}

// Chain authenticates each request by the shape of its credential: a JWT
// goes to JWT (when configured), any other bearer token to APIKeys. A
// request without a credential is anonymous when Anonymous is set (rules
// then decide what anonymous callers may do), else refused. A credential
// that does not verify is refused; it never falls back to anonymous.
type Chain struct {
	APIKeys   APIKeys
	JWT       Authenticator // nil: JWTs are not accepted
	Anonymous bool
	// IsJWT tells a JWT from an API key; required with JWT.
	IsJWT func(token string) bool
}

func (c Chain) Authenticate(r *http.Request) (presign.Principal, error) {
	if r.Header.Get("Authorization") == "" && c.Anonymous {
		return presign.Principal{Kind: presign.KindAnonymous}, nil
	}
	token, err := bearer(r)
	if err != nil {
		return presign.Principal{}, err
	}
	if c.JWT != nil && c.IsJWT(token) {
		return c.JWT.Authenticate(r)
	}
	return c.APIKeys.Authenticate(r)
}

// Open lets everyone in: PRESIGN_AUTH=none, the tutorials' mode.
type Open struct{}

func (Open) Authenticate(*http.Request) (presign.Principal, error) {
	return presign.Principal{Kind: presign.KindOpen}, nil
}

// bearer returns the token of "Authorization: Bearer <token>".
func bearer(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", presign.Errorf(presign.CodeUnauthenticated, "authentication required: send Authorization: Bearer <API key or JWT>")
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", presign.Errorf(presign.CodeUnauthenticated, "the Authorization header must be \"Bearer <API key or JWT>\"")
	}
	return token, nil
}

// NormalizeOrigin accepts a CORS origin as configuration writes it: "*"
// (any origin), or scheme://host[:port] of http or https, a trailing "/"
// allowed and removed. It returns an *presign.Error (CodeInvalidArgument)
// that never quotes a URL with user info.
func NormalizeOrigin(o string) (string, error) {
	if o == "*" {
		return o, nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", presign.Errorf(presign.CodeInvalidArgument, "%s is not an origin like https://app.example.com", presign.QuoteURL(o))
	}
	return strings.TrimSuffix(o, "/"), nil
}
