package doctor

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"presign.dev/internal/config"
	"presign.dev/presign"
	"presign.dev/sigv4"
)

// maxBody bounds what a probe reads of an answer: S3's error documents and
// CORS configurations are well under it.
const maxBody = 64 << 10

// prober sends one backend's probes.
type prober struct {
	o      Options
	b      presign.Backend // with defaults
	n      needs
	origin string
	// iss signs grants as presign does, for this backend alone, with every
	// operation allowed (and POST forms on, to probe them); issNoOverwrite
	// also signs If-None-Match: * on puts.
	iss, issNoOverwrite *presign.Issuer
	prefix              string   // ProbePrefix + random segment + "/"
	bucketURL           *url.URL // the bucket's URL, from a list grant; nil before
	// minio: the store's first answer came with Server: MinIO, whose CORS
	// is server-wide (it keeps no bucket CORS, and answers GetBucketCors
	// NoSuchCORSConfiguration and PutBucketCors NotImplemented).
	minio   bool
	created []string // keys the probes may have written
}

// doctorAuthz allows every request, signing If-None-Match: * on puts when
// noOverwrite.
type doctorAuthz struct{ noOverwrite bool }

func (a doctorAuthz) Authorize(context.Context, presign.Principal, *presign.Request) (presign.Decision, error) {
	return presign.Decision{Rule: "doctor", NoOverwrite: a.noOverwrite}, nil
}

// newProber builds the signers of backend b (with defaults) from cfg.
func newProber(cfg config.Config, b presign.Backend, origin string, o Options, segment string) (*prober, error) {
	probe := b
	probe.NoPost = false // the store's POST support is probed whatever the configuration says
	ic := cfg.IssuerConfig()
	ic.Backends = []presign.Backend{probe}
	ic.Uploads = presign.UploadsConfig{}
	ic.Now, ic.Random = o.Now, o.Random
	p := &prober{o: o, b: b, n: needsOf(cfg, b), origin: origin, prefix: ProbePrefix + segment + "/"}
	var err error
	ic.Authorizer = doctorAuthz{}
	if p.iss, err = presign.New(ic); err != nil {
		return nil, fmt.Errorf("doctor: backend %q: %w", b.Name, err)
	}
	ic.Authorizer = doctorAuthz{noOverwrite: true}
	if p.issNoOverwrite, err = presign.New(ic); err != nil {
		return nil, fmt.Errorf("doctor: backend %q: %w", b.Name, err)
	}
	return p, nil
}

// grant signs r with iss (the backend is the only one).
func (p *prober) grant(iss *presign.Issuer, r presign.Request) (presign.Grant, error) {
	return iss.Issue(context.Background(), presign.Principal{Kind: "cli", Name: "doctor"}, r)
}

// answer is what one probe request got.
type answer struct {
	status int
	header http.Header
	body   []byte
	// err is set when no answer came (network, timeout); it never holds
	// the URL, which may be signed.
	err error
	// sent and received are this machine's clock around the request.
	sent, received time.Time
	s3             s3Error // the error document, if the body is one
}

// send makes one request and reads its answer, within the probe timeout.
func (p *prober) send(ctx context.Context, method, rawURL string, header map[string]string, body []byte) answer {
	ctx, cancel := context.WithTimeout(ctx, p.o.Timeout)
	defer cancel()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	a := answer{sent: p.o.Now()}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, r)
	if err != nil {
		a.err = errors.New("the request could not be built")
		return a
	}
	for k, v := range header {
		if strings.EqualFold(k, "Content-Length") {
			continue // net/http sends the body's length
		}
		req.Header.Set(k, v)
	}
	resp, err := p.o.HTTPClient.Do(req)
	a.received = p.o.Now()
	if err != nil {
		a.err = unwrapURLError(err, ctx, p.o.Timeout)
		return a
	}
	defer resp.Body.Close()
	a.status, a.header = resp.StatusCode, resp.Header
	a.body, _ = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody)) // so the connection can be reused
	a.s3, _ = parseS3Error(a.body)
	return a
}

