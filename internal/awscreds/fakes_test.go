package awscreds

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fakes of the two metadata protocols, as AWS documents them and
// aws-sdk-go-v2 speaks them (docs.aws.amazon.com: "Use the Instance
// Metadata Service to access instance metadata", "Amazon ECS task IAM
// role", "EKS Pod Identity"; credentials/endpointcreds, feature/ec2/imds).

// issued are credentials a fake hands out.
type issued struct {
	AccessKeyID, Secret, Token string
	Expiration                 time.Time
}

func credentialsJSON(c issued, extra map[string]any) []byte {
	m := map[string]any{
		"AccessKeyId":     c.AccessKeyID,
		"SecretAccessKey": c.Secret,
		"Token":           c.Token,
		"Expiration":      c.Expiration.UTC().Format(time.RFC3339),
	}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

// fakeIMDS is EC2's instance metadata service with IMDSv2 required
// (HttpTokens=required): a session token from PUT /latest/api/token with
// X-aws-ec2-metadata-token-ttl-seconds (1 to 21600), then GETs carrying it in
// X-aws-ec2-metadata-token; a GET without a valid token is 401, a PUT with
// X-Forwarded-For 403. Tokens expire on the fake's clock.
type fakeIMDS struct {
	srv  *httptest.Server
	now  func() time.Time
	role string

	mu       sync.Mutex
	creds    issued
	code     string // "Success" unless set
	noRole   bool   // the instance has no role: 404
	putCode  int    // answer PUT with this status instead (403: IMDS disabled)
	tokens   map[string]time.Time
	seq      int
	log      []string // "PUT /latest/api/token ttl=300", "GET path token=ok|none|bad"
	askedTTL []string
}

func newFakeIMDS(t *testing.T, now func() time.Time, role string, creds issued) *fakeIMDS {
	f := &fakeIMDS{now: now, role: role, creds: creds, code: "Success", tokens: map[string]time.Time{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIMDS) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == imdsTokenPath {
		ttl := r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds")
		f.log = append(f.log, "PUT "+r.URL.Path+" ttl="+ttl)
		switch {
		case r.Method != http.MethodPut:
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		case f.putCode != 0:
			w.WriteHeader(f.putCode)
			return
		case r.Header.Get("X-Forwarded-For") != "":
			w.WriteHeader(http.StatusForbidden)
			return
		}
		n, err := strconv.Atoi(ttl)
		if err != nil || n < 1 || n > 21600 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.seq++
		tok := fmt.Sprintf("AQAEA-token-%d==", f.seq)
		f.tokens[tok] = f.now().Add(time.Duration(n) * time.Second)
		w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", ttl)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, tok)
		return
	}
	_, sent := r.Header["X-Aws-Ec2-Metadata-Token"]
	exp, known := f.tokens[r.Header.Get("X-aws-ec2-metadata-token")]
	state := "ok"
	switch {
	case !sent:
		state = "none"
	case !known || !f.now().Before(exp):
		state = "bad"
	}
	f.log = append(f.log, r.Method+" "+r.URL.Path+" token="+state)
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if state != "ok" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch r.URL.Path {
	case imdsRolePath:
		if f.noRole {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, f.role)
	case imdsRolePath + f.role:
		if f.noRole {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain") // as IMDS sends it
		w.Write(credentialsJSON(f.creds, map[string]any{
			"Code":        f.code,
			"LastUpdated": f.now().UTC().Format(time.RFC3339),
			"Type":        "AWS-HMAC",
		}))
	default:
		http.NotFound(w, r)
	}
}

// revokeTokens forgets every session token, as a restarted IMDS would.
func (f *fakeIMDS) revokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.tokens)
}

func (f *fakeIMDS) set(fn func(f *fakeIMDS)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeIMDS) takeLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.log
	f.log = nil
	return l
}

// fakeContainer is the container credentials endpoint: GET path with
// Accept: application/json (and Authorization: the token, for Pod
// Identity), answered with the credentials JSON, or an error status with
// {"code","message"}.
type fakeContainer struct {
	srv  *httptest.Server
	path string

	mu     sync.Mutex
	token  string // required Authorization value; "" for none (ECS)
	creds  issued
	status []int // statuses to answer first, one per request (429, 500)
	noExp  bool  // leave Expiration out
	log    []string
}

func newFakeContainer(t *testing.T, path, token string, creds issued, tls bool) *fakeContainer {
	f := &fakeContainer{path: path, token: token, creds: creds}
	if tls {
		f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	} else {
		f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	}
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeContainer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, r.Method+" "+r.URL.Path+" accept="+r.Header.Get("Accept")+" authorization="+r.Header.Get("Authorization"))
	w.Header().Set("Content-Type", "application/json")
	fail := func(status int, code, msg string) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
	}
	switch {
	case r.Method != http.MethodGet || r.URL.Path != f.path:
		fail(http.StatusNotFound, "NotFound", "no such path")
		return
	case f.token != "" && r.Header.Get("Authorization") != f.token:
		fail(http.StatusUnauthorized, "AccessDeniedException", "invalid authorization token")
		return
	case len(f.status) > 0:
		s := f.status[0]
		f.status = f.status[1:]
		fail(s, "ThrottlingException", "slow down")
		return
	}
	extra := map[string]any{"RoleArn": "arn:aws:iam::123456789012:role/task", "AccountId": "123456789012"}
	b := credentialsJSON(f.creds, extra)
	if f.noExp {
		var m map[string]any
		json.Unmarshal(b, &m)
		delete(m, "Expiration")
		b, _ = json.Marshal(m)
	}
	w.Write(b)
}

func (f *fakeContainer) takeLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.log
	f.log = nil
	return l
}

// routedClient is a metadata client whose connections to route's keys
// (host:port) go to its values instead: the fakes stand at the real
// link-local addresses. Any other address is refused.
func routedClient(route map[string]string) *http.Client {
	d := &net.Dialer{Timeout: 2 * time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			to, ok := route[addr]
			if !ok {
				return nil, fmt.Errorf("test: no route to %s", addr)
			}
			return d.DialContext(ctx, network, to)
		},
	}}
}

func hostOf(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }
