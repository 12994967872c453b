package azuresas

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/sigv4"
)

// FuzzEscape: the query encoding is url.QueryEscape's (so Sign's query is
// url.Values.Encode's), and the path encoding decodes back to the name.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "a b+c&d=e?f#g/h~i-j_k.l", "ü\x00\xff%", "attachment; filename*=UTF-8''r%20.txt"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendQueryEscape(nil, s)), url.QueryEscape(s); got != want {
			t.Fatalf("query %q: %q, want %q", s, got, want)
		}
		p := string(sigv4.AppendEscapePath(nil, s))
		if back, err := url.PathUnescape(p); err != nil || back != s {
			t.Fatalf("path %q: %q, which decodes to %q, %v", s, p, back, err)
		}
		if strings.ContainsAny(p, "?# +") {
			t.Fatalf("path %q: %q keeps a byte a URL would read otherwise", s, p)
		}
	})
}

func TestParseBlockList(t *testing.T) {
	body := `<?xml version="1.0" encoding="utf-8"?><BlockList>` +
		`<CommittedBlocks><Block><Name>MDAwMDAx</Name><Size>5</Size></Block></CommittedBlocks>` +
		`<UncommittedBlocks><Block><Name>MDAwMDAz</Name><Size>4</Size></Block><Block><Name>MDAwMDAy</Name><Size>0</Size></Block></UncommittedBlocks>` +
		`</BlockList>`
	got, err := parseBlockList([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := BlockList{
		Committed:   []Block{{"MDAwMDAx", 5}},
		Uncommitted: []Block{{"MDAwMDAz", 4}, {"MDAwMDAy", 0}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{
		"", "<Error/>", "<BlockList><UncommittedBlocks><Block><Size>1</Size></Block></UncommittedBlocks></BlockList>",
		"<BlockList><UncommittedBlocks><Block><Name>a</Name><Size>-1</Size></Block></UncommittedBlocks></BlockList>",
		"<BlockList><UncommittedBlocks><Block><Name>a</Name><Size>x</Size></Block></UncommittedBlocks></BlockList>",
	} {
		if bl, err := parseBlockList([]byte(bad)); err == nil {
			t.Errorf("parseBlockList(%q) = %+v, want an error", bad, bl)
		}
	}
}

// FuzzParseBlockList: no body panics; a parsed list has only named blocks
// of a size.
func FuzzParseBlockList(f *testing.F) {
	f.Add([]byte(`<BlockList><CommittedBlocks><Block><Name>MDAwMDAx</Name><Size>5</Size></Block></CommittedBlocks><UncommittedBlocks/></BlockList>`))
	f.Add([]byte(`<BlockList><UncommittedBlocks><Block><Name>a</Name><Size>-1</Size></Block></UncommittedBlocks></BlockList>`))
	f.Add([]byte(`<BlockList><CommittedBlocks><Block><Name>&lt;</Name><Size>99999999999999999999</Size></Block></CommittedBlocks></BlockList>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		bl, err := parseBlockList(body)
		if err != nil {
			return
		}
		for _, b := range append(bl.Committed, bl.Uncommitted...) {
			if b.ID == "" || b.Size < 0 {
				t.Fatalf("parsed %+v", b)
			}
		}
	})
}

func TestParseUserDelegationKey(t *testing.T) {
	body := `<?xml version="1.0" encoding="utf-8"?><UserDelegationKey><SignedOid>o</SignedOid><SignedTid>t</SignedTid>` +
		`<SignedStart>2026-11-22T10:00:00Z</SignedStart><SignedExpiry>2026-11-23T10:00:00.5Z</SignedExpiry>` +
		`<SignedService>b</SignedService><SignedVersion>2026-06-06</SignedVersion><Value>AQID</Value></UserDelegationKey>`
	got, err := parseUserDelegationKey([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := UserDelegationKey{
		ObjectID: "o", TenantID: "t", Start: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
		Expiry: time.Date(2026, 11, 23, 10, 0, 0, 500_000_000, time.UTC), Service: "b", Version: "2026-06-06", Value: []byte{1, 2, 3},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{
		"", "<Error><Code>x</Code></Error>",
		strings.Replace(body, "AQID", "AQI!", 1),
		strings.Replace(body, "2026-11-22T10:00:00Z", "yesterday", 1),
		strings.Replace(body, "<SignedService>b<", "<SignedService>q<", 1),
		strings.Replace(body, "<Value>AQID</Value>", "", 1),
		strings.Replace(body, "<SignedOid>o</SignedOid>", "", 1),
	} {
		if k, err := parseUserDelegationKey([]byte(bad)); err == nil {
			t.Errorf("parseUserDelegationKey(%q) = %v, want an error", bad, k)
		}
	}
}

// FuzzParseUserDelegationKey: a parsed key is one a Signer takes, and an
// error never holds the key's value.
func FuzzParseUserDelegationKey(f *testing.F) {
	f.Add([]byte(`<UserDelegationKey><SignedOid>o</SignedOid><SignedTid>t</SignedTid><SignedStart>2026-11-22T10:00:00Z</SignedStart><SignedExpiry>2026-11-23T10:00:00Z</SignedExpiry><SignedService>b</SignedService><SignedVersion>v</SignedVersion><Value>{KEY}</Value></UserDelegationKey>`), []byte("seed"))
	f.Add([]byte(`<UserDelegationKey><SignedOid>o</SignedOid><Value>{KEY}!</Value></UserDelegationKey>`), []byte("seed"))
	f.Add([]byte(`<UserDelegationKey><SignedStart>{KEY}</SignedStart><Value>{KEY}</Value></UserDelegationKey>`), []byte("seed"))
	f.Fuzz(func(t *testing.T, body, seed []byte) {
		sum := base64.StdEncoding.EncodeToString(append(seed, "0123456789abcdefghijklmnopqrstuvwxyz"...))
		k, err := parseUserDelegationKey(bytes.ReplaceAll(body, []byte("{KEY}"), []byte(sum)))
		if err != nil {
			if strings.Contains(err.Error(), sum[len(sum)-24:]) {
				t.Fatalf("the error holds the key: %v", err)
			}
			return
		}
		if _, err := NewUserDelegationSigner("presigntest", k); err != nil {
			t.Fatalf("parsed %v, which a Signer refuses: %v", k, err)
		}
	})
}
