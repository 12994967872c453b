package awscreds

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/sigv4"
)

// minioAssumeRoleAnswer is an answer of MinIO's STS, as captured.
const minioAssumeRoleAnswer = `<?xml version="1.0" encoding="UTF-8"?>
<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>5QZ2Y0Z0J6H4QK1X3W0N</AccessKeyId><SecretAccessKey>x+yWq6kMO2hC1kXbVZ1Yd1Gd3dHc9Y2k0xZ8jLpR</SecretAccessKey><SessionToken>eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJhY2Nlc3NLZXkiOiI1UVoyIn0.sig</SessionToken><Expiration>2026-12-06T13:00:00Z</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>1880B6D1E8E0A2C4</RequestId></ResponseMetadata></AssumeRoleResponse>`

func TestParseSTS(t *testing.T) {
	exp := time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		name, action, doc string
		want              Credentials
		wantErr           string
	}{
		{name: "MinIO", action: "AssumeRole", doc: minioAssumeRoleAnswer, want: Credentials{
			Credentials: sigv4.Credentials{AccessKeyID: "5QZ2Y0Z0J6H4QK1X3W0N", SecretAccessKey: "x+yWq6kMO2hC1kXbVZ1Yd1Gd3dHc9Y2k0xZ8jLpR", SessionToken: "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJhY2Nlc3NLZXkiOiI1UVoyIn0.sig"},
			CanExpire:   true, Expires: exp,
		}},
		{name: "fractional seconds and an offset", action: "AssumeRole", doc: strings.Replace(minioAssumeRoleAnswer, "2026-12-06T13:00:00Z", "2026-12-06T14:00:00.5+01:00", 1), want: Credentials{
			Credentials: sigv4.Credentials{AccessKeyID: "5QZ2Y0Z0J6H4QK1X3W0N", SecretAccessKey: "x+yWq6kMO2hC1kXbVZ1Yd1Gd3dHc9Y2k0xZ8jLpR", SessionToken: "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJhY2Nlc3NLZXkiOiI1UVoyIn0.sig"},
			CanExpire:   true, Expires: exp.Add(500 * time.Millisecond),
		}},
		{name: "another action's answer", action: "AssumeRoleWithWebIdentity", doc: minioAssumeRoleAnswer, wantErr: "unexpected answer <AssumeRoleResponse>"},
		{name: "no expiration", action: "AssumeRole", doc: strings.Replace(minioAssumeRoleAnswer, "<Expiration>2026-12-06T13:00:00Z</Expiration>", "", 1), wantErr: "no expiration in the answer"},
		{name: "no token", action: "AssumeRole", doc: strings.Replace(minioAssumeRoleAnswer, "<SessionToken>", "<Token>", 1), wantErr: "the answer is not the XML of STS"},
		{name: "bad expiration", action: "AssumeRole", doc: strings.Replace(minioAssumeRoleAnswer, "2026-12-06T13:00:00Z", "1796562000", 1), wantErr: `the expiration is not an RFC 3339 time: "1796562000"`},
		{name: "error", action: "AssumeRole", doc: `<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error></ErrorResponse>`, wantErr: "credentials (): AssumeRole: ExpiredToken: The security token included in the request is expired"},
		{name: "S3-style error", action: "AssumeRole", doc: `<Error><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>`, wantErr: "credentials (): AssumeRole: AccessDenied: Access Denied."},
		{name: "error without a code", action: "AssumeRole", doc: `<ErrorResponse><Error/></ErrorResponse>`, wantErr: "an error document without a code"},
		{name: "JSON", action: "AssumeRole", doc: `{"AssumeRoleResponse":{}}`, wantErr: "the answer is not the XML of STS"},
	}
	for _, tt := range tests {
		got, err := parseSTS(tt.action, []byte(tt.doc))
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%s: %v %v, want %q", tt.name, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// stsAnswer is an STS answer for encoding/xml, the oracle of FuzzParseSTS.
type stsAnswer struct {
	XMLName      xml.Name
	AccessKeyID  string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
	Secret       string `xml:"AssumeRoleResult>Credentials>SecretAccessKey"`
	SessionToken string `xml:"AssumeRoleResult>Credentials>SessionToken"`
	Expiration   string `xml:"AssumeRoleResult>Credentials>Expiration"`
	ErrCode      string `xml:"Error>Code"`
	ErrMessage   string `xml:"Error>Message"`
}

// FuzzParseSTS: parseSTS never panics; credentials it accepts are
// complete, with an expiry, and are what encoding/xml reads from the same
// document; an error document gives an *Error with a code.
func FuzzParseSTS(f *testing.F) {
	f.Add(minioAssumeRoleAnswer)
	f.Add(awsAssumeRoleAnswer)
	f.Add(`<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>`)
	f.Add(`<Error><Code>x</Code></Error>`)
	f.Fuzz(func(t *testing.T, doc string) {
		cr, err := parseSTS("AssumeRole", []byte(doc))
		var e *Error
		if errors.As(err, &e) {
			if e.Code == "" {
				t.Fatalf("an *Error without a code: %v", e)
			}
			return
		}
		if err != nil {
			return
		}
		if cr.AccessKeyID == "" || cr.SecretAccessKey == "" || cr.SessionToken == "" || !cr.CanExpire || cr.Expires.IsZero() {
			t.Fatalf("incomplete credentials accepted: %#v", cr)
		}
		var std stsAnswer
		if err := xml.Unmarshal([]byte(doc), &std); err != nil {
			t.Fatalf("accepted %q, encoding/xml did not: %v", doc, err)
		}
		exp, _ := time.Parse(time.RFC3339, std.Expiration)
		if std.XMLName.Local != "AssumeRoleResponse" || std.AccessKeyID != cr.AccessKeyID || std.Secret != cr.SecretAccessKey ||
			std.SessionToken != cr.SessionToken || !exp.Equal(cr.Expires) {
			t.Fatalf("%q: encoding/xml reads %+v, parseSTS %#v", doc, std, cr)
		}
	})
}

func TestParseMetadata(t *testing.T) {
	exp := time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC)
	want := Credentials{Credentials: sigv4.Credentials{AccessKeyID: "ASIA1", SecretAccessKey: "s1", SessionToken: "t1"}, CanExpire: true, Expires: exp}
	ecs := `{"RoleArn":"arn:aws:iam::123456789012:role/task","AccessKeyId":"ASIA1","SecretAccessKey":"s1","Token":"t1","Expiration":"2026-12-06T13:00:00Z"}`
	ec2 := `{"Code":"Success","LastUpdated":"2026-12-06T12:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIA1","SecretAccessKey":"s1","Token":"t1","Expiration":"2026-12-06T13:00:00Z"}`
	tests := []struct {
		name    string
		parse   func([]byte) (Credentials, error)
		body    string
		wantErr string
	}{
		{name: "ECS", parse: parseContainer, body: ecs},
		{name: "IMDS", parse: parseIMDS, body: ec2},
		{name: "IMDS code in lower case", parse: parseIMDS, body: strings.Replace(ec2, "Success", "success", 1)},
		{name: "IMDS failure", parse: parseIMDS, body: `{"Code":"InstanceProfileNotFound","Message":"no profile"}`, wantErr: "credentials (): GET credentials: InstanceProfileNotFound: no profile"},
		{name: "IMDS without code", parse: parseIMDS, body: ecs, wantErr: "credentials (): GET credentials"},
		{name: "no secret", parse: parseContainer, body: strings.Replace(ecs, `"SecretAccessKey":"s1",`, "", 1), wantErr: "no secret access key in the answer"},
		{name: "no token", parse: parseContainer, body: strings.Replace(ecs, `"Token":"t1",`, "", 1), wantErr: "no session token in the answer"},
		{name: "epoch expiration", parse: parseContainer, body: strings.Replace(ecs, `"2026-12-06T13:00:00Z"`, `"1796562000"`, 1), wantErr: `the expiration is not an RFC 3339 time: "1796562000"`},
		{name: "number", parse: parseContainer, body: strings.Replace(ecs, `"2026-12-06T13:00:00Z"`, `1796562000`, 1), wantErr: "the answer is not JSON credentials"},
		{name: "not JSON", parse: parseContainer, body: `<html/>`, wantErr: "the answer is not JSON credentials"},
	}
	for _, tt := range tests {
		got, err := tt.parse([]byte(tt.body))
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%s: %v %v, want %q", tt.name, got, err, tt.wantErr)
			}
			continue
		}
		if diff := cmp.Diff(want, got); err != nil || diff != "" {
			t.Errorf("%s: %v (-want +got):\n%s", tt.name, err, diff)
		}
	}
}

