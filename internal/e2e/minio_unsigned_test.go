package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"presign.dev/httpapi"
	"presign.dev/internal/s3test"
	"presign.dev/policy"
	"presign.dev/presign"
	"presign.dev/sigv4"
)

// The attacks of TestMinIOUnsignedHeaders, by name: each adds to a grant's
// request a header that MinIO acts on without its signature.
const (
	atkForceDelete = "x-minio-force-delete removes keys past the rules"
	atkSourceMTime = "x-minio-source-mtime and -etag forge Last-Modified and ETag"
	atkCopy        = "x-amz-copy-source copies another user's object"
	atkPartCopy    = "x-amz-copy-source on a part copies another user's object"
	atkExtract     = "x-minio-extract reads inside a zip the rules do not allow"
	atkPost        = "a POST form's x-minio-source-mtime header forges Last-Modified"
	atkTagging     = "x-amz-tagging tags the object"
	atkReplica     = "x-amz-replication-status marks the object a replica"
)

var minioAttacks = []struct {
	name string
	// run makes the attack in e's key space and reports whether it took
	// effect; when it did not, run has checked that the store or presign
	// refused it.
	run func(t *testing.T, e *minioEnv) bool
}{
	{atkForceDelete, attackForceDelete},
	{atkSourceMTime, attackSourceMTime},
	{atkCopy, attackCopy},
	{atkPartCopy, attackPartCopy},
	{atkExtract, attackExtract},
	{atkPost, attackPost},
	{atkTagging, attackTagging},
	{atkReplica, attackReplica},
}

