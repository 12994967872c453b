package presign

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// memStore is a Store in memory that counts its calls. Parts are put by
// the test (putPart), as a client's presigned PUT would; ListParts counts
// one page per 1,000 parts, as S3 pages.
type memStore struct {
	mu      sync.Mutex
	next    int
	uploads map[string]*memUpload // by upload ID
	objects map[string]ObjectInfo // by key
	calls   map[string]int
	// lastComplete is the last CompleteMultipartUpload asked for.
	lastComplete CompleteMultipartInput
}

type memUpload struct {
	key, contentType string
	metadata         map[string]string
	parts            map[int]Part
}

func newMemStore() *memStore {
	return &memStore{uploads: map[string]*memUpload{}, objects: map[string]ObjectInfo{}, calls: map[string]int{}}
}

func (m *memStore) count(op string) {
	m.mu.Lock()
	m.calls[op]++
	m.mu.Unlock()
}

func (m *memStore) takeCalls() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.calls
	m.calls = map[string]int{}
	return c
}

func noSuchUpload(op string) error {
	return &StoreError{Op: op, StatusCode: http.StatusNotFound, Code: "NoSuchUpload"}
}

func (m *memStore) CreateMultipartUpload(_ context.Context, in CreateMultipartInput) (string, error) {
	m.count("CreateMultipartUpload")
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	id := fmt.Sprintf("upload/%d+x", m.next)
	m.uploads[id] = &memUpload{key: in.Key, contentType: in.ContentType, metadata: in.Metadata, parts: map[int]Part{}}
	return id, nil
}

// putPart stores part n of upload id with size bytes, as a PUT would.
func (m *memStore) putPart(id string, n int, size int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.uploads[id].parts[n] = Part{PartNumber: n, Size: size, ETag: fmt.Sprintf(`"etag-%d-%d"`, n, size)}
}

func (m *memStore) ListParts(_ context.Context, _, _, id string) ([]Part, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.uploads[id]
	if u == nil {
		m.calls["ListParts"]++
		return nil, noSuchUpload("ListParts")
	}
	m.calls["ListParts"] += max(1, (len(u.parts)+999)/1000)
	parts := slices.Collect(func(yield func(Part) bool) {
		for _, p := range u.parts {
			if !yield(p) {
				return
			}
		}
	})
	slices.SortFunc(parts, func(a, b Part) int { return a.PartNumber - b.PartNumber })
	return parts, nil
}

func (m *memStore) CompleteMultipartUpload(_ context.Context, in CompleteMultipartInput) (CompletedObject, error) {
	m.count("CompleteMultipartUpload")
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.uploads[in.UploadID]
	if u == nil {
		return CompletedObject{}, noSuchUpload("CompleteMultipartUpload")
	}
	if _, exists := m.objects[in.Key]; exists && in.IfNoneMatch {
		return CompletedObject{}, &StoreError{Op: "CompleteMultipartUpload", StatusCode: http.StatusPreconditionFailed, Code: "PreconditionFailed"}
	}
	var size int64
	for _, p := range in.Parts {
		got, ok := u.parts[p.PartNumber]
		if !ok || got.ETag != p.ETag {
			return CompletedObject{}, &StoreError{Op: "CompleteMultipartUpload", StatusCode: http.StatusBadRequest, Code: "InvalidPart"}
		}
		size += got.Size
	}
	m.lastComplete = in
	if in.ObjectSize != 0 && in.ObjectSize != size {
		return CompletedObject{}, &StoreError{Op: "CompleteMultipartUpload", StatusCode: http.StatusBadRequest, Code: "InvalidRequest"}
	}
	etag := fmt.Sprintf(`"mp-%d"`, len(in.Parts))
	etag = strings.Replace(etag, "mp-", "abc-", 1)
	m.objects[in.Key] = ObjectInfo{Size: size, ETag: etag, ContentType: u.contentType, Metadata: u.metadata}
	delete(m.uploads, in.UploadID)
	return CompletedObject{ETag: etag}, nil
}

func (m *memStore) AbortMultipartUpload(_ context.Context, _, _, id string) error {
	m.count("AbortMultipartUpload")
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.uploads[id] == nil {
		return noSuchUpload("AbortMultipartUpload")
	}
	delete(m.uploads, id)
	return nil
}

func (m *memStore) HeadObject(_ context.Context, _, key string) (ObjectInfo, error) {
	m.count("HeadObject")
	m.mu.Lock()
	defer m.mu.Unlock()
	info, ok := m.objects[key]
	if !ok {
		return ObjectInfo{}, &StoreError{Op: "HeadObject", StatusCode: http.StatusNotFound, Code: "NotFound"}
	}
	return info, nil
}

// decideFunc is an Authorizer of one decision for every request.
type decideFunc func(p Principal, r *Request) (Decision, error)

func (f decideFunc) Authorize(_ context.Context, p Principal, r *Request) (Decision, error) {
	return f(p, r)
}

var (
	alice = Principal{Kind: KindAPIKey, Name: "alice"}
	bob   = Principal{Kind: KindAPIKey, Name: "bob"}
)

