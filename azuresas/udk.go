package azuresas

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"time"
)

// MaxUserDelegationKeyLifetime is the longest a user delegation key lives:
// Azure refuses an expiry more than 7 days after the request.
const MaxUserDelegationKeyLifetime = 7 * 24 * time.Hour

// UserDelegationKey is a key that the Blob service issued to an Entra ID
// principal (Get User Delegation Key). A SAS signed with it grants at most
// what that principal's roles allow, until the key expires; revoking the
// principal's keys (or its role) revokes every SAS signed with them. It
// prints without its value.
type UserDelegationKey struct {
	ObjectID string    // skoid: the principal's object ID
	TenantID string    // sktid: its tenant
	Start    time.Time // skt
	Expiry   time.Time // ske
	Service  string    // sks: "b", the Blob service
	Version  string    // skv: the service version that issued it
	Value    []byte    // the key itself
}

// String shows everything but the key's value.
func (k UserDelegationKey) String() string {
	return "azuresas.UserDelegationKey{ObjectID:" + k.ObjectID + ", TenantID:" + k.TenantID +
		", Start:" + k.Start.UTC().Format(TimeFormat) + ", Expiry:" + k.Expiry.UTC().Format(TimeFormat) +
		", Service:" + k.Service + ", Version:" + k.Version + ", Value:<redacted>}"
}

// GoString redacts like String, for %#v.
func (k UserDelegationKey) GoString() string { return k.String() }

func (k *UserDelegationKey) validate() error {
	for _, f := range [...]string{k.ObjectID, k.TenantID, k.Version} {
		if f == "" || !cleanText(f) {
			return invalid("user delegation key: an object ID, tenant ID and version without control characters")
		}
	}
	if k.Service != "b" {
		return invalid(`user delegation key: not for the Blob service ("b")`)
	}
	if !signableTime(k.Start) || !signableTime(k.Expiry) || !k.Expiry.After(k.Start) {
		return invalid("user delegation key: a start and a later expiry, in the years 1970-9999")
	}
	if len(k.Value) == 0 {
		return invalid("user delegation key: no value")
	}
	return nil
}

// GetUserDelegationKey asks the Blob service at endpoint (as
// [NormalizeEndpoint] returns it) for a user delegation key valid from
// start to expiry (at most [MaxUserDelegationKeyLifetime] from now), with
// token, an OAuth 2.0 access token of Entra ID for https://storage.azure.com
// whose principal has the Storage Blob Delegator role (or any role with
// generateUserDelegationKey). The service refuses a bearer token over plain
// HTTP. hc nil means http.DefaultClient.
//
// Errors: a refusal is an *[Error]; nothing in an error holds the token.
func GetUserDelegationKey(ctx context.Context, hc *http.Client, endpoint, token string, start, expiry time.Time) (UserDelegationKey, error) {
	const op = "GetUserDelegationKey"
	if !signableTime(start) || !signableTime(expiry) || !expiry.After(start) {
		return UserDelegationKey{}, invalid("user delegation key: a start and a later expiry, in the years 1970-9999")
	}
	if token == "" || !cleanText(token) {
		return UserDelegationKey{}, invalid("user delegation key: the token is empty or holds a control character")
	}
	var body bytes.Buffer
	body.WriteString(`<?xml version="1.0" encoding="utf-8"?><KeyInfo><Start>`)
	body.WriteString(start.UTC().Format(TimeFormat))
	body.WriteString(`</Start><Expiry>`)
	body.WriteString(expiry.UTC().Format(TimeFormat))
	body.WriteString(`</Expiry></KeyInfo>`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/?restype=service&comp=userdelegationkey", &body)
	if err != nil {
		return UserDelegationKey{}, invalid("endpoint: not a URL")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("x-ms-version", Version)
	req.Header.Set("Content-Type", "application/xml")
	data, _, err := do(hc, req, op, http.StatusOK, maxSmallBody)
	if err != nil {
		return UserDelegationKey{}, err
	}
	k, err := parseUserDelegationKey(data)
	if err != nil {
		return UserDelegationKey{}, &Error{Op: op, StatusCode: http.StatusOK, Message: err.Error()}
	}
	return k, nil
}

// userDelegationKeyXML is the body of Get User Delegation Key's answer.
type userDelegationKeyXML struct {
	XMLName       xml.Name `xml:"UserDelegationKey"`
	SignedOid     string   `xml:"SignedOid"`
	SignedTid     string   `xml:"SignedTid"`
	SignedStart   string   `xml:"SignedStart"`
	SignedExpiry  string   `xml:"SignedExpiry"`
	SignedService string   `xml:"SignedService"`
	SignedVersion string   `xml:"SignedVersion"`
	Value         string   `xml:"Value"`
}

// parseUserDelegationKey parses the body of Get User Delegation Key's
// answer; its errors do not hold the key.
func parseUserDelegationKey(body []byte) (UserDelegationKey, error) {
	var x userDelegationKeyXML
	if err := xml.Unmarshal(body, &x); err != nil {
		return UserDelegationKey{}, errString("the user delegation key is not the XML of a UserDelegationKey")
	}
	start, err1 := time.Parse(time.RFC3339Nano, x.SignedStart)
	expiry, err2 := time.Parse(time.RFC3339Nano, x.SignedExpiry)
	if err1 != nil || err2 != nil {
		return UserDelegationKey{}, errString("the user delegation key's SignedStart or SignedExpiry is not an RFC 3339 time")
	}
	value, err := base64.StdEncoding.DecodeString(x.Value)
	if err != nil {
		return UserDelegationKey{}, errString("the user delegation key's Value is not base64")
	}
	k := UserDelegationKey{
		ObjectID: x.SignedOid, TenantID: x.SignedTid, Start: start, Expiry: expiry,
		Service: x.SignedService, Version: x.SignedVersion, Value: value,
	}
	if err := k.validate(); err != nil {
		return UserDelegationKey{}, err
	}
	return k, nil
}