// TestMinIOUnsignedHeaders is issue 11's security review as a test: MinIO
// acts on headers that no presigned URL signs (docs/minio.md). Each attack
// runs under four configurations, and the test holds what each one lets
// through, so that it fails when a protection stops working and when an
// attack stops being one (the test would then prove nothing):
//
//   - provider other, root credentials: every attack works;
//   - provider other, the recommended policy (docs/minio.md): the policy
//     stops tags and replica marks, but no MinIO policy can name the
//     x-minio-* headers;
//   - provider minio, root credentials: the headers presign signs (with a
//     value that does nothing) are refused; POST forms, tags and replica
//     marks are not;
//   - provider minio, the recommended policy, post: false (the configuration
//     docs/minio.md recommends): every attack is refused.
//
// Everything presign grants still works in each configuration.
func TestMinIOUnsignedHeaders(t *testing.T) {
	srv := s3test.StartMinIO(t)
	root := sigv4.Credentials{AccessKeyID: srv.AccessKeyID, SecretAccessKey: srv.SecretAccessKey}
	recommended := assumeRoleWith(t, srv, s3test.MinIOPolicy(t, srv.Bucket))
	srv.PutObject(t, bobSecretKey, bobSecret)

	all := func(took bool) map[string]bool {
		m := map[string]bool{}
		for _, a := range minioAttacks {
			m[a.name] = took
		}
		return m
	}
	policyOnly := all(true)
	policyOnly[atkTagging], policyOnly[atkReplica] = false, false
	pinsOnly := all(false)
	pinsOnly[atkTagging], pinsOnly[atkReplica] = true, true
	// No signature covers a POST form's headers: the attack works wherever
	// presign signs POST forms for MinIO.
	pinsOnly[atkPost] = presign.ProviderMinIO.Capabilities().Post

	for i, c := range []struct {
		name     string
		provider presign.Provider
		creds    sigv4.Credentials
		noPost   bool
		want     map[string]bool // attack name → takes effect
	}{
		{"provider other, root credentials", presign.ProviderOther, root, false, all(true)},
		{"provider other, the recommended policy", presign.ProviderOther, recommended, false, policyOnly},
		{"provider minio, root credentials", presign.ProviderMinIO, root, false, pinsOnly},
		{"provider minio, the recommended policy, post off", presign.ProviderMinIO, recommended, true, all(false)},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newMinIOEnv(t, srv, c.provider, c.creds, c.noPost, fmt.Sprintf("c%d/", i))
			t.Run("what the grants allow works", func(t *testing.T) { e.grantsWork(t) })
			got := map[string]bool{}
			for _, a := range minioAttacks {
				t.Run(a.name, func(t *testing.T) { got[a.name] = a.run(t, e) })
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("attacks that took effect (-want +got):\n%s", diff)
			}
		})
	}

	// An earlier README had the signing identity deny PutObject when
	// s3:x-amz-copy-source is present; presign's PUT URLs for MinIO carry
	// an empty x-amz-copy-source, so that policy refuses every one of them
	// (docs/minio.md says to drop it).
	t.Run("the former copy-deny policy refuses provider minio's PUT URLs", func(t *testing.T) {
		creds := assumeRoleWith(t, srv, copyDenyPolicy(srv.Bucket))
		for _, p := range []presign.Provider{presign.ProviderOther, presign.ProviderMinIO} {
			e := newMinIOEnv(t, srv, p, creds, false, "former-"+string(p)+"/")
			st, body := e.put(t, e.ns+"users/alice/plain.txt", []byte("hello"), nil)
			want := map[presign.Provider]int{presign.ProviderOther: 200, presign.ProviderMinIO: 403}[p]
			if st != want || (st == 403 && !strings.Contains(string(body), "AccessDenied")) {
				t.Errorf("provider %s: PUT %d %.200s, want %d", p, st, body, want)
			}
		}
	})

	// What `presign doctor` can ask MinIO without changing anything: a
	// header-signed PUT with the header, of an empty body, to a key that
	// does not exist, with If-Match: MinIO checks the policy first (403
	// AccessDenied) and the precondition after (404 NoSuchKey: the header
	// would have been accepted), and writes nothing either way.
	t.Run("a probe tells the recommended policy from root credentials", func(t *testing.T) {
		for _, h := range []sigv4.Header{{Name: "x-amz-tagging", Value: "presign-probe=1"}, {Name: "x-amz-replication-status", Value: "REPLICA"}} {
			for _, c := range []struct {
				name  string
				creds sigv4.Credentials
				code  string
			}{{"root", root, "NoSuchKey"}, {"recommended", recommended, "AccessDenied"}} {
				st, body := probeMinIOHeader(t, srv, c.creds, h)
				if !bytes.Contains(body, []byte("<Code>"+c.code+"</Code>")) {
					t.Errorf("%s probe with %s credentials: %d %.300s, want %s", h.Name, c.name, st, body, c.code)
				}
			}
		}
		if _, ok := srv.GetObject(t, probeKey); ok {
			t.Error("a probe wrote its key")
		}
	})

	t.Run("MinIO names itself in the Server header", func(t *testing.T) {
		resp, err := client.Head(srv.Endpoint + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Server"); got != "MinIO" {
			t.Errorf("Server: %q, want MinIO", got)
		}
	})
}

// TestMinIOPinnedURLLengths measures what the pinned headers add to each
// URL (docs/minio.md quotes the figures).
func TestMinIOPinnedURLLengths(t *testing.T) {
	b := presign.Backend{Name: "s", Endpoint: "http://127.0.0.1:9000", Bucket: "bucket", PathStyle: presign.PathStyleAlways,
		Credentials: sigv4.Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "secret"}}
	length := func(p presign.Provider, r presign.Request) int {
		b := b
		b.Provider = p
		iss, err := presign.New(presign.Config{Backends: []presign.Backend{b.WithDefaults()},
			Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }})
		if err != nil {
			t.Fatal(err)
		}
		g, err := iss.Issue(t.Context(), presign.Principal{}, r)
		if err != nil {
			t.Fatal(err)
		}
		return len(g.URL)
	}
	n := int64(5)
	got := map[string]int{}
	for name, r := range map[string]presign.Request{
		"delete":    {Op: presign.OpDelete, Key: "users/alice/a.txt"},
		"put":       {Op: presign.OpPut, Key: "users/alice/a.txt", ContentType: "text/plain", ContentLength: &n},
		"get":       {Op: presign.OpGet, Key: "users/alice/a.txt"},
		"get zip/":  {Op: presign.OpGet, Key: "users/alice/a.zip/b.txt"},
		"list zip/": {Op: presign.OpList, Prefix: "users/alice/a.zip/"},
	} {
		got[name] = length(presign.ProviderMinIO, r) - length(presign.ProviderOther, r)
	}
	want := map[string]int{"delete": 159, "put": 127, "get": 0, "get zip/": 40, "list zip/": 40}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bytes the pins add to a URL (-want +got):\n%s", diff)
	}
}

