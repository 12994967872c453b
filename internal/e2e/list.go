package e2e

import (
	"encoding/xml"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"presign.dev/sigv4"
)

// listResult is the part of a ListObjectsV2 answer the cases read.
type listResult struct {
	XMLName               xml.Name `xml:"ListBucketResult"`
	Prefix                string   `xml:"Prefix"`
	Delimiter             string   `xml:"Delimiter"`
	MaxKeys               int      `xml:"MaxKeys"`
	IsTruncated           bool     `xml:"IsTruncated"`
	NextContinuationToken string   `xml:"NextContinuationToken"`
	Contents              []struct {
		Key  string `xml:"Key"`
		Size int64  `xml:"Size"`
	} `xml:"Contents"`
	CommonPrefixes []struct {
		Prefix string `xml:"Prefix"`
	} `xml:"CommonPrefixes"`
}

func (r listResult) keys() []string {
	var out []string
	for _, c := range r.Contents {
		out = append(out, c.Key)
	}
	return out
}

func (r listResult) commonPrefixes() []string {
	var out []string
	for _, c := range r.CommonPrefixes {
		out = append(out, c.Prefix)
	}
	return out
}

// listWith presigns a list through the API and uses the URL: the store's
// answer, parsed, and the grant's URL.
func listWith(t *testing.T, tg Target, req map[string]any) (listResult, string) {
	t.Helper()
	req["op"] = "list"
	g := presignJSON(t, tg, req)
	if g.Method != "GET" || g.Key != "" || len(g.Headers) != 0 {
		t.Fatalf("list grant %+v", g)
	}
	status, body := use(t, g.Method, g.URL, nil, nil)
	expectStatus(t, "GET the list URL", status, body, http.StatusOK)
	var res listResult
	if err := xml.Unmarshal(body, &res); err != nil {
		t.Fatalf("the listing is no ListBucketResult: %v\n%.500s", err, body)
	}
	return res, g.URL
}

// withParam returns rawURL with the query parameter name set to value
// (added when absent), or removed when remove is set; every other byte of
// the URL is kept as it was signed.
func withParam(rawURL, name, value string, remove bool) string {
	base, query, _ := strings.Cut(rawURL, "?")
	var out []string
	found := false
	for _, kv := range strings.Split(query, "&") {
		if n, _, _ := strings.Cut(kv, "="); n == name {
			found = true
			if !remove {
				out = append(out, name+"="+sigv4.EscapeQuery(value))
			}
			continue
		}
		out = append(out, kv)
	}
	if !found && !remove {
		out = append(out, name+"="+sigv4.EscapeQuery(value))
	}
	return base + "?" + strings.Join(out, "&")
}

