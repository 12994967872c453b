package azuresas_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"presign.dev/azuresas"
	"presign.dev/internal/azuritetest"
)

// azurite is one Azurite server and what signs for its account.
type azurite struct {
	*azuritetest.Server
	signer *azuresas.Signer
}

func startAzurite(t *testing.T) *azurite {
	t.Helper()
	s := azuritetest.Start(t)
	a, err := azuresas.ParseAccountKey(s.AccountName, s.AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	return &azurite{Server: s, signer: azuresas.NewSigner(a)}
}

// url signs v (its container s.Container unless set) and returns the blob
// URL with the SAS and the extra query before it.
func (a *azurite) url(t *testing.T, signer *azuresas.Signer, v azuresas.Values, extra string) string {
	t.Helper()
	if v.Container == "" {
		v.Container = a.Container
	}
	sas, err := signer.Sign(v)
	if err != nil {
		t.Fatal(err)
	}
	if extra != "" {
		sas = extra + "&" + sas
	}
	return azuresas.BlobURL(a.Endpoint, v.Container, v.Blob, sas)
}

// send makes one request and returns its status, error code (x-ms-error-code)
// and body.
func (a *azurite) send(t *testing.T, method, u string, body []byte, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return a.Do(t, req)
}

type answer struct {
	Status int
	Code   string // x-ms-error-code
}

func answerOf(resp *http.Response) answer {
	return answer{resp.StatusCode, resp.Header.Get("x-ms-error-code")}
}

var blockBlob = map[string]string{"x-ms-blob-type": "BlockBlob"}

func TestAzuritePutAndGet(t *testing.T) {
	a := startAzurite(t)
	now := time.Now()
	body := []byte("hello, azure\n")
	name := "dir/a file ü+&=?.txt"

	put := a.url(t, a.signer, azuresas.Values{Blob: name, Permissions: azuresas.Create | azuresas.Write, Expiry: now.Add(time.Hour)}, "")
	resp, got := a.send(t, http.MethodPut, put, body, map[string]string{"x-ms-blob-type": "BlockBlob", "Content-Type": "text/plain"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %s\n%s", resp.Status, got)
	}
	get := a.url(t, a.signer, azuresas.Values{Blob: name, Permissions: azuresas.Read, Start: now.Add(-time.Minute), Expiry: now.Add(time.Hour)}, "")
	resp, got = a.send(t, http.MethodGet, get, nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
		t.Fatalf("GET with the read SAS: %s %q, want 200 %q", resp.Status, got, body)
	}
	// What landed, read independently (an account SAS of the harness).
	resp, got = a.Get(t, name)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("GET with an account SAS: %s %q (%s)", resp.Status, got, resp.Header.Get("Content-Type"))
	}
}

// TestAzuriteRefusals: what Azurite refuses, each beside the same request
// untampered, which it serves.
func TestAzuriteRefusals(t *testing.T) {
	a := startAzurite(t)
	now := time.Now()
	hour := now.Add(time.Hour)
	existing := "existing.txt"
	resp, body := a.send(t, http.MethodPut, a.url(t, a.signer, azuresas.Values{Blob: existing, Permissions: azuresas.Create, Expiry: hour}, ""), []byte("old"), blockBlob)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT %s: %s\n%s", existing, resp.Status, body)
	}
	ok := answer{Status: http.StatusCreated}
	read := answer{Status: http.StatusOK}
	tamper := func(u, param string, f func(string) string) string {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		q := pu.Query()
		q.Set(param, f(q.Get(param)))
		pu.RawQuery = q.Encode()
		return pu.String()
	}
	for _, tc := range []struct {
		name    string
		method  string
		url     func(fresh string) (good, bad string)
		headers map[string]string
		good    answer // the untampered request
		want    answer // the tampered one
	}{{
		name: "tampered signature", method: http.MethodPut, headers: blockBlob, good: ok,
		url: func(fresh string) (string, string) {
			u := a.url(t, a.signer, azuresas.Values{Blob: fresh, Permissions: azuresas.Write, Expiry: hour}, "")
			return u, tamper(u, "sig", func(s string) string {
				if s[0] == 'A' {
					return "B" + s[1:]
				}
				return "A" + s[1:]
			})
		},
		want: answer{http.StatusForbidden, "AuthorizationFailure"},
	}, {
		name: "another blob's name", method: http.MethodPut, headers: blockBlob, good: ok,
		url: func(fresh string) (string, string) {
			u := a.url(t, a.signer, azuresas.Values{Blob: fresh, Permissions: azuresas.Write, Expiry: hour}, "")
			return u, strings.Replace(u, "/"+fresh+"?", "/other-"+fresh+"?", 1)
		},
		want: answer{http.StatusForbidden, "AuthorizationFailure"},
	}, {
		name: "expired", method: http.MethodPut, headers: blockBlob, good: ok,
		url: func(fresh string) (string, string) {
			return a.url(t, a.signer, azuresas.Values{Blob: fresh, Permissions: azuresas.Write, Expiry: hour}, ""),
				a.url(t, a.signer, azuresas.Values{Blob: "x" + fresh, Permissions: azuresas.Write, Start: now.Add(-2 * time.Hour), Expiry: now.Add(-time.Second)}, "")
		},
		want: answer{http.StatusForbidden, "AuthorizationFailure"},
	}, {
		name: "not yet valid", method: http.MethodPut, headers: blockBlob, good: ok,
		url: func(fresh string) (string, string) {
			return a.url(t, a.signer, azuresas.Values{Blob: fresh, Permissions: azuresas.Write, Start: now.Add(-time.Minute), Expiry: hour}, ""),
				a.url(t, a.signer, azuresas.Values{Blob: "x" + fresh, Permissions: azuresas.Write, Start: now.Add(time.Hour), Expiry: now.Add(2 * time.Hour)}, "")
		},
		want: answer{http.StatusForbidden, "AuthorizationFailure"},
	}, {
		name: "a read SAS used to write", method: http.MethodPut, headers: blockBlob, good: ok,
		url: func(fresh string) (string, string) {
			return a.url(t, a.signer, azuresas.Values{Blob: fresh, Permissions: azuresas.Write, Expiry: hour}, ""),
				a.url(t, a.signer, azuresas.Values{Blob: "x" + fresh, Permissions: azuresas.Read, Expiry: hour}, "")
		},
		want: answer{http.StatusForbidden, "AuthorizationPermissionMismatch"},
	}, {
		name: "sp widened from r to rw", method: http.MethodPut, headers: blockBlob, good: ok,
		url: func(fresh string) (string, string) {
			u := a.url(t, a.signer, azuresas.Values{Blob: fresh, Permissions: azuresas.Write, Expiry: hour}, "")
			r := a.url(t, a.signer, azuresas.Values{Blob: "x" + fresh, Permissions: azuresas.Read, Expiry: hour}, "")
			return u, tamper(r, "sp", func(string) string { return "rw" })
		},
		want: answer{http.StatusForbidden, "AuthorizationFailure"},
	}, {
		name: "a write SAS used to read", method: http.MethodGet, good: read,
		url: func(string) (string, string) {
			return a.url(t, a.signer, azuresas.Values{Blob: existing, Permissions: azuresas.Read, Expiry: hour}, ""),
				a.url(t, a.signer, azuresas.Values{Blob: existing, Permissions: azuresas.Write, Expiry: hour}, "")
		},
		want: answer{http.StatusForbidden, "AuthorizationPermissionMismatch"},
	}, {
		name: "Put Blob without x-ms-blob-type", method: http.MethodPut, good: ok,
		url: func(fresh string) (string, string) {
			u := a.url(t, a.signer, azuresas.Values{Blob: fresh, Permissions: azuresas.Write, Expiry: hour}, "")
			return u, u
		},
		headers: nil,
		// Azurite answers without a code or body (Azure: 400
		// MissingRequiredHeader).
		want: answer{http.StatusBadRequest, ""},
	}, {
		name: "overwrite with If-None-Match: *", method: http.MethodPut, good: ok,
		headers: map[string]string{"x-ms-blob-type": "BlockBlob", "If-None-Match": "*"},
		url: func(fresh string) (string, string) {
			return a.url(t, a.signer, azuresas.Values{Blob: fresh, Permissions: azuresas.Create | azuresas.Write, Expiry: hour}, ""),
				a.url(t, a.signer, azuresas.Values{Blob: existing, Permissions: azuresas.Create | azuresas.Write, Expiry: hour}, "")
		},
		want: answer{http.StatusConflict, "BlobAlreadyExists"},
	}, {
		name: "overwrite with a create-only SAS", method: http.MethodPut, headers: blockBlob, good: ok,
		url: func(fresh string) (string, string) {
			return a.url(t, a.signer, azuresas.Values{Blob: fresh, Permissions: azuresas.Create, Expiry: hour}, ""),
				a.url(t, a.signer, azuresas.Values{Blob: existing, Permissions: azuresas.Create, Expiry: hour}, "")
		},
		want: answer{http.StatusForbidden, "AuthorizationPermissionMismatch"},
	}, {
		name: "Put Block with a create-only SAS", method: http.MethodPut, good: ok,
		url: func(fresh string) (string, string) {
			block := "comp=block&blockid=" + azuresas.BlockID(1)
			return a.url(t, a.signer, azuresas.Values{Blob: fresh, Permissions: azuresas.Write, Expiry: hour}, block),
				a.url(t, a.signer, azuresas.Values{Blob: "x" + fresh, Permissions: azuresas.Create, Expiry: hour}, block)
		},
		want: answer{http.StatusForbidden, "AuthorizationPermissionMismatch"},
	}, {
		name: "an HTTPS-only SAS over HTTP", method: http.MethodPut, headers: blockBlob, good: ok,
		url: func(fresh string) (string, string) {
			return a.url(t, a.signer, azuresas.Values{Blob: fresh, Permissions: azuresas.Write, Protocol: azuresas.ProtocolHTTPSAndHTTP, Expiry: hour}, ""),
				a.url(t, a.signer, azuresas.Values{Blob: "x" + fresh, Permissions: azuresas.Write, Protocol: azuresas.ProtocolHTTPS, Expiry: hour}, "")
		},
		want: answer{http.StatusForbidden, "AuthorizationProtocolMismatch"},
	}, {
		name: "rscd changed", method: http.MethodGet, good: read,
		url: func(string) (string, string) {
			u := a.url(t, a.signer, azuresas.Values{Blob: existing, Permissions: azuresas.Read, Expiry: hour, ContentDisposition: "attachment"}, "")
			return u, tamper(u, "rscd", func(string) string { return "inline" })
		},
		want: answer{http.StatusForbidden, "AuthorizationFailure"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			fresh := strings.Map(func(r rune) rune {
				if 'a' <= r && r <= 'z' {
					return r
				}
				return '-'
			}, strings.ToLower(tc.name)) + ".txt"
			good, bad := tc.url(fresh)
			resp, body := a.send(t, tc.method, good, []byte("new"), map[string]string{"x-ms-blob-type": "BlockBlob"})
			if diff := cmp.Diff(tc.good, answerOf(resp)); diff != "" {
				t.Errorf("the untampered request (-want +got):\n%s\n%s", diff, body)
			}
			resp, body = a.send(t, tc.method, bad, []byte("new"), tc.headers)
			if diff := cmp.Diff(tc.want, answerOf(resp)); diff != "" {
				t.Errorf("(-want +got):\n%s\n%s", diff, body)
			}
			t.Logf("%s: %s", resp.Status, body)
		})
	}
	// Nothing replaced the existing blob.
	if resp, got := a.Get(t, existing); resp.StatusCode != http.StatusOK || string(got) != "old" {
		t.Errorf("%s now holds %s %q, want \"old\"", existing, resp.Status, got)
	}
}