// uploadIssuer is an issuer of uploads on a memStore, whose rule allows
// maxSize bytes and forbids overwriting when noOverwrite; *now is its clock.
func uploadIssuer(t *testing.T, maxSize int64, noOverwrite bool) (*Issuer, *memStore, *time.Time) {
	t.Helper()
	st := newMemStore()
	now := testTime
	iss := testIssuer(t, func(c *Config) {
		c.Now = func() time.Time { return now }
		c.Uploads = UploadsConfig{Secrets: testSecrets}
		c.NewStore = func(Backend) (Store, error) { return st, nil }
		c.Authorizer = decideFunc(func(p Principal, r *Request) (Decision, error) {
			if p.Name == "mallory" {
				return Decision{}, Errorf(CodePermissionDenied, "no rule allows mallory")
			}
			return Decision{Rule: "uploads", MaxSize: maxSize, NoOverwrite: noOverwrite}, nil
		})
	})
	return iss, st, &now
}

// storeID returns the store's upload ID that a token binds.
func storeID(t *testing.T, token string) string {
	t.Helper()
	ut, err := openUpload(testSecrets, token, testTime)
	if err != nil {
		t.Fatal(err)
	}
	return ut.UploadID
}

func TestUploadLifecycle(t *testing.T) {
	const MiB = 1 << 20
	tests := []struct {
		name      string
		size      int64
		partSize  int64 // asked; 0 lets presign choose
		wantPart  int64
		wantCount int
		wantLists int // ListParts calls of one complete: one per 1,000 parts
	}{
		{"empty", 0, 0, MinPartSize, 1, 1},
		{"one byte", 1, 0, MinPartSize, 1, 1},
		{"one part exactly", 5 * MiB, 0, MinPartSize, 1, 1},
		{"short last part", 12*MiB + 3, 0, MinPartSize, 3, 1},
		{"part size asked", 12*MiB + 3, 6 * MiB, 6 * MiB, 3, 1},
		{"2,500 parts", 2500 * MinPartSize, 0, MinPartSize, 2500, 3},
		{"10,000 parts at the smallest size", 10000*MinPartSize + 1, 0, 6 * MiB, 8334, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, st, _ := uploadIssuer(t, MaxMultipartSize, true)
			ctx := context.Background()
			up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "big.bin", ContentType: "video/mp4", Size: tt.size, PartSize: tt.partSize})
			if err != nil {
				t.Fatal(err)
			}
			if up.PartSize != tt.wantPart || up.PartCount != tt.wantCount {
				t.Fatalf("part size %d, count %d; want %d, %d", up.PartSize, up.PartCount, tt.wantPart, tt.wantCount)
			}
			if !up.ExpiresAt.Equal(testTime.Add(DefaultUploadExpires)) {
				t.Errorf("expires at %v", up.ExpiresAt)
			}
			id := storeID(t, up.Token)
			for first := 1; first <= up.PartCount; first += MaxPartBatch {
				var batch []PartRequest
				for n := first; n < first+MaxPartBatch && n <= up.PartCount; n++ {
					batch = append(batch, PartRequest{Number: n})
				}
				grants, err := iss.SignParts(ctx, alice, up.Token, batch)
				if err != nil {
					t.Fatal(err)
				}
				for i, g := range grants {
					n := batch[i].Number
					want := min(up.PartSize, tt.size-int64(n-1)*up.PartSize)
					if g.Number != n || g.Headers["Content-Length"] != strconv.FormatInt(want, 10) {
						t.Fatalf("part %d: %+v; want Content-Length %d", n, g, want)
					}
					u, _ := url.Parse(g.URL)
					if u.Query().Get("partNumber") != strconv.Itoa(n) || u.Query().Get("uploadId") != id {
						t.Fatalf("part %d's URL %s does not name the part and the upload", n, g.URL)
					}
					st.putPart(id, n, want)
				}
			}
			st.takeCalls()
			done, err := iss.CompleteUpload(ctx, alice, up.Token, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(map[string]int{"ListParts": tt.wantLists, "CompleteMultipartUpload": 1}, st.takeCalls()); diff != "" {
				t.Errorf("store calls of complete (-want +got):\n%s", diff)
			}
			want := CompletedUpload{Backend: "default", Bucket: "bucket", Key: "big.bin", Size: tt.size,
				ETag: fmt.Sprintf(`"abc-%d"`, tt.wantCount), ContentType: "video/mp4",
				Location: "http://127.0.0.1:9000/bucket/big.bin"}
			if diff := cmp.Diff(want, done, cmpopts.IgnoreUnexported(CompletedUpload{})); diff != "" {
				t.Errorf("completed (-want +got):\n%s", diff)
			}
			// Idempotent: the same answer, from one HEAD.
			again, err := iss.CompleteUpload(ctx, alice, up.Token, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(done, again, cmpopts.IgnoreFields(CompletedUpload{}, "Repeated"), cmp.AllowUnexported(CompletedUpload{})); diff != "" || done.Repeated || !again.Repeated {
				t.Errorf("second complete (-first +second):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]int{"ListParts": 1, "HeadObject": 1}, st.takeCalls()); diff != "" {
				t.Errorf("store calls of the second complete (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUploadResume(t *testing.T) {
	iss, st, now := uploadIssuer(t, 1<<30, false)
	ctx := context.Background()
	up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "resume.bin", Size: 3*MinPartSize + 7})
	if err != nil {
		t.Fatal(err)
	}
	id := storeID(t, up.Token)
	st.putPart(id, 1, MinPartSize)
	st.putPart(id, 3, 7)
	// A page reload later: list, re-sign what is missing, finish.
	*now = now.Add(2 * time.Hour)
	parts, err := iss.ListUploadParts(ctx, alice, up.Token)
	if err != nil {
		t.Fatal(err)
	}
	if got := []int{parts[0].PartNumber, parts[1].PartNumber}; len(parts) != 2 || !slices.Equal(got, []int{1, 3}) {
		t.Fatalf("listed %+v", parts)
	}
	if _, err := iss.CompleteUpload(ctx, alice, up.Token, nil); ErrorCode(err) != CodeInvalidArgument || !strings.Contains(ErrorMessage(err), "part 2 of 4 is missing") {
		t.Fatalf("complete with a part missing: %v", err)
	}
	grants, err := iss.SignParts(ctx, alice, up.Token, []PartRequest{{Number: 2}, {Number: 4}})
	if err != nil {
		t.Fatal(err)
	}
	if !grants[0].ExpiresAt.Equal(now.Add(DefaultExpires)) {
		t.Errorf("a re-signed URL expires at %v, want %v", grants[0].ExpiresAt, now.Add(DefaultExpires))
	}
	st.putPart(id, 2, MinPartSize)
	st.putPart(id, 4, 0)
	// Four parts of 5 MiB + 5 MiB + 7 + 0 bytes do not make the layout:
	// part 3 must be 5 MiB and part 4 the last 7 bytes.
	if _, err := iss.CompleteUpload(ctx, alice, up.Token, nil); ErrorCode(err) != CodeInvalidArgument || !strings.Contains(ErrorMessage(err), "part 3 holds 7 bytes") {
		t.Fatalf("complete with misplaced sizes: %v", err)
	}
	st.putPart(id, 3, MinPartSize)
	st.putPart(id, 4, 7)
	named := []PartETag{{1, `"etag-1-5242880"`}, {2, "etag-2-5242880"}, {3, `"etag-3-5242880"`}, {4, "etag-4-7"}}
	done, err := iss.CompleteUpload(ctx, alice, up.Token, named)
	if err != nil {
		t.Fatal(err)
	}
	if done.Size != 3*MinPartSize+7 {
		t.Errorf("size %d", done.Size)
	}
}

func TestUploadRefusals(t *testing.T) {
	ctx := context.Background()
	start := func(t *testing.T, maxSize int64, noOverwrite bool, size int64) (*Issuer, *memStore, *time.Time, Upload) {
		iss, st, now := uploadIssuer(t, maxSize, noOverwrite)
		up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "k", Size: size})
		if err != nil {
			t.Fatal(err)
		}
		return iss, st, now, up
	}
	t.Run("over the rule's limit at create", func(t *testing.T) {
		iss, _, _ := uploadIssuer(t, 10, false)
		if _, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "k", Size: 11}); ErrorCode(err) != CodeTooLarge {
			t.Errorf("got %v", err)
		}
	})
	t.Run("refused by the rules", func(t *testing.T) {
		iss, st, _ := uploadIssuer(t, 10, false)
		if _, err := iss.CreateUpload(ctx, Principal{Kind: KindAPIKey, Name: "mallory"}, UploadRequest{Key: "k", Size: 1}); ErrorCode(err) != CodePermissionDenied {
			t.Errorf("got %v", err)
		}
		if calls := st.takeCalls(); len(calls) != 0 {
			t.Errorf("the store was called: %v", calls)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		iss, st, _ := uploadIssuer(t, MaxMultipartSize, false)
		for name, r := range map[string]UploadRequest{
			"no size":                {Key: "k", Size: -5},
			"part size too small":    {Key: "k", Size: 20 << 20, PartSize: 1 << 20},
			"part size too large":    {Key: "k", Size: 20 << 20, PartSize: MaxPartSize + 1},
			"too many parts":         {Key: "k", Size: 10001 * MinPartSize, PartSize: MinPartSize},
			"over 5 TiB":             {Key: "k", Size: MaxMultipartSize + 1},
			"whole-object SHA-256":   {Key: "k", Size: 1, ChecksumSHA256: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
			"bad CRC64NVME":          {Key: "k", Size: 1, ChecksumCRC64NVME: "nope"},
			"part size without size": {Key: "k", Size: SizeUnknown, PartSize: MinPartSize},
			"bad key":                {Key: "../k", Size: 1},
			"negative lifetime":      {Key: "k", Size: 1, ExpiresIn: -time.Second},
		} {
			if _, err := iss.CreateUpload(ctx, alice, r); err == nil || ErrorCode(err) == CodeInternal || ErrorCode(err) == CodeUnavailable {
				t.Errorf("%s: %v", name, err)
			}
		}
		if calls := st.takeCalls(); len(calls) != 0 {
			t.Errorf("the store was called: %v", calls)
		}
	})
	t.Run("tokens", func(t *testing.T) {
		iss, st, now, up := start(t, 1<<30, false, 12<<20)
		st.takeCalls()
		tampered := up.Token[:len(up.Token)-2] + "AA"
		if tampered == up.Token {
			tampered = up.Token[:len(up.Token)-2] + "BA"
		}
		cases := []struct {
			name  string
			who   Principal
			token string
			want  Code
		}{
			{"tampered", alice, tampered, CodeUnauthenticated},
			{"not a token", alice, "u1.k2.zzz", CodeUnauthenticated},
			{"another caller", bob, up.Token, CodePermissionDenied},
			{"same name, other kind", Principal{Kind: KindJWT, Name: "alice"}, up.Token, CodePermissionDenied},
		}
		for _, c := range cases {
			if _, err := iss.SignParts(ctx, c.who, c.token, []PartRequest{{Number: 1}}); ErrorCode(err) != c.want {
				t.Errorf("%s: sign: %v", c.name, err)
			}
			if _, err := iss.ListUploadParts(ctx, c.who, c.token); ErrorCode(err) != c.want {
				t.Errorf("%s: list: %v", c.name, err)
			}
			if _, err := iss.CompleteUpload(ctx, c.who, c.token, nil); ErrorCode(err) != c.want {
				t.Errorf("%s: complete: %v", c.name, err)
			}
			if err := iss.AbortUpload(ctx, c.who, c.token); ErrorCode(err) != c.want {
				t.Errorf("%s: abort: %v", c.name, err)
			}
		}
		if calls := st.takeCalls(); len(calls) != 0 {
			t.Errorf("the store was called for refused tokens: %v", calls)
		}
		// A token for a backend this issuer does not serve.
		other := testIssuer(t, func(c *Config) {
			c.Backends[0].Name = "other"
			c.Uploads = UploadsConfig{Secrets: testSecrets}
			c.NewStore = func(Backend) (Store, error) { return st, nil }
		})
		if _, err := other.SignParts(ctx, alice, up.Token, []PartRequest{{Number: 1}}); ErrorCode(err) != CodePermissionDenied {
			t.Errorf("another backend: %v", err)
		}
		// Part numbers outside the upload, batches too large or empty.
		for _, parts := range [][]PartRequest{{{Number: 0}}, {{Number: 4}}, nil, make([]PartRequest, MaxPartBatch+1),
			{{Number: 1, ChecksumSHA256: "short"}}} {
			if _, err := iss.SignParts(ctx, alice, up.Token, parts); ErrorCode(err) != CodeInvalidArgument {
				t.Errorf("%d parts from %+v: %v", len(parts), parts[:min(1, len(parts))], err)
			}
		}
		*now = up.ExpiresAt
		if _, err := iss.SignParts(ctx, alice, up.Token, []PartRequest{{Number: 1}}); ErrorCode(err) != CodeUnauthenticated || !strings.Contains(ErrorMessage(err), "expired") {
			t.Errorf("expired: %v", err)
		}
	})
	t.Run("a part URL never outlives its upload", func(t *testing.T) {
		iss, _, now, up := start(t, 1<<30, false, 1)
		*now = up.ExpiresAt.Add(-90 * time.Second)
		g, err := iss.SignParts(ctx, alice, up.Token, []PartRequest{{Number: 1, ChecksumSHA256: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}})
		if err != nil {
			t.Fatal(err)
		}
		if !g[0].ExpiresAt.Equal(up.ExpiresAt) || !strings.Contains(g[0].URL, "X-Amz-Expires=90&") {
			t.Errorf("expires at %v (%s), want %v", g[0].ExpiresAt, g[0].URL, up.ExpiresAt)
		}
		if g[0].Headers["x-amz-checksum-sha256"] == "" || !strings.Contains(g[0].URL, "x-amz-checksum-sha256") {
			t.Errorf("the part's checksum is not signed: %+v", g[0])
		}
	})
	t.Run("over the limit at complete: aborted", func(t *testing.T) {
		iss, st, _, up := start(t, 1<<30, false, 12<<20)
		id := storeID(t, up.Token)
		// A store that took more than was signed (it ignored Content-Length).
		st.putPart(id, 1, 5<<20)
		st.putPart(id, 2, 5<<20)
		st.putPart(id, 3, 3<<20)
		_, err := iss.CompleteUpload(ctx, alice, up.Token, nil)
		if ErrorCode(err) != CodeTooLarge {
			t.Fatalf("got %v", err)
		}
		if _, ok := st.uploads[id]; ok {
			t.Error("the upload was not aborted")
		}
		if _, ok := st.objects["k"]; ok {
			t.Error("an object was made")
		}
	})
	t.Run("overwrite forbidden", func(t *testing.T) {
		iss, st, _, up := start(t, 1<<30, true, 1)
		st.objects["k"] = ObjectInfo{Size: 3, ETag: `"x"`}
		st.putPart(storeID(t, up.Token), 1, 1)
		if _, err := iss.CompleteUpload(ctx, alice, up.Token, nil); ErrorCode(err) != CodePermissionDenied || !strings.Contains(ErrorMessage(err), "may not be overwritten") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("named parts that the store does not hold", func(t *testing.T) {
		iss, st, _, up := start(t, 1<<30, false, 12<<20)
		id := storeID(t, up.Token)
		st.putPart(id, 1, 5<<20)
		st.putPart(id, 2, 5<<20)
		st.putPart(id, 3, 2<<20)
		for name, named := range map[string][]PartETag{
			"other ETag": {{1, "etag-1-5242880"}, {2, "etag-9"}, {3, "etag-3-2097152"}},
			"missing":    {{1, "etag-1-5242880"}, {3, "etag-3-2097152"}},
			"twice":      {{1, "etag-1-5242880"}, {1, "etag-1-5242880"}, {2, "etag-2-5242880"}, {3, "etag-3-2097152"}},
			"beyond":     {{1, "etag-1-5242880"}, {2, "etag-2-5242880"}, {3, "etag-3-2097152"}, {4, "x"}},
		} {
			if _, err := iss.CompleteUpload(ctx, alice, up.Token, named); ErrorCode(err) != CodeInvalidArgument {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
	t.Run("aborted, then completed", func(t *testing.T) {
		iss, st, _, up := start(t, 1<<30, false, 1)
		st.putPart(storeID(t, up.Token), 1, 1)
		for range 2 { // idempotent
			if err := iss.AbortUpload(ctx, alice, up.Token); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := iss.CompleteUpload(ctx, alice, up.Token, nil); ErrorCode(err) != CodeNotFound {
			t.Fatalf("complete after abort: %v", err)
		}
	})
	t.Run("not configured", func(t *testing.T) {
		iss := testIssuer(t, nil)
		if _, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "k", Size: 1}); ErrorCode(err) != CodeUnsupported {
			t.Errorf("got %v", err)
		}
	})
}

// Companion's protocol declares no size: part URLs sign none, and the
// total is checked at complete.
func TestUploadOfUnknownSize(t *testing.T) {
	ctx := context.Background()
	iss, st, _ := uploadIssuer(t, 12<<20, false)
	up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "k", Size: SizeUnknown})
	if err != nil {
		t.Fatal(err)
	}
	if up.PartSize != 0 || up.PartCount != 3 {
		t.Errorf("part size %d, count %d: want 0 and the 3 parts 12 MiB can take", up.PartSize, up.PartCount)
	}
	g, err := iss.SignParts(ctx, alice, up.Token, []PartRequest{{Number: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g[0].Headers["Content-Length"]; ok {
		t.Errorf("a part of an unknown size is signed with a size: %+v", g[0])
	}
	if _, err := iss.SignParts(ctx, alice, up.Token, []PartRequest{{Number: 4}}); ErrorCode(err) != CodeInvalidArgument {
		t.Errorf("part 4 of an upload that 3 parts hold: %v", err)
	}
	id := storeID(t, up.Token)
	if _, err := iss.CompleteUpload(ctx, alice, up.Token, nil); ErrorCode(err) != CodeInvalidArgument {
		t.Errorf("complete without parts: %v", err)
	}
	st.putPart(id, 1, 5<<20)
	st.putPart(id, 2, 1<<20)
	st.putPart(id, 3, 1) // a stray part the client does not name
	done, err := iss.CompleteUpload(ctx, alice, up.Token, []PartETag{{1, "etag-1-5242880"}, {2, `"etag-2-1048576"`}})
	if err != nil {
		t.Fatal(err)
	}
	if done.Size != 6<<20 || st.objects["k"].Size != 6<<20 {
		t.Errorf("completed %d bytes, store holds %d", done.Size, st.objects["k"].Size)
	}
	again, err := iss.CompleteUpload(ctx, alice, up.Token, nil)
	if err != nil || again.Size != done.Size {
		t.Errorf("second complete: %+v, %v", again, err)
	}

	over, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "k2", Size: SizeUnknown})
	if err != nil {
		t.Fatal(err)
	}
	id = storeID(t, over.Token)
	st.putPart(id, 1, 5<<20)
	st.putPart(id, 2, 5<<20)
	st.putPart(id, 3, 2<<20+1)
	if _, err := iss.CompleteUpload(ctx, alice, over.Token, nil); ErrorCode(err) != CodeTooLarge {
		t.Fatalf("over the limit: %v", err)
	}
	if _, ok := st.uploads[id]; ok {
		t.Error("an upload over the limit was not aborted")
	}
}

func TestPathTokens(t *testing.T) {
	iss, _, now := uploadIssuer(t, 1, false)
	jwt := testPrincipal // exp 1900000000, long after testTime
	tok, exp, err := iss.IssuePathToken(jwt, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(testTime.Add(DefaultPathTokenExpires)) {
		t.Errorf("expires at %v", exp)
	}
	got, err := iss.OpenPathToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	// Only the claims the rules read travel (none are configured here).
	want := jwt
	want.Claims = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
	iss.uploads.PathTokenClaims = []string{"org", "team"}
	tok2, _, _ := iss.IssuePathToken(jwt, 0)
	if got, _ := iss.OpenPathToken(tok2); !cmp.Equal(got.Claims, map[string]string{"org": "acme"}) {
		t.Errorf("claims carried %v; want org only (team absent, sub and exp not read by rules)", got.Claims)
	}
	// Never past the JWT's own expiry, nor the uploads' lifetime.
	soon := testPrincipal
	soon.Claims = map[string]string{"exp": strconv.FormatInt(testTime.Add(10*time.Minute).Unix(), 10)}
	if _, exp, _ := iss.IssuePathToken(soon, time.Hour); !exp.Equal(testTime.Add(10 * time.Minute)) {
		t.Errorf("a JWT expiring in 10m gave a token until %v", exp)
	}
	soon.Claims["exp"] = strconv.FormatFloat(float64(testTime.Add(20*time.Minute).Unix()), 'e', -1, 64)
	if _, exp, _ := iss.IssuePathToken(soon, time.Hour); !exp.Equal(testTime.Add(20 * time.Minute)) {
		t.Errorf("a JWT expiring in 20m (exp %s) gave a token until %v", soon.Claims["exp"], exp)
	}
	if _, exp, _ := iss.IssuePathToken(alice, 1000*time.Hour); !exp.Equal(testTime.Add(DefaultUploadExpires)) {
		t.Errorf("1000h gave a token until %v", exp)
	}
	if _, _, err := iss.IssuePathToken(alice, -time.Second); ErrorCode(err) != CodeInvalidArgument {
		t.Errorf("negative lifetime: %v", err)
	}
	huge := alice
	huge.Groups = []string{strings.Repeat("x", 5000)}
	if _, _, err := iss.IssuePathToken(huge, 0); ErrorCode(err) != CodeInvalidArgument {
		t.Errorf("a huge identity: %v", err)
	}
	if _, err := iss.OpenPathToken(tok[:len(tok)-1] + "A"); ErrorCode(err) != CodeUnauthenticated {
		t.Errorf("tampered: %v", err)
	}
	*now = exp
	if _, err := iss.OpenPathToken(tok); ErrorCode(err) != CodeUnauthenticated {
		t.Errorf("expired: %v", err)
	}
}

func TestKeyFromFilename(t *testing.T) {
	ctx := context.Background()
	r := Request{Op: OpPost, Filename: "cat picture.png", KeyFromFilename: true}
	g, err := testIssuer(t, nil).Issue(ctx, alice, r)
	if err != nil || g.Key != "cat picture.png" {
		t.Errorf("without a generated key: key %q, %v; want the file name", g.Key, err)
	}
	generating := testIssuer(t, func(c *Config) {
		c.Authorizer = decideFunc(func(_ Principal, r *Request) (Decision, error) {
			if r.Key != "" {
				return Decision{}, Errorf(CodePermissionDenied, "keys are generated here")
			}
			return Decision{Key: "uploads/1234/" + r.Filename}, nil
		})
	})
	if g, err := generating.Issue(ctx, alice, r); err != nil || g.Key != "uploads/1234/cat picture.png" {
		t.Errorf("with a generated key: key %q, %v", g.Key, err)
	}
	refusing := testIssuer(t, func(c *Config) {
		c.Authorizer = decideFunc(func(_ Principal, r *Request) (Decision, error) {
			return Decision{}, Errorf(CodePermissionDenied, "no rule allows %q", r.Key)
		})
	})
	if _, err := refusing.Issue(ctx, alice, r); ErrorCode(err) != CodePermissionDenied || !strings.Contains(ErrorMessage(err), "cat picture.png") {
		t.Errorf("refused: %v; want the refusal of the file name as key", err)
	}
}

// Once the store no longer has an upload, complete answers from the object
// only when it bears this upload's stamp; list answers not found.
func TestUploadGone(t *testing.T) {
	ctx := context.Background()
	iss, st, _ := uploadIssuer(t, 1<<30, false)
	up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "k", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := iss.AbortUpload(ctx, alice, up.Token); err != nil {
		t.Fatal(err)
	}
	// Another upload to the same key completes, with the same size and
	// part count.
	other, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "k", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	st.putPart(storeID(t, other.Token), 1, 1)
	if _, err := iss.CompleteUpload(ctx, alice, other.Token, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := iss.CompleteUpload(ctx, alice, up.Token, nil); ErrorCode(err) != CodeNotFound {
		t.Errorf("complete of the aborted upload, another object at its key: %v; want not found", err)
	}
	if _, err := iss.ListUploadParts(ctx, alice, up.Token); ErrorCode(err) != CodeNotFound {
		t.Errorf("list of the aborted upload: %v; want not found", err)
	}
	if got := st.objects["k"].Metadata[stampMetadata]; len(got) != 16 {
		t.Errorf("the object's stamp is %q; want 16 hex digits", got)
	}
}

func TestUploadPartChecksumsAndLifetime(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	iss := testIssuer(t, func(c *Config) {
		c.Uploads = UploadsConfig{Secrets: testSecrets}
		c.NewStore = func(Backend) (Store, error) { return st, nil }
		c.Authorizer = decideFunc(func(Principal, *Request) (Decision, error) {
			return Decision{Rule: "short", MaxExpires: time.Minute}, nil
		})
	})
	crc := "AAAAAAAAAAA="
	sha := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "k", Size: 1, ChecksumCRC64NVME: crc})
	if err != nil {
		t.Fatal(err)
	}
	for name, pr := range map[string]PartRequest{
		"no part checksum":    {Number: 1},
		"a SHA-256 instead":   {Number: 1, ChecksumSHA256: sha},
		"a SHA-256 as well":   {Number: 1, ChecksumCRC64NVME: crc, ChecksumSHA256: sha},
		"a malformed CRC64NV": {Number: 1, ChecksumCRC64NVME: "x"},
	} {
		if _, err := iss.SignParts(ctx, alice, up.Token, []PartRequest{pr}); ErrorCode(err) != CodeInvalidArgument {
			t.Errorf("%s: %v", name, err)
		}
	}
	g, err := iss.SignParts(ctx, alice, up.Token, []PartRequest{{Number: 1, ChecksumCRC64NVME: crc}})
	if err != nil {
		t.Fatal(err)
	}
	if g[0].Headers["x-amz-checksum-crc64nvme"] != crc || !g[0].ExpiresAt.Equal(testTime.Add(time.Minute)) {
		t.Errorf("part grant %+v; want its CRC64NVME signed, for the rule's 1m", g[0])
	}
	st.putPart(storeID(t, up.Token), 1, 1)
	done, err := iss.CompleteUpload(ctx, alice, up.Token, nil)
	if err != nil || done.Checksum != "crc64nvme:"+crc || done.ContentType != "application/octet-stream" {
		t.Errorf("complete: %+v, %v; want the declared checksum and the default type", done, err)
	}
	if _, err := iss.Issue(ctx, alice, Request{Op: OpPost, Filename: "../x", KeyFromFilename: true}); ErrorCode(err) != CodeInvalidArgument || !strings.Contains(ErrorMessage(err), "file name is not a usable key") {
		t.Errorf("a file name that is not a key: %v", err)
	}
}

// A put or post asked with Verify carries an upload token; complete checks
// the object at the key against what was signed.
func TestVerifiedSingleUploads(t *testing.T) {
	ctx := context.Background()
	iss, st, _ := uploadIssuer(t, 100, false)
	n := int64(11)
	sha := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	md5 := "1B2M2Y8AsgTpgAmY7PhCfg==" // of "": hex d41d8cd98f00b204e9800998ecf8427e
	g, err := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "k", ContentType: "text/plain", ContentLength: &n,
		ChecksumSHA256: sha, ContentMD5: md5, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	stamp := g.Headers["x-amz-meta-"+stampMetadata]
	if g.Upload == "" || len(stamp) != 16 || !strings.Contains(g.URL, "x-amz-meta-"+stampMetadata) {
		t.Fatalf("grant %+v: want an upload token and the stamp signed", g)
	}
	if _, err := iss.CompleteUpload(ctx, alice, g.Upload, nil); ErrorCode(err) != CodeNotFound {
		t.Errorf("complete before the upload: %v", err)
	}
	good := ObjectInfo{Size: 11, ETag: `"d41d8cd98f00b204e9800998ecf8427e"`, ContentType: "text/plain",
		Metadata: map[string]string{stampMetadata: stamp}, Checksums: map[string]string{"SHA256": sha}}
	for name, tc := range map[string]struct {
		mod  func(*ObjectInfo)
		want Code
	}{
		"another upload's object": {func(o *ObjectInfo) { o.Metadata = map[string]string{stampMetadata: "0000000000000000"} }, CodeNotFound},
		// Versity Gateway keeps the stamp of an object replaced without
		// metadata: one written after the grant's URL expired is not its.
		"written after the URL expired": {func(o *ObjectInfo) { o.LastModified = testTime.Add(DefaultExpires + 2*time.Minute) }, CodeNotFound},
		"other size":                    {func(o *ObjectInfo) { o.Size = 12 }, CodeInvalidArgument},
		"other type":                    {func(o *ObjectInfo) { o.ContentType = "text/html" }, CodeInvalidArgument},
		"other SHA-256":                 {func(o *ObjectInfo) { o.Checksums = nil }, CodeInvalidArgument},
		"other MD5":                     {func(o *ObjectInfo) { o.ETag = `"00"` }, CodeInvalidArgument},
	} {
		obj := good
		tc.mod(&obj)
		st.objects["k"] = obj
		if _, err := iss.CompleteUpload(ctx, alice, g.Upload, nil); ErrorCode(err) != tc.want {
			t.Errorf("%s: %v; want %s", name, err, tc.want)
		}
	}
	st.objects["k"] = good
	st.takeCalls()
	done, err := iss.CompleteUpload(ctx, alice, g.Upload, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := CompletedUpload{Backend: "default", Bucket: "bucket", Key: "k", Size: 11, ETag: good.ETag, ContentType: "text/plain",
		Checksum: "sha256:" + sha, Location: "http://127.0.0.1:9000/bucket/k"}
	if diff := cmp.Diff(want, done, cmpopts.IgnoreUnexported(CompletedUpload{})); diff != "" {
		t.Errorf("complete (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"HeadObject": 1}, st.takeCalls()); diff != "" {
		t.Errorf("store calls (-want +got):\n%s", diff)
	}
	if _, err := iss.SignParts(ctx, alice, g.Upload, []PartRequest{{Number: 1}}); ErrorCode(err) != CodeInvalidArgument {
		t.Errorf("parts of a put's token: %v", err)
	}
	if _, err := iss.CompleteUpload(ctx, bob, g.Upload, nil); ErrorCode(err) != CodePermissionDenied {
		t.Errorf("another caller: %v", err)
	}
	// A POST form: the stamp is a signed field; the size is the limit's.
	pg, err := iss.Issue(ctx, alice, Request{Op: OpPost, Key: "p", Verify: true})
	if err != nil || pg.Upload == "" || len(pg.Fields["x-amz-meta-"+stampMetadata]) != 16 {
		t.Fatalf("post grant %+v, %v", pg, err)
	}
	st.objects["p"] = ObjectInfo{Size: 101, Metadata: map[string]string{stampMetadata: pg.Fields["x-amz-meta-"+stampMetadata]}}
	if _, err := iss.CompleteUpload(ctx, alice, pg.Upload, nil); ErrorCode(err) != CodeInvalidArgument {
		t.Errorf("a post over the limit: %v", err)
	}
	// Without upload secrets, or without Verify, no token and no stamp.
	plain, _ := testIssuer(t, nil).Issue(ctx, alice, Request{Op: OpPut, Key: "k", Verify: true})
	unasked, _ := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "k", ContentLength: &n})
	for _, g := range []Grant{plain, unasked} {
		if g.Upload != "" || strings.Contains(g.URL, stampMetadata) {
			t.Errorf("grant %+v has a token or a stamp", g)
		}
	}
}

// BenchmarkCompleteUpload completes uploads of 1, 100 and 1,000 parts on
// a memStore: presign's own work at complete (the token, the checks of the
// listed parts, the Complete request's parts), with the store's calls
// counted (one ListParts page per 1,000 parts, one Complete).
func BenchmarkCompleteUpload(b *testing.B) {
	for _, parts := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("parts=%d", parts), func(b *testing.B) {
			st := newMemStore()
			iss := testIssuer(b, func(c *Config) {
				c.Uploads = UploadsConfig{Secrets: testSecrets}
				c.NewStore = func(Backend) (Store, error) { return st, nil }
			})
			ctx := context.Background()
			size := int64(parts) * MinPartSize
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "k", Size: size})
				if err != nil {
					b.Fatal(err)
				}
				t, _ := openUpload(testSecrets, up.Token, testTime)
				for n := 1; n <= parts; n++ {
					st.putPart(t.UploadID, n, MinPartSize)
				}
				st.takeCalls()
				b.StartTimer()
				if _, err := iss.CompleteUpload(ctx, alice, up.Token, nil); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if calls := st.takeCalls(); calls["ListParts"] != (parts+999)/1000 || calls["CompleteMultipartUpload"] != 1 || len(calls) != 2 {
					b.Fatalf("store calls %v", calls)
				}
				b.StartTimer()
			}
		})
	}
}