// testList: a list URL lists exactly its prefix (with a delimiter, and
// page by page with max_keys and the continuation token), and the store
// refuses it with the prefix or any other listing parameter changed,
// removed or added: the whole query is signed.
func testList(t *testing.T, tg Target) {
	const base = "e2e/list/"
	// "a/2 ü.txt": Versity Gateway's continuation token is the last key
	// of the page, this one on the second.
	for _, k := range []string{"a/1.txt", "a/2 ü.txt", "a/sub/3.txt", "ab.txt", "b/4.txt"} {
		tg.Store.PutObject(t, base+k, []byte(k))
	}
	underA := []string{base + "a/1.txt", base + "a/2 ü.txt", base + "a/sub/3.txt"}

	res, listURL := listWith(t, tg, map[string]any{"prefix": base + "a/"})
	if got := res.keys(); !slices.Equal(got, underA) || res.Prefix != base+"a/" || res.IsTruncated {
		t.Errorf("list %sa/: keys %q (prefix %q, truncated %v), want %q", base, got, res.Prefix, res.IsTruncated, underA)
	}

	t.Run("delimiter", func(t *testing.T) {
		res, _ := listWith(t, tg, map[string]any{"prefix": base, "delimiter": "/"})
		if got, want := res.keys(), []string{base + "ab.txt"}; !slices.Equal(got, want) {
			t.Errorf("keys %q, want %q", got, want)
		}
		if got, want := res.commonPrefixes(), []string{base + "a/", base + "b/"}; !slices.Equal(got, want) || res.Delimiter != "/" {
			t.Errorf("common prefixes %q (delimiter %q), want %q", got, res.Delimiter, want)
		}
	})

	t.Run("pages of one key", func(t *testing.T) {
		var got []string
		token := ""
		for page := 1; ; page++ {
			req := map[string]any{"prefix": base + "a/", "max_keys": 1}
			if token != "" {
				req["continuation_token"] = token
			}
			res, _ := listWith(t, tg, req)
			// MinIO may call a full last page truncated, and then answer
			// an empty, untruncated one.
			if len(res.Contents) > 1 || res.MaxKeys != 1 || len(res.Contents) == 0 && (res.IsTruncated || page <= len(underA)) {
				t.Fatalf("page %d: %d keys (max-keys %d, truncated %v), want 1", page, len(res.Contents), res.MaxKeys, res.IsTruncated)
			}
			got = append(got, res.keys()...)
			if !res.IsTruncated {
				break
			}
			if res.NextContinuationToken == "" || page > len(underA) {
				t.Fatalf("page %d: truncated, token %q", page, res.NextContinuationToken)
			}
			token = res.NextContinuationToken
		}
		if !slices.Equal(got, underA) {
			t.Errorf("pages gave %q, want %q", got, underA)
		}
	})

	// A pattern's "*" matches an empty segment, so users/*/** covers the
	// prefix users//: no store may read it as users/ (MinIO refuses it,
	// 400; Versity Gateway lists nothing).
	t.Run("an empty segment is not its parent", func(t *testing.T) {
		g := presignJSON(t, tg, map[string]any{"op": "list", "prefix": base + "/"})
		status, body := use(t, g.Method, g.URL, nil, nil)
		var res listResult
		if status == http.StatusOK {
			if err := xml.Unmarshal(body, &res); err != nil {
				t.Fatalf("the listing is no ListBucketResult: %v\n%.500s", err, body)
			}
		}
		if (status != http.StatusOK && status != http.StatusBadRequest) || len(res.Contents) > 0 || len(res.CommonPrefixes) > 0 {
			t.Errorf("list %q: %d, keys %q, common prefixes %q; want 400, or none", base+"/", status, res.keys(), res.commonPrefixes())
		}
	})

	t.Run("the store refuses a changed query", func(t *testing.T) {
		for _, tt := range []struct {
			what string
			url  string
		}{
			{"another prefix", withParam(listURL, "prefix", base+"b/", false)},
			{"a shorter prefix", withParam(listURL, "prefix", base, false)},
			{"an empty prefix", withParam(listURL, "prefix", "", false)},
			{"no prefix", withParam(listURL, "prefix", "", true)},
			{"a delimiter added", withParam(listURL, "delimiter", "/", false)},
			{"max-keys added", withParam(listURL, "max-keys", strconv.Itoa(1000), false)},
			{"start-after added", withParam(listURL, "start-after", base+"a/1.txt", false)},
			{"ListObjects v1 (no list-type)", withParam(listURL, "list-type", "", true)},
		} {
			status, body := use(t, "GET", tt.url, nil, nil)
			if status != http.StatusForbidden {
				t.Errorf("%s: store answered %d, want 403; body %.300s", tt.what, status, body)
			} else if strings.Contains(string(body), base+"b/4.txt") || strings.Contains(string(body), base+"ab.txt") {
				t.Errorf("%s: 403 with keys outside the prefix: %.300s", tt.what, body)
			}
		}
	})
}

// testListRules: with rules, presign signs a list only where a rule's
// pattern covers the whole prefix (uploads/** here): uploads/ and deeper
// work against the store; the whole bucket, another prefix, and uploads
// without its slash (which would list uploads2/…) are refused by presign.
func testListRules(t *testing.T, tg Target) {
	tg.Store.PutObject(t, "uploads/list/x.txt", []byte("x"))
	tg.Store.PutObject(t, "other/list/y.txt", []byte("y"))
	for _, prefix := range []string{"uploads/", "uploads/list/"} {
		res, _ := listWith(t, tg, map[string]any{"prefix": prefix})
		if !slices.Contains(res.keys(), "uploads/list/x.txt") {
			t.Errorf("list %q: keys %q, want uploads/list/x.txt among them", prefix, res.keys())
		}
		for _, k := range res.keys() {
			if !strings.HasPrefix(k, prefix) {
				t.Errorf("list %q shows %q", prefix, k)
			}
		}
	}
	for _, prefix := range []string{"", "other/", "uploads", "upl", "capped/", "uploads/../other/"} {
		status, body := callAPI(t, tg, "POST", "/v1/presign", map[string]any{"op": "list", "prefix": prefix})
		want := http.StatusForbidden
		if strings.Contains(prefix, "..") {
			want = http.StatusBadRequest
		}
		if status != want || strings.Contains(string(body), "X-Amz-Signature") {
			t.Errorf("list %q: %d %s, want %d", prefix, status, body, want)
		}
	}
}