// bobSecretKey is another user's object that the attacks try to copy.
const bobSecretKey = "users/bob/secret.txt"

var bobSecret = []byte("bob's secret, 32 bytes of it....")

// forgedTime and forgedETag are what the forging attacks ask MinIO to keep.
var (
	forgedTime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	forgedETag = "0123456789abcdef0123456789abcdef"
)

// assumeRoleWith returns STS credentials of srv's root user restricted to
// sessionPolicy: what a MinIO user with that policy can do.
func assumeRoleWith(t *testing.T, srv *s3test.Server, sessionPolicy string) sigv4.Credentials {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := sts.New(sts.Options{
		Region: srv.Region, BaseEndpoint: aws.String(srv.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKeyID, srv.SecretAccessKey, ""),
	}).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:minio:iam:::role/presign"), RoleSessionName: aws.String("presign"),
		Policy: aws.String(sessionPolicy), DurationSeconds: aws.Int32(3600),
	})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	return sigv4.Credentials{AccessKeyID: *out.Credentials.AccessKeyId,
		SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}
}

// minioEnv is presign in front of srv for one configuration, with rules
// for an anonymous caller under the key prefix ns: users/alice/** for
// everything, tmp/keep (that key alone) for delete, arch/a.zip/** (not the
// archive itself) for reads.
type minioEnv struct {
	srv *s3test.Server
	iss *presign.Issuer
	ns  string
	who presign.Principal
}

