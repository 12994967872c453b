package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// keyCase is a key that breaks naive encoders. refusedBy lists the store
// flavors that refuse to store it: there the suite asserts the refusal.
type keyCase struct {
	name      string
	key       string
	refusedBy []string
	// storedAs maps a flavor to the key its listing shows, where the store
	// accepts the key but keeps it under another name.
	storedAs map[string]string
}

// segment returns a path segment of n bytes.
func segment(n int) string { return strings.Repeat("s", n) }

var keyCases = []keyCase{
	{name: "spaces", key: "e2e/keys/with spaces  and  doubles.txt"},
	{name: "plus", key: "e2e/keys/c++ 1+1=2.txt"},
	{name: "percent", key: "e2e/keys/100% literal %20 and %2F.txt"},
	{name: "reserved", key: "e2e/keys/?#&=;:@$,[]!*'().txt"},
	{name: "tilde and friends", key: "e2e/keys/~user/_-.txt"},
	{name: "unicode NFC", key: "e2e/keys/caf\u00e9.txt"},
	{name: "unicode NFD", key: "e2e/keys/cafe\u0301.txt"},
	{name: "cjk and emoji", key: "e2e/keys/日本語/ファイル 🐱.txt"},
	{name: "backslash and quotes", key: `e2e/keys/a\b"c'd.txt`},
	// MinIO refuses empty segments; Versity Gateway's posix backend stores
	// the object as a file, so the filesystem folds "a//b" into "a/b".
	{name: "empty segment", key: "e2e/keys/a//b.txt", refusedBy: []string{"minio"},
		storedAs: map[string]string{"versitygw": "e2e/keys/a/b.txt"}},
	// Versity Gateway refuses data under a key ending in "/" (a directory).
	{name: "trailing slash", key: "e2e/keys/dir/", refusedBy: []string{"versitygw"}},
	{name: "exactly 1024 bytes", key: "e2e/keys/" + segment(250) + "/" + segment(250) + "/" + segment(250) + "/" + segment(250) + "/" + segment(11)},
	{name: "1024 bytes of multi-byte UTF-8", key: "e2e/keys/" + strings.Repeat("é", 120) + "/" + strings.Repeat("ü", 120) + "/" + strings.Repeat("ß", 120) + "/" + strings.Repeat("ö", 120) + "/" + strings.Repeat("x", 1024-9-4*241)},
	// Both stores keep objects as files: a segment is a file name, at most 255 bytes.
	{name: "segment over 255 bytes", key: "e2e/keys/" + segment(300), refusedBy: []string{"versitygw", "minio"}},
}

func (kc keyCase) refused(flavor string) bool {
	for _, f := range kc.refusedBy {
		if f == flavor {
			return true
		}
	}
	return false
}

// testKeys uploads each key through a presigned PUT, reads it back through
// a presigned GET, and checks with the store's own listing that the stored
// key is exactly the one asked for (no decoding, normalization or + → space).
func testKeys(t *testing.T, tg Target) {
	for _, kc := range keyCases {
		if len(kc.key) > 1024 && !kc.refused(tg.Flavor) {
			t.Fatalf("key case %s is %d bytes", kc.name, len(kc.key))
		}
	}
	if n := len(keyCases[len(keyCases)-3].key); n != 1024 {
		t.Fatalf("the 1024-byte case is %d bytes", n)
	}
	t.Run("1025 bytes refused by presign", func(t *testing.T) {
		status, body := callAPI(t, tg, "POST", "/v1/presign", map[string]any{"op": "put", "key": keyCases[len(keyCases)-3].key + "x"})
		expectStatus(t, "presign a 1025-byte key", status, body, http.StatusBadRequest)
	})
	for _, kc := range keyCases {
		t.Run(kc.name, func(t *testing.T) {
			data := []byte("data of " + kc.name)
			g := presignJSON(t, tg, map[string]any{"op": "put", "key": kc.key, "content_length": len(data)})
			status, body := use(t, "PUT", g.URL, g.Headers, data)
			if kc.refused(tg.Flavor) {
				expectRefused(t, "PUT "+kc.name+" (this store refuses such keys)", status, body)
				// The store may refuse to even look such a key up: check its listing.
				if keys := listKeys(t, tg, "e2e/keys/"); contains(keys, kc.key) {
					t.Fatalf("refused key %q is listed", kc.key)
				}
				return
			}
			expectStatus(t, "PUT", status, body, http.StatusOK)
			g = presignJSON(t, tg, map[string]any{"op": "get", "key": kc.key})
			status, body = use(t, "GET", g.URL, nil, nil)
			expectStatus(t, "GET", status, body, http.StatusOK)
			if string(body) != string(data) {
				t.Fatalf("GET returned %q", body)
			}
			want := kc.key
			if stored, ok := kc.storedAs[tg.Flavor]; ok {
				want = stored
			}
			if keys := listKeys(t, tg, want); !contains(keys, want) {
				t.Fatalf("the store lists %q, not the exact key %q", keys, want)
			}
		})
	}
}

func listKeys(t *testing.T, tg Target, prefix string) []string {
	out, err := tg.Store.Client().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{
		Bucket: aws.String(tg.Store.Bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
