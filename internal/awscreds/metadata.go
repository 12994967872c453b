package awscreds

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The container credentials endpoint of ECS (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI).
const (
	ecsHost     = "169.254.170.2"
	ecsEndpoint = "http://" + ecsHost
)

// IMDS (EC2 instance metadata service), version 2.
const (
	imdsEndpointIPv4 = "http://169.254.169.254"
	imdsEndpointIPv6 = "http://[fd00:ec2::254]"
	imdsTokenPath    = "/latest/api/token"
	imdsRolePath     = "/latest/meta-data/iam/security-credentials/"
	// imdsTokenHeader carries the session token; imdsTTLHeader its
	// lifetime in seconds, asked for on the PUT and given in its answer.
	imdsTokenHeader = "X-Aws-Ec2-Metadata-Token"
	imdsTTLHeader   = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
	// imdsTokenTTL is the lifetime asked for (aws-sdk-go-v2's; at most 21600).
	imdsTokenTTL = 300
)

// metadataAttempts is how often a metadata request is tried when the answer
// is 429 or 5xx, or there is none; metadataBackoff is the first pause,
// doubled after each attempt.
const metadataAttempts = 3

var metadataBackoff = 100 * time.Millisecond

var eksContainerIPv6 = netip.MustParseAddr("fd00:ec2::23")

// allowedContainerAddr reports whether an http container endpoint may be
// at a: loopback, ECS's 169.254.170.2, or EKS Pod Identity's
// 169.254.170.23 and fd00:ec2::23 (aws-sdk-go-v2's isAllowedHost).
func allowedContainerAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() ||
		a == netip.AddrFrom4([4]byte{169, 254, 170, 2}) ||
		a == netip.AddrFrom4([4]byte{169, 254, 170, 23}) ||
		a == eksContainerIPv6
}

// metadataClient is o.MetadataClient, or a client that uses no proxy,
// follows no redirect and, when allow is not nil, connects only to the
// addresses it allows (so that a name resolving elsewhere later is still
// refused).
func metadataClient(o Options, allow func(netip.Addr) bool) *http.Client {
	if o.MetadataClient != nil {
		return o.MetadataClient
	}
	d := &net.Dialer{Timeout: 2 * time.Second}
	if allow != nil {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !allow(ap.Addr()) {
				return errors.New("the container credentials endpoint resolved to an address that is not allowed")
			}
			return nil
		}
	}
	return &http.Client{
		Timeout:       5 * time.Second,
		Transport:     &http.Transport{DialContext: d.DialContext, MaxIdleConns: 2, IdleConnTimeout: 30 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// container is the ECS / EKS Pod Identity credentials endpoint.
type container struct {
	url       *url.URL
	checkHost bool   // an http FULL_URI: its host must be allowed
	token     string // AWS_CONTAINER_AUTHORIZATION_TOKEN
	tokenFile string // AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, read on every fetch
	readFile  func(string) ([]byte, error)
	lookup    func(ctx context.Context, host string) ([]string, error)
	client    *http.Client
}

func newContainer(u *url.URL, checkHost bool, o Options) *container {
	var allow func(netip.Addr) bool
	if checkHost {
		allow = allowedContainerAddr
	}
	return &container{
		url:       u,
		checkHost: checkHost,
		token:     o.getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
		tokenFile: o.getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
		readFile:  o.ReadFile,
		lookup:    net.DefaultResolver.LookupHost,
		client:    metadataClient(o, allow),
	}
}

func (c *container) fetch(ctx context.Context) (Credentials, error) {
	const src, op = "container", "GET credentials"
	if c.checkHost {
		if err := c.checkAddrs(ctx); err != nil {
			return Credentials{}, &Error{Source: src, Op: op, Err: err}
		}
	}
	token := c.token
	if c.tokenFile != "" { // the file wins (EKS Pod Identity rotates it)
		b, err := c.readFile(c.tokenFile)
		if err != nil {
			return Credentials{}, &Error{Source: src, Op: "reading AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", Err: err}
		}
		token = strings.TrimSpace(string(b))
	}
	if strings.ContainsFunc(token, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return Credentials{}, errorf(src, op, "the authorization token holds a control character (a line break?)")
	}
	resp, body, err := metadataDo(ctx, c.client, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url.String(), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		return req, nil
	})
	if err != nil {
		return Credentials{}, &Error{Source: src, Op: op, Err: err}
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{Source: src, Op: op, StatusCode: resp.StatusCode}
		var shape struct{ Code, Message string }
		if json.Unmarshal(body, &shape) == nil {
			e.Code, e.Message = clip(shape.Code), clip(shape.Message)
		}
		return Credentials{}, e
	}
	cr, err := parseContainer(body)
	if err != nil {
		return Credentials{}, &Error{Source: src, Op: op, StatusCode: resp.StatusCode, Err: err}
	}
	cr.Source = src
	return cr, nil
}

// checkAddrs checks that the endpoint's host is, or resolves only to,
// allowed addresses.
func (c *container) checkAddrs(ctx context.Context) error {
	host := c.url.Hostname()
	addrs := []string{host}
	if _, err := netip.ParseAddr(host); err != nil {
		if addrs, err = c.lookup(ctx, host); err != nil {
			return err
		}
	}
	for _, s := range addrs {
		a, err := netip.ParseAddr(s)
		if err != nil || !allowedContainerAddr(a) {
			return errors.New("AWS_CONTAINER_CREDENTIALS_FULL_URI over http must reach only loopback, 169.254.170.2, 169.254.170.23 or fd00:ec2::23; use https for another host")
		}
	}
	return nil
}

// containerAnswer is the JSON of the container endpoint and of IMDS.
type containerAnswer struct {
	AccessKeyId     string
	SecretAccessKey string
	Token           string
	Expiration      string
	Code            string // IMDS: "Success"
	Message         string
}

// parseContainer reads the container endpoint's credentials. Expiration is
// required: without it no URL could be given a true expiry.
func parseContainer(body []byte) (Credentials, error) {
	var a containerAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return Credentials{}, errors.New("the answer is not JSON credentials")
	}
	return newTemporary(a.AccessKeyId, a.SecretAccessKey, a.Token, a.Expiration)
}

