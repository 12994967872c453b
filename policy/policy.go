package policy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"presign.dev/presign"
)

// Options are the policy's inputs besides the rules.
type Options struct {
	Now    func() time.Time // for {date}; nil means time.Now
	Random io.Reader        // for {uuid}; nil means crypto/rand
}

// Policy is a validated, ordered rule list. It is safe for concurrent use.
type Policy struct {
	rules  []Rule
	now    func() time.Time
	random io.Reader
}

var _ presign.Authorizer = (*Policy)(nil)

// New validates rules (every problem at once) and returns the Policy.
func New(rules []Rule, o Options) (*Policy, error) {
	var errs []error
	names := map[string]bool{}
	for i, r := range rules {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("rules[%d] (%s): %s", i, r.Name, fmt.Sprintf(format, args...)))
		}
		if r.Name == "" {
			bad("name is required")
		} else if names[r.Name] {
			bad("name is used twice")
		}
		names[r.Name] = true
		if isZeroWho(r.Who) {
			bad("who is empty: name anonymous, authenticated, api_keys, iam, groups or claims")
		}
		if len(r.Ops) == 0 {
			bad("ops is empty")
		}
		for _, op := range r.Ops {
			if !slices.Contains(presign.Ops, op) {
				bad("op %q is not one of get, head, put, post, delete", op)
			}
		}
		for _, k := range r.Keys {
			if err := ValidatePattern(k); err != nil {
				bad("keys: %v", err)
			}
		}
		if r.GenerateKey != "" {
			if err := ValidateGenerateKey(r.GenerateKey); err != nil {
				bad("generate_key: %v", err)
			}
		}
		if len(r.Keys) == 0 && (r.GenerateKey == "" || slices.ContainsFunc(r.Ops, func(op presign.Op) bool { return !op.IsUpload() })) {
			bad("keys is empty: name the keys this rule allows (generate_key alone covers uploads only)")
		}
		for _, ct := range r.ContentTypes {
			if err := ValidateContentTypePattern(ct); err != nil {
				bad("content_types: %v", err)
			}
		}
		for _, name := range r.Metadata {
			if err := presign.ValidateMetadataName(name); err != nil {
				bad("metadata: %v", err)
			}
		}
		if r.MaxSize < 0 || r.MaxSize > presign.MaxObjectSize {
			bad("max_size must be between 0 and 5 GiB")
		}
		if r.MaxExpires < 0 {
			bad("max_expires must not be negative")
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	p := &Policy{rules: rules, now: o.Now, random: o.Random}
	if p.now == nil {
		p.now = time.Now
	}
	if p.random == nil {
		p.random = rand.Reader
	}
	return p, nil
}

func isZeroWho(w Who) bool {
	return !w.Anonymous && !w.Authenticated && len(w.APIKeys) == 0 && len(w.IAM) == 0 && len(w.Groups) == 0 && len(w.Claims) == 0
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

// Explanation is the whole reasoning of a decision.
type Explanation struct {
	Allowed  bool              `json:"allowed"`
	Rule     string            `json:"rule,omitempty"`
	Decision *presign.Decision `json:"decision,omitempty"`
	Error    string            `json:"error,omitempty"`
	Trace    []Trace           `json:"trace"`
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
		c.note(st, reason)
	}
	return presign.Decision{}, c.refusal(principal)
}

// Explain evaluates every rule for principal and r, in order, and says
// which one allows it (the first that matches) or why none does.
func (p *Policy) Explain(principal presign.Principal, r *presign.Request) Explanation {
	var ex Explanation
	var c closest
	for _, rule := range p.rules {
		dec, st, reason := p.evaluate(rule, principal, r)
		ex.Trace = append(ex.Trace, Trace{Rule: rule.Name, Matched: st == stageAllowed, Reason: reason})
		c.note(st, reason)
		if st == stageAllowed && !ex.Allowed {
			ex.Allowed, ex.Rule, ex.Decision = true, rule.Name, &dec
		}
	}
	if !ex.Allowed {
		ex.Error = presign.ErrorMessage(c.refusal(principal))
	}
	return ex
}

// closest remembers the rule that got furthest with a refused request:
// its reason is the one the caller hears.
type closest struct {
	stage  stage
	reason string
}

func (c *closest) note(st stage, reason string) {
	if st > c.stage {
		c.stage, c.reason = st, reason
	}
}

