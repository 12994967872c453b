package policy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"presign.dev/presign"
)

// Options are the policy's inputs besides the rules.
type Options struct {
	Now    func() time.Time // for {date}; nil means time.Now
	Random io.Reader        // for {uuid}; nil means crypto/rand
	// Refs are the names rules may refer to (backends, API keys, kinds of
	// callers); nil leaves references unchecked (rules built in code).
	Refs *References
}

// Policy is a validated, ordered rule list. It is safe for concurrent use.
type Policy struct {
	rules  []Rule
	now    func() time.Time
	random io.Reader
}

var _ presign.Authorizer = (*Policy)(nil)

// New validates rules ([ValidateRules], every problem at once, as
// presign.Problems with fields "[i].…") and returns the Policy.
func New(rules []Rule, o Options) (*Policy, error) {
	if ps := ValidateRules(rules, o.Refs); len(ps) > 0 {
		return nil, ps
	}
	p := &Policy{rules: make([]Rule, len(rules)), now: o.Now, random: o.Random}
	for i, r := range rules {
		p.rules[i] = r.WithDefaults()
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.random == nil {
		p.random = rand.Reader
	}
	return p, nil
}

// stage is how far a request got through a rule before it failed.
type stage int

const (
	stageWho stage = iota
	stageOp
	stageBackend
	stageKey
	stageLimits
	stageAllowed
)

// Trace is one rule's verdict on a request, for explain.
type Trace struct {
	Rule    string `json:"rule"`
	Matched bool   `json:"matched"`
	Reason  string `json:"reason,omitempty"`
}

// Authorize implements presign.Authorizer: the first rule that matches
// allows the request with its limits. Otherwise it returns an *presign.Error:
// CodeUnauthenticated for an anonymous caller (no credential) that no rule
// admits to this op and key, CodeTooLarge for a declared size above the
// closest rule's limit, and CodePermissionDenied with the closest rule's
// reason otherwise.
func (p *Policy) Authorize(ctx context.Context, principal presign.Principal, r *presign.Request) (presign.Decision, error) {
	var c closest
	for _, rule := range p.rules {
		dec, st, reason := p.evaluate(rule, principal, r)
		if st == stageAllowed {
			return dec, nil
		}
		c.note(st, reason.text, reason.tooLarge)
	}
	return presign.Decision{}, c.refusal(principal)
}

// Explain evaluates every rule for principal and the validated r, in
// order, and says how each saw it: the first that matches is the one that
// allows. The request is not changed (no key is generated for it).
func (p *Policy) Explain(principal presign.Principal, r *presign.Request) []Trace {
	probe := *r
	trace := make([]Trace, 0, len(p.rules))
	for _, rule := range p.rules {
		_, st, reason := p.evaluate(rule, principal, &probe)
		trace = append(trace, Trace{Rule: rule.Name, Matched: st == stageAllowed, Reason: reason.text})
	}
	return trace
}

// closest remembers the rule that got furthest with a refused request:
// its reason is the one the caller hears.
type closest struct {
	stage    stage
	reason   string
	tooLarge bool // the reason is a declared size above the rule's limit
}

func (c *closest) note(st stage, reason string, tooLarge bool) {
	if st > c.stage {
		c.stage, c.reason, c.tooLarge = st, reason, tooLarge
	}
}

// refusal is the error of a request that no rule allows. Callers without
// a credential hear nothing about the rules (no names, patterns or
// limits); authenticated callers hear the closest rule's reason.
func (c *closest) refusal(principal presign.Principal) error {
	anonymous := principal.Kind == presign.KindAnonymous
	switch {
	case anonymous && c.stage < stageLimits:
		// No rule admits anonymous callers to this op and key: 401, so
		// that clients know to sign in.
		return presign.Errorf(presign.CodeUnauthenticated, "authentication required: send Authorization: Bearer <API key or JWT>")
	case anonymous && c.tooLarge:
		return presign.Errorf(presign.CodeTooLarge, "denied: the upload is larger than allowed")
	case anonymous:
		return presign.Errorf(presign.CodePermissionDenied, "denied: not allowed")
	case c.stage == stageWho:
		return presign.Errorf(presign.CodePermissionDenied, "denied: no rule grants access to this caller")
	case c.tooLarge:
		return presign.Errorf(presign.CodeTooLarge, "denied: %s", c.reason)
	}
	return presign.Errorf(presign.CodePermissionDenied, "denied: %s", c.reason)
}

// reason is why a rule refused a request, for the caller and the trace.
type reason struct {
	text     string
	tooLarge bool // a declared size above the rule's limit
}

func because(format string, args ...any) reason { return reason{text: fmt.Sprintf(format, args...)} }

// evaluate checks one rule; it returns the decision when the rule allows
// the request, or how far it got and why it stopped.
func (p *Policy) evaluate(rule Rule, principal presign.Principal, r *presign.Request) (presign.Decision, stage, reason) {
	if !matchWho(rule.Who, principal) {
		return presign.Decision{}, stageWho, because("rule does not apply to this caller")
	}
	if !slices.Contains(rule.Ops, r.Op) {
		return presign.Decision{}, stageOp, because("no rule lets this caller %s objects", r.Op)
	}
	if rule.Backend != "" && rule.Backend != r.Backend {
		return presign.Decision{}, stageBackend, because("no rule lets this caller %s on backend %q", r.Op, r.Backend)
	}
	if r.Op == presign.OpList {
		// A listing shows every key under its prefix: the rule must allow
		// them all. A rule without patterns allows no listing.
		if !p.prefixAllowed(rule, principal, r.Prefix) {
			return presign.Decision{}, stageKey, because("prefix %q is outside what rule %q allows (%s): a list needs a pattern ending in ** whose segments before it the prefix holds whole, each followed by a /",
				r.Prefix, rule.Name, listOrNone(rule.Keys))
		}
		return presign.Decision{Rule: rule.Name, MaxExpires: rule.MaxExpires}, stageAllowed, reason{}
	}
	dec := presign.Decision{Rule: rule.Name, MaxSize: rule.MaxSize, MaxExpires: rule.MaxExpires}
	key := r.Key
	generated := rule.GenerateKey != "" && r.Op.IsUpload()
	if generated {
		if r.Key != "" {
			return presign.Decision{}, stageKey, because("rule %q chooses upload keys itself; send no key", rule.Name)
		}
		uuid, err := newUUID(p.random)
		if err != nil {
			return presign.Decision{}, stageKey, because("generating a key failed")
		}
		name, ext := keyFilename(r.Filename, r.ContentType, len(rule.ContentTypes) > 0)
		key, err = generateKey(rule.GenerateKey, principal, name, ext, uuid, p.now())
		if err != nil {
			return presign.Decision{}, stageKey, because("%s", presign.ErrorMessage(err))
		}
		dec.Key = key
	}
	if key == "" {
		return presign.Decision{}, stageKey, because("key is required")
	}
	if len(rule.Keys) > 0 && !p.keyAllowed(rule, principal, key) {
		return presign.Decision{}, stageKey, because("key is outside what rule %q allows (%s)", rule.Name, strings.Join(rule.Keys, ", "))
	}
	if r.Op.IsUpload() {
		if len(rule.ContentTypes) > 0 {
			dec.TypeLimited = true
			if r.ContentType == "" {
				return presign.Decision{}, stageLimits, because("content_type is required: rule %q allows %s", rule.Name, strings.Join(rule.ContentTypes, ", "))
			}
			if !slices.ContainsFunc(rule.ContentTypes, func(pat string) bool { return matchContentType(pat, r.ContentType) }) {
				return presign.Decision{}, stageLimits, because("content type %q is not allowed by rule %q (allowed: %s)", r.ContentType, rule.Name, strings.Join(rule.ContentTypes, ", "))
			}
		}
		for name := range r.Metadata {
			if !slices.Contains(rule.Metadata, name) {
				return presign.Decision{}, stageLimits, because("metadata %q is not allowed by rule %q (allowed: %s)", name, rule.Name, listOrNone(rule.Metadata))
			}
		}
		if rule.RequireChecksum && r.Op == presign.OpPut && r.ContentMD5 == "" && r.ChecksumSHA256 == "" {
			return presign.Decision{}, stageLimits, because("content_md5 or checksum_sha256 is required: rule %q has the store verify every upload", rule.Name)
		}
		if rule.MaxSize > 0 && r.ContentLength != nil && *r.ContentLength > rule.MaxSize {
			return presign.Decision{}, stageLimits, reason{text: fmt.Sprintf("declared size %d is above the %d bytes rule %q allows", *r.ContentLength, rule.MaxSize, rule.Name), tooLarge: true}
		}
		// A fresh {uuid} key cannot collide, and a POST cannot be
		// conditional: overwrite protection is signed where it matters.
		if rule.Overwrite != nil && !*rule.Overwrite && !(generated && r.Op == presign.OpPost && strings.Contains(rule.GenerateKey, "{uuid}")) {
			dec.NoOverwrite = true
		}
	}
	if r.Op == presign.OpGet && r.Filename != "" && rule.Download != nil && !*rule.Download {
		return presign.Decision{}, stageLimits, because("rule %q does not allow download file names", rule.Name)
	}
	return dec, stageAllowed, reason{}
}

func (p *Policy) keyAllowed(rule Rule, principal presign.Principal, key string) bool {
	for _, pat := range rule.Keys {
		if segs, ok := compilePattern(pat, principal); ok && matchKey(segs, key) {
			return true
		}
	}
	return false
}

// prefixAllowed reports whether one of the rule's patterns covers the
// whole prefix (coversPrefix): every key a listing of it can show.
func (p *Policy) prefixAllowed(rule Rule, principal presign.Principal, prefix string) bool {
	for _, pat := range rule.Keys {
		if segs, ok := compilePattern(pat, principal); ok && coversPrefix(segs, prefix) {
			return true
		}
	}
	return false
}

func matchWho(w Who, p presign.Principal) bool {
	switch p.Kind {
	case presign.KindAnonymous:
		return w.Anonymous
	case presign.KindAPIKey:
		return w.Authenticated || slices.Contains(w.APIKeys, p.Name)
	case presign.KindIAM:
		return w.Authenticated || slices.Contains(w.IAM, p.Name)
	case presign.KindJWT:
		if w.Authenticated {
			return true
		}
		for _, g := range w.Groups {
			if slices.Contains(p.Groups, g) {
				return true
			}
		}
		if len(w.Claims) > 0 {
			for claim, values := range w.Claims {
				v, ok := p.Claims[claim]
				if !ok || !slices.Contains(values, v) {
					return false
				}
			}
			return true
		}
	}
	return false
}

// newUUID returns a random (version 4) UUID.
func newUUID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// listOrNone joins names for a message, or says there are none.
func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// ClaimNames returns the JWT claims the rules read — those of who.claims
// and of {claim.X} in keys and generate_key — sorted, each once. A caller's
// other claims decide nothing here.
func (p *Policy) ClaimNames() []string {
	seen := map[string]bool{}
	for _, rule := range p.rules {
		for name := range rule.Who.Claims {
			seen[name] = true
		}
		for _, tmpl := range append(slices.Clone(rule.Keys), rule.GenerateKey) {
			for rest := tmpl; ; {
				_, after, ok := strings.Cut(rest, "{claim.")
				if !ok {
					break
				}
				name, tail, ok := strings.Cut(after, "}")
				if !ok {
					break
				}
				seen[name], rest = true, tail
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}
