package azuresas_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/azuresas"
)

func TestPermissionsString(t *testing.T) {
	for _, tc := range []struct {
		p    azuresas.Permissions
		want string
	}{
		{azuresas.Read, "r"},
		{azuresas.Write | azuresas.Create, "cw"},
		{azuresas.Delete | azuresas.Read | azuresas.Add, "rad"},
		{azuresas.Read | azuresas.Add | azuresas.Create | azuresas.Write | azuresas.Delete, "racwd"},
		{0, ""},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%08b: %q, want %q", tc.p, got, tc.want)
		}
	}
}

func testSigner(t *testing.T) *azuresas.Signer {
	t.Helper()
	a, err := azuresas.ParseAccountKey("presigntest", testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	return azuresas.NewSigner(a)
}

// TestStringToSign pins the layout of the string to sign, field by field,
// for both kinds of SAS (the signatures themselves are checked against the
// SDK and Azurite).
func TestStringToSign(t *testing.T) {
	v := azuresas.Values{
		Container: "photos", Blob: "a/b c.jpg", Permissions: azuresas.Read | azuresas.Write,
		Start: t0, Expiry: t0.Add(time.Hour).In(cet), Protocol: azuresas.ProtocolHTTPS,
		IPRange:      azuresas.IPRange{Start: netip.MustParseAddr("10.0.0.1"), End: netip.MustParseAddr("10.0.0.9")},
		CacheControl: "cc", ContentDisposition: "cd", ContentEncoding: "ce", ContentLanguage: "cl", ContentType: "ct",
	}
	got, err := testSigner(t).StringToSign(v)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"rw", "2026-11-22T10:30:15Z", "2026-11-22T11:30:15Z", "/blob/presigntest/photos/a/b c.jpg",
		"", // si
		"10.0.0.1-10.0.0.9", "https", azuresas.Version, "b",
		"", "", // snapshot, ses
		"cc", "cd", "ce", "cl", "ct",
	}, "\n")
	if diff := cmp.Diff(strings.Split(want, "\n"), strings.Split(got, "\n")); diff != "" {
		t.Errorf("service SAS (-want +got):\n%s", diff)
	}

	k := testUDK(3)
	ud, err := azuresas.NewUserDelegationSigner("presigntest", k)
	if err != nil {
		t.Fatal(err)
	}
	v.IPRange, v.Protocol = azuresas.IPRange{}, azuresas.ProtocolAny
	got, err = ud.StringToSign(v)
	if err != nil {
		t.Fatal(err)
	}
	want = strings.Join([]string{
		"rw", "2026-11-22T10:30:15Z", "2026-11-22T11:30:15Z", "/blob/presigntest/photos/a/b c.jpg",
		k.ObjectID, k.TenantID, "2026-11-22T09:30:15Z", "2026-11-30T10:30:15Z", "b", "2026-06-06",
		"", "", "", "", "", // saoid suoid scid skdutid sduoid
		"", "", azuresas.Version, "b", // sip spr sv sr
		"", "", "", "", // snapshot ses srh srq
		"cc", "cd", "ce", "cl", "ct",
	}, "\n")
	if diff := cmp.Diff(strings.Split(want, "\n"), strings.Split(got, "\n")); diff != "" {
		t.Errorf("user delegation SAS (-want +got):\n%s", diff)
	}
}

func TestSignDeterministic(t *testing.T) {
	s := testSigner(t)
	v := diffCases[1]
	first, err := s.Sign(v)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got, _ := s.Sign(v); got != first {
			t.Fatalf("Sign changed: %s, then %s", first, got)
		}
	}
	want := "se=2026-11-22T10%3A45%3A15Z&sig="
	if !strings.HasPrefix(first, want) || !strings.HasSuffix(first, "&sp=cw&sr=b&st=2026-11-22T10%3A30%3A15Z&sv="+azuresas.Version) {
		t.Errorf("Sign = %s; want the expiry in UTC to the second, then sig, sp, sr, st, sv", first)
	}
}

