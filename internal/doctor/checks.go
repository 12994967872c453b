package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"presign.dev/internal/config"
	"presign.dev/presign"
	"presign.dev/sigv4"
)

// checkBackend runs every check of backend b, then deletes the probe
// objects.
func checkBackend(ctx context.Context, cfg config.Config, b presign.Backend, origin string, o Options) (BackendReport, error) {
	b = b.WithDefaults()
	br := BackendReport{Backend: b.Name, Endpoint: b.Endpoint, Bucket: b.Bucket}
	if b.Kind != presign.KindS3 {
		// The probes speak S3 (ListObjectsV2, bucket CORS, x-amz-*).
		br.Checks = append(br.Checks, Check{Name: CheckProvider, Result: Warn,
			Seen: "kind " + string(b.Kind) + ": presign doctor probes S3 backends only, so nothing was checked",
			Fix:  "check this store's CORS and credentials with its own tools"})
		return br, nil
	}
	segment, err := randomSegment(o.Random)
	if err != nil {
		return br, err
	}
	p, err := newProber(cfg, b, origin, o, segment)
	if err != nil {
		return br, err
	}
	creds, clock, bucket, blocked := p.access(ctx)
	br.Checks = append(br.Checks, creds, clock, bucket, p.provider())
	if blocked != "" {
		for _, name := range []string{CheckCORS, CheckCORSExpose, CheckPost, CheckConditionalWrite, CheckSourceMtime, CheckForceDelete, CheckCopySource} {
			br.Checks = append(br.Checks, Check{Name: name, Result: Skip, Seen: "not checked: " + blocked})
		}
		return br, nil
	}
	br.Checks = append(br.Checks, p.cors(ctx)...)
	br.Checks = append(br.Checks, p.post(ctx), p.conditionalWrite(ctx), p.sourceMtime(ctx), p.forceDelete(ctx), p.copySource(ctx))
	if p.minio {
		br.Checks = append(br.Checks, p.minioPolicy(ctx))
	}
	if c, ok := p.cleanup(ctx); ok {
		br.Checks = append(br.Checks, c)
	}
	return br, nil
}

// probeBody is what probe objects hold.
var probeBody = []byte("written by presign doctor, deleted when it is done\n")

// fieldHint names where a backend setting is written: the file's field,
// and for the first backend its environment variable.
func (p *prober) fieldHint(field, env string) string {
	return fmt.Sprintf("%s of backend %s (%s sets it for the first backend)", field, p.name(), env)
}

func (p *prober) name() string {
	if p.b.Name == "" {
		return "(unnamed)"
	}
	return strconv.Quote(p.b.Name)
}

// provider checks the backend's provider against what the store says it
// is: a MinIO store (Server: MinIO) needs provider minio, whose URLs sign
// the headers MinIO acts on.
func (p *prober) provider() Check {
	c := Check{Name: CheckProvider, Result: OK}
	switch {
	case p.minio && p.b.Provider != presign.ProviderMinIO:
		c.Result = Fail
		c.Seen = fmt.Sprintf("the store answers Server: MinIO, but the backend's provider is %s: its URLs do not sign the headers MinIO acts on unsigned", p.b.Provider)
		c.Fix = "set " + p.fieldHint("provider", "PRESIGN_S3_PROVIDER") + " to minio — see docs/minio.md"
	default:
		c.Seen = "provider " + string(p.b.Provider)
		if p.minio {
			c.Seen += " (the store answers Server: MinIO)"
		}
	}
	return c
}

// minioPolicy asks MinIO whether the signing identity may tag objects or
// mark them as replicas on upload, which a client can ask of any PUT URL
// (MinIO reads x-amz-tagging and x-amz-replication-status unsigned) and
// only the identity's policy can refuse (docs/minio.md). Each probe is a
// PUT signed in its headers to a missing key with If-Match, so nothing is
// written: 403 AccessDenied means the policy refuses it; 404 or 412 that
// MinIO let it through to the object.
func (p *prober) minioPolicy(ctx context.Context) Check {
	c := Check{Name: CheckMinIOPolicy, Result: OK, Seen: "the signing identity may not tag objects or mark them as replicas on upload (403 AccessDenied)"}
	creds := p.b.Credentials
	if p.b.CredentialSource != nil {
		var err error
		if creds, _, err = p.b.CredentialSource.Credentials(ctx); err != nil {
			c.Result, c.Seen = Warn, "not checked: the backend's credentials: "+clean(err.Error(), 300)
			return c
		}
	}
	u := *p.bucketURL
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + p.prefix + "policy-probe"
	var open []string
	for _, h := range []sigv4.Header{{Name: "x-amz-tagging", Value: "presign-doctor=probe"}, {Name: "x-amz-replication-status", Value: "REPLICA"}} {
		hs := []sigv4.Header{h, {Name: "If-Match", Value: `"00000000000000000000000000000000"`}}
		r := &sigv4.Request{Method: http.MethodPut, Scheme: u.Scheme, Host: u.Host, Path: u.Path, Headers: hs,
			PayloadHash: sigv4.EmptyPayloadHash, Time: p.o.Now()}
		header := map[string]string{}
		for _, x := range append(hs, sigv4.NewSigner(creds, p.b.Region, "s3").SignHeaders(r)...) {
			header[x.Name] = x.Value
		}
		a := p.send(ctx, http.MethodPut, u.String(), header, nil)
		switch code := a.code(); {
		case a.err != nil:
			c.Result, c.Seen = Warn, "a probe of "+h.Name+" got "+a.String()
			return c
		case code == "AccessDenied":
		default:
			open = append(open, h.Name+" ("+a.String()+")")
		}
	}
	if len(open) > 0 {
		c.Result = Fail
		c.Seen = "MinIO lets the signing identity's uploads carry " + strings.Join(open, ", ") + ": any PUT URL can tag its object or mark it as a replica"
		c.Fix = "sign with a MinIO user (or STS session) whose policy is the one in docs/minio.md, not the root user"
	}
	return c
}