// TestAzuriteBlockUpload uploads a file in blocks as a client would (Put
// Block with SAS URLs), lists them as presign would to resume (the
// uncommitted blocks), and commits them with the Client.
func TestAzuriteBlockUpload(t *testing.T) {
	a := startAzurite(t)
	ctx := context.Background()
	now := time.Now()
	c := &azuresas.Client{Endpoint: a.Endpoint, Signer: a.signer, HTTP: a.HTTPClient}
	name := "uploads/big file.bin"
	parts := [][]byte{bytes.Repeat([]byte("a"), 1<<20), bytes.Repeat([]byte("b"), 1<<20), []byte("tail")}

	if _, err := c.GetBlockList(ctx, a.Container, name); !isAzureError(err, http.StatusNotFound, "BlobNotFound") {
		t.Fatalf("GetBlockList before any block: %v, want 404 BlobNotFound", err)
	}
	// Parts 3 and 1 first, then 2: the list is in upload order, the blob in
	// part order.
	for _, n := range []int{3, 1, 2} {
		u := a.url(t, a.signer, azuresas.Values{Blob: name, Permissions: azuresas.Write, Expiry: now.Add(time.Hour)}, azuresas.PutBlockQuery(n))
		resp, body := a.send(t, http.MethodPut, u, parts[n-1], nil)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("Put Block %d: %s\n%s", n, resp.Status, body)
		}
	}
	bl, err := c.GetBlockList(ctx, a.Container, name)
	if err != nil {
		t.Fatal(err)
	}
	want := azuresas.BlockList{Uncommitted: []azuresas.Block{
		{ID: azuresas.BlockID(3), Size: 4}, {ID: azuresas.BlockID(1), Size: 1 << 20}, {ID: azuresas.BlockID(2), Size: 1 << 20},
	}}
	if diff := cmp.Diff(want, bl); diff != "" {
		t.Errorf("GetBlockList (-want +got):\n%s", diff)
	}
	for _, b := range bl.Uncommitted {
		if _, ok := azuresas.ParseBlockID(b.ID); !ok {
			t.Errorf("ParseBlockID(%q) failed", b.ID)
		}
	}
	if _, err := c.GetProperties(ctx, a.Container, name); !isAzureError(err, http.StatusNotFound, "BlobNotFound") {
		t.Fatalf("GetProperties before the commit: %v, want 404 BlobNotFound", err)
	}

	in := azuresas.CommitInput{
		Container: a.Container, Blob: name,
		BlockIDs:    []string{azuresas.BlockID(1), azuresas.BlockID(2), azuresas.BlockID(3)},
		ContentType: "application/x-test", Metadata: map[string]string{"presign_upload": "u1"},
		IfNoneMatch: true,
	}
	res, err := c.PutBlockList(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.GetProperties(ctx, a.Container, name)
	if err != nil {
		t.Fatal(err)
	}
	whole := bytes.Join(parts, nil)
	wantP := azuresas.Properties{
		Size: int64(len(whole)), ContentType: "application/x-test", ETag: res.ETag, LastModified: res.LastModified,
		Metadata: map[string]string{"presign_upload": "u1"}, BlobType: "BlockBlob",
	}
	if diff := cmp.Diff(wantP, p, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("GetProperties (-want +got):\n%s", diff)
	}
	if resp, got := a.Get(t, name); !bytes.Equal(got, whole) {
		t.Errorf("the blob: %s, %d bytes; want the %d of the parts in order", resp.Status, len(got), len(whole))
	}
	if bl, err := c.GetBlockList(ctx, a.Container, name); err != nil || len(bl.Uncommitted) != 0 || len(bl.Committed) != 3 {
		t.Errorf("GetBlockList after the commit: %+v, %v; want 3 committed blocks", bl, err)
	}
	// No overwrite: the same commit again is refused.
	if _, err := c.PutBlockList(ctx, in); !isAzureError(err, http.StatusConflict, "BlobAlreadyExists") {
		t.Errorf("PutBlockList with If-None-Match: * on an existing blob: %v, want 409 BlobAlreadyExists", err)
	}
	// Without it, a commit replaces the blob (Write overwrites).
	in.IfNoneMatch, in.BlockIDs = false, in.BlockIDs[2:]
	if _, err := c.PutBlockList(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, got := a.Get(t, name); string(got) != "tail" {
		t.Errorf("after the second commit the blob holds %d bytes, want \"tail\"", len(got))
	}
}

func TestAzuriteProperties(t *testing.T) {
	a := startAzurite(t)
	ctx := context.Background()
	c := &azuresas.Client{Endpoint: a.Endpoint, Signer: a.signer, HTTP: a.HTTPClient}
	body := []byte("<p>hi</p>")
	sum := md5.Sum(body)
	u := a.url(t, a.signer, azuresas.Values{Blob: "p.html", Permissions: azuresas.Create, Expiry: time.Now().Add(time.Hour)}, "")
	resp, got := a.send(t, http.MethodPut, u, body, map[string]string{
		"x-ms-blob-type": "BlockBlob", "x-ms-blob-content-type": "text/html", "x-ms-meta-Owner": "Ann", "x-ms-meta-b": "2",
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %s\n%s", resp.Status, got)
	}
	p, err := c.GetProperties(ctx, a.Container, "p.html")
	if err != nil {
		t.Fatal(err)
	}
	want := azuresas.Properties{
		Size: int64(len(body)), ContentType: "text/html", ETag: resp.Header.Get("ETag"), ContentMD5: sum[:],
		Metadata: map[string]string{"owner": "Ann", "b": "2"}, BlobType: "BlockBlob",
	}
	if diff := cmp.Diff(want, p, cmpopts.IgnoreFields(azuresas.Properties{}, "LastModified")); diff != "" {
		t.Errorf("GetProperties (-want +got):\n%s", diff)
	}
	if lm, _ := http.ParseTime(resp.Header.Get("Last-Modified")); !p.LastModified.Equal(lm) {
		t.Errorf("LastModified %v, want %v", p.LastModified, lm)
	}
	if _, err := c.GetProperties(ctx, a.Container, "missing"); !isAzureError(err, http.StatusNotFound, "BlobNotFound") {
		t.Errorf("GetProperties of a missing blob: %v, want 404 BlobNotFound", err)
	}
	// A client of another key: refused, and the error holds no SAS.
	other, _ := azuresas.ParseAccountKey(a.AccountName, "AAAA")
	bad := &azuresas.Client{Endpoint: a.Endpoint, Signer: azuresas.NewSigner(other), HTTP: a.HTTPClient}
	_, err = bad.GetProperties(ctx, a.Container, "p.html")
	if !isAzureError(err, http.StatusForbidden, "") {
		t.Errorf("GetProperties with the wrong key: %v, want 403", err)
	}
	// A network error does not carry the URL (and its SAS) either.
	down := &azuresas.Client{Endpoint: "http://127.0.0.1:1/acct", Signer: a.signer}
	if _, err := down.GetProperties(ctx, a.Container, "p.html"); err == nil || strings.Contains(err.Error(), "sig=") || strings.Contains(err.Error(), "127.0.0.1:1/") {
		t.Errorf("GetProperties of a closed port: %v; want an error without the URL", err)
	}
}

// TestAzuriteResponseHeaders: rscd and rsct set a download's headers, not
// the blob's.
func TestAzuriteResponseHeaders(t *testing.T) {
	a := startAzurite(t)
	hour := time.Now().Add(time.Hour)
	put := a.url(t, a.signer, azuresas.Values{Blob: "r.bin", Permissions: azuresas.Create, Expiry: hour}, "")
	if resp, body := a.send(t, http.MethodPut, put, []byte("x"), map[string]string{"x-ms-blob-type": "BlockBlob", "Content-Type": "application/octet-stream"}); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %s\n%s", resp.Status, body)
	}
	// As presign.ContentDisposition writes it: ASCII (a response header
	// value must be, see TestSignRefuses).
	disp := `attachment; filename="r _.txt"; filename*=UTF-8''r%20%C3%A9.txt`
	get := a.url(t, a.signer, azuresas.Values{Blob: "r.bin", Permissions: azuresas.Read, Expiry: hour, ContentDisposition: disp, ContentType: "text/plain; charset=utf-8", CacheControl: "no-store"}, "")
	resp, _ := a.send(t, http.MethodGet, get, nil, nil)
	got := map[string]string{"Status": resp.Status}
	for _, h := range []string{"Content-Disposition", "Content-Type", "Cache-Control"} {
		got[h] = resp.Header.Get(h)
	}
	want := map[string]string{"Status": "200 OK", "Content-Disposition": disp, "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET with rscd, rsct, rscc (-want +got):\n%s", diff)
	}
	if resp, _ := a.Get(t, "r.bin"); resp.Header.Get("Content-Type") != "application/octet-stream" || resp.Header.Get("Content-Disposition") != "" {
		t.Errorf("the blob's own headers changed: %v", resp.Header)
	}
}