func newMinIOEnv(t *testing.T, srv *s3test.Server, provider presign.Provider, creds sigv4.Credentials, noPost bool, ns string) *minioEnv {
	t.Helper()
	anyone := policy.Who{Anonymous: true}
	p, err := policy.New([]policy.Rule{
		{Name: "alice", Who: anyone, Keys: []string{ns + "users/alice/**"},
			Ops: []presign.Op{presign.OpPut, presign.OpPost, presign.OpMultipart, presign.OpGet, presign.OpHead, presign.OpDelete, presign.OpList}},
		{Name: "keep", Who: anyone, Keys: []string{ns + "tmp/keep"}, Ops: []presign.Op{presign.OpDelete}},
		{Name: "archive", Who: anyone, Keys: []string{ns + "arch/a.zip/**"}, Ops: []presign.Op{presign.OpGet, presign.OpHead, presign.OpList}},
	}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := presign.New(presign.Config{
		Backends: []presign.Backend{{Name: "minio", Provider: provider, Endpoint: srv.Endpoint, Region: srv.Region,
			Bucket: srv.Bucket, PathStyle: presign.PathStyleAlways, Credentials: creds, NoPost: noPost}},
		Authorizer: p,
		Uploads:    presign.UploadsConfig{Secrets: []presign.TokenSecret{{ID: "m", Secret: []byte("minio-unsigned-secret-0123456789abcdef")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &minioEnv{srv: srv, iss: iss, ns: ns, who: presign.Principal{Kind: presign.KindAnonymous}}
}

// grant issues r (its key under e.ns already) or fails the test.
func (e *minioEnv) grant(t *testing.T, r presign.Request) presign.Grant {
	t.Helper()
	g, err := e.iss.Issue(t.Context(), e.who, r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Op, r.Key+r.Prefix, err)
	}
	return g
}

// put uploads data to key through a put grant, with extra headers added.
func (e *minioEnv) put(t *testing.T, key string, data []byte, extra map[string]string) (int, []byte) {
	t.Helper()
	n := int64(len(data))
	g := e.grant(t, presign.Request{Op: presign.OpPut, Key: key, ContentType: "text/plain", ContentLength: &n})
	return use(t, g.Method, g.URL, withHeaders(g.Headers, extra), data)
}

// head returns the object at key as the root user sees it; ok false when
// there is none.
func (e *minioEnv) head(t *testing.T, key string) (*s3.HeadObjectOutput, bool) {
	t.Helper()
	out, err := e.srv.Client().HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(e.srv.Bucket), Key: aws.String(key)})
	if err != nil {
		if _, ok := e.srv.GetObject(t, key); !ok {
			return nil, false
		}
		t.Fatalf("HeadObject %s: %v", key, err)
	}
	return out, true
}

func withHeaders(hs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, h := range hs {
		for k, v := range h {
			out[k] = v
		}
	}
	return out
}

// expectSignatureRefused asserts that the store refused a request whose
// added header broke the signature.
func expectSignatureRefused(t *testing.T, what string, st int, body []byte) {
	t.Helper()
	if st != http.StatusForbidden || !bytes.Contains(body, []byte("SignatureDoesNotMatch")) {
		t.Fatalf("%s: %d %.300s, want 403 SignatureDoesNotMatch", what, st, body)
	}
}

// expectPolicyRefused asserts that the store refused a request by the
// signing identity's policy.
func expectPolicyRefused(t *testing.T, what string, st int, body []byte) {
	t.Helper()
	if st != http.StatusForbidden || !bytes.Contains(body, []byte("AccessDenied")) {
		t.Fatalf("%s: %d %.300s, want 403 AccessDenied", what, st, body)
	}
}

// grantsWork uses one grant of each kind as a client would, and checks what
// it did, and nothing more: put, get, head, list, delete (which leaves the
// keys under the deleted one), an upload in parts, and a POST form unless
// post is off (then presign refuses it).
func (e *minioEnv) grantsWork(t *testing.T) {
	dir := e.ns + "users/alice/legit/"
	before := time.Now().Add(-time.Minute)
	if st, body := e.put(t, dir+"a.txt", []byte("hello"), nil); st != 200 {
		t.Fatalf("put: %d %.300s", st, body)
	}
	if out, ok := e.head(t, dir+"a.txt"); !ok || out.LastModified.Before(before) || aws.ToString(out.ETag) != quotedMD5([]byte("hello")) {
		t.Fatalf("put: stored %v", out)
	}
	g := e.grant(t, presign.Request{Op: presign.OpGet, Key: dir + "a.txt"})
	if st, body := use(t, g.Method, g.URL, g.Headers, nil); st != 200 || string(body) != "hello" {
		t.Fatalf("get: %d %q", st, body)
	}
	g = e.grant(t, presign.Request{Op: presign.OpHead, Key: dir + "a.txt"})
	if st, body := use(t, g.Method, g.URL, g.Headers, nil); st != 200 {
		t.Fatalf("head: %d %.300s", st, body)
	}
	g = e.grant(t, presign.Request{Op: presign.OpList, Prefix: dir})
	if st, body := use(t, g.Method, g.URL, g.Headers, nil); st != 200 || !bytes.Contains(body, []byte("<Key>"+dir+"a.txt</Key>")) {
		t.Fatalf("list: %d %.300s", st, body)
	}

	e.srv.PutObject(t, dir+"d", []byte("d"))
	e.srv.PutObject(t, dir+"d/under", []byte("under"))
	g = e.grant(t, presign.Request{Op: presign.OpDelete, Key: dir + "d"})
	if st, body := use(t, g.Method, g.URL, g.Headers, nil); st != 204 {
		t.Fatalf("delete: %d %.300s", st, body)
	}
	if _, ok := e.srv.GetObject(t, dir+"d"); ok {
		t.Fatal("delete: the key is still there")
	}
	if _, ok := e.srv.GetObject(t, dir+"d/under"); !ok {
		t.Fatal("delete: removed a key under the deleted one")
	}

	data := randomBytes(t, 6*mib+1)
	up, err := e.iss.CreateUpload(t.Context(), e.who, presign.UploadRequest{Key: dir + "parts.bin", Size: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	parts, err := e.iss.SignParts(t.Context(), e.who, up.Token, []presign.PartRequest{{Number: 1}, {Number: 2}})
	if err != nil {
		t.Fatal(err)
	}
	var etags []presign.PartETag
	for _, p := range parts {
		st, etag, body := putPart(t, httpapi.PartURL{PartNumber: p.Number, URL: p.URL, Headers: p.Headers}, partBytes(data, up.PartSize, p.Number))
		if st != 200 {
			t.Fatalf("part %d: %d %.300s", p.Number, st, body)
		}
		etags = append(etags, presign.PartETag{Number: p.Number, ETag: etag})
	}
	if _, err := e.iss.CompleteUpload(t.Context(), e.who, up.Token, etags); err != nil {
		t.Fatalf("complete: %v", err)
	}
	if got, _ := e.srv.GetObject(t, dir+"parts.bin"); !bytes.Equal(got, data) {
		t.Fatalf("upload in parts: stored %d bytes, want %d", len(got), len(data))
	}

	n := int64(4)
	post, err := e.iss.Issue(t.Context(), e.who, presign.Request{Op: presign.OpPost, Key: dir + "post.txt", ContentType: "text/plain", ContentLength: &n})
	if e.noPost() {
		if presign.ErrorCode(err) != presign.CodeUnsupported {
			t.Fatalf("post with post off: %v, want %s", err, presign.CodeUnsupported)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if st, body := postForm(t, post.URL, post.Fields, "text/plain", []byte("post")); st != 201 {
		t.Fatalf("post: %d %.300s", st, body)
	}
	if got, _ := e.srv.GetObject(t, dir+"post.txt"); string(got) != "post" {
		t.Fatalf("post: stored %q", got)
	}
}

// noPost reports whether presign refuses POST forms here.
func (e *minioEnv) noPost() bool {
	n := int64(1)
	_, err := e.iss.Issue(context.Background(), e.who, presign.Request{Op: presign.OpPost, Key: e.ns + "users/alice/probe", ContentLength: &n})
	return presign.ErrorCode(err) == presign.CodeUnsupported
}

func quotedMD5(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// attackForceDelete: the rules allow deleting tmp/keep alone; with
// x-minio-force-delete: true its DELETE URL removes tmp/keep/ and all under
// it (tmp/keepsake is not under it).
func attackForceDelete(t *testing.T, e *minioEnv) bool {
	keys := []string{"tmp/keep", "tmp/keep/a", "tmp/keep/b/c", "tmp/keepsake"}
	for _, k := range keys {
		e.srv.PutObject(t, e.ns+k, []byte(k))
	}
	left := func() []string {
		var out []string
		for _, k := range keys {
			if _, ok := e.srv.GetObject(t, e.ns+k); ok {
				out = append(out, k)
			}
		}
		return out
	}
	if _, err := e.iss.Issue(t.Context(), e.who, presign.Request{Op: presign.OpDelete, Key: e.ns + "tmp/keep/a"}); err == nil {
		t.Fatal("presign granted a delete of tmp/keep/a, which no rule allows")
	}
	g := e.grant(t, presign.Request{Op: presign.OpDelete, Key: e.ns + "tmp/keep"})
	st, body := use(t, g.Method, g.URL, withHeaders(g.Headers, map[string]string{"X-Minio-Force-Delete": "true"}), nil)
	if _, ok := e.srv.GetObject(t, e.ns+"tmp/keep/a"); !ok {
		if diff := cmp.Diff([]string{"tmp/keepsake"}, left()); st != 204 || diff != "" {
			t.Errorf("force-delete: %d, keys left (-want +got):\n%s", st, diff)
		}
		return true
	}
	expectSignatureRefused(t, "DELETE with x-minio-force-delete", st, body)
	// The pinned value travels in the query: the URL without it, or with
	// another value there, is refused too.
	for _, u := range []string{withParam(g.URL, "x-minio-force-delete", "", true), withParam(g.URL, "x-minio-force-delete", "true", false)} {
		st, body := use(t, g.Method, u, g.Headers, nil)
		expectRefused(t, "DELETE with the pinned parameter removed or changed", st, body)
	}
	if diff := cmp.Diff(keys, left()); diff != "" {
		t.Errorf("refused force-delete removed keys (-want +got):\n%s", diff)
	}
	return false
}

// attackSourceMTime: a PUT URL with X-Minio-Source-Mtime and -Etag stores
// an object dated and tagged as the uploader likes.
func attackSourceMTime(t *testing.T, e *minioEnv) bool {
	key := e.ns + "users/alice/forged.txt"
	st, body := e.put(t, key, []byte("hello"), map[string]string{
		"X-Minio-Source-Mtime": forgedTime.Format(time.RFC3339Nano), "X-Minio-Source-Etag": forgedETag})
	out, ok := e.head(t, key)
	if ok && (out.LastModified.Equal(forgedTime) || strings.Contains(aws.ToString(out.ETag), forgedETag)) {
		if !out.LastModified.Equal(forgedTime) || aws.ToString(out.ETag) != `"`+forgedETag+`"` {
			t.Errorf("forged only in part: %v %s", out.LastModified, aws.ToString(out.ETag))
		}
		return true
	}
	expectSignatureRefused(t, "PUT with x-minio-source-mtime", st, body)
	if ok {
		t.Errorf("refused PUT stored an object")
	}
	return false
}

// attackCopy: a PUT URL for alice's key with x-amz-copy-source copies bob's
// object into it.
func attackCopy(t *testing.T, e *minioEnv) bool {
	key := e.ns + "users/alice/copy.txt"
	st, body := e.put(t, key, []byte("hello"), map[string]string{"X-Amz-Copy-Source": "/" + e.srv.Bucket + "/" + bobSecretKey})
	got, ok := e.srv.GetObject(t, key)
	if ok && bytes.Equal(got, bobSecret) {
		return true
	}
	expectSignatureRefused(t, "PUT with x-amz-copy-source", st, body)
	if ok {
		t.Errorf("refused copy stored %q", got)
	}
	return false
}

// attackPartCopy: a part URL with x-amz-copy-source makes bob's object the
// part (of the signed size, so presign's complete would accept it).
func attackPartCopy(t *testing.T, e *minioEnv) bool {
	up, err := e.iss.CreateUpload(t.Context(), e.who, presign.UploadRequest{Key: e.ns + "users/alice/part-copy.bin", Size: int64(len(bobSecret))})
	if err != nil {
		t.Fatal(err)
	}
	parts, err := e.iss.SignParts(t.Context(), e.who, up.Token, []presign.PartRequest{{Number: 1}})
	if err != nil {
		t.Fatal(err)
	}
	p := parts[0]
	st, body := use(t, "PUT", p.URL, withHeaders(p.Headers, map[string]string{"X-Amz-Copy-Source": "/" + e.srv.Bucket + "/" + bobSecretKey}),
		bytes.Repeat([]byte("a"), len(bobSecret)))
	listed, err := e.iss.ListUploadParts(t.Context(), e.who, up.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer e.iss.AbortUpload(context.Background(), e.who, up.Token)
	if len(listed) == 1 && `"`+strings.Trim(listed[0].ETag, `"`)+`"` == quotedMD5(bobSecret) {
		return true
	}
	expectSignatureRefused(t, "part PUT with x-amz-copy-source", st, body)
	if len(listed) != 0 {
		t.Errorf("refused part copy stored parts %v", listed)
	}
	return false
}

// attackExtract: the rules allow reads under arch/a.zip/ but not of
// arch/a.zip itself; with x-minio-extract: true a GET or list URL under it
// reads the archive's files.
func attackExtract(t *testing.T, e *minioEnv) bool {
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, err := zw.Create("inner.txt")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("inside the archive"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	archive := e.ns + "arch/a.zip"
	e.srv.PutObject(t, archive, zb.Bytes())
	if _, err := e.iss.Issue(t.Context(), e.who, presign.Request{Op: presign.OpGet, Key: archive}); err == nil {
		t.Fatal("presign granted a read of the archive, which no rule allows")
	}
	extract := map[string]string{"X-Minio-Extract": "true"}
	g := e.grant(t, presign.Request{Op: presign.OpGet, Key: archive + "/inner.txt"})
	getSt, getBody := use(t, g.Method, g.URL, withHeaders(g.Headers, extract), nil)
	g = e.grant(t, presign.Request{Op: presign.OpList, Prefix: archive + "/"})
	listSt, listBody := use(t, g.Method, g.URL, withHeaders(g.Headers, extract), nil)
	read := getSt == 200 && string(getBody) == "inside the archive"
	listed := listSt == 200 && bytes.Contains(listBody, []byte("inner.txt"))
	if read != listed {
		t.Errorf("extract: GET %d %.100q, list %d %.300q: one read inside, the other not", getSt, getBody, listSt, listBody)
	}
	if read || listed {
		return true
	}
	expectSignatureRefused(t, "GET with x-minio-extract", getSt, getBody)
	expectSignatureRefused(t, "list with x-minio-extract", listSt, listBody)
	return false
}

// attackPost: a POST form's policy signs its fields, not the request's
// headers, and MinIO reads X-Minio-Source-Mtime from the headers.
func attackPost(t *testing.T, e *minioEnv) bool {
	key := e.ns + "users/alice/post-forged.txt"
	n := int64(4)
	g, err := e.iss.Issue(t.Context(), e.who, presign.Request{Op: presign.OpPost, Key: key, ContentType: "text/plain", ContentLength: &n})
	if presign.ErrorCode(err) == presign.CodeUnsupported {
		return false // presign refuses POST forms here
	}
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	req := formRequest(t, g, []byte("post"), &buf)
	req.Header.Set("X-Minio-Source-Mtime", forgedTime.Format(time.RFC3339Nano))
	st, body := do(t, req)
	out, ok := e.head(t, key)
	if ok && out.LastModified.Equal(forgedTime) {
		return true
	}
	if ok || st < 400 {
		t.Errorf("POST with x-minio-source-mtime: %d %.300s, stored %v: neither forged nor refused", st, body, out)
	}
	return false
}

// formRequest builds the multipart/form-data request of a POST grant.
func formRequest(t *testing.T, g presign.Grant, data []byte, buf *bytes.Buffer) *http.Request {
	t.Helper()
	mw := multipart.NewWriter(buf)
	for k, v := range g.Fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", "upload.txt")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", g.URL, buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

// attackTagging: x-amz-tagging tags the uploaded object (a tag can make it
// match a bucket policy's or a lifecycle rule's tag condition).
func attackTagging(t *testing.T, e *minioEnv) bool {
	key := e.ns + "users/alice/tagged.txt"
	st, body := e.put(t, key, []byte("hello"), map[string]string{"X-Amz-Tagging": "public=yes"})
	if st == 200 {
		out, err := e.srv.Client().GetObjectTagging(t.Context(), &s3.GetObjectTaggingInput{Bucket: aws.String(e.srv.Bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.TagSet) != 1 || aws.ToString(out.TagSet[0].Key) != "public" {
			t.Fatalf("tagged PUT stored tags %v", out.TagSet)
		}
		return true
	}
	expectPolicyRefused(t, "PUT with x-amz-tagging", st, body)
	return false
}

// attackReplica: x-amz-replication-status: REPLICA marks the object as
// another site's replica.
func attackReplica(t *testing.T, e *minioEnv) bool {
	key := e.ns + "users/alice/replica.txt"
	st, body := e.put(t, key, []byte("hello"), map[string]string{"X-Amz-Replication-Status": "REPLICA"})
	if st == 200 {
		out, _ := e.head(t, key)
		if out == nil || out.ReplicationStatus != types.ReplicationStatusReplica {
			t.Fatalf("PUT marked REPLICA stored %v", out)
		}
		return true
	}
	expectPolicyRefused(t, "PUT with x-amz-replication-status", st, body)
	return false
}

// probeKey is the key the probes name; it never exists.
const probeKey = "presign-probe/never-written"

// probeMinIOHeader sends the probe of TestMinIOUnsignedHeaders for header
// h, signed in its headers with creds, and returns the store's answer.
func probeMinIOHeader(t *testing.T, srv *s3test.Server, creds sigv4.Credentials, h sigv4.Header) (int, []byte) {
	t.Helper()
	path := "/" + srv.Bucket + "/" + probeKey
	hs := []sigv4.Header{h, {Name: "If-Match", Value: `"00000000000000000000000000000000"`}}
	r := &sigv4.Request{Method: "PUT", Host: strings.TrimPrefix(srv.Endpoint, "http://"), Path: path, Headers: hs,
		PayloadHash: sigv4.EmptyPayloadHash, Time: time.Now()}
	req, err := http.NewRequest("PUT", srv.Endpoint+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range append(hs, sigv4.NewSigner(creds, srv.Region, "s3").SignHeaders(r)...) {
		req.Header.Set(x.Name, x.Value)
	}
	return do(t, req)
}