// access lists the probe prefix with a presigned ListObjectsV2 and reads
// from its answer the credentials, clock and bucket checks. blocked, when
// not "", says why nothing further can be checked.
func (p *prober) access(ctx context.Context) (creds, clock, bucket Check, blocked string) {
	creds, clock, bucket = Check{Name: CheckCredentials}, Check{Name: CheckClock}, Check{Name: CheckBucket}
	g, err := p.grant(p.iss, presign.Request{Op: presign.OpList, Prefix: ProbePrefix, MaxKeys: 1})
	if err == nil {
		p.bucketURL, err = withoutQuery(g.URL)
	}
	if err != nil {
		creds.Result, creds.Seen = Fail, "presign could not sign a ListObjectsV2 URL: "+presign.ErrorMessage(err)
		if cause := errors.Unwrap(err); cause != nil && p.b.CredentialSource != nil {
			// The source's own answer (an STS or metadata error code;
			// never a key) says what to fix.
			creds.Seen += ": " + clean(cause.Error(), 300)
			creds.Fix = "check " + p.fieldHint("credentials", "PRESIGN_S3_*") + ": its source did not give credentials"
		}
		clock.Result, clock.Seen = Skip, "not checked: nothing was sent"
		bucket.Result, bucket.Seen = Skip, "not checked: nothing was sent"
		return creds, clock, bucket, "nothing was sent"
	}
	a := p.send(ctx, http.MethodGet, g.URL, nil, nil)
	p.minio = a.header != nil && strings.EqualFold(a.header.Get("Server"), "MinIO")
	clock = p.clock(a)
	const what = "a presigned ListObjectsV2 of " + ProbePrefix + " (max-keys=1)"
	id := p.b.Credentials.AccessKeyID
	if p.b.CredentialSource != nil {
		if c, _, err := p.b.CredentialSource.Credentials(ctx); err == nil {
			id = c.AccessKeyID // the source's; an access key ID is not a secret
		}
	}
	region := a.s3.Region
	if region == "" && a.header != nil {
		region = a.header.Get("X-Amz-Bucket-Region")
	}
	notChecked := func(why string) {
		bucket.Result, bucket.Seen = Skip, "not checked: "+why
		blocked = why
	}
	switch code := a.code(); {
	case a.err != nil:
		creds.Result, creds.Seen = Fail, what+" got "+a.String()
		creds.Fix = "check " + p.fieldHint("endpoint", "PRESIGN_S3_ENDPOINT") + ": the store's URL as this machine reaches it (scheme, host, port); DNS, a firewall or TLS fail here too"
		notChecked("the store did not answer")
	case a.ok():
		creds.Result, creds.Seen = OK, what+" answered "+a.String()+": the store accepts presign's signatures"
		bucket.Result, bucket.Seen = OK, fmt.Sprintf("bucket %q exists and may be listed", p.b.Bucket)
	case code == "NoSuchBucket":
		creds.Result, creds.Seen = Skip, "not confirmed: "+what+" answered "+a.String()
		bucket.Result, bucket.Seen = Fail, what+" answered "+a.String()
		bucket.Fix = fmt.Sprintf("create bucket %q at this store, or set %s to an existing one", p.b.Bucket, p.fieldHint("bucket", "PRESIGN_S3_BUCKET"))
		blocked = "the bucket does not exist"
	case code == "RequestTimeTooSkewed" || code == "RequestNotReadyYet" || code == "AccessDenied" && timeRefusal(a.s3.Message):
		creds.Result, creds.Seen = Fail, what+" answered "+a.String()
		creds.Fix = "the store refused this machine's time: set the clock right (see " + CheckClock + ")"
		notChecked("the store refused this machine's time")
	case code == "AccessDenied" || code == "AllAccessDisabled":
		creds.Result, creds.Seen = Warn, what+" answered "+a.String()+": the signature may be valid, but listing is denied"
		creds.Fix = "allow s3:ListBucket on the bucket to access key " + strconv.Quote(id) + ": list grants need it, and without it a HEAD or GET of a missing key answers 403, not 404"
		bucket.Result, bucket.Seen = Warn, "not confirmed: listing is denied"
	case code == "InvalidAccessKeyId":
		creds.Result, creds.Seen = Fail, what+" answered "+a.String()
		creds.Fix = fmt.Sprintf("the store knows no access key %q: check %s; an access key works only at the store (and account) that issued it", id, p.fieldHint("access_key_id", "AWS_ACCESS_KEY_ID"))
		notChecked("the credentials were refused")
	case code == "SignatureDoesNotMatch":
		creds.Result, creds.Seen = Fail, what+" answered "+a.String()
		creds.Fix = fmt.Sprintf("the secret key is not that of access key %q: check %s. If it is right, something between rewrites the request: the endpoint must be the store's URL exactly as clients reach it (a proxy that changes the Host or the path breaks every signature)", id, p.fieldHint("secret_access_key", "AWS_SECRET_ACCESS_KEY"))
		notChecked("the credentials were refused")
	case code == "AuthorizationHeaderMalformed" || code == "AuthorizationQueryParametersError" || code == "PermanentRedirect" ||
		code == "IllegalLocationConstraintException" || a.status == http.StatusMovedPermanently:
		creds.Result, creds.Seen = Fail, what+" answered "+a.String()
		if region != "" {
			creds.Seen += "; the store names region " + strconv.Quote(clean(region, 64))
			creds.Fix = fmt.Sprintf("set %s to %q (now %q)", p.fieldHint("region", "PRESIGN_S3_REGION"), clean(region, 64), p.b.Region)
		} else {
			creds.Fix = fmt.Sprintf("the region %q is not the bucket's: set %s to the bucket's region", p.b.Region, p.fieldHint("region", "PRESIGN_S3_REGION"))
		}
		notChecked("the region is wrong")
	case code == "ExpiredToken" || code == "InvalidToken" || code == "TokenRefreshRequired":
		creds.Result, creds.Seen = Fail, what+" answered "+a.String()
		creds.Fix = "the session token is expired or not valid: renew the temporary credentials (" + p.fieldHint("session_token", "AWS_SESSION_TOKEN") + ")"
		notChecked("the credentials were refused")
	default:
		creds.Result, creds.Seen = Fail, what+" answered "+a.String()
		if a.status >= 500 {
			creds.Fix = "the store failed to answer: try again; if it persists, ask its operator"
		}
		notChecked("the store refused the first request")
	}
	return creds, clock, bucket, blocked
}

