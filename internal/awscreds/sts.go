package awscreds

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"presign.dev/sigv4"
)

// stsVersion is the STS API version every action is sent with.
const stsVersion = "2011-06-15"

// maxAnswer bounds the body read from any credential source.
const maxAnswer = 64 << 10

// sts calls the STS query API (POST, form-encoded body, XML answer).
type sts struct {
	endpoint *url.URL // scheme and host; path "/" unless given
	region   string   // signing region
	client   *http.Client
	now      func() time.Time
}

// stsEndpoint is the endpoint STS is reached at: explicit if given, else
// the region's.
func stsEndpoint(explicit, region string) (*url.URL, error) {
	raw := explicit
	if raw == "" {
		raw = "https://sts.amazonaws.com"
		if region != "" {
			raw = "https://sts." + region + ".amazonaws.com"
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("the STS endpoint must be an http(s) URL with a host and no user, query or fragment")
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// stsRegion is the region STS requests are signed for: the configured one,
// or us-east-1, the global endpoint's.
func stsRegion(region string) string {
	if region == "" {
		return "us-east-1"
	}
	return region
}

// call sends action with params, signed with creds unless creds is nil
// (AssumeRoleWithWebIdentity is unsigned), and reads the credentials of a
// successful answer.
func (c *sts) call(ctx context.Context, source, action string, params url.Values, creds *sigv4.Credentials) (Credentials, error) {
	params.Set("Action", action)
	params.Set("Version", stsVersion)
	body := params.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint.String(), strings.NewReader(body))
	if err != nil {
		return Credentials{}, &Error{Source: source, Op: action, Err: err}
	}
	const contentType = "application/x-www-form-urlencoded; charset=utf-8"
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "text/xml")
	if creds != nil {
		sum := sha256.Sum256([]byte(body))
		signer := sigv4.NewSigner(*creds, c.region, "sts")
		hs := signer.SignHeaders(&sigv4.Request{
			Method:      http.MethodPost,
			Host:        req.URL.Host,
			Path:        req.URL.Path,
			Headers:     []sigv4.Header{{Name: "content-type", Value: contentType}},
			PayloadHash: hex.EncodeToString(sum[:]),
			Time:        c.now(),
		})
		for _, h := range hs {
			req.Header.Set(h.Name, h.Value)
		}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return Credentials{}, &Error{Source: source, Op: action, Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	doc, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return Credentials{}, &Error{Source: source, Op: action, StatusCode: resp.StatusCode, Err: err}
	}
	if len(doc) > maxAnswer {
		return Credentials{}, &Error{Source: source, Op: action, StatusCode: resp.StatusCode, Err: errors.New("answer too large")}
	}
	cr, err := parseSTS(action, doc)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Source, e.StatusCode = source, resp.StatusCode
			return Credentials{}, e
		}
		return Credentials{}, &Error{Source: source, Op: action, StatusCode: resp.StatusCode, Err: err}
	}
	if resp.StatusCode/100 != 2 {
		return Credentials{}, &Error{Source: source, Op: action, StatusCode: resp.StatusCode, Err: errors.New("credentials in an unsuccessful answer")}
	}
	cr.Source = source
	return cr, nil
}

// parseSTS reads the answer to action (AssumeRole,
// AssumeRoleWithWebIdentity): its credentials, or its error document as
// an *Error.
func parseSTS(action string, doc []byte) (Credentials, error) {
	var (
		accessKey, secret, token, expiration string
		errType, errCode, errMessage         string
	)
	result := action + "Response/" + action + "Result/Credentials/"
	want := map[string]*string{
		result + "AccessKeyId":     &accessKey,
		result + "SecretAccessKey": &secret,
		result + "SessionToken":    &token,
		result + "Expiration":      &expiration,
		// AWS and MinIO: ErrorResponse/Error; S3-style stores: Error.
		"ErrorResponse/Error/Type":    &errType,
		"ErrorResponse/Error/Code":    &errCode,
		"ErrorResponse/Error/Message": &errMessage,
		"Error/Code":                  &errCode,
		"Error/Message":               &errMessage,
	}
	root, err := readXML(doc, want)
	switch {
	case err != nil:
		return Credentials{}, errors.New("the answer is not the XML of STS")
	case root == "ErrorResponse" || root == "Error":
		if errCode == "" {
			return Credentials{}, errors.New("an error document without a code")
		}
		return Credentials{}, &Error{Op: action, Code: clip(errCode), Message: clip(errMessage)}
	case root != action+"Response":
		return Credentials{}, errors.New("unexpected answer <" + clip(root) + ">")
	}
	return newTemporary(accessKey, secret, token, expiration)
}