// TestSignRefuses: what Validate refuses, each beside a value it takes.
func TestSignRefuses(t *testing.T) {
	good := azuresas.Values{Container: "abc", Blob: "k", Permissions: azuresas.Read, Expiry: t0}
	long := strings.Repeat("x", 1024)
	for _, tc := range []struct {
		name     string
		ok, bad  func(*azuresas.Values)
		wantText string
	}{
		{"container too short", func(v *azuresas.Values) { v.Container = "abc" }, func(v *azuresas.Values) { v.Container = "ab" }, "container name"},
		{"container too long", func(v *azuresas.Values) { v.Container = strings.Repeat("a", 63) }, func(v *azuresas.Values) { v.Container = strings.Repeat("a", 64) }, "container name"},
		{"container upper case", func(v *azuresas.Values) { v.Container = "a-1" }, func(v *azuresas.Values) { v.Container = "aBc" }, "container name"},
		{"container double hyphen", func(v *azuresas.Values) { v.Container = "a-b-c" }, func(v *azuresas.Values) { v.Container = "a--b" }, "container name"},
		{"container leading hyphen", func(v *azuresas.Values) { v.Container = "ab-c" }, func(v *azuresas.Values) { v.Container = "-abc" }, "container name"},
		{"container trailing hyphen", func(v *azuresas.Values) { v.Container = "abc" }, func(v *azuresas.Values) { v.Container = "abc-" }, "container name"},
		{"blob empty", func(v *azuresas.Values) { v.Blob = "a" }, func(v *azuresas.Values) { v.Blob = "" }, "blob name"},
		{"blob too long", func(v *azuresas.Values) { v.Blob = long }, func(v *azuresas.Values) { v.Blob = long + "x" }, "blob name"},
		{"blob newline", func(v *azuresas.Values) { v.Blob = "a b" }, func(v *azuresas.Values) { v.Blob = "a\nb" }, "blob name"},
		{"blob DEL", func(v *azuresas.Values) { v.Blob = "a~b" }, func(v *azuresas.Values) { v.Blob = "a\x7fb" }, "blob name"},
		{"blob backslash", func(v *azuresas.Values) { v.Blob = "a/b" }, func(v *azuresas.Values) { v.Blob = `a\b` }, "blob name"},
		{"blob invalid UTF-8", func(v *azuresas.Values) { v.Blob = "ü" }, func(v *azuresas.Values) { v.Blob = "\xff" }, "blob name"},
		{"no permission", func(v *azuresas.Values) { v.Permissions = azuresas.Delete }, func(v *azuresas.Values) { v.Permissions = 0 }, "permissions"},
		{"unknown permission", func(v *azuresas.Values) { v.Permissions = 31 }, func(v *azuresas.Values) { v.Permissions = 32 }, "permissions"},
		{"no expiry", func(*azuresas.Values) {}, func(v *azuresas.Values) { v.Expiry = time.Time{} }, "no expiry"},
		{"expiry before 1970", func(v *azuresas.Values) { v.Expiry = time.Unix(0, 0) }, func(v *azuresas.Values) { v.Expiry = time.Unix(-1, 0) }, "years"},
		{"expiry after 9999", func(v *azuresas.Values) { v.Expiry = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC) }, func(v *azuresas.Values) { v.Expiry = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "years"},
		{"start not before expiry", func(v *azuresas.Values) { v.Start = t0.Add(-time.Second) }, func(v *azuresas.Values) { v.Start = t0 }, "expiry not after start"},
		{"protocol http", func(v *azuresas.Values) { v.Protocol = azuresas.ProtocolHTTPS }, func(v *azuresas.Values) { v.Protocol = "http" }, "protocol"},
		{"IPv6", func(v *azuresas.Values) { v.IPRange.Start = netip.MustParseAddr("10.0.0.1") }, func(v *azuresas.Values) { v.IPRange.Start = netip.MustParseAddr("::1") }, "IP range"},
		{"IPv4-mapped IPv6", func(v *azuresas.Values) { v.IPRange.Start = netip.MustParseAddr("1.2.3.4") }, func(v *azuresas.Values) { v.IPRange.Start = netip.MustParseAddr("::ffff:1.2.3.4") }, "IP range"},
		{"IP range descending", func(v *azuresas.Values) {
			v.IPRange = azuresas.IPRange{Start: netip.MustParseAddr("10.0.0.1"), End: netip.MustParseAddr("10.0.0.1")}
		}, func(v *azuresas.Values) {
			v.IPRange = azuresas.IPRange{Start: netip.MustParseAddr("10.0.0.2"), End: netip.MustParseAddr("10.0.0.1")}
		}, "IP range"},
		{"IP range end only", func(*azuresas.Values) {}, func(v *azuresas.Values) { v.IPRange.End = netip.MustParseAddr("10.0.0.1") }, "IP range"},
		{"rscd newline", func(v *azuresas.Values) { v.ContentDisposition = "attachment" }, func(v *azuresas.Values) { v.ContentDisposition = "attachment\nrsce" }, "response header"},
		{"rsct non-ASCII", func(v *azuresas.Values) { v.ContentType = "text/plain" }, func(v *azuresas.Values) { v.ContentType = "text/é" }, "response header"},
		{"rscc tab", func(v *azuresas.Values) { v.CacheControl = "no-store" }, func(v *azuresas.Values) { v.CacheControl = "no-\tstore" }, "response header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSigner(t)
			ok, bad := good, good
			tc.ok(&ok)
			tc.bad(&bad)
			if _, err := s.Sign(ok); err != nil {
				t.Errorf("the value beside it: %v", err)
			}
			_, err := s.Sign(bad)
			if !errors.Is(err, azuresas.ErrInvalid) || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("Sign: %v; want ErrInvalid about %q", err, tc.wantText)
			}
		})
	}
}

