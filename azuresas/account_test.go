package azuresas_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"presign.dev/azuresas"
)

func TestParseAccountKey(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		wantErr   string // "" for none
	}{
		{"presigntest", testKey(1), ""},
		{azuresas.DevelopmentAccountName, azuresas.DevelopmentAccountKey, ""},
		{"abc", "AA==", ""},
		{"ab", testKey(1), "account name"},
		{"Presign", testKey(1), "account name"},
		{"pre-sign", testKey(1), "account name"},
		{strings.Repeat("a", 25), testKey(1), "account name"},
		{"presigntest", "", "is empty"},
		{"presigntest", "not base64!", "not standard base64"},
		{"presigntest", strings.TrimRight(testKey(1), "="), "not standard base64"},
		{"presigntest", "====", "not standard base64"},
	} {
		a, err := azuresas.ParseAccountKey(tc.name, tc.key)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("ParseAccountKey(%q, key): %v", tc.name, err)
		case tc.wantErr == "" && a.Name != tc.name:
			t.Errorf("ParseAccountKey(%q, key).Name = %q", tc.name, a.Name)
		case tc.wantErr != "" && (!errors.Is(err, azuresas.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseAccountKey(%q, %q): %v; want ErrInvalid about %q", tc.name, tc.key, err, tc.wantErr)
		}
	}
}

// parsedCS is what a test compares of a ConnectionString: the key by a
// signature it makes.
type parsedCS struct {
	Account, Endpoint, Sig string
}

func parseCS(t *testing.T, s string) (parsedCS, error) {
	cs, err := azuresas.ParseConnectionString(s)
	if err != nil {
		return parsedCS{}, err
	}
	sig, err := azuresas.NewSigner(cs.Account).Sign(diffCases[0])
	if err != nil {
		t.Fatal(err)
	}
	return parsedCS{cs.Account.Name, cs.BlobEndpoint, sig}, nil
}