// newTemporary checks the fields of temporary credentials, as every source
// sends them.
func newTemporary(accessKey, secret, token, expiration string) (Credentials, error) {
	switch {
	case accessKey == "":
		return Credentials{}, errors.New("no access key ID in the answer")
	case secret == "":
		return Credentials{}, errors.New("no secret access key in the answer")
	case token == "":
		return Credentials{}, errors.New("no session token in the answer")
	case expiration == "":
		return Credentials{}, errors.New("no expiration in the answer")
	}
	exp, err := time.Parse(time.RFC3339, expiration)
	if err != nil {
		return Credentials{}, errors.New("the expiration is not an RFC 3339 time: " + strconv.Quote(clip(expiration)))
	}
	return Credentials{
		Credentials: sigv4.Credentials{AccessKeyID: accessKey, SecretAccessKey: secret, SessionToken: token},
		CanExpire:   true,
		Expires:     exp,
	}, nil
}

// redactURLError drops the URL from a transport error (a container
// endpoint's may hold a path the operator set; STS's none, but alike).
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// assumeRole is the assume_role source: AssumeRole signed with base's
// credentials.
type assumeRole struct {
	sts    *sts
	base   Provider
	params url.Values // RoleArn, RoleSessionName, ExternalId, Policy, DurationSeconds
}

func (a *assumeRole) fetch(ctx context.Context) (Credentials, error) {
	base, err := a.base.Retrieve(ctx)
	if err != nil {
		return Credentials{}, err
	}
	params := url.Values{}
	for k, v := range a.params {
		params[k] = v
	}
	if params.Get("RoleSessionName") == "" {
		params.Set("RoleSessionName", "presign-"+strconv.FormatInt(a.sts.now().Unix(), 10))
	}
	// A role session lives as long as STS says, whatever the expiry of
	// the credentials that asked for it.
	return a.sts.call(ctx, "assume_role", "AssumeRole", params, &base.Credentials)
}

// webIdentity is AssumeRoleWithWebIdentity with a token read from a file
// on every fetch (Kubernetes rotates it).
type webIdentity struct {
	sts         *sts
	tokenFile   string
	roleARN     string
	sessionName string // "" for a fresh one on every fetch
	readFile    func(string) ([]byte, error)
}

func (w *webIdentity) fetch(ctx context.Context) (Credentials, error) {
	tok, err := w.readFile(w.tokenFile)
	if err != nil {
		return Credentials{}, &Error{Source: "web_identity", Op: "reading AWS_WEB_IDENTITY_TOKEN_FILE", Err: err}
	}
	token := strings.TrimSpace(string(tok))
	if token == "" {
		return Credentials{}, errorf("web_identity", "reading AWS_WEB_IDENTITY_TOKEN_FILE", "the file is empty")
	}
	name := w.sessionName
	if name == "" {
		// aws-sdk-go-v2 names the session after the time in nanoseconds.
		name = "presign-" + strconv.FormatInt(w.sts.now().UnixNano(), 10)
	}
	params := url.Values{
		"RoleArn":          {w.roleARN},
		"RoleSessionName":  {name},
		"WebIdentityToken": {token},
	}
	return w.sts.call(ctx, "web_identity", "AssumeRoleWithWebIdentity", params, nil)
}