func TestUserDelegationKeyRefused(t *testing.T) {
	good := testUDK(1)
	for _, tc := range []struct {
		name string
		bad  func(*azuresas.UserDelegationKey)
	}{
		{"no object ID", func(k *azuresas.UserDelegationKey) { k.ObjectID = "" }},
		{"no tenant", func(k *azuresas.UserDelegationKey) { k.TenantID = "" }},
		{"no version", func(k *azuresas.UserDelegationKey) { k.Version = "" }},
		{"newline in the tenant", func(k *azuresas.UserDelegationKey) { k.TenantID = "a\nb" }},
		{"another service", func(k *azuresas.UserDelegationKey) { k.Service = "q" }},
		{"expiry before start", func(k *azuresas.UserDelegationKey) { k.Expiry = k.Start }},
		{"no value", func(k *azuresas.UserDelegationKey) { k.Value = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := good
			tc.bad(&k)
			if _, err := azuresas.NewUserDelegationSigner("presigntest", k); !errors.Is(err, azuresas.ErrInvalid) {
				t.Errorf("NewUserDelegationSigner: %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := azuresas.NewUserDelegationSigner("presigntest", good); err != nil {
		t.Errorf("the good key: %v", err)
	}
	if _, err := azuresas.NewUserDelegationSigner("Presign", good); !errors.Is(err, azuresas.ErrInvalid) {
		t.Errorf("an invalid account name: %v, want ErrInvalid", err)
	}
}

// TestSecretsNotPrinted: an Account or a key printed by mistake shows no
// key.
func TestSecretsNotPrinted(t *testing.T) {
	key := testKey(9)
	a, err := azuresas.ParseAccountKey("presigntest", key)
	if err != nil {
		t.Fatal(err)
	}
	k := testUDK(0x41) // Value "AAAA..."
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%v %+v %#v %s", a, a, a, a), fmt.Sprintf("%v %+v %#v", k, k, k)} {
		if strings.Contains(s, key[:16]) || strings.Contains(s, "AAAA") || strings.Contains(s, "[65 65") {
			t.Errorf("printed: %s", s)
		}
	}
}

func TestBlobURL(t *testing.T) {
	for _, tc := range []struct {
		endpoint, container, blob, sas, want string
	}{
		{"https://acct.blob.core.windows.net", "c1c", "a/b c+d%e?f#g.txt", "sv=x", "https://acct.blob.core.windows.net/c1c/a/b%20c%2Bd%25e%3Ff%23g.txt?sv=x"},
		{"http://127.0.0.1:10000/devstoreaccount1", "photos", "ü", "", "http://127.0.0.1:10000/devstoreaccount1/photos/%C3%BC"},
	} {
		if got := azuresas.BlobURL(tc.endpoint, tc.container, tc.blob, tc.sas); got != tc.want {
			t.Errorf("BlobURL(%q, %q, %q, %q) = %s, want %s", tc.endpoint, tc.container, tc.blob, tc.sas, got, tc.want)
		}
	}
}

func TestBlockID(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{{1, "MDAwMDAx"}, {10, "MDAwMDEw"}, {50000, "MDUwMDAw"}} {
		got := azuresas.BlockID(tc.n)
		if got != tc.want {
			t.Errorf("BlockID(%d) = %s, want %s", tc.n, got, tc.want)
		}
		if n, ok := azuresas.ParseBlockID(got); !ok || n != tc.n {
			t.Errorf("ParseBlockID(%s) = %d, %v", got, n, ok)
		}
	}
	for _, id := range []string{"", "MDAwMDAw" /* 0 */, "MDUwMDAx" /* 50001 */, "MDAwMDAxMQ==", "YWJjZGVm" /* abcdef */, "MDAwMDAx\n", "MDAwMDA="} {
		if n, ok := azuresas.ParseBlockID(id); ok {
			t.Errorf("ParseBlockID(%q) = %d, true; want false", id, n)
		}
	}
	for _, n := range []int{0, -1, 50001} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("BlockID(%d) did not panic", n)
				}
			}()
			azuresas.BlockID(n)
		}()
	}
}

// FuzzBlockID: ParseBlockID takes exactly the IDs BlockID makes.
func FuzzBlockID(f *testing.F) {
	for _, s := range []string{"MDAwMDAx", "MDUwMDAw", "MDAwMDAw", "MDUwMDAx", "MDAwMDA=", "AAAAAQ==", "YWJjZGVm", "MDAwMDAx\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		n, ok := azuresas.ParseBlockID(id)
		if !ok {
			return
		}
		if n < 1 || n > azuresas.MaxBlocks || azuresas.BlockID(n) != id {
			t.Fatalf("ParseBlockID(%q) = %d, but BlockID(%d) = %q", id, n, n, azuresas.BlockID(n))
		}
	})
}
