package azuresas

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// StorageResource is the resource (the audience) of the Entra ID access
// tokens that Azure Storage accepts.
const StorageResource = "https://storage.azure.com/"

// Token is an OAuth 2.0 access token of Microsoft Entra ID for
// [StorageResource]. It prints without its value.
type Token struct {
	Value string
	// Expires is when the token expires, as its issuer or its exp claim
	// says; zero when neither does.
	Expires time.Time
}

// String shows the expiry only.
func (t Token) String() string {
	if t.Expires.IsZero() {
		return "azuresas.Token{Value:<redacted>}"
	}
	return "azuresas.Token{Value:<redacted>, Expires:" + t.Expires.UTC().Format(time.RFC3339) + "}"
}

// GoString redacts like String, for %#v.
func (t Token) GoString() string { return t.String() }

// TokenSource supplies the access tokens that get user delegation keys
// ([DelegationKeys]). Token is called only when a key is due, so a source
// need not cache. Errors never hold a token.
type TokenSource interface {
	Token(ctx context.Context) (Token, error)
}

// TokenFunc adapts a function to a [TokenSource].
type TokenFunc func(ctx context.Context) (Token, error)

// Token calls f.
func (f TokenFunc) Token(ctx context.Context) (Token, error) { return f(ctx) }

// TokenFile is a [TokenSource] that reads the token from a file at every
// call, so that a token the file's writer renews (a sidecar, an agent) is
// used as soon as it is written. The file holds the bare access token
// (surrounding white space is ignored), for [StorageResource]. A token that
// is a JWT whose exp claim has passed is refused: the writer has stopped
// renewing it.
type TokenFile struct {
	Path     string
	ReadFile func(name string) ([]byte, error) // nil: os.ReadFile
	Now      func() time.Time                  // nil: time.Now
}

// maxTokenSize bounds a token read from a file or an answer: Entra ID's
// access tokens are a few kilobytes.
const maxTokenSize = 64 << 10

// Token reads the file.
func (f *TokenFile) Token(context.Context) (Token, error) {
	read := f.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	data, err := read(f.Path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the message already
		}
		return Token{}, fmt.Errorf("azuresas: token file %s: %w", f.Path, err)
	}
	if len(data) > maxTokenSize {
		return Token{}, fmt.Errorf("azuresas: token file %s: longer than %d bytes", f.Path, maxTokenSize)
	}
	v := string(bytes.TrimSpace(data))
	if !BearerToken(v) {
		return Token{}, fmt.Errorf("azuresas: token file %s: does not hold an access token (one line of the characters of RFC 6750's b64token)", f.Path)
	}
	t := Token{Value: v}
	if exp, ok := JWTExpiry(v); ok {
		t.Expires = exp
		if now := nowOf(f.Now); !now.Before(exp) {
			return Token{}, fmt.Errorf("azuresas: token file %s: the token expired at %s; whatever writes the file has not renewed it", f.Path, exp.UTC().Format(time.RFC3339))
		}
	}
	return t, nil
}

func nowOf(now func() time.Time) time.Time {
	if now == nil {
		return time.Now()
	}
	return now()
}

// BearerToken reports whether s can be sent as a bearer token: RFC 6750's
// b64token, 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=",
// at most 64 KiB. Nothing else can break the Authorization header.
func BearerToken(s string) bool {
	if s == "" || len(s) > maxTokenSize {
		return false
	}
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// JWTExpiry returns the exp claim of a JWT in compact serialization
// (header.payload.signature, base64url without padding), without verifying
// anything: the token is the issuer's business and the service's, and
// presign only wants to know when it stops working. ok is false when tok is
// not a JWT or has no exp that is a number of seconds in the years
// 1970-9999.
func JWTExpiry(tok string) (exp time.Time, ok bool) {
	first := strings.IndexByte(tok, '.')
	if first < 0 {
		return time.Time{}, false
	}
	rest := tok[first+1:]
	second := strings.IndexByte(rest, '.')
	if second < 0 || strings.IndexByte(rest[second+1:], '.') >= 0 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(rest[:second])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.RawMessage `json:"exp"` // a number: not a string, nor null
	}
	if json.Unmarshal(payload, &claims) != nil || len(claims.Exp) == 0 {
		return time.Time{}, false
	}
	return epochSeconds(string(claims.Exp))
}

