// Package azref is the tests' side of azuresas/internal/azref, the program
// that signs with the Azure SDK for Go's SAS builder (azblob): its protocol
// and a client for it (see package oracle).
//
// Only tests import this package.
package azref

import (
	"path/filepath"
	"testing"
	"time"

	"presign.dev/azuresas"
	"presign.dev/internal/oracle"
	"presign.dev/internal/testdep"
)

// request, values and instant are the program's protocol. Text travels as
// bytes (base64 in JSON) so that any string, UTF-8 or not, reaches the SDK
// as it is; a time as Unix seconds, nanoseconds and the zone's offset.
type request struct {
	// Op is "sharedkey" (a service SAS with Key) or "udk" (a user
	// delegation SAS with the key of UDK, a Get User Delegation Key answer).
	Op      string  `json:"op"`
	Account string  `json:"account"`
	Key     string  `json:"key,omitempty"`
	UDK     []byte  `json:"udk,omitempty"`
	Values  *values `json:"values,omitempty"` // nil with op "udk": only take the key
}

// values is sas.BlobSignatureValues.
type values struct {
	Version     string   `json:"version"`
	Protocol    []byte   `json:"protocol"`
	Start       *instant `json:"start,omitempty"`
	Expiry      instant  `json:"expiry"`
	Permissions string   `json:"permissions"`
	IPStart     string   `json:"ip_start,omitempty"`
	IPEnd       string   `json:"ip_end,omitempty"`
	Container   []byte   `json:"container"`
	Blob        []byte   `json:"blob"`
	RSCC        []byte   `json:"rscc"`
	RSCD        []byte   `json:"rscd"`
	RSCE        []byte   `json:"rsce"`
	RSCL        []byte   `json:"rscl"`
	RSCT        []byte   `json:"rsct"`
}

// instant is a time in a zone.
type instant struct {
	Unix   int64 `json:"unix"`
	Nsec   int64 `json:"nsec"`
	Offset int   `json:"offset"` // seconds east of UTC
}

// answer is the SDK's result. Stage says where the SDK refused: "key" (the
// credential) or "sign".
type answer struct {
	Query string `json:"query"`
	Error string `json:"error"`
	Stage string `json:"stage"`
}

func timeOf(t time.Time) instant {
	_, off := t.Zone()
	return instant{Unix: t.Unix(), Nsec: int64(t.Nanosecond()), Offset: off}
}

// valuesOf is v, at azuresas's Version, for the SDK.
func valuesOf(v azuresas.Values) *values {
	rv := &values{
		Version: azuresas.Version, Protocol: []byte(v.Protocol), Expiry: timeOf(v.Expiry),
		Permissions: v.Permissions.String(), Container: []byte(v.Container), Blob: []byte(v.Blob),
		RSCC: []byte(v.CacheControl), RSCD: []byte(v.ContentDisposition), RSCE: []byte(v.ContentEncoding),
		RSCL: []byte(v.ContentLanguage), RSCT: []byte(v.ContentType),
	}
	if !v.Start.IsZero() {
		st := timeOf(v.Start)
		rv.Start = &st
	}
	if v.IPRange.Start.IsValid() {
		rv.IPStart = v.IPRange.Start.String()
		if v.IPRange.End.IsValid() {
			rv.IPEnd = v.IPRange.End.String()
		}
	}
	return rv
}

// SDK is a running azuresas/internal/azref.
type SDK struct{ p *oracle.Process }

// Start starts the program for the rest of tb, or skips tb (fails it under
// CI=true) when it cannot be built.
func Start(tb testing.TB) *SDK {
	tb.Helper()
	root, err := testdep.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return &SDK{oracle.Start(tb, filepath.Join(root, "azuresas", "internal", "azref"))}
}

// ask returns the SDK's SAS query for r, failing tb when the SDK refused.
func (s *SDK) ask(tb testing.TB, r *request) string {
	tb.Helper()
	var a answer
	s.p.Ask(tb, r, &a)
	switch {
	case a.Stage == "key":
		tb.Fatalf("the SDK refused the key azuresas took: %s", a.Error)
	case a.Stage == "sign":
		tb.Fatalf("the SDK refused what azuresas signed: %s", a.Error)
	case a.Error != "":
		tb.Fatalf("azref: %s", a.Error)
	}
	return a.Query
}

// SharedKey is the SDK's service SAS of v with the account's key (base64).
func (s *SDK) SharedKey(tb testing.TB, account, key string, v azuresas.Values) string {
	tb.Helper()
	return s.ask(tb, &request{Op: "sharedkey", Account: account, Key: key, Values: valuesOf(v)})
}

// UserDelegation is the SDK's user delegation SAS of v with the key of the
// Get User Delegation Key answer body; with v nil it only checks that the
// SDK takes the key.
func (s *SDK) UserDelegation(tb testing.TB, account string, body []byte, v *azuresas.Values) string {
	tb.Helper()
	r := &request{Op: "udk", Account: account, UDK: body}
	if v != nil {
		r.Values = valuesOf(*v)
	}
	return s.ask(tb, r)
}