// timeRefusal reports whether an AccessDenied message refuses a presigned
// URL for its time: MinIO's "Request is not valid yet", S3's "Request has
// expired".
func timeRefusal(message string) bool {
	m := strings.ToLower(message)
	return strings.Contains(m, "not valid yet") || strings.Contains(m, "request has expired")
}

// clock compares the Date of answer a with this machine's clock at the
// middle of the request. Date has whole seconds, so the store's time was
// within a second after it: the estimate takes the half second.
func (p *prober) clock(a answer) Check {
	c := Check{Name: CheckClock}
	if a.err != nil {
		c.Result, c.Seen = Skip, "not checked: the store did not answer"
		return c
	}
	date, err := http.ParseTime(a.header.Get("Date"))
	if err != nil {
		c.Result, c.Seen = Warn, "the store's answer has no Date header, so its clock cannot be compared with this machine's"
		return c
	}
	skew, margin := clockSkew(date, a.sent, a.received)
	switch abs := skew.Abs(); {
	case abs <= margin:
		c.Result, c.Seen = OK, fmt.Sprintf("this machine's clock agrees with the store's Date (within ±%s)", margin.Round(100*time.Millisecond))
		return c
	case abs > ClockFail:
		c.Result = Fail
	case abs > ClockWarn:
		c.Result = Warn
	default:
		c.Result = OK
	}
	dir := "ahead of"
	if skew < 0 {
		dir = "behind"
	}
	c.Seen = fmt.Sprintf("this machine's clock is %s %s the store's (Date: %s, ±%s)", skew.Abs().Round(time.Second), dir,
		date.UTC().Format(time.RFC3339), margin.Round(100*time.Millisecond))
	if c.Result != OK {
		c.Fix = fmt.Sprintf("set the clock right (NTP) on this machine, or on the store's if it is the one that is off: presign signs with this clock, so its URLs expire early or are refused as not yet valid (at 15 minutes S3 refuses every request), and JWTs' times are judged by it (clock_skew is at most %s)", ClockFail)
	}
	return c
}

// clockSkew estimates how far this machine's clock (read at sent and
// received) is ahead of a store's whose answer carried date (whole
// seconds), and the estimate's uncertainty.
func clockSkew(date, sent, received time.Time) (skew, margin time.Duration) {
	rtt := max(received.Sub(sent), 0)
	mid := sent.Add(rtt / 2)
	return mid.Sub(date.Add(500 * time.Millisecond)), rtt/2 + 500*time.Millisecond
}

// headersFor are the request headers a browser sends with presign's PUT
// grants for this configuration: required ones always, optional ones when
// a caller asks for a checksum.
func (n needs) putHeaders() (required, optional []string) {
	required = []string{"content-type"}
	if n.noOverwrite {
		required = append(required, "if-none-match")
	}
	if n.stamp {
		required = append(required, "x-amz-meta-presign-upload")
	}
	return required, []string{"content-md5", "x-amz-checksum-sha256"}
}

