// Package doctor checks each backend of a configuration from the outside,
// as a browser and the store see it: whether the credentials sign requests
// the store accepts, how far the store's clock is from this machine's,
// whether the bucket exists, whether the bucket's CORS lets the web app's
// origin upload (and read ETag, which multipart uploads need), whether the
// store takes POST forms and honours If-None-Match: *, and whether it acts
// on headers that nobody signed (MinIO's x-minio-force-delete,
// X-Minio-Source-Mtime, and x-amz-copy-source).
//
// Every probe is a real request, signed the way presign signs grants
// (presign.Issuer for the presigned requests, the sigv4 package for the
// one header-free GET ?cors), each bounded by a timeout. Probe objects are
// written under presign-doctor/<random>/ and deleted before Run returns.
// Nothing secret is reported: no secret key, no signed URL.
//
// `presign doctor` prints the [Report].
package doctor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"presign.dev/httpapi"
	"presign.dev/internal/config"
	"presign.dev/presign"
)

// Result is the outcome of one check.
type Result string

const (
	OK   Result = "ok"   // nothing to fix
	Warn Result = "warn" // works, but something may bite: read Seen
	Fail Result = "fail" // presign's grants will not work as promised: apply Fix
	// Skip: not checked, because a check it depends on failed (the
	// credentials, the bucket). It changes no exit status.
	Skip Result = "skip"
)

// Names of the checks, in the order they run (the JSON's "check").
const (
	CheckCredentials      = "credentials"
	CheckClock            = "clock"
	CheckBucket           = "bucket"
	CheckProvider         = "provider"
	CheckCORS             = "cors"
	CheckCORSExpose       = "cors-expose"
	CheckPost             = "post"
	CheckConditionalWrite = "conditional-write"
	CheckSourceMtime      = "unsigned-source-mtime"
	CheckForceDelete      = "unsigned-force-delete"
	CheckCopySource       = "unsigned-copy-source"
	// CheckMinIOPolicy appears for a MinIO store (Server: MinIO): whether
	// the signing identity's policy refuses what no URL can pin.
	CheckMinIOPolicy = "minio-policy"
	// CheckCleanup appears only when a probe object could not be deleted.
	CheckCleanup = "cleanup"
)

// Thresholds of the clock check: the store's Date against this machine's
// clock. Over ClockFail, presign's URLs expire early or are refused as not
// yet valid, and a JWT's times are off by more than its largest allowed
// clock_skew (5m).
const (
	ClockWarn = 30 * time.Second
	ClockFail = 5 * time.Minute
)

// DefaultTimeout bounds each probe request when Options.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// ProbePrefix is where probe objects are written (then a random segment).
const ProbePrefix = "presign-doctor/"

// Check is the outcome of one check of one backend.
type Check struct {
	Name   string `json:"check"`
	Result Result `json:"result"`
	// Seen is what the probe observed, in a sentence: statuses, error
	// codes, headers. Store-supplied text in it is cut short and stripped
	// of control characters.
	Seen string `json:"seen"`
	// Fix is what to change, for warn and fail; "" when there is nothing
	// to do.
	Fix string `json:"fix,omitempty"`
}

// BackendReport holds the checks of one backend, in order.
type BackendReport struct {
	Backend  string  `json:"backend"`
	Endpoint string  `json:"endpoint"`
	Bucket   string  `json:"bucket"`
	Checks   []Check `json:"checks"`
}

// Report is what Run found.
type Report struct {
	// Origin is the web app's origin whose CORS was checked; "" when there
	// was none to check.
	Origin   string          `json:"origin,omitempty"`
	Backends []BackendReport `json:"backends"`
}

// Failed reports whether any check failed.
func (r Report) Failed() bool { return r.Count(Fail) > 0 }

// Count returns how many checks have result res.
func (r Report) Count(res Result) int {
	n := 0
	for _, b := range r.Backends {
		for _, c := range b.Checks {
			if c.Result == res {
				n++
			}
		}
	}
	return n
}