// Every upload has its own ID, the same bytes to the same key too; a
// repeated complete of one has the same. Clients never set presign's
// stamp, nor metadata that the stamp would take over the limit.
func TestUploadIDsAndStamps(t *testing.T) {
	ctx := context.Background()
	iss, st, _ := uploadIssuer(t, 1<<30, false)
	var ids []string
	for range 2 {
		up, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "same", Size: 5})
		if err != nil {
			t.Fatal(err)
		}
		st.putPart(storeID(t, up.Token), 1, 5)
		a, err := iss.CompleteUpload(ctx, alice, up.Token, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := iss.CompleteUpload(ctx, alice, up.Token, nil)
		if err != nil || a.ID() != b.ID() {
			t.Fatalf("a repeated complete: %v, IDs %s and %s", err, a.ID(), b.ID())
		}
		ids = append(ids, a.ID())
	}
	if ids[0] == ids[1] || !strings.HasPrefix(ids[0], "upl_") {
		t.Errorf("two uploads of the same bytes to one key have IDs %q", ids)
	}
	if _, err := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "k", Metadata: map[string]string{"presign-upload": "0123456789abcdef"}}); ErrorCode(err) != CodeInvalidArgument {
		t.Errorf("a client's presign-* metadata: %v", err)
	}
	big := map[string]string{"note": strings.Repeat("x", MaxMetadataSize-len("note")-5)}
	one := int64(1)
	if _, err := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "k", ContentLength: &one, Metadata: big}); err != nil {
		t.Errorf("metadata at the limit without a stamp: %v", err)
	}
	if _, err := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "k", ContentLength: &one, Metadata: big, Verify: true}); ErrorCode(err) != CodeTooLarge {
		t.Errorf("metadata that the stamp takes over the limit: %v", err)
	}
	for _, prefix := range []string{"users/alice/..", "users/alice/.", "..", "a/../b/"} {
		if ValidatePrefix(prefix) == nil {
			t.Errorf("prefix %q accepted", prefix)
		}
	}
}