// cors checks the bucket's CORS for p.origin: preflights for the methods
// the configuration's callers may use, and the headers actual answers
// expose. It returns the cors and cors-expose checks.
func (p *prober) cors(ctx context.Context) []Check {
	pre, exp := Check{Name: CheckCORS}, Check{Name: CheckCORSExpose}
	if p.origin == "" {
		pre.Result, pre.Seen = Warn, "no origin to check: the configuration names no single CORS origin (cors.origins is empty, \"*\" or a pattern)"
		pre.Fix = "run presign doctor --origin https://app.example.com with the origin of the pages that upload"
		exp.Result, exp.Seen, exp.Fix = Warn, "no origin to check", pre.Fix
		return []Check{pre, exp}
	}
	if p.minio {
		pre.Seen = "(MinIO: server-wide CORS) " // what it answers is its server's setting
	}
	key := p.prefix + "cors"
	get, err := p.grant(p.iss, presign.Request{Op: presign.OpGet, Key: key})
	if err != nil {
		pre.Result, pre.Seen = Warn, "presign could not sign a GET: "+presign.ErrorMessage(err)
		exp.Result, exp.Seen = Skip, "not checked"
		return []Check{pre, exp}
	}
	object, _ := withoutQuery(get.URL)

	type problem struct {
		res  Result
		what string
	}
	var problems []problem
	var allowed []string
	required, optional := p.n.putHeaders()
	all := append(slices.Clip(required), optional...)
	if why := p.preflight(ctx, object.String(), http.MethodPut, all); why == "" {
		allowed = append(allowed, "PUT with "+strings.Join(all, ", "))
	} else if why := p.preflight(ctx, object.String(), http.MethodPut, required); why != "" {
		problems = append(problems, problem{severity(p.n.writes()), fmt.Sprintf("a preflight for PUT with %s: %s", strings.Join(required, ", "), why)})
	} else {
		allowed = append(allowed, "PUT with "+strings.Join(required, ", "))
		var missing []string
		for _, h := range optional {
			if p.preflight(ctx, object.String(), http.MethodPut, append(slices.Clip(required), h)) != "" {
				missing = append(missing, h)
			}
		}
		if len(missing) == 0 {
			missing = optional // refused together, allowed one by one
		}
		problems = append(problems, problem{Warn, fmt.Sprintf("a preflight for PUT that also sends %s is refused (a client that asks for content_md5 or checksum_sha256 sends them)", strings.Join(missing, ", "))})
	}
	for _, m := range []struct {
		method, url string
		op          presign.Op
	}{{http.MethodPost, p.bucketURL.String(), presign.OpPost}, {http.MethodDelete, object.String(), presign.OpDelete}} {
		if !p.n.ops[m.op] {
			continue
		}
		if why := p.preflight(ctx, m.url, m.method, nil); why != "" {
			problems = append(problems, problem{Warn, fmt.Sprintf("a preflight for %s: %s (callers may get %s grants)", m.method, why, m.op)})
		} else {
			allowed = append(allowed, m.method)
		}
	}

	var bucketCORS string
	noAPI := false
	if len(problems) > 0 {
		bucketCORS, noAPI = p.bucketCORS(ctx)
		var whats []string
		for _, pr := range problems {
			whats = append(whats, pr.what)
			if pr.res == Fail {
				pre.Result = Fail
			}
		}
		if pre.Result != Fail {
			pre.Result = Warn
		}
		pre.Seen += "from " + p.origin + ": " + strings.Join(whats, "; ")
		if len(allowed) > 0 {
			pre.Seen += "; allowed: " + strings.Join(allowed, "; ")
		}
		pre.Seen += "; " + bucketCORS
		pre.Fix = p.corsFix(noAPI)
	} else {
		pre.Result = OK
		pre.Seen += "preflights from " + p.origin + " allow " + strings.Join(allowed, "; ")
	}

	exp = p.corsExpose(ctx, key, get, noAPI)
	if exp.Fix != "" && exp.Fix == pre.Fix {
		exp.Fix = "the fix of " + CheckCORS + " above"
	}
	return []Check{pre, exp}
}

