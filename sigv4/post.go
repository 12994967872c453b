package sigv4

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Condition is one condition of a POST policy. Build them with [Eq],
// [StartsWith] and [ContentLengthRange].
type Condition struct {
	op    string // "eq", "starts-with" or "content-length-range"
	field string // form field name, without "$"
	value string
	min   int64
	max   int64
}

// Eq requires form field field to equal value exactly.
func Eq(field, value string) Condition { return Condition{op: "eq", field: field, value: value} }

// StartsWith requires form field field to start with prefix ("" allows any value).
func StartsWith(field, prefix string) Condition {
	return Condition{op: "starts-with", field: field, value: prefix}
}

// ContentLengthRange requires the uploaded file's size to be in [min, max] bytes.
func ContentLengthRange(min, max int64) Condition {
	return Condition{op: "content-length-range", min: min, max: max}
}

// MarshalJSON encodes c in the policy's grammar: {"field":"value"} for Eq,
// ["starts-with","$field","prefix"] and ["content-length-range",min,max].
// encoding/json escapes every string, so no field or value can add a
// condition.
func (c Condition) MarshalJSON() ([]byte, error) {
	switch c.op {
	case "eq":
		return json.Marshal(map[string]string{c.field: c.value})
	case "starts-with":
		return json.Marshal([]string{"starts-with", "$" + c.field, c.value})
	case "content-length-range":
		return json.Marshal([]any{"content-length-range", c.min, c.max})
	}
	return nil, errors.New("sigv4: zero Condition")
}

// PostRequest is a browser POST upload to presign.
type PostRequest struct {
	Bucket string
	// Fields are form fields the client sends with these exact values (key,
	// Content-Type, x-amz-meta-*, success_action_status, ...). Each becomes an
	// Eq condition and a returned form field.
	Fields []Param
	// Conditions are added after the fields' conditions (ranges, prefixes).
	Conditions []Condition
	Time       time.Time
	Expires    time.Duration
	// LowerCaseFields names the authentication fields x-amz-algorithm, ...,
	// as botocore does, instead of X-Amz-Algorithm, ... as the Go SDK does.
	// S3 reads form field names case-insensitively.
	LowerCaseFields bool
}

// PostForm is a presigned POST upload: the form fields to send, in order,
// before the file part.
type PostForm struct {
	Fields []Param
	// Policy is the decoded policy document, for tests and logs.
	Policy []byte
}

// policyDocument is the JSON policy of a POST upload.
type policyDocument struct {
	Expiration string      `json:"expiration"`
	Conditions []Condition `json:"conditions"`
}

// PresignPost builds and signs the POST policy of r. It fails only if a
// Condition is the zero value.
func (s *Signer) PresignPost(r *PostRequest) (PostForm, error) {
	var date [16]byte
	FormatDate(&date, r.Time)
	credential := s.creds.AccessKeyID + "/" + string(date[:8]) + s.scope

	name := func(n string) string {
		if r.LowerCaseFields {
			return strings.ToLower(n)
		}
		return n
	}
	auth := []Param{
		{name("X-Amz-Algorithm"), Algorithm},
		{name("X-Amz-Credential"), credential},
		{name("X-Amz-Date"), string(date[:])},
	}
	if s.creds.SessionToken != "" {
		auth = append(auth, Param{name("X-Amz-Security-Token"), s.creds.SessionToken})
	}

	conds := make([]Condition, 0, 1+len(r.Fields)+len(r.Conditions)+len(auth))
	conds = append(conds, Eq("bucket", r.Bucket))
	for _, f := range r.Fields {
		conds = append(conds, Eq(f.Name, f.Value))
	}
	conds = append(conds, r.Conditions...)
	for _, f := range auth {
		conds = append(conds, Eq(f.Name, f.Value))
	}
	doc := policyDocument{
		Expiration: r.Time.Add(r.Expires).UTC().Format("2006-01-02T15:04:05.000Z"),
		Conditions: conds,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return PostForm{}, err
	}
	policy := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	b64 := base64.StdEncoding.EncodeToString(policy)

	fields := make([]Param, 0, len(r.Fields)+len(auth)+2)
	fields = append(fields, r.Fields...)
	fields = append(fields, auth...)
	fields = append(fields, Param{"policy", b64}, Param{name("X-Amz-Signature"), s.SignPolicy(b64, r.Time)})
	return PostForm{Fields: fields, Policy: policy}, nil
}

// SignPolicy returns the hex signature of a base64-encoded POST policy signed
// at t: HMAC-SHA256 with the SigV4 signing key of t's date.
func (s *Signer) SignPolicy(policyBase64 string, t time.Time) string {
	var date [16]byte
	FormatDate(&date, t)
	sc := getScratch()
	defer putScratch(sc)
	sig := s.hmacHex(sc, &date, []byte(policyBase64))
	return string(sig[:])
}