// parseIMDS reads IMDS's credentials of a role, whose Code must be Success.
func parseIMDS(body []byte) (Credentials, error) {
	var a containerAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return Credentials{}, errors.New("the answer is not JSON credentials")
	}
	if !strings.EqualFold(a.Code, "Success") {
		return Credentials{}, &Error{Op: "GET credentials", Code: clip(a.Code), Message: clip(a.Message)}
	}
	return newTemporary(a.AccessKeyId, a.SecretAccessKey, a.Token, a.Expiration)
}

// metadataDo sends the request newReq makes, again (up to metadataAttempts
// in all) while the answer is 429 or 5xx or there is none, and returns the
// last answer with its body read.
func metadataDo(ctx context.Context, client *http.Client, newReq func() (*http.Request, error)) (*http.Response, []byte, error) {
	pause := metadataBackoff
	for attempt := 1; ; attempt++ {
		req, err := newReq()
		if err != nil {
			return nil, nil, err
		}
		resp, err := client.Do(req)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
			resp.Body.Close()
			if err == nil && len(body) > maxAnswer {
				return nil, nil, errors.New("answer too large")
			}
		}
		retry := err != nil || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		if !retry || attempt == metadataAttempts || ctx.Err() != nil {
			if err != nil {
				return nil, nil, redactURLError(err)
			}
			return resp, body, nil
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, nil, ctx.Err()
		}
		pause *= 2
	}
}

// imds is the EC2 instance role, from IMDSv2.
type imds struct {
	endpoint string // scheme://host[:port], no path
	client   *http.Client
	now      func() time.Time

	mu       sync.Mutex
	token    string
	tokenExp time.Time
}