// corsExpose writes the probe with a presigned PUT and reads it with a
// presigned GET, both with Origin, and checks that the answers let the
// origin read them, the PUT's ETag included.
func (p *prober) corsExpose(ctx context.Context, key string, get presign.Grant, noAPI bool) Check {
	c := Check{Name: CheckCORSExpose}
	n := int64(len(probeBody))
	put, err := p.grant(p.iss, presign.Request{Op: presign.OpPut, Key: key, ContentType: "text/plain", ContentLength: &n})
	if err != nil {
		c.Result, c.Seen = Warn, "presign could not sign a PUT: "+presign.ErrorMessage(err)
		return c
	}
	h := maps.Clone(put.Headers)
	h["Origin"] = p.origin
	p.created = append(p.created, key)
	aPut := p.send(ctx, http.MethodPut, put.URL, h, probeBody)
	aGet := p.send(ctx, http.MethodGet, get.URL, map[string]string{"Origin": p.origin}, nil)

	c.Result = OK
	worst := func(r Result) {
		if r == Fail || c.Result == OK {
			c.Result = r
		}
	}
	var seen []string
	for _, x := range []struct {
		method  string
		a       answer
		needed  bool // browsers must read this answer
		needTag bool // and its ETag
	}{
		{http.MethodPut, aPut, p.n.writes(), true},
		{http.MethodGet, aGet, p.n.ops[presign.OpGet], false},
	} {
		acao, aceh := x.a.header.Get("Access-Control-Allow-Origin"), strings.Join(x.a.header.Values("Access-Control-Expose-Headers"), ", ")
		switch {
		case !x.a.ok():
			worst(Warn)
			seen = append(seen, fmt.Sprintf("the probe %s with Origin was refused: %s", x.method, x.a))
		case acao != "*" && acao != p.origin:
			worst(severity(x.needed))
			s := fmt.Sprintf("a %s with Origin %s was answered without Access-Control-Allow-Origin", x.method, p.origin)
			if acao != "" {
				s += fmt.Sprintf(" for it (but %q)", clean(acao, 100))
			}
			seen = append(seen, s+": browsers cannot read the answer")
		case x.needTag && !listHas(x.a.header.Values("Access-Control-Expose-Headers"), "ETag"):
			worst(severity(p.n.ops[presign.OpMultipart]))
			s := fmt.Sprintf("a %s answer exposes %q, not ETag: a browser cannot read a part's ETag, which completing a multipart upload needs", x.method, clean(aceh, 200))
			if !p.n.ops[presign.OpMultipart] {
				s += " (this configuration has no multipart uploads)"
			}
			seen = append(seen, s)
		default:
			s := fmt.Sprintf("a %s answer allows %s", x.method, clean(acao, 100))
			if x.needTag {
				s += " and exposes ETag"
			}
			seen = append(seen, s)
		}
	}
	c.Seen = strings.Join(seen, "; ")
	if c.Result != OK {
		c.Fix = p.corsFix(noAPI)
	}
	return c
}

// preflight sends a CORS preflight for method with the request headers
// headers to rawURL, and says why a browser would refuse it ("" when it
// allows it).
func (p *prober) preflight(ctx context.Context, rawURL, method string, headers []string) string {
	h := map[string]string{"Origin": p.origin, "Access-Control-Request-Method": method}
	if len(headers) > 0 {
		h["Access-Control-Request-Headers"] = strings.Join(headers, ",")
	}
	return corsRefusal(p.send(ctx, http.MethodOptions, rawURL, h, nil), p.origin, method, headers)
}

// corsRefusal says why answer a to a preflight from origin for method and
// headers does not allow the request, or "".
func corsRefusal(a answer, origin, method string, headers []string) string {
	switch {
	case a.err != nil:
		return a.String()
	case !a.ok():
		return fmt.Sprintf("answered %d %s", a.status, clean(a.code(), 64)) // S3's message says no more
	}
	acao := a.header.Get("Access-Control-Allow-Origin")
	if acao != "*" && acao != origin {
		if acao == "" {
			return "answered without Access-Control-Allow-Origin"
		}
		return fmt.Sprintf("Access-Control-Allow-Origin is %q", clean(acao, 100))
	}
	if methods := a.header.Values("Access-Control-Allow-Methods"); !listHas(methods, method) {
		return fmt.Sprintf("Access-Control-Allow-Methods %q lacks %s", clean(strings.Join(methods, ", "), 100), method)
	}
	allowed := a.header.Values("Access-Control-Allow-Headers")
	var missing []string
	for _, h := range headers {
		if !listHas(allowed, h) {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("Access-Control-Allow-Headers %q lacks %s", clean(strings.Join(allowed, ", "), 200), strings.Join(missing, ", "))
	}
	return ""
}

// listHas reports whether the comma-separated header values hold want
// (in any case) or "*".
func listHas(values []string, want string) bool {
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item == "*" || strings.EqualFold(item, want) {
				return true
			}
		}
	}
	return false
}

// bucketCORS describes the bucket's CORS configuration as GetBucketCors
// answers it; noAPI is true when the store has no such API (MinIO: its
// CORS is server-wide).
func (p *prober) bucketCORS(ctx context.Context) (desc string, noAPI bool) {
	if p.minio {
		return "the store is MinIO (Server: MinIO), which keeps no bucket CORS: its CORS is server-wide", true
	}
	u, err := p.signedBucketGet(ctx, "cors")
	if err != nil {
		return "GetBucketCors could not be signed: the backend's credentials: " + clean(err.Error(), 300), false
	}
	a := p.send(ctx, http.MethodGet, u, nil, nil)
	switch code := a.code(); {
	case a.ok():
		rules, ok := parseCORS(a.body)
		if !ok {
			return "GetBucketCors answered " + a.String() + " without a CORS configuration", false
		}
		return describeCORS(rules), false
	case code == "NoSuchCORSConfiguration":
		return "the bucket has no CORS configuration (GetBucketCors: " + a.String() + ")", false
	case code == "NotImplemented":
		return "the store has no bucket CORS API (GetBucketCors: " + a.String() + "): its CORS is set server-wide", true
	}
	return "its CORS configuration could not be read (GetBucketCors: " + a.String() + ")", false
}