// unwrapURLError drops the URL (which may carry a signature) from a
// client error.
func unwrapURLError(err error, ctx context.Context, timeout time.Duration) error {
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("no answer within %s", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err
}

// ok reports a 2xx answer.
func (a answer) ok() bool { return a.err == nil && a.status >= 200 && a.status <= 299 }

// code is the S3 error code of the answer, or for a body-less one (HEAD)
// its status text without spaces ("NotFound"); "" for none.
func (a answer) code() string {
	switch {
	case a.err != nil || a.ok():
		return ""
	case a.s3.Code != "":
		return a.s3.Code
	}
	return strings.ReplaceAll(http.StatusText(a.status), " ", "")
}

// String describes the answer in a few words: "403 SignatureDoesNotMatch
// (the message)", "200", or "no answer: connection refused".
func (a answer) String() string {
	if a.err != nil {
		return "no answer: " + clean(a.err.Error(), 200)
	}
	s := fmt.Sprint(a.status)
	if c := a.code(); c != "" {
		s += " " + clean(c, 64)
	}
	if a.s3.Message != "" {
		s += " (" + clean(a.s3.Message, 160) + ")"
	}
	return s
}

// s3Error is S3's error document, <Error>.
type s3Error struct {
	Code, Message string
	// Region is the region the store expects (AWS's
	// AuthorizationHeaderMalformed and PermanentRedirect name it).
	Region string
}

// parseS3Error reads S3's <Error> document; ok is false for anything else
// (no document, another root element, no Code).
func parseS3Error(body []byte) (e s3Error, ok bool) {
	var doc struct {
		XMLName xml.Name
		Code    string
		Message string
		Region  string
	}
	if err := xml.Unmarshal(body, &doc); err != nil || doc.XMLName.Local != "Error" || strings.TrimSpace(doc.Code) == "" {
		return s3Error{}, false
	}
	return s3Error{Code: strings.TrimSpace(doc.Code), Message: strings.TrimSpace(doc.Message), Region: strings.TrimSpace(doc.Region)}, true
}

// corsRule is one rule of a bucket's CORS configuration.
type corsRule struct {
	AllowedOrigin []string
	AllowedMethod []string
	AllowedHeader []string
	ExposeHeader  []string
}

// parseCORS reads a GetBucketCors answer, <CORSConfiguration>; ok is false
// for anything else.
func parseCORS(body []byte) (rules []corsRule, ok bool) {
	var doc struct {
		XMLName  xml.Name
		CORSRule []corsRule
	}
	if err := xml.Unmarshal(body, &doc); err != nil || doc.XMLName.Local != "CORSConfiguration" {
		return nil, false
	}
	return doc.CORSRule, true
}

// withoutQuery returns rawURL without its query: a grant's URL as a
// preflight or an Origin-only request names it.
func withoutQuery(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// signedBucketGet signs a GET of the bucket with the query sub-resource
// (e.g. "cors") the way presign signs URLs, for the bucket's settings that
// grants cannot read.
// The credentials are the backend's static keys, or what its source
// supplies now.
func (p *prober) signedBucketGet(ctx context.Context, subresource string) (string, error) {
	creds := p.b.Credentials
	if p.b.CredentialSource != nil {
		var err error
		if creds, _, err = p.b.CredentialSource.Credentials(ctx); err != nil {
			return "", err
		}
	}
	u := p.bucketURL
	return sigv4.NewSigner(creds, p.b.Region, "s3").Presign(&sigv4.Request{Method: "GET", Scheme: u.Scheme, Host: u.Host, Path: u.Path,
		Query: []sigv4.Param{{Name: subresource, Value: ""}}, Time: p.o.Now(), Expires: 5 * time.Minute}), nil
}

// clean makes store-supplied text safe to print: valid UTF-8, no control
// characters (a terminal's escape sequences among them), at most n bytes.
func clean(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
