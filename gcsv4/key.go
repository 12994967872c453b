package gcsv4

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
)

// MinRSABits is the smallest RSA key [ParsePrivateKey] accepts. Google
// issues service account keys of 2048 bits.
const MinRSABits = 2048

// The parsers' errors. Each is one fixed sentence: none quotes its input,
// so a key pasted in the wrong place never reaches a log through an error.
var (
	ErrKeyNotJSON      = errors.New("gcsv4: the service account key is not a JSON object")
	ErrKeyType         = errors.New(`gcsv4: the JSON key is not a service account key (its "type" is not "service_account")`)
	ErrKeyNoEmail      = errors.New(`gcsv4: the service account key has no "client_email"`)
	ErrKeyBadEmail     = errors.New(`gcsv4: the service account key's "client_email" is not an email address`)
	ErrKeyNoPrivateKey = errors.New(`gcsv4: the service account key has no "private_key"`)
	ErrKeyNotPEM       = errors.New("gcsv4: the private key is not PEM (-----BEGIN PRIVATE KEY-----)")
	ErrKeyEncrypted    = errors.New("gcsv4: the private key is encrypted; give it unencrypted")
	ErrKeyPEMType      = errors.New(`gcsv4: the PEM block is not "PRIVATE KEY" (PKCS #8) or "RSA PRIVATE KEY" (PKCS #1)`)
	ErrKeyInvalid      = errors.New("gcsv4: the private key does not parse as PKCS #8 or PKCS #1")
	ErrKeyNotRSA       = errors.New("gcsv4: the private key is not an RSA key")
	ErrKeyTooSmall     = errors.New("gcsv4: the RSA key is shorter than 2048 bits")
)

// ParseServiceAccountKey parses a service account's JSON key file, as the
// Google Cloud console downloads it: "type" must be "service_account",
// "client_email" the account's address and "private_key" its RSA key in PEM
// (see [ParsePrivateKey]). Other members are ignored. An error is one of the
// ErrKey* values.
func ParseServiceAccountKey(data []byte) (ServiceAccount, error) {
	var f struct {
		Type        *string `json:"type"`
		ClientEmail *string `json:"client_email"`
		PrivateKey  *string `json:"private_key"`
	}
	// encoding/json's own errors may quote the input: they are replaced.
	d := json.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&f); err != nil {
		return ServiceAccount{}, ErrKeyNotJSON
	}
	if _, err := d.Token(); err == nil { // anything after the object
		return ServiceAccount{}, ErrKeyNotJSON
	}
	switch {
	case f.Type == nil || *f.Type != "service_account":
		return ServiceAccount{}, ErrKeyType
	case f.ClientEmail == nil || *f.ClientEmail == "":
		return ServiceAccount{}, ErrKeyNoEmail
	case !isEmail(*f.ClientEmail):
		return ServiceAccount{}, ErrKeyBadEmail
	case f.PrivateKey == nil || *f.PrivateKey == "":
		return ServiceAccount{}, ErrKeyNoPrivateKey
	}
	key, err := ParsePrivateKey([]byte(*f.PrivateKey))
	if err != nil {
		return ServiceAccount{}, err
	}
	return ServiceAccount{ClientEmail: *f.ClientEmail, PrivateKey: key}, nil
}

// isEmail reports whether s is printable ASCII without spaces, with one @
// between a local part and a domain: what a service account's address is.
func isEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 || len(s) > 320 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// ParsePrivateKey parses an unencrypted RSA private key of at least
// [MinRSABits] bits from the first PEM block of data: "PRIVATE KEY"
// (PKCS #8, as in service account keys) or "RSA PRIVATE KEY" (PKCS #1).
// An error is one of the ErrKey* values.
func ParsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, ErrKeyNotPEM
	}
	if _, ok := block.Headers["Proc-Type"]; ok {
		return nil, ErrKeyEncrypted
	}
	var key *rsa.PrivateKey
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, ErrKeyInvalid
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, ErrKeyNotRSA
		}
		key = rk
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, ErrKeyInvalid
		}
		key = k
	case "ENCRYPTED PRIVATE KEY":
		return nil, ErrKeyEncrypted
	default:
		return nil, ErrKeyPEMType
	}
	if key.N.BitLen() < MinRSABits {
		return nil, ErrKeyTooSmall
	}
	return key, nil
}