// refusal is the error of a request that no rule allows.
func (c *closest) refusal(principal presign.Principal) error {
	switch {
	case principal.Kind == presign.KindAnonymous && c.stage == stageWho:
		return presign.Errorf(presign.CodeUnauthenticated, "authentication required: send Authorization: Bearer <API key or JWT>")
	case principal.Kind == presign.KindAnonymous && c.stage < stageLimits:
		// No credential, and no rule admits anonymous callers to this op
		// and key: 401, so that clients know to sign in. (A rule that does
		// admit them but refuses a limit answers as for anyone.)
		return presign.Errorf(presign.CodeUnauthenticated, "authentication required: anonymous callers are denied (%s); send Authorization: Bearer <API key or JWT>", c.reason)
	case c.stage == stageWho:
		return presign.Errorf(presign.CodePermissionDenied, "denied: no rule grants access to this caller")
	case c.stage == stageLimits && strings.HasPrefix(c.reason, "declared size"):
		return presign.Errorf(presign.CodeTooLarge, "denied: %s", c.reason)
	}
	return presign.Errorf(presign.CodePermissionDenied, "denied: %s", c.reason)
}

// evaluate checks one rule; it returns the decision when the rule allows
// the request, or how far it got and why it stopped.
func (p *Policy) evaluate(rule Rule, principal presign.Principal, r *presign.Request) (presign.Decision, stage, string) {
	if !matchWho(rule.Who, principal) {
		return presign.Decision{}, stageWho, "rule does not apply to this caller"
	}
	if !slices.Contains(rule.Ops, r.Op) {
		return presign.Decision{}, stageOp, fmt.Sprintf("no rule lets this caller %s objects", r.Op)
	}
	if rule.Backend != "" && rule.Backend != r.Backend {
		return presign.Decision{}, stageBackend, fmt.Sprintf("no rule lets this caller %s on backend %q", r.Op, r.Backend)
	}
	dec := presign.Decision{Rule: rule.Name, MaxSize: rule.MaxSize, MaxExpires: rule.MaxExpires}
	key := r.Key
	generated := rule.GenerateKey != "" && r.Op.IsUpload()
	if generated {
		if r.Key != "" {
			return presign.Decision{}, stageKey, fmt.Sprintf("rule %q chooses upload keys itself; send no key", rule.Name)
		}
		uuid, err := newUUID(p.random)
		if err != nil {
			return presign.Decision{}, stageKey, "generating a key failed"
		}
		key, err = generateKey(rule.GenerateKey, principal, r.Filename, uuid, p.now())
		if err != nil {
			return presign.Decision{}, stageKey, presign.ErrorMessage(err)
		}
		dec.Key = key
	}
	if key == "" {
		return presign.Decision{}, stageKey, "key is required"
	}
	if len(rule.Keys) > 0 && !p.keyAllowed(rule, principal, key) {
		return presign.Decision{}, stageKey, fmt.Sprintf("key is outside what rule %q allows (%s)", rule.Name, strings.Join(rule.Keys, ", "))
	}
	if r.Op.IsUpload() {
		if len(rule.ContentTypes) > 0 {
			if r.ContentType == "" {
				return presign.Decision{}, stageLimits, fmt.Sprintf("content_type is required: rule %q allows %s", rule.Name, strings.Join(rule.ContentTypes, ", "))
			}
			if !slices.ContainsFunc(rule.ContentTypes, func(pat string) bool { return matchContentType(pat, r.ContentType) }) {
				return presign.Decision{}, stageLimits, fmt.Sprintf("content type %q is not allowed by rule %q (allowed: %s)", r.ContentType, rule.Name, strings.Join(rule.ContentTypes, ", "))
			}
		}
		for name := range r.Metadata {
			if !slices.Contains(rule.Metadata, name) {
				return presign.Decision{}, stageLimits, fmt.Sprintf("metadata %q is not allowed by rule %q (allowed: %s)", name, rule.Name, listOrNone(rule.Metadata))
			}
		}
		if rule.RequireChecksum && r.Op == presign.OpPut && r.ContentMD5 == "" && r.ChecksumSHA256 == "" {
			return presign.Decision{}, stageLimits, fmt.Sprintf("content_md5 or checksum_sha256 is required: rule %q has the store verify every upload", rule.Name)
		}
		if rule.MaxSize > 0 && r.ContentLength != nil && *r.ContentLength > rule.MaxSize {
			return presign.Decision{}, stageLimits, fmt.Sprintf("declared size %d is above the %d bytes rule %q allows", *r.ContentLength, rule.MaxSize, rule.Name)
		}
		// A fresh {uuid} key cannot collide, and a POST cannot be
		// conditional: overwrite protection is signed where it matters.
		if rule.Overwrite != nil && !*rule.Overwrite && !(generated && r.Op == presign.OpPost && strings.Contains(rule.GenerateKey, "{uuid}")) {
			dec.NoOverwrite = true
		}
	}
	if r.Op == presign.OpGet && r.Filename != "" && rule.Download != nil && !*rule.Download {
		return presign.Decision{}, stageLimits, fmt.Sprintf("rule %q does not allow download file names", rule.Name)
	}
	return dec, stageAllowed, ""
}

func (p *Policy) keyAllowed(rule Rule, principal presign.Principal, key string) bool {
	for _, pat := range rule.Keys {
		if segs, ok := compilePattern(pat, principal); ok && matchKey(segs, key) {
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