// Options are Run's inputs besides the configuration.
type Options struct {
	// Backend, when not "", checks only the backend of that name.
	Backend string
	// Origin is the web app's origin (https://app.example.com) whose
	// bucket CORS to check; "" means the configuration's first CORS origin
	// when it is one origin (not "*" or a pattern), else none.
	Origin string
	// Now is this machine's clock, which signs and which the store's Date
	// is compared with; nil means time.Now.
	Now func() time.Time
	// Random names the probe objects; nil means crypto/rand.
	Random io.Reader
	// HTTPClient sends the probes; nil means one that follows no redirect
	// (a redirect is an answer to report) with connection timeouts.
	HTTPClient *http.Client
	// Timeout bounds each probe request; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Run checks every backend of cfg (or the one o.Backend names) and
// returns what it found. Its error is for inputs it cannot use: an
// unknown backend name, an origin that is not an origin. A backend that
// cannot be reached, or refuses, is a failed check in the report.
func Run(ctx context.Context, cfg config.Config, o Options) (Report, error) {
	var r Report
	backends := cfg.Backends
	if o.Backend != "" {
		i := slices.IndexFunc(backends, func(b presign.Backend) bool { return b.Name == o.Backend })
		if i < 0 {
			names := make([]string, len(backends))
			for j, b := range backends {
				names[j] = fmt.Sprintf("%q", b.Name)
			}
			return r, fmt.Errorf("no backend is named %q (the configuration has %s)", o.Backend, strings.Join(names, ", "))
		}
		backends = backends[i : i+1]
	}
	origin, err := chooseOrigin(o.Origin, cfg.CORSOrigins)
	if err != nil {
		return r, err
	}
	r.Origin = origin
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Random == nil {
		o.Random = rand.Reader
	}
	if o.HTTPClient == nil {
		o.HTTPClient = newHTTPClient()
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	for _, b := range backends {
		br, err := checkBackend(ctx, cfg, b, origin, o)
		if err != nil {
			return r, err
		}
		r.Backends = append(r.Backends, br)
	}
	return r, nil
}

// chooseOrigin returns the origin to check: flag, normalized, or the first
// configured CORS origin when it names one origin; "" for none.
func chooseOrigin(flag string, configured []string) (string, error) {
	if flag != "" {
		o, err := httpapi.NormalizeOrigin(flag)
		if err != nil || o == "*" || strings.Contains(o, "*") {
			return "", fmt.Errorf("--origin %s is not an origin like https://app.example.com", presign.QuoteURL(flag))
		}
		return o, nil
	}
	if len(configured) > 0 && !strings.Contains(configured[0], "*") {
		if o, err := httpapi.NormalizeOrigin(configured[0]); err == nil {
			return o, nil
		}
	}
	return "", nil
}

// newHTTPClient returns the probes' default client: a connection within 5s,
// redirects not followed.
func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 5 * time.Second
	return &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// randomSegment returns 16 hex digits from r, the probes' own folder.
func randomSegment(r io.Reader) (string, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("doctor: reading randomness: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// needs is what the configuration asks of a backend's store: which
// operations its callers may get grants for, and which headers they sign.
type needs struct {
	ops map[presign.Op]bool
	// noOverwrite: some rule signs If-None-Match: * (overwrite: false).
	noOverwrite bool
	// stamp: uploads are configured, so a verified put signs
	// x-amz-meta-presign-upload.
	stamp bool
	// noPost: the backend is configured without POST forms (post: false).
	noPost bool
}

// needsOf reads what cfg's callers may do with backend b.
func needsOf(cfg config.Config, b presign.Backend) needs {
	n := needs{ops: map[presign.Op]bool{}, stamp: len(cfg.Uploads.Secrets) > 0, noPost: b.NoPost}
	switch {
	case cfg.AuthNone: // policy.OpenMode: the tutorials' GET and PUT, and the Chalice POST form
		n.ops[presign.OpGet], n.ops[presign.OpPut], n.ops[presign.OpPost] = true, true, true
	case len(cfg.Rules) == 0: // presign.AllowAll
		for _, op := range presign.Ops {
			n.ops[op] = true
		}
	default:
		for _, r := range cfg.Rules {
			if r.Backend != "" && r.Backend != b.Name {
				continue
			}
			for _, op := range r.Ops {
				n.ops[op] = true
			}
			if r.Overwrite != nil && !*r.Overwrite {
				n.noOverwrite = true
			}
		}
	}
	if !n.stamp {
		n.ops[presign.OpMultipart] = false // no uploads without secrets
	}
	if n.noPost {
		n.ops[presign.OpPost] = false
	}
	return n
}

// writes reports whether callers may upload at all.
func (n needs) writes() bool {
	return n.ops[presign.OpPut] || n.ops[presign.OpPost] || n.ops[presign.OpMultipart]
}

// severity is Fail when the configuration needs what was missing, else
// Warn.
func severity(needed bool) Result {
	if needed {
		return Fail
	}
	return Warn
}
