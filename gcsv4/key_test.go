package gcsv4

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"sync"
	"testing"
)

var (
	rsaKeyOnce sync.Once
	rsaKey     *rsa.PrivateKey
)

// testRSAKey is a 2048-bit key generated once per test process.
func testRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	rsaKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// keyJSON is a service account key file holding pemKey.
func keyJSON(typ, email, pemKey string) string {
	b, _ := json.Marshal(map[string]string{
		"type": typ, "project_id": "p", "private_key_id": "0123", "private_key": pemKey,
		"client_email": email, "client_id": "1", "token_uri": "https://oauth2.example/token",
	})
	return string(b)
}

func TestParseServiceAccountKey(t *testing.T) {
	key := testRSAKey(t)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	pkcs1 := x509.MarshalPKCS1PrivateKey(key)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	smallDER, _ := x509.MarshalPKCS8PrivateKey(small)
	const email = "signer@project.iam.gserviceaccount.com"
	encrypted := "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"

	tests := []struct {
		name string
		data string
		want error
	}{
		{"pkcs8", keyJSON("service_account", email, pemOf("PRIVATE KEY", pkcs8)), nil},
		{"pkcs1", keyJSON("service_account", email, pemOf("RSA PRIVATE KEY", pkcs1)), nil},
		{"not json", "-----BEGIN PRIVATE KEY-----", ErrKeyNotJSON},
		{"empty", "", ErrKeyNotJSON},
		{"array", "[]", ErrKeyNotJSON},
		{"trailing data", keyJSON("service_account", email, pemOf("PRIVATE KEY", pkcs8)) + "{}", ErrKeyNotJSON},
		{"wrong type of member", `{"type":"service_account","client_email":1}`, ErrKeyNotJSON},
		{"authorized user", keyJSON("authorized_user", email, pemOf("PRIVATE KEY", pkcs8)), ErrKeyType},
		{"no type", `{"client_email":"a@b","private_key":"x"}`, ErrKeyType},
		{"no email", keyJSON("service_account", "", pemOf("PRIVATE KEY", pkcs8)), ErrKeyNoEmail},
		{"bad email", keyJSON("service_account", "a b@c", pemOf("PRIVATE KEY", pkcs8)), ErrKeyBadEmail},
		{"no at", keyJSON("service_account", "signer", pemOf("PRIVATE KEY", pkcs8)), ErrKeyBadEmail},
		{"no key", `{"type":"service_account","client_email":"a@b"}`, ErrKeyNoPrivateKey},
		{"key not pem", keyJSON("service_account", email, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), ErrKeyNotPEM},
		{"encrypted", keyJSON("service_account", email, encrypted), ErrKeyEncrypted},
		{"encrypted pkcs8", keyJSON("service_account", email, pemOf("ENCRYPTED PRIVATE KEY", []byte{1})), ErrKeyEncrypted},
		{"certificate", keyJSON("service_account", email, pemOf("CERTIFICATE", []byte{1})), ErrKeyPEMType},
		{"garbage der", keyJSON("service_account", email, pemOf("PRIVATE KEY", []byte("not der"))), ErrKeyInvalid},
		{"garbage pkcs1", keyJSON("service_account", email, pemOf("RSA PRIVATE KEY", []byte("not der"))), ErrKeyInvalid},
		{"ecdsa", keyJSON("service_account", email, pemOf("PRIVATE KEY", ecDER)), ErrKeyNotRSA},
		{"1024 bits", keyJSON("service_account", email, pemOf("PRIVATE KEY", smallDER)), ErrKeyTooSmall},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sa, err := ParseServiceAccountKey([]byte(tt.data))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			if sa.ClientEmail != email || !sa.PrivateKey.Equal(key) {
				t.Errorf("parsed %v, want %s and the key", sa, email)
			}
		})
	}
}

func TestParseVectorKey(t *testing.T) {
	data, err := os.ReadFile("testdata/conformance/service-account")
	if err != nil {
		t.Fatal(err)
	}
	sa, err := ParseServiceAccountKey(data)
	if err != nil {
		t.Fatal(err)
	}
	if sa.ClientEmail != "test-iam-credentials@dummy-project-id.iam.gserviceaccount.com" || sa.PrivateKey.N.BitLen() != 2048 {
		t.Errorf("parsed %v (%d bits)", sa, sa.PrivateKey.N.BitLen())
	}
}

// keyErrors are every error the parsers return.
var keyErrors = []error{ErrKeyNotJSON, ErrKeyType, ErrKeyNoEmail, ErrKeyBadEmail, ErrKeyNoPrivateKey,
	ErrKeyNotPEM, ErrKeyEncrypted, ErrKeyPEMType, ErrKeyInvalid, ErrKeyNotRSA, ErrKeyTooSmall}

// FuzzParseServiceAccountKey: whatever the input, the parser either returns
// a usable account (an email and a key of at least 2048 bits) or one of its
// fixed errors, whose text therefore cannot quote the input.
func FuzzParseServiceAccountKey(f *testing.F) {
	if data, err := os.ReadFile("testdata/conformance/service-account"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}`))
	f.Add([]byte(`{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n"}`))
	f.Add([]byte(`{"type":"service_account","client_email":"a\u0040b","private_key":"-----BEGIN X-----\n-----END X-----"}`))
	f.Add([]byte(`{"type": 7}`))
	f.Add([]byte("secret-looking input: -----BEGIN PRIVATE KEY-----"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sa, err := ParseServiceAccountKey(data)
		if err != nil {
			for _, known := range keyErrors {
				if err == known {
					return
				}
			}
			t.Fatalf("an error outside the fixed set: %v", err)
		}
		if !isEmail(sa.ClientEmail) || sa.PrivateKey == nil || sa.PrivateKey.N.BitLen() < MinRSABits {
			t.Fatalf("accepted an unusable account: %v", sa)
		}
		if _, err := NewSigner(Credentials{ServiceAccount: &sa}); err != nil {
			t.Fatalf("NewSigner refuses a parsed account: %v", err)
		}
	})
}
