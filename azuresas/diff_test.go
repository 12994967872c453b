package azuresas_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/azuresas"
	"presign.dev/internal/oracle/azref"
)

// The Azure SDK for Go's SAS builder (azblob v1.8.3) is the oracle: for the
// same values, the same query byte for byte.
//
// The SDK runs in a helper program, internal/azref, its own module, so that
// it and the modules it requires stay out of presign's go.mod; the test
// builds it with the go command (the module cache or the module proxy must
// have it: without them the test is skipped, and fails under CI=true), and
// speaks to it through package presign.dev/internal/oracle/azref.

// udkServer answers Get User Delegation Key with body, in process.
type udkServer struct{ body []byte }

func (s udkServer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	if req.Method != http.MethodPost || req.URL.Query().Get("comp") != "userdelegationkey" ||
		!strings.HasPrefix(req.Header.Get("Authorization"), "Bearer ") {
		return &http.Response{StatusCode: 400, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}, Request: req}, nil
	}
	return &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {"application/xml"}},
		Body: io.NopCloser(bytes.NewReader(s.body)), Request: req,
	}, nil
}

// udkXML is the answer of Get User Delegation Key for k.
func udkXML(k azuresas.UserDelegationKey) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><UserDelegationKey>`)
	for _, f := range [...]struct{ name, value string }{
		{"SignedOid", k.ObjectID}, {"SignedTid", k.TenantID},
		{"SignedStart", k.Start.UTC().Format(azuresas.TimeFormat)}, {"SignedExpiry", k.Expiry.UTC().Format(azuresas.TimeFormat)},
		{"SignedService", k.Service}, {"SignedVersion", k.Version}, {"Value", base64.StdEncoding.EncodeToString(k.Value)},
	} {
		b.WriteString("<" + f.name + ">")
		xml.EscapeText(&b, []byte(f.value))
		b.WriteString("</" + f.name + ">")
	}
	b.WriteString("</UserDelegationKey>")
	return b.Bytes()
}

// userDelegationSigner gets the key of body through azuresas, as presign
// does, and returns its Signer, or nil when azuresas refuses the key. When
// azuresas takes it, the SDK must take it too.
func userDelegationSigner(t testing.TB, ref *azref.SDK, account string, body []byte) *azuresas.Signer {
	t.Helper()
	endpoint := "https://" + account + ".blob.core.windows.net"
	now := time.Now()
	k, err := azuresas.GetUserDelegationKey(context.Background(), &http.Client{Transport: udkServer{body}}, endpoint, "token", now, now.Add(time.Hour))
	if err != nil {
		return nil
	}
	signer, err := azuresas.NewUserDelegationSigner(account, k)
	if err != nil {
		t.Fatalf("a key GetUserDelegationKey returned: %v", err)
	}
	ref.UserDelegation(t, account, body, nil)
	return signer
}

func testKey(n byte) string {
	sum := sha256.Sum256([]byte{n})
	return base64.StdEncoding.EncodeToString(append(sum[:], sum[:]...))
}

var (
	t0 = time.Date(2026, 11, 22, 10, 30, 15, 999_000_000, time.UTC)
	// A zone east of UTC: times are signed in UTC.
	cet = time.FixedZone("CET", 3600)
)

// diffCases are values of every shape, for the table test and as the fuzz
// target's seeds.
var diffCases = []azuresas.Values{
	{Container: "photos", Blob: "a.jpg", Permissions: azuresas.Read, Expiry: t0.Add(time.Hour)},
	{Container: "photos", Blob: "dir/sub dir/ü ñ +&=?#%.jpg", Permissions: azuresas.Create | azuresas.Write, Start: t0, Expiry: t0.Add(15 * time.Minute).In(cet)},
	{Container: "a-b-c", Blob: "x", Permissions: azuresas.Read | azuresas.Add | azuresas.Create | azuresas.Write | azuresas.Delete, Expiry: t0.Add(7 * 24 * time.Hour),
		Protocol: azuresas.ProtocolHTTPS, IPRange: azuresas.IPRange{Start: netip.MustParseAddr("10.1.2.3")}},
	{Container: "abc", Blob: "y", Permissions: azuresas.Delete, Expiry: t0.Add(time.Minute), Protocol: azuresas.ProtocolHTTPSAndHTTP,
		IPRange: azuresas.IPRange{Start: netip.MustParseAddr("10.0.0.0"), End: netip.MustParseAddr("10.255.255.255")}},
	{Container: "downloads", Blob: "r é.txt", Permissions: azuresas.Read, Expiry: t0.Add(time.Hour),
		ContentDisposition: `attachment; filename="r _.txt"; filename*=UTF-8''r%20%C3%A9.txt`, ContentType: "text/plain; charset=utf-8",
		CacheControl: "no-store", ContentEncoding: "gzip", ContentLanguage: "de-CH"},
}

func testUDK(n byte) azuresas.UserDelegationKey {
	return azuresas.UserDelegationKey{
		ObjectID: "6b2b5c1e-9d1e-4f0e-8c55-5d6f8c1f0a01", TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
		Start: t0.Add(-time.Hour), Expiry: t0.Add(8 * 24 * time.Hour), Service: "b", Version: "2026-06-06",
		Value: bytes.Repeat([]byte{n}, 32),
	}
}

func TestSharedKeyMatchesSDK(t *testing.T) {
	ref := azref.Start(t)
	key := testKey(1)
	a, err := azuresas.ParseAccountKey("presigntest", key)
	if err != nil {
		t.Fatal(err)
	}
	s := azuresas.NewSigner(a)
	for i, v := range diffCases {
		got, err := s.Sign(v)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if diff := cmp.Diff(ref.SharedKey(t, "presigntest", key, v), got); diff != "" {
			t.Errorf("case %d (-sdk +azuresas):\n%s", i, diff)
		}
	}
}

func TestUserDelegationMatchesSDK(t *testing.T) {
	ref := azref.Start(t)
	body := udkXML(testUDK(7))
	signer := userDelegationSigner(t, ref, "presigntest", body)
	if signer == nil {
		t.Fatal("azuresas refused the key")
	}
	for i, v := range diffCases {
		got, err := signer.Sign(v)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if diff := cmp.Diff(ref.UserDelegation(t, "presigntest", body, &v), got); diff != "" {
			t.Errorf("case %d (-sdk +azuresas):\n%s", i, diff)
		}
	}
}

// FuzzSASMatchesSDK: for any values azuresas signs, with the account key or
// a user delegation key, the SDK signs the same query.
func FuzzSASMatchesSDK(f *testing.F) {
	for i, v := range diffCases {
		var ip1, ip2 uint32
		if v.IPRange.Start.IsValid() {
			b := v.IPRange.Start.As4()
			ip1 = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		}
		if v.IPRange.End.IsValid() {
			b := v.IPRange.End.As4()
			ip2 = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		}
		var start int64
		if !v.Start.IsZero() {
			start = v.Start.Unix()
		}
		proto := map[azuresas.Protocol]uint8{azuresas.ProtocolAny: 0, azuresas.ProtocolHTTPS: 1, azuresas.ProtocolHTTPSAndHTTP: 2}[v.Protocol]
		ipMode := uint8(0)
		if ip1 != 0 {
			ipMode = 1
			if ip2 != 0 {
				ipMode = 2
			}
		}
		for _, udk := range []bool{false, true} {
			f.Add(v.Container, v.Blob, uint8(v.Permissions), start, v.Expiry.Unix(), proto, ipMode, ip1, ip2,
				v.CacheControl, v.ContentDisposition, v.ContentEncoding, v.ContentLanguage, v.ContentType,
				[]byte{byte(i)}, udk, "6b2b5c1e-9d1e-4f0e-8c55-5d6f8c1f0a01", "tenant & <id>", "2026-06-06")
		}
	}
	ref := azref.Start(f)
	f.Fuzz(func(t *testing.T, container, blob string, perm uint8, start, expiry int64, proto, ipMode uint8, ip1, ip2 uint32,
		rscc, rscd, rsce, rscl, rsct string, key []byte, udk bool, oid, tid, skv string) {
		// Most inputs would stop at the container name or the permissions;
		// Validate's refusals have their own tests.
		if azuresas.ValidateContainer(container) != nil {
			container = "fuzz-container"
		}
		if perm&31 == 0 {
			perm |= 1
		}
		v := azuresas.Values{
			Container: container, Blob: blob, Permissions: azuresas.Permissions(perm & 31),
			Expiry:       time.Unix(expiry, 0),
			Protocol:     [...]azuresas.Protocol{azuresas.ProtocolAny, azuresas.ProtocolHTTPS, azuresas.ProtocolHTTPSAndHTTP, "http"}[proto%4],
			CacheControl: rscc, ContentDisposition: rscd, ContentEncoding: rsce, ContentLanguage: rscl, ContentType: rsct,
		}
		if start != 0 {
			v.Start = time.Unix(start, 0)
		}
		addr := func(n uint32) netip.Addr {
			return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
		}
		switch ipMode % 3 {
		case 1:
			v.IPRange.Start = addr(ip1)
		case 2:
			v.IPRange = azuresas.IPRange{Start: addr(ip1), End: addr(ip2)}
		}
		if len(key) == 0 {
			key = []byte{0}
		}
		const account = "presigntest"
		if !udk {
			a, err := azuresas.ParseAccountKey(account, base64.StdEncoding.EncodeToString(key))
			if err != nil {
				t.Fatal(err)
			}
			got, err := azuresas.NewSigner(a).Sign(v)
			if err != nil {
				if !errors.Is(err, azuresas.ErrInvalid) {
					t.Fatalf("Sign: %v, not ErrInvalid", err)
				}
				return
			}
			if want := ref.SharedKey(t, account, base64.StdEncoding.EncodeToString(key), v); got != want {
				t.Fatalf("values %+v:\n azuresas %s\n SDK      %s", v, got, want)
			}
			return
		}
		k := azuresas.UserDelegationKey{
			ObjectID: oid, TenantID: tid, Start: time.Unix(start, 0).Add(-time.Hour), Expiry: time.Unix(expiry, 0).Add(time.Hour),
			Service: "b", Version: skv, Value: key,
		}
		body := udkXML(k)
		signer := userDelegationSigner(t, ref, account, body)
		if signer == nil {
			return
		}
		got, err := signer.Sign(v)
		if err != nil {
			if !errors.Is(err, azuresas.ErrInvalid) {
				t.Fatalf("Sign: %v, not ErrInvalid", err)
			}
			return
		}
		if want := ref.UserDelegation(t, account, body, &v); got != want {
			t.Fatalf("values %+v, key %v:\n azuresas %s\n SDK      %s", v, k, got, want)
		}
	})
}