func sigOf(t *testing.T, account, key string) string {
	a, err := azuresas.ParseAccountKey(account, key)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := azuresas.NewSigner(a).Sign(diffCases[0])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestParseConnectionString(t *testing.T) {
	key := testKey(2)
	for _, tc := range []struct {
		in      string
		want    parsedCS
		wantErr string
	}{
		{in: "DefaultEndpointsProtocol=https;AccountName=presigntest;AccountKey=" + key + ";EndpointSuffix=core.windows.net",
			want: parsedCS{"presigntest", "https://presigntest.blob.core.windows.net", sigOf(t, "presigntest", key)}},
		{in: " accountname = presigntest ; ACCOUNTKEY=" + key + ";",
			want: parsedCS{"presigntest", "https://presigntest.blob.core.windows.net", sigOf(t, "presigntest", key)}},
		{in: "DefaultEndpointsProtocol=http;AccountName=presigntest;AccountKey=" + key + ";EndpointSuffix=core.chinacloudapi.cn",
			want: parsedCS{"presigntest", "http://presigntest.blob.core.chinacloudapi.cn", sigOf(t, "presigntest", key)}},
		{in: "AccountName=devstoreaccount1;AccountKey=" + azuresas.DevelopmentAccountKey + ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;",
			want: parsedCS{"devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1", sigOf(t, "devstoreaccount1", azuresas.DevelopmentAccountKey)}},
		{in: "UseDevelopmentStorage=true",
			want: parsedCS{"devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1", sigOf(t, "devstoreaccount1", azuresas.DevelopmentAccountKey)}},
		{in: "", wantErr: "AccountName and AccountKey are required"},
		{in: "AccountName=presigntest", wantErr: "AccountName and AccountKey are required"},
		{in: "AccountName=presigntest;SharedAccessSignature=sv=2020&sig=x", wantErr: "SharedAccessSignature"},
		{in: "AccountName=presigntest;AccountKey=" + key + ";AccountName=other", wantErr: "AccountName twice"},
		{in: "AccountName=presigntest;AccountKey=", wantErr: "AccountKey is empty"},
		{in: "AccountName=presigntest;AccountKey=" + key[:10], wantErr: "AccountKey is not standard base64"},
		{in: "AccountName=PresignTest;AccountKey=" + key, wantErr: "AccountName: 3-24"},
		{in: "AccountName=presigntest;" + key, wantErr: "setting 2: an unknown name"}, // its padding makes it Name=value
		{in: "AccountName=presigntest;" + strings.TrimRight(key, "="), wantErr: "setting 2 is not Name=value"},
		{in: "AccountName=presigntest;AccountKey=" + key + ";Colour=blue", wantErr: "setting 3: an unknown name"},
		{in: "DefaultEndpointsProtocol=ftp;AccountName=presigntest;AccountKey=" + key, wantErr: "DefaultEndpointsProtocol"},
		{in: "AccountName=presigntest;AccountKey=" + key + ";EndpointSuffix=core windows.net", wantErr: "EndpointSuffix is not a host name"},
		{in: "AccountName=presigntest;AccountKey=" + key + ";BlobEndpoint=https://x;EndpointSuffix=y.net", wantErr: "BlobEndpoint and EndpointSuffix"},
		{in: "AccountName=presigntest;AccountKey=" + key + ";BlobEndpoint=ftp://x", wantErr: "BlobEndpoint: endpoint: not http or https"},
		{in: "AccountName=presigntest;AccountKey=" + key + ";BlobEndpoint=https://u:p@x", wantErr: "BlobEndpoint: endpoint: user information"},
		{in: "UseDevelopmentStorage=false", wantErr: "UseDevelopmentStorage is not true"},
		{in: "UseDevelopmentStorage=true;AccountName=presigntest", wantErr: "with other settings"},
		{in: "UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://proxy", wantErr: "DevelopmentStorageProxyUri"},
	} {
		got, err := parseCS(t, tc.in)
		if tc.wantErr != "" {
			if !errors.Is(err, azuresas.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseConnectionString(%q): %v; want ErrInvalid about %q", tc.in, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), key[:12]) {
				t.Errorf("ParseConnectionString(%q): the error holds the key: %v", tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseConnectionString(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseConnectionString(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

// marker returns 44 characters of base64 that no error message could hold
// by chance: the SHA-256 of seed.
func marker(seed []byte) string {
	sum := sha256.Sum256(seed)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// FuzzParseConnectionString: no input panics, an error never holds the
// key (every "{KEY}" in the input becomes a secret no message could hold
// by chance), and what is accepted is usable: a valid account, a key that
// signs, an endpoint that NormalizeEndpoint keeps as it is.
func FuzzParseConnectionString(f *testing.F) {
	for _, s := range []string{
		"DefaultEndpointsProtocol=https;AccountName=presigntest;AccountKey={KEY};EndpointSuffix=core.windows.net",
		"AccountName=devstoreaccount1;AccountKey={KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1",
		"UseDevelopmentStorage=true",
		"AccountName=presigntest;AccountKey={KEY}x",
		"AccountName=presigntest;{KEY}",
		"{KEY}=AccountKey;AccountName=abc",
		"AccountName=presigntest;AccountKey={KEY};AccountKey={KEY}",
		"AccountName={KEY};AccountKey=AA==",
		"AccountName=abc;AccountKey=AA==;BlobEndpoint=https://{KEY}@host",
		"AccountName=abc;AccountKey=AA==;BlobEndpoint=https://host/{KEY}?{KEY}",
		"AccountName=abc;AccountKey=AA==;EndpointSuffix={KEY}",
		"AccountName=abc;AccountKey=AA==;DefaultEndpointsProtocol={KEY}",
		"AccountName=abc;AccountKey=AA==;SharedAccessSignature={KEY}",
		"UseDevelopmentStorage={KEY}",
	} {
		f.Add(s, []byte("seed"))
	}
	f.Fuzz(func(t *testing.T, in string, seed []byte) {
		secret := marker(seed)
		cs, err := azuresas.ParseConnectionString(strings.ReplaceAll(in, "{KEY}", secret))
		if err != nil {
			if !errors.Is(err, azuresas.ErrInvalid) {
				t.Fatalf("%v: not ErrInvalid", err)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), secret[:16]) {
				t.Fatalf("the error holds the secret: %v", err)
			}
			return
		}
		if err := azuresas.ValidateAccountName(cs.Account.Name); err != nil {
			t.Fatalf("accepted account name %q: %v", cs.Account.Name, err)
		}
		if _, err := azuresas.NewSigner(cs.Account).Sign(diffCases[0]); err != nil {
			t.Fatalf("the accepted key does not sign: %v", err)
		}
		if n, err := azuresas.NormalizeEndpoint(cs.BlobEndpoint); err != nil || n != cs.BlobEndpoint {
			t.Fatalf("accepted endpoint %q: NormalizeEndpoint gives %q, %v", cs.BlobEndpoint, n, err)
		}
		if strings.Contains(cs.Account.String(), secret) {
			t.Fatalf("the account prints the key: %s", cs.Account)
		}
	})
}

// FuzzParseAccountKey: an error never holds the key.
func FuzzParseAccountKey(f *testing.F) {
	for _, s := range []string{"{KEY}", "{KEY}=", "x{KEY}", "{KEY}!", "", "AA==", "{KEY}\n"} {
		f.Add("presigntest", s, []byte("seed"))
	}
	f.Fuzz(func(t *testing.T, name, key string, seed []byte) {
		secret := marker(seed)
		a, err := azuresas.ParseAccountKey(name, strings.ReplaceAll(key, "{KEY}", secret))
		if err != nil {
			if !errors.Is(err, azuresas.ErrInvalid) || strings.Contains(err.Error(), secret[:16]) {
				t.Fatalf("ParseAccountKey: %v", err)
			}
			return
		}
		if a.Name != name || azuresas.ValidateAccountName(name) != nil {
			t.Fatalf("accepted the name %q as %q", name, a.Name)
		}
	})
}

func TestNormalizeEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in, want, wantErr string
	}{
		{in: "https://acct.blob.core.windows.net/", want: "https://acct.blob.core.windows.net"},
		{in: "HTTPS://Acct.Blob.Core.Windows.Net", want: "https://acct.blob.core.windows.net"},
		{in: "http://127.0.0.1:10000/devstoreaccount1//", want: "http://127.0.0.1:10000/devstoreaccount1"},
		{in: "http://[::1]:10000/acct", want: "http://[::1]:10000/acct"},
		{in: "ftp://x", wantErr: "not http or https"},
		{in: "acct.blob.core.windows.net", wantErr: "not http or https"},
		{in: "https://", wantErr: "no host"},
		{in: "https:acct", wantErr: "no host"},
		{in: "https://u:p@x", wantErr: "user information"},
		{in: "https://x/?a=b", wantErr: "a query"},
		{in: "https://x/?", wantErr: "a query"},
		{in: "https://x/#f", wantErr: "a fragment"},
		{in: "https://x:0", wantErr: "port"},
		{in: "https://x:", wantErr: "port"},
		{in: "https://x/a/../b", wantErr: ".. path segment"},
		{in: "https://x/a/%2e%2e/b", wantErr: ".. path segment"},
		{in: "https://x/a\nb", wantErr: "not a URL"},
	} {
		got, err := azuresas.NormalizeEndpoint(tc.in)
		if tc.wantErr != "" {
			if !errors.Is(err, azuresas.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("NormalizeEndpoint(%q) = %q, %v; want ErrInvalid about %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeEndpoint(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// FuzzNormalizeEndpoint: what it returns it keeps as it is, and a blob URL
// on it is a URL of that host.
func FuzzNormalizeEndpoint(f *testing.F) {
	for _, s := range []string{"https://acct.blob.core.windows.net/", "http://127.0.0.1:10000/devstoreaccount1", "http://[::1]:1/a%20b/", "https://x/a/%2e%2e", "https://u@x", "HTTP://X:65535"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := azuresas.NormalizeEndpoint(in)
		if err != nil {
			if !errors.Is(err, azuresas.ErrInvalid) {
				t.Fatalf("%v: not ErrInvalid", err)
			}
			return
		}
		again, err := azuresas.NormalizeEndpoint(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeEndpoint(%q) = %q, then %q, %v", in, got, again, err)
		}
		u, err := url.Parse(got)
		if err != nil || strings.HasSuffix(got, "/") || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Host == "" {
			t.Fatalf("NormalizeEndpoint(%q) = %q (%v)", in, got, err)
		}
	})
}