// epochSeconds parses a NumericDate (RFC 7519: seconds since 1970, a
// fraction allowed) and keeps whole seconds, in the years 1970-9999.
func epochSeconds(s string) (time.Time, bool) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if hasFrac {
		if frac == "" {
			return time.Time{}, false
		}
		for i := 0; i < len(frac); i++ {
			if frac[i] < '0' || frac[i] > '9' {
				return time.Time{}, false
			}
		}
	}
	if whole == "" || len(whole) > 1 && whole[0] == '0' {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	const maxSeconds = 253402300799 // 9999-12-31T23:59:59Z
	if err != nil || n < 0 || n > maxSeconds {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

// The Azure Instance Metadata Service's token endpoint and the version of
// its API that ManagedIdentity speaks.
const (
	IMDSTokenEndpoint = "http://169.254.169.254/metadata/identity/oauth2/token"
	IMDSAPIVersion    = "2018-02-01"
)

// ManagedIdentity is a [TokenSource] of a managed identity's tokens from the
// Azure Instance Metadata Service (IMDS) of a VM, a scale set or an AKS
// node: GET <Endpoint>?api-version=2018-02-01&resource=https://storage.azure.com/
// (and client_id=<ClientID> for a user-assigned identity) with the header
// Metadata: true, answered with JSON whose access_token is the token and
// expires_on its expiry in seconds since 1970 (a string of digits).
//
// It asks at every call: IMDS caches tokens itself, and a [DelegationKeys]
// asks only when a key is due. IMDS asks clients to retry 404, 410, 429
// and 5xx answers with a backoff; ManagedIdentity reports them (an *[Error]
// of Op "ManagedIdentityToken") and DelegationKeys asks again on a later
// call, [DelegationKeys.RetryInterval] later at the earliest.
type ManagedIdentity struct {
	// ClientID selects a user-assigned identity (a GUID); "" means the
	// system-assigned identity, or the only user-assigned one.
	ClientID string
	// Endpoint is the token endpoint; "" means [IMDSTokenEndpoint]. Tests
	// point it at a fake.
	Endpoint string
	// HTTP sends the requests; nil means a client that uses no proxy
	// (IMDS must not be reached through one) and follows no redirect.
	HTTP *http.Client
	Now  func() time.Time // nil: time.Now; an expired token is refused
}

// imdsClient is ManagedIdentity's default client.
var imdsClient = &http.Client{
	Transport: func() http.RoundTripper {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = nil
		return t
	}(),
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Token asks IMDS for a token of the identity for [StorageResource].
func (m *ManagedIdentity) Token(ctx context.Context) (Token, error) {
	const op = "ManagedIdentityToken"
	if m.ClientID != "" && !GUID(m.ClientID) {
		return Token{}, invalid("managed identity: the client ID is not a GUID")
	}
	endpoint := m.Endpoint
	if endpoint == "" {
		endpoint = IMDSTokenEndpoint
	}
	q := url.Values{"api-version": {IMDSAPIVersion}, "resource": {StorageResource}}
	if m.ClientID != "" {
		q.Set("client_id", m.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return Token{}, invalid("managed identity: the endpoint is not a URL")
	}
	req.Header.Set("Metadata", "true")
	hc := m.HTTP
	if hc == nil {
		hc = imdsClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Token{}, fmt.Errorf("azure managed identity: %w", err)
	}
	defer resp.Body.Close()
	body, err := readLimited(resp.Body, maxTokenSize)
	if err != nil {
		return Token{}, fmt.Errorf("azure managed identity: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return Token{}, imdsError(op, resp.StatusCode, body)
	}
	t, err := ParseIMDSToken(body)
	if err != nil {
		return Token{}, &Error{Op: op, StatusCode: resp.StatusCode, Message: err.Error()}
	}
	if now := nowOf(m.Now); !now.Before(t.Expires) {
		return Token{}, &Error{Op: op, StatusCode: resp.StatusCode, Message: "the token expired at " + t.Expires.UTC().Format(time.RFC3339)}
	}
	return t, nil
}

// readLimited reads at most max bytes of r, and fails beyond.
func readLimited(r io.Reader, max int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > max {
		return nil, errors.New("longer than " + strconv.Itoa(max) + " bytes")
	}
	return b, nil
}

// imdsError makes the *Error of an IMDS answer other than 200: its JSON
// error and error_description (at most 300 bytes of it; Microsoft says not
// to act on the description, which may change).
func imdsError(op string, status int, body []byte) *Error {
	e := &Error{Op: op, StatusCode: status, Message: http.StatusText(status)}
	var x struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &x) == nil {
		if cleanText(x.Error) && len(x.Error) <= 100 {
			e.Code = x.Error
		}
		if d := x.Description; d != "" && cleanText(d) {
			if len(d) > 300 {
				d = d[:300] + "…"
			}
			e.Message = d
		}
	}
	return e
}

// ParseIMDSToken parses the JSON of a token from IMDS (or another managed
// identity endpoint of the same protocol): access_token, a bearer token
// ([BearerToken]); expires_on, seconds since 1970 as a string of digits (a
// JSON number is taken too); token_type, if present, Bearer. Its errors
// never hold the token.
func ParseIMDSToken(body []byte) (Token, error) {
	var x struct {
		AccessToken *string         `json:"access_token"`
		ExpiresOn   json.RawMessage `json:"expires_on"`
		TokenType   *string         `json:"token_type"`
	}
	if err := json.Unmarshal(body, &x); err != nil {
		return Token{}, errString("the answer is not the JSON of a token")
	}
	if x.AccessToken == nil || !BearerToken(*x.AccessToken) {
		return Token{}, errString("the answer's access_token is missing or not a bearer token")
	}
	if x.TokenType != nil && !strings.EqualFold(*x.TokenType, "Bearer") {
		return Token{}, errString("the answer's token_type is not Bearer")
	}
	var s string
	switch {
	case len(x.ExpiresOn) > 0 && x.ExpiresOn[0] == '"':
		if json.Unmarshal(x.ExpiresOn, &s) != nil {
			s = ""
		}
	case len(x.ExpiresOn) > 0:
		s = string(x.ExpiresOn)
	}
	exp, ok := epochSeconds(s)
	if !ok || exp.Unix() == 0 {
		return Token{}, errString("the answer's expires_on is missing or not seconds since 1970")
	}
	return Token{Value: *x.AccessToken, Expires: exp}, nil
}

// GUID reports whether s is a GUID in its usual form,
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex digits in either case), as
// Entra ID writes client, object and tenant IDs.
func GUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