// describeCORS sums up a bucket's CORS rules in one line.
func describeCORS(rules []corsRule) string {
	if len(rules) == 0 {
		return "the bucket's CORS configuration has no rule"
	}
	const most = 4
	var parts []string
	for i, r := range rules {
		if i == most {
			parts = append(parts, fmt.Sprintf("and %d more", len(rules)-most))
			break
		}
		list := func(v []string) string { return clean(strings.Join(v, " "), 120) }
		parts = append(parts, fmt.Sprintf("rule %d: origins [%s] methods [%s] headers [%s] expose [%s]",
			i+1, list(r.AllowedOrigin), list(r.AllowedMethod), list(r.AllowedHeader), list(r.ExposeHeader)))
	}
	return "the bucket's CORS: " + strings.Join(parts, "; ")
}

// corsFix is the fix of a CORS problem: a rule that presign's grants
// need, or where a store without bucket CORS sets it.
func (p *prober) corsFix(noAPI bool) string {
	if noAPI || p.minio {
		return "this store's CORS is server-wide, not per bucket: on MinIO, MINIO_API_CORS_ALLOW_ORIGIN must include " + p.origin +
			" (its default, \"*\", admits every origin; MinIO exposes ETag itself) — see docs/minio.md"
	}
	rule, _ := json.Marshal(map[string]any{"CORSRules": []map[string]any{{
		"AllowedOrigins": []string{p.origin},
		"AllowedMethods": []string{"GET", "PUT", "POST", "HEAD", "DELETE"},
		"AllowedHeaders": []string{"*"},
		"ExposeHeaders":  []string{"ETag", "Location"},
		"MaxAgeSeconds":  3600,
	}}})
	endpoint := ""
	if !strings.HasSuffix(p.bucketURL.Hostname(), ".amazonaws.com") {
		endpoint = " --endpoint-url " + p.b.Endpoint
	}
	return fmt.Sprintf("give bucket %q a CORS rule for %s with methods GET, PUT, POST, HEAD, DELETE, allowed headers * and exposed headers ETag, Location: aws s3api put-bucket-cors%s --bucket %s --cors-configuration %s",
		p.b.Bucket, p.origin, endpoint, p.b.Bucket, shellQuote(string(rule)))
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// put writes key with a presigned PUT (If-None-Match: * with
// issNoOverwrite), sending the extra headers too.
func (p *prober) put(ctx context.Context, iss *presign.Issuer, key string, body []byte, extra map[string]string) (answer, error) {
	n := int64(len(body))
	g, err := p.grant(iss, presign.Request{Op: presign.OpPut, Key: key, ContentType: "text/plain", ContentLength: &n})
	if err != nil {
		return answer{}, err
	}
	h := maps.Clone(g.Headers)
	maps.Copy(h, extra)
	p.created = append(p.created, key)
	return p.send(ctx, http.MethodPut, g.URL, h, body), nil
}

// object sends a presigned HEAD or GET of key.
func (p *prober) object(ctx context.Context, op presign.Op, key string) answer {
	g, err := p.grant(p.iss, presign.Request{Op: op, Key: key})
	if err != nil {
		return answer{err: fmt.Errorf("presign could not sign a %s: %s", op, presign.ErrorMessage(err))}
	}
	return p.send(ctx, g.Method, g.URL, nil, nil)
}

// post uploads a probe with a presigned POST form.
func (p *prober) post(ctx context.Context) Check {
	c := Check{Name: CheckPost}
	if p.n.noPost {
		c.Result, c.Seen = OK, "not probed: this backend is configured without POST forms (post: false), so presign answers post requests 422 unsupported and browsers upload with PUT"
		return c
	}
	key := p.prefix + "post"
	n := int64(len(probeBody))
	g, err := p.grant(p.iss, presign.Request{Op: presign.OpPost, Key: key, ContentType: "text/plain", ContentLength: &n})
	if err != nil {
		if presign.ErrorCode(err) == presign.CodeUnsupported {
			c.Result, c.Seen = OK, "not probed: presign signs no POST forms for this backend ("+presign.ErrorMessage(err)+")"
		} else {
			c.Result, c.Seen = Warn, "presign could not sign a POST form: "+presign.ErrorMessage(err)
		}
		return c
	}
	body, contentType, err := postForm(g.Fields, probeBody)
	if err != nil {
		c.Result, c.Seen = Warn, "the form could not be built: "+err.Error()
		return c
	}
	p.created = append(p.created, key)
	a := p.send(ctx, http.MethodPost, g.URL, map[string]string{"Content-Type": contentType}, body)
	needed := p.n.ops[presign.OpPost]
	if a.ok() {
		h := p.object(ctx, presign.OpHead, key)
		if h.ok() && h.header.Get("Content-Length") == strconv.Itoa(len(probeBody)) {
			c.Result, c.Seen = OK, fmt.Sprintf("a presigned POST form uploaded %s (%s) and a HEAD finds its %d bytes", key, a, len(probeBody))
			return c
		}
		c.Result, c.Seen = severity(needed), fmt.Sprintf("a presigned POST form was answered %s, but a HEAD of %s answered %s", a, key, h)
		return c
	}
	c.Result, c.Seen = severity(needed), "a presigned POST form upload answered "+a.String()
	if !needed {
		c.Seen += " (no rule allows post here)"
	}
	if code := a.code(); a.status == http.StatusMethodNotAllowed || a.status == http.StatusNotImplemented || code == "NotImplemented" || code == "MethodNotAllowed" {
		c.Fix = fmt.Sprintf("this store takes no POST forms: set post: false on backend %s so that presign answers post requests 422 unsupported instead of signing forms that fail; browsers then upload with PUT or in parts", p.name())
	} else if a.err == nil {
		c.Fix = fmt.Sprintf("the store refused a form presign signed: if it takes no POST forms, set post: false on backend %s", p.name())
	}
	return c
}

// postForm builds a multipart/form-data body: the fields (sorted), then the
// file.
func postForm(fields map[string]string, file []byte) (body []byte, contentType string, err error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if err := w.WriteField(k, fields[k]); err != nil {
			return nil, "", err
		}
	}
	fw, err := w.CreateFormFile("file", "presign-doctor.txt")
	if err != nil {
		return nil, "", err
	}
	if _, err := fw.Write(file); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// conditionalWrite puts a new key twice with If-None-Match: *: the first
// must land, the second be refused 412.
func (p *prober) conditionalWrite(ctx context.Context) Check {
	c := Check{Name: CheckConditionalWrite}
	key := p.prefix + "conditional"
	needed := p.n.noOverwrite
	fix := "this store does not honour If-None-Match: * on PUT, so rules with overwrite: false cannot stop a replacement here: use a store that does, or remove overwrite: false knowingly"
	first, err := p.put(ctx, p.issNoOverwrite, key, probeBody, nil)
	if err != nil {
		if presign.ErrorCode(err) == presign.CodeUnsupported {
			c.Result, c.Seen = OK, "not probed: presign signs no If-None-Match: * for this backend ("+presign.ErrorMessage(err)+")"
		} else {
			c.Result, c.Seen = Warn, "presign could not sign a PUT with If-None-Match: *: "+presign.ErrorMessage(err)
		}
		return c
	}
	suffix := ""
	if !needed {
		suffix = " (no rule here has overwrite: false)"
	}
	if !first.ok() {
		c.Result, c.Seen, c.Fix = severity(needed), "a presigned PUT of a new key with If-None-Match: * answered "+first.String()+suffix, fix
		return c
	}
	second, _ := p.put(ctx, p.issNoOverwrite, key, probeBody, nil)
	switch {
	case second.status == http.StatusPreconditionFailed:
		c.Result, c.Seen = OK, fmt.Sprintf("a presigned PUT with If-None-Match: * wrote a new key (%s) and was refused over it (%s)", first, second)
	case second.ok():
		c.Result, c.Seen, c.Fix = severity(needed), "a presigned PUT with If-None-Match: * replaced an existing object ("+second.String()+")"+suffix, fix
	default:
		c.Result, c.Seen = Warn, "over an existing key, a presigned PUT with If-None-Match: * answered "+second.String()+", not 412"
	}
	return c
}

// pastMtime is the time the source-mtime probe asks for.
var pastMtime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// sourceMtime puts a probe with X-Minio-Source-Mtime, unsigned, and reads
// back its Last-Modified.
func (p *prober) sourceMtime(ctx context.Context) Check {
	c := Check{Name: CheckSourceMtime}
	key := p.prefix + "source-mtime"
	sent := "X-Minio-Source-Mtime: " + pastMtime.Format(time.RFC3339)
	a, err := p.put(ctx, p.iss, key, probeBody, map[string]string{"X-Minio-Source-Mtime": pastMtime.Format(time.RFC3339)})
	switch {
	case err != nil:
		c.Result, c.Seen = Warn, "presign could not sign a PUT: "+presign.ErrorMessage(err)
		return c
	case !a.ok():
		c.Result, c.Seen = OK, "a presigned PUT sent with "+sent+", which it does not sign, was refused ("+a.String()+")"
		return c
	}
	h := p.object(ctx, presign.OpHead, key)
	lm, err := http.ParseTime(h.header.Get("Last-Modified"))
	if !h.ok() || err != nil {
		c.Result, c.Seen = Warn, "could not tell: a HEAD of the probe answered "+h.String()+" without a Last-Modified"
		return c
	}
	if lm.Equal(pastMtime) {
		c.Result = Fail
		c.Seen = fmt.Sprintf("a presigned PUT sent with %s, which it does not sign, stored the object with Last-Modified %s", sent, lm.UTC().Format(http.TimeFormat))
		c.Fix = "this store takes an object's Last-Modified (and, from X-Minio-Source-Etag, its ETag) from headers no grant signs, so anyone holding a PUT URL can forge them (MinIO does this): set provider: minio, and see docs/minio.md for the configuration that closes it"
		return c
	}
	c.Result, c.Seen = OK, fmt.Sprintf("a presigned PUT sent with %s, which it does not sign, landed with Last-Modified %s: the header was ignored", sent, lm.UTC().Format(http.TimeFormat))
	return c
}

// forceDelete writes <prefix>a/b, then deletes <prefix>a with a presigned
// DELETE sent with x-minio-force-delete: true, unsigned; b must survive.
func (p *prober) forceDelete(ctx context.Context) Check {
	c := Check{Name: CheckForceDelete}
	parent, child := p.prefix+"a", p.prefix+"a/b"
	a, err := p.put(ctx, p.iss, child, probeBody, nil)
	switch {
	case err != nil:
		c.Result, c.Seen = Warn, "presign could not sign a PUT: "+presign.ErrorMessage(err)
		return c
	case !a.ok():
		c.Result, c.Seen = Warn, "could not tell: the probe PUT of "+child+" answered "+a.String()
		return c
	}
	g, err := p.grant(p.iss, presign.Request{Op: presign.OpDelete, Key: parent})
	if err != nil {
		c.Result, c.Seen = Warn, "presign could not sign a DELETE: "+presign.ErrorMessage(err)
		return c
	}
	p.created = append(p.created, parent)
	del := p.send(ctx, http.MethodDelete, g.URL, map[string]string{"x-minio-force-delete": "true"}, nil)
	h := p.object(ctx, presign.OpHead, child)
	sent := fmt.Sprintf("a presigned DELETE of %s sent with x-minio-force-delete: true, which it does not sign, answered %s", parent, del)
	switch {
	case h.ok():
		c.Result, c.Seen = OK, sent+", and "+child+" is still there: the header was ignored"
	case h.status == http.StatusNotFound:
		c.Result, c.Seen = Fail, sent+", and "+child+" is gone: a DELETE grant for one key deleted what is under key/"
		c.Fix = "this store deletes a whole prefix when a client adds x-minio-force-delete: true to a presigned DELETE (MinIO does): a delete grant for one key reaches every key under it, past the rules — set provider: minio, and see docs/minio.md for the configuration that closes it"
	default:
		c.Result, c.Seen = Warn, sent+"; could not tell: a HEAD of "+child+" answered "+h.String()
	}
	return c
}

// copySource sends a presigned PUT with x-amz-copy-source, unsigned,
// naming another probe object: the store must refuse it or store the
// body, not a copy.
func (p *prober) copySource(ctx context.Context) Check {
	c := Check{Name: CheckCopySource}
	src, dst := p.prefix+"copy-source", p.prefix+"copy-target"
	secret := []byte("presign doctor: the copy source, which the PUT grant does not name\n")
	if a, err := p.put(ctx, p.iss, src, secret, nil); err != nil || !a.ok() {
		c.Result, c.Seen = Warn, "could not tell: the probe PUT of the source answered "+a.String()
		if err != nil {
			c.Seen = "presign could not sign a PUT: " + presign.ErrorMessage(err)
		}
		return c
	}
	source := "/" + p.b.Bucket + "/" + strings.ReplaceAll(escapePath(src), "%2F", "/")
	sent := "a presigned PUT of " + dst + " sent with x-amz-copy-source: " + source + ", which it does not sign,"
	a, err := p.put(ctx, p.iss, dst, probeBody, map[string]string{"x-amz-copy-source": source})
	switch {
	case err != nil:
		c.Result, c.Seen = Warn, "presign could not sign a PUT: "+presign.ErrorMessage(err)
		return c
	case !a.ok():
		c.Result, c.Seen = OK, sent+" was refused ("+a.String()+")"
		return c
	}
	got := p.object(ctx, presign.OpGet, dst)
	switch {
	case !got.ok():
		c.Result, c.Seen = Warn, sent+" answered "+a.String()+"; could not tell: a GET of it answered "+got.String()
	case bytes.Equal(got.body, secret):
		c.Result, c.Seen = Fail, sent+" answered "+a.String()+" and copied the source object"
		c.Fix = "this store copies any object the signing identity may read into a PUT grant's key when the client adds x-amz-copy-source (MinIO does): set provider: minio, whose PUT URLs sign x-amz-copy-source empty — see docs/minio.md"
	default:
		c.Result, c.Seen = OK, sent+" answered "+a.String()+" and stored the body sent: the header was ignored"
	}
	return c
}

// escapePath percent-encodes a key for x-amz-copy-source.
func escapePath(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		ch := key[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || strings.IndexByte("-_.~", ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// cleanup deletes every probe object, deepest last written first, with a
// context that outlives ctx's cancellation (each request still bounded).
// It returns a cleanup check only when something is left.
func (p *prober) cleanup(ctx context.Context) (Check, bool) {
	ctx = context.WithoutCancel(ctx)
	var left []string
	seen := map[string]bool{}
	for _, key := range slices.Backward(p.created) {
		if seen[key] {
			continue
		}
		seen[key] = true
		g, err := p.grant(p.iss, presign.Request{Op: presign.OpDelete, Key: key})
		if err != nil {
			left = append(left, key)
			continue
		}
		if a := p.send(ctx, http.MethodDelete, g.URL, nil, nil); !a.ok() && a.status != http.StatusNotFound {
			left = append(left, key+" ("+a.String()+")")
		}
	}
	if len(left) == 0 {
		return Check{}, false
	}
	return Check{Name: CheckCleanup, Result: Warn, Seen: "probe objects could not be deleted: " + strings.Join(left, ", "),
		Fix: fmt.Sprintf("delete them: aws s3 rm s3://%s/%s --recursive", p.b.Bucket, p.prefix)}, true
}