// fuzzMetadata is the property of FuzzParseContainer and FuzzParseIMDS:
// no panic; accepted credentials are complete, and written back as the
// protocol's JSON they read the same.
func fuzzMetadata(t *testing.T, parse func([]byte) (Credentials, error), body []byte) {
	cr, err := parse(body)
	if err != nil {
		return
	}
	if cr.AccessKeyID == "" || cr.SecretAccessKey == "" || cr.SessionToken == "" || !cr.CanExpire || cr.Expires.IsZero() {
		t.Fatalf("incomplete credentials accepted: %#v", cr)
	}
	again, err := json.Marshal(map[string]string{
		"Code": "Success", "AccessKeyId": cr.AccessKeyID, "SecretAccessKey": cr.SecretAccessKey,
		"Token": cr.SessionToken, "Expiration": cr.Expires.Format(time.RFC3339Nano),
	})
	if err != nil {
		t.Fatal(err)
	}
	cr2, err := parse(again)
	if err != nil {
		t.Fatalf("written back, refused: %v", err)
	}
	if cr2.Credentials != cr.Credentials || !cr2.Expires.Equal(cr.Expires) {
		t.Fatalf("written back, read %#v; first %#v", cr2, cr)
	}
}

func FuzzParseContainer(f *testing.F) {
	f.Add([]byte(`{"RoleArn":"arn:aws:iam::123456789012:role/task","AccessKeyId":"ASIA1","SecretAccessKey":"s1","Token":"t1","Expiration":"2026-12-06T13:00:00Z"}`))
	f.Add([]byte(`{"AccountId":"1","AccessKeyId":"A","SecretAccessKey":"s","Token":"t","Expiration":"2026-12-06T13:00:00.123+02:00"}`))
	f.Add([]byte(`{"code":"AccessDenied","message":"no"}`))
	f.Fuzz(func(t *testing.T, body []byte) { fuzzMetadata(t, parseContainer, body) })
}

func FuzzParseIMDS(f *testing.F) {
	f.Add([]byte(`{"Code":"Success","LastUpdated":"2026-12-06T12:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIA1","SecretAccessKey":"s1","Token":"t1","Expiration":"2026-12-06T13:00:00Z"}`))
	f.Add([]byte(`{"Code":"InstanceProfileNotFound","Message":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) { fuzzMetadata(t, parseIMDS, body) })
}

func TestClip(t *testing.T) {
	for in, want := range map[string]string{
		"Access Denied.":               "Access Denied.",
		"line\r\nInjected: header":     "line  Injected: header",
		"bad \xff byte":                "bad  byte",
		strings.Repeat("é", 200):       strings.Repeat("é", 150) + "…",
		strings.Repeat("a", 299) + "é": strings.Repeat("a", 299) + "…",
	} {
		if got := clip(in); got != want {
			t.Errorf("clip(%q) = %q, want %q", in, got, want)
		}
	}
}