// TestAzuriteUserDelegation gets a user delegation key from Azurite (HTTPS,
// --oauth basic) and uses SAS signed with it.
func TestAzuriteUserDelegation(t *testing.T) {
	s := azuritetest.StartOAuth(t)
	a := &azurite{Server: s}
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	oid, tid := "6b2b5c1e-9d1e-4f0e-8c55-5d6f8c1f0a01", "72f988bf-86f1-41af-91ab-2d7cd011db47"
	k, err := azuresas.GetUserDelegationKey(ctx, s.HTTPClient, s.Endpoint, s.Token(oid, tid), now.Add(-time.Minute), now.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if k.ObjectID != oid || k.TenantID != tid || k.Service != "b" || !k.Start.Equal(now.Add(-time.Minute)) || !k.Expiry.Equal(now.Add(2*time.Hour)) || len(k.Value) == 0 {
		t.Fatalf("the key: %v", k)
	}
	signer, err := azuresas.NewUserDelegationSigner(s.AccountName, k)
	if err != nil {
		t.Fatal(err)
	}
	hour := now.Add(time.Hour)
	put := a.url(t, signer, azuresas.Values{Blob: "ud.txt", Permissions: azuresas.Create, Protocol: azuresas.ProtocolHTTPS, Expiry: hour}, "")
	if resp, body := a.send(t, http.MethodPut, put, []byte("ud"), blockBlob); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT with a user delegation SAS: %s\n%s", resp.Status, body)
	}
	get := a.url(t, signer, azuresas.Values{Blob: "ud.txt", Permissions: azuresas.Read, Expiry: hour, ContentDisposition: "attachment"}, "")
	if resp, body := a.send(t, http.MethodGet, get, nil, nil); resp.StatusCode != http.StatusOK || string(body) != "ud" || resp.Header.Get("Content-Disposition") != "attachment" {
		t.Fatalf("GET with a user delegation SAS: %s %q %v", resp.Status, body, resp.Header)
	}
	c := &azuresas.Client{Endpoint: s.Endpoint, Signer: signer, HTTP: s.HTTPClient}
	if p, err := c.GetProperties(ctx, s.Container, "ud.txt"); err != nil || p.Size != 2 {
		t.Fatalf("GetProperties with a user delegation key: %+v, %v", p, err)
	}

	// Refused: a key of another value, another principal, a read SAS to write.
	forged := k
	forged.Value = bytes.Repeat([]byte{1}, 32)
	other := k
	other.ObjectID = "00000000-0000-0000-0000-000000000000"
	for _, tc := range []struct {
		name string
		key  azuresas.UserDelegationKey
		perm azuresas.Permissions
		want answer
	}{
		{"another key value", forged, azuresas.Write, answer{http.StatusForbidden, "AuthorizationFailure"}},
		{"another principal", other, azuresas.Write, answer{http.StatusForbidden, "AuthorizationFailure"}},
		{"a read SAS to write", k, azuresas.Read, answer{http.StatusForbidden, "AuthorizationPermissionMismatch"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sg, err := azuresas.NewUserDelegationSigner(s.AccountName, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			resp, body := a.send(t, http.MethodPut, a.url(t, sg, azuresas.Values{Blob: "ud-refused.txt", Permissions: tc.perm, Expiry: hour}, ""), []byte("x"), blockBlob)
			if diff := cmp.Diff(tc.want, answerOf(resp)); diff != "" {
				t.Errorf("(-want +got):\n%s\n%s", diff, body)
			}
		})
	}
	// A SAS may not outlive its key.
	if _, err := signer.Sign(azuresas.Values{Container: s.Container, Blob: "ud.txt", Permissions: azuresas.Read, Expiry: k.Expiry.Add(time.Second)}); !errors.Is(err, azuresas.ErrInvalid) {
		t.Errorf("Sign past the key's expiry: %v, want ErrInvalid", err)
	}
	// Get User Delegation Key refuses a token for another audience, and the
	// error does not hold the token.
	tok := strings.Replace(s.Token(oid, tid), "", "", 1)
	_, err = azuresas.GetUserDelegationKey(ctx, s.HTTPClient, s.Endpoint, "x"+tok, now, now.Add(time.Hour))
	if !isAzureError(err, http.StatusForbidden, "") && !isAzureError(err, http.StatusUnauthorized, "") {
		t.Errorf("GetUserDelegationKey with a malformed token: %v, want 401 or 403", err)
	}
	if err != nil && strings.Contains(err.Error(), tok[:20]) {
		t.Errorf("the error holds the token: %v", err)
	}
}

func isAzureError(err error, status int, code string) bool {
	var e *azuresas.Error
	return errors.As(err, &e) && e.StatusCode == status && (code == "" || e.Code == code)
}

// TestAzuriteWriteSASDoesMore pins what the package doc says a block
// upload's SAS cannot prevent: with the Write SAS of a part's URL, its
// holder commits a block list itself and replaces the blob with Put Blob.
func TestAzuriteWriteSASDoesMore(t *testing.T) {
	a := startAzurite(t)
	name := "parts.bin"
	v := azuresas.Values{Blob: name, Permissions: azuresas.Write, Expiry: time.Now().Add(time.Hour)}
	// One SAS, used for parts 1 and 7 (the block ID is not signed).
	for _, n := range []int{1, 7} {
		if resp, body := a.send(t, http.MethodPut, a.url(t, a.signer, v, azuresas.PutBlockQuery(n)), []byte("part"), nil); resp.StatusCode != http.StatusCreated {
			t.Fatalf("Put Block %d: %s\n%s", n, resp.Status, body)
		}
	}
	list := `<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>` + azuresas.BlockID(7) + `</Latest></BlockList>`
	resp, body := a.send(t, http.MethodPut, a.url(t, a.signer, v, "comp=blocklist"), []byte(list), map[string]string{"x-ms-blob-content-type": "text/html"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("Put Block List by the holder of the part's SAS: %s\n%s", resp.Status, body)
	}
	if resp, got := a.Get(t, name); string(got) != "part" || resp.Header.Get("Content-Type") != "text/html" {
		t.Fatalf("the blob the holder committed: %q (%s)", got, resp.Header.Get("Content-Type"))
	}
	// The block it did not name is gone.
	c := &azuresas.Client{Endpoint: a.Endpoint, Signer: a.signer, HTTP: a.HTTPClient}
	bl, err := c.GetBlockList(context.Background(), a.Container, name)
	if want := (azuresas.BlockList{Committed: []azuresas.Block{{ID: azuresas.BlockID(7), Size: 4}}}); err != nil || !cmp.Equal(want, bl) {
		t.Fatalf("GetBlockList: %+v, %v; want %+v", bl, err, want)
	}
	resp, body = a.send(t, http.MethodPut, a.url(t, a.signer, v, ""), []byte("replaced"), blockBlob)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("Put Blob by the holder of the part's SAS: %s\n%s", resp.Status, body)
	}
	if _, got := a.Get(t, name); string(got) != "replaced" {
		t.Fatalf("the blob after Put Blob: %q", got)
	}
}