func newIMDS(o Options) (*imds, error) {
	endpoint := imdsEndpointIPv4
	if v := o.getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			return nil, errorf("imds", "environment", "AWS_EC2_METADATA_SERVICE_ENDPOINT must be an http(s) URL with a host")
		}
		endpoint = u.Scheme + "://" + u.Host + strings.TrimSuffix(u.Path, "/")
	} else {
		switch mode := o.getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"); {
		case mode == "" || strings.EqualFold(mode, "IPv4"):
		case strings.EqualFold(mode, "IPv6"):
			endpoint = imdsEndpointIPv6
		default:
			return nil, errorf("imds", "environment", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE must be IPv4 or IPv6")
		}
	}
	return &imds{endpoint: endpoint, client: metadataClient(o, nil), now: o.Now}, nil
}

func (m *imds) fetch(ctx context.Context) (Credentials, error) {
	const src = "imds"
	resp, body, err := m.get(ctx, imdsRolePath)
	if err != nil {
		return Credentials{}, wrap(src, "GET role name", err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return Credentials{}, &Error{Source: src, Op: "GET role name", StatusCode: resp.StatusCode, Err: errors.New("the instance has no IAM role")}
	}
	if resp.StatusCode != http.StatusOK {
		return Credentials{}, &Error{Source: src, Op: "GET role name", StatusCode: resp.StatusCode}
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	var role string
	if sc.Scan() {
		role = strings.TrimSpace(sc.Text())
	}
	if role == "" || len(role) > 64 || !allIn(role, "+=,.@-") {
		return Credentials{}, errorf(src, "GET role name", "the answer is not a role name")
	}
	op := "GET credentials of role " + role
	resp, body, err = m.get(ctx, imdsRolePath+role)
	if err != nil {
		return Credentials{}, wrap(src, op, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Credentials{}, &Error{Source: src, Op: op, StatusCode: resp.StatusCode}
	}
	cr, err := parseIMDS(body)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Source, e.Op = src, op
			return Credentials{}, e
		}
		return Credentials{}, &Error{Source: src, Op: op, Err: err}
	}
	cr.Source = src
	return cr, nil
}

// wrap is err as an *Error of source and op, unless it is one already.
func wrap(source, op string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Source: source, Op: op, Err: err}
}

// get sends GET path with the session token, taking a new token and
// trying again once if IMDS answers 401 (the token expired).
func (m *imds) get(ctx context.Context, path string) (*http.Response, []byte, error) {
	for try := 0; ; try++ {
		tok, err := m.sessionToken(ctx)
		if err != nil {
			return nil, nil, err
		}
		resp, body, err := metadataDo(ctx, m.client, func() (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.endpoint+path, nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set(imdsTokenHeader, tok)
			return req, nil
		})
		if err != nil {
			return nil, nil, err
		}
		if resp.StatusCode == http.StatusUnauthorized && try == 0 {
			m.mu.Lock()
			if m.token == tok {
				m.token = ""
			}
			m.mu.Unlock()
			continue
		}
		return resp, body, nil
	}
}

// sessionToken returns the held IMDSv2 token while it lives, else a new
// one (PUT /latest/api/token).
func (m *imds) sessionToken(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.token != "" && now.Before(m.tokenExp) {
		return m.token, nil
	}
	const op = "PUT session token"
	resp, body, err := metadataDo(ctx, m.client, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, m.endpoint+imdsTokenPath, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set(imdsTTLHeader, strconv.Itoa(imdsTokenTTL))
		return req, nil
	})
	if err != nil {
		return "", &Error{Source: "imds", Op: op, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		// 403, 404, 405: IMDSv2 is refused or absent; aws-sdk-go-v2 would
		// fall back to IMDSv1, which presign does not use.
		return "", &Error{Source: "imds", Op: op, StatusCode: resp.StatusCode, Err: errors.New("no IMDSv2 session token (IMDSv1 is not used)")}
	}
	ttl, err := strconv.Atoi(resp.Header.Get(imdsTTLHeader))
	token := string(body)
	if err != nil || ttl <= 0 || token == "" || strings.ContainsFunc(token, func(r rune) bool { return r <= 0x20 || r == 0x7f }) {
		return "", errorf("imds", op, "the answer is not a session token with its TTL")
	}
	// Renewed a little early, so that it does not expire on the way.
	m.token, m.tokenExp = token, now.Add(time.Duration(ttl)*time.Second-time.Duration(ttl)*time.Second/10)
	return token, nil
}
