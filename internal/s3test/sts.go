package s3test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"
)

// StartMinIOWithEnv starts MinIO as StartMinIO does, with env
// ("NAME=value") added to its environment: its OpenID configuration, say,
// or MINIO_STS_DURATION.
func StartMinIOWithEnv(tb testing.TB, env ...string) *Server {
	tb.Helper()
	k := kinds["minio"]
	layout := k.layout
	k.layout = func(s *Server, root string, ports []int) ([]string, []string, error) {
		args, base, err := layout(s, root, ports)
		return args, append(base, env...), err
	}
	return start(tb, k)
}

// OpenIDIssuer is an OpenID Connect provider on 127.0.0.1 for MinIO's
// AssumeRoleWithWebIdentity: it serves the discovery document and the JWKS
// of one RSA key, and signs RS256 ID tokens with it. It stops when the
// test ends.
type OpenIDIssuer struct {
	URL      string // the issuer: http://127.0.0.1:PORT
	ClientID string // the audience MinIO is configured with

	key *rsa.PrivateKey
	kid string
}

// NewOpenIDIssuer starts an issuer for tb.
func NewOpenIDIssuer(tb testing.TB) *OpenIDIssuer {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	iss := &OpenIDIssuer{
		URL:      "http://" + l.Addr().String(),
		ClientID: "presign-test-" + randText(8),
		key:      key,
		kid:      "k-" + randText(6),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                iss.URL,
			"jwks_uri":                              iss.URL + "/jwks.json",
			"authorization_endpoint":                iss.URL + "/authorize",
			"token_endpoint":                        iss.URL + "/token",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /jwks.json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"keys": []map[string]string{{
			"kty": "RSA",
			"use": "sig",
			"alg": "RS256",
			"kid": iss.kid,
			"n":   b64(key.N.Bytes()),
			"e":   b64(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	tb.Cleanup(func() { srv.Close() })
	return iss
}

// MinIOEnv is MinIO's environment for this issuer, with every token's
// session given the policy rolePolicy (a built-in one such as "readwrite").
// MinIO reads the discovery document when it starts.
func (i *OpenIDIssuer) MinIOEnv(rolePolicy string) []string {
	return []string{
		"MINIO_IDENTITY_OPENID_CONFIG_URL=" + i.URL + "/.well-known/openid-configuration",
		"MINIO_IDENTITY_OPENID_CLIENT_ID=" + i.ClientID,
		"MINIO_IDENTITY_OPENID_ROLE_POLICY=" + rolePolicy,
	}
}

// RoleARN is the role ARN MinIO derives for this issuer when it is
// configured with a role policy: arn:minio:iam:REGION::role/ followed by
// the unpadded base64url SHA-1 of the client ID.
func (i *OpenIDIssuer) RoleARN(region string) string {
	sum := sha1.Sum([]byte(i.ClientID))
	return "arn:minio:iam:" + region + "::role/" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// Token returns an RS256 ID token for subject sub, for this issuer's client,
// issued now and expiring at exp; extra claims are added.
func (i *OpenIDIssuer) Token(tb testing.TB, sub string, exp time.Time, extra map[string]any) string {
	tb.Helper()
	claims := map[string]any{
		"iss": i.URL,
		"sub": sub,
		"aud": i.ClientID,
		"iat": time.Now().Unix(),
		"exp": exp.Unix(),
	}
	for k, v := range extra {
		claims[k] = v
	}
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": i.kid})
	if err != nil {
		tb.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	signed := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(nil, i.key, crypto.SHA256, sum[:])
	if err != nil {
		tb.Fatal(err)
	}
	return signed + "." + b64(sig)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
