package policy

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"presign.dev/presign"
)

// References are the names that the rest of a configuration offers rules
// to refer to. [ValidateRules] refuses a rule that names something not
// there.
type References struct {
	Backends []string // backend names
	APIKeys  []string // API key names
	// JWT: callers can be JWT principals (issuers, or a platform JWT
	// authorizer), so who.groups and who.claims can match.
	JWT bool
	// IAM: callers can be IAM principals (a platform with AWS IAM auth),
	// so who.iam can match.
	IAM bool
}

// WithDefaults returns r normalized: content type patterns and metadata
// names in lower case, as stores compare them.
func (r Rule) WithDefaults() Rule {
	if r.ContentTypes != nil {
		r.ContentTypes = lowerAll(r.ContentTypes)
	}
	if r.Metadata != nil {
		r.Metadata = lowerAll(r.Metadata)
	}
	return r
}

func lowerAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.ToLower(strings.TrimSpace(v))
	}
	return out
}

// Validate reports every problem of r (after [Rule.WithDefaults]), each
// scoped to its field in the configuration file's names: name, who,
// who.api_keys[i], ops[i], backend, keys[i], generate_key, max_size,
// content_types[i], metadata[i], max_expires, overwrite, require_checksum,
// download ("" for the rule as a whole). refs, when non-nil, are the names
// the rule may refer to; nil leaves references unchecked.
func (r Rule) Validate(refs *References) presign.Problems {
	var ps presign.Problems
	r = r.WithDefaults()
	if r.Name == "" {
		ps.Addf("name", "required: the rule's name, for the audit log and refusals")
	} else if err := presign.ValidateName(r.Name); err != nil {
		ps.Addf("name", "%s", presign.ErrorMessage(err))
	}
	validateWho(&ps, r.Who, refs)

	ops := map[presign.Op]bool{}
	if len(r.Ops) == 0 {
		ps.Addf("ops", "required: the operations allowed, some of %s", presign.OpNames())
	}
	for i, op := range r.Ops {
		switch {
		case !slices.Contains(presign.Ops, op):
			ps.Addf(presign.Index("ops", i), "%q is not an operation: %s", string(op), presign.OpNames())
		case ops[op]:
			ps.Addf(presign.Index("ops", i), "%q is listed twice", string(op))
		}
		ops[op] = true
	}
	uploads := ops[presign.OpPut] || ops[presign.OpPost] || ops[presign.OpMultipart]
	others := ops[presign.OpGet] || ops[presign.OpHead] || ops[presign.OpDelete] || ops[presign.OpList]
	// needs reports a field that applies only to some ops the rule lacks.
	needs := func(field string, set bool, has bool, which string) {
		if set && !has && len(ops) > 0 {
			ps.Addf(field, "applies to %s", which)
		}
	}

	if r.Backend != "" && refs != nil && !slices.Contains(refs.Backends, r.Backend) {
		ps.Addf("backend", "%q is not the name of a backend", r.Backend)
	}
	var placeholders []string
	for i, pat := range r.Keys {
		used, err := scanTemplate(pat, false)
		if err != nil {
			ps.Addf(presign.Index("keys", i), "%v", err)
		}
		placeholders = append(placeholders, used...)
	}
	if r.GenerateKey != "" {
		used, err := scanTemplate(r.GenerateKey, true)
		if err != nil {
			ps.Addf("generate_key", "%v", err)
		}
		placeholders = append(placeholders, used...)
	}
	needs("generate_key", r.GenerateKey != "", uploads, "uploads, but ops has none of put, post and multipart")
	if len(r.Keys) == 0 && len(ops) > 0 {
		switch {
		case r.GenerateKey == "":
			ps.Addf("keys", `required: the key patterns allowed, e.g. ["users/{sub}/**"] (write ["**"] for every key)`)
		case others:
			ps.Addf("keys", `required for get, head, delete and list, which generate_key does not cover (write ["**"] for every key)`)
		}
	}
	if ops[presign.OpList] && len(r.Keys) > 0 && !slices.ContainsFunc(r.Keys, listable) {
		ps.Addf("keys", `list needs a pattern that ends in ** with no other **, such as users/{sub}/**, which covers whole prefixes; none of these does`)
	}
	if r.Who.Anonymous {
		for _, ph := range placeholders {
			if isIdentity(ph) {
				ps.Addf("", "uses {%s}, which anonymous callers (who.anonymous) have no value for", ph)
				break
			}
		}
	}
	switch {
	case r.MaxSize == 0:
	case ops[presign.OpMultipart] && (r.MaxSize < 1 || r.MaxSize > presign.MaxMultipartSize):
		ps.Addf("max_size", "%s must be between 1 byte and 5TiB, S3's limit for one object", FormatSize(r.MaxSize))
	case !ops[presign.OpMultipart] && (r.MaxSize < 1 || r.MaxSize > presign.MaxObjectSize):
		ps.Addf("max_size", "%s must be between 1 byte and 5GiB, S3's limit for one upload (up to 5TiB with multipart)", FormatSize(r.MaxSize))
	}
	needs("max_size", r.MaxSize != 0, uploads, "uploads, but ops has none of put, post and multipart")
	if r.ContentTypes != nil && len(r.ContentTypes) == 0 {
		ps.Addf("content_types", "is empty; leave it out to allow any type")
	}
	for i, ct := range r.ContentTypes {
		if err := ValidateContentTypePattern(ct); err != nil {
			ps.Addf(presign.Index("content_types", i), "%v", err)
		}
	}
	needs("content_types", r.ContentTypes != nil, uploads, "uploads, but ops has none of put, post and multipart")
	if r.Metadata != nil && len(r.Metadata) == 0 {
		ps.Addf("metadata", "is empty; leave it out to allow no metadata")
	}
	for i, name := range r.Metadata {
		if err := presign.ValidateMetadataName(name); err != nil {
			ps.Addf(presign.Index("metadata", i), "%s", presign.ErrorMessage(err))
		}
	}
	needs("metadata", r.Metadata != nil, uploads, "uploads, but ops has none of put, post and multipart")
	if r.MaxExpires != 0 {
		if err := presign.ValidateExpiry(r.MaxExpires); err != nil {
			ps.Addf("max_expires", "%s", presign.ErrorMessage(err))
		}
	}
	needs("overwrite", r.Overwrite != nil, uploads, "uploads, but ops has none of put, post and multipart")
	if ops[presign.OpPost] && r.Overwrite != nil && !*r.Overwrite && !strings.Contains(r.GenerateKey, "{uuid}") {
		// A POST form cannot be conditional; only a fresh {uuid} key is
		// sure not to replace an object. Such a rule would refuse every post.
		ps.Addf("overwrite", "false cannot hold for post (S3 POST uploads cannot be conditional) unless generate_key has {uuid}; remove post from ops, or generate {uuid} keys")
	}
	needs("require_checksum", r.RequireChecksum, ops[presign.OpPut], "put, which ops does not list")
	needs("download", r.Download != nil, ops[presign.OpGet], "get, which ops does not list")
	return ps
}

func validateWho(ps *presign.Problems, w Who, refs *References) {
	if isZeroWho(w) {
		ps.Addf("who", "matches nobody: set anonymous, authenticated, api_keys, iam, groups or claims")
		return
	}
	for i, k := range w.APIKeys {
		if refs != nil && !slices.Contains(refs.APIKeys, k) {
			ps.Addf(presign.Index("who.api_keys", i), "%q is not the name of a key in auth.api_keys (or env-1, env-2, ... of PRESIGN_API_KEYS)", k)
		}
	}
	for i, arn := range w.IAM {
		if !strings.HasPrefix(arn, "arn:") {
			ps.Addf(presign.Index("who.iam", i), "%q is not an IAM ARN like arn:aws:iam::123456789012:role/uploader", arn)
		}
	}
	if len(w.IAM) > 0 && refs != nil && !refs.IAM {
		ps.Addf("who.iam", "IAM callers come from the Lambda platform: set PRESIGN_PLATFORM_AUTH=aws_iam")
	}
	for i, g := range w.Groups {
		if g == "" {
			ps.Addf(presign.Index("who.groups", i), "is empty")
		}
	}
	if len(w.Groups) > 0 && refs != nil && !refs.JWT {
		ps.Addf("who.groups", "groups come from JWTs, but auth.jwt lists no issuer (nor is PRESIGN_PLATFORM_AUTH=jwt_authorizer)")
	}
	if len(w.Claims) > 0 && refs != nil && !refs.JWT {
		ps.Addf("who.claims", "claims come from JWTs, but auth.jwt lists no issuer (nor is PRESIGN_PLATFORM_AUTH=jwt_authorizer)")
	}
	for _, name := range slices.Sorted(maps.Keys(w.Claims)) {
		field := claimField(name)
		if !presign.IsClaimName(name) {
			ps.Addf(field, "%q is not a claim name", name)
		}
		if len(w.Claims[name]) == 0 {
			ps.Addf(field, "lists no values; a claim must have one of them")
		}
		for i, v := range w.Claims[name] {
			if v == "" {
				ps.Addf(presign.Index(field, i), "is empty")
			}
		}
	}
}

// claimField is the path of a claim under who.claims, quoted when the name
// is not a plain word (who.claims["https://x/role"]).
func claimField(name string) string {
	plain := name != ""
	for i := 0; plain && i < len(name); i++ {
		c := name[i]
		plain = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
	}
	if plain {
		return "who.claims." + name
	}
	return fmt.Sprintf("who.claims[%q]", name)
}

func isZeroWho(w Who) bool {
	return !w.Anonymous && !w.Authenticated && len(w.APIKeys) == 0 && len(w.IAM) == 0 && len(w.Groups) == 0 && len(w.Claims) == 0
}

// ValidateRules reports every problem of rules: each rule's
// ([Rule.Validate]) under "[i]", and a name used twice.
func ValidateRules(rules []Rule, refs *References) presign.Problems {
	var ps presign.Problems
	names := map[string]int{}
	for i, r := range rules {
		at := presign.Index("", i)
		ps.Append(at, r.Validate(refs))
		if j, dup := names[r.Name]; dup && r.Name != "" {
			ps.Addf(presign.Join(at, "name"), "%q is already the name of entry [%d] of this list", r.Name, j)
		}
		names[r.Name] = i
	}
	return ps
}

// listable reports whether pattern p can cover a list prefix
// (coversPrefix): it ends in "**" and has no other "**".
func listable(p string) bool {
	return (p == "**" || strings.HasSuffix(p, "/**")) && strings.Count(p, "**") == 1
}

// The placeholders of key patterns (the caller's identity) and of
// generate_key templates; {claim.NAME} is allowed in both.
var (
	keyPlaceholders      = []string{"sub", "name"}
	generatePlaceholders = []string{"uuid", "date", "sub", "name", "filename", "ext"}
)

// isIdentity reports whether a placeholder stands for the caller's identity.
func isIdentity(name string) bool {
	return name == "sub" || name == "name" || strings.HasPrefix(name, "claim.")
}

// ValidatePattern checks a key pattern: a usable key once its
// placeholders ({sub}, {name}, {claim.NAME}) are filled in, with "*"
// within a segment and "**" only as a whole segment.
func ValidatePattern(p string) error {
	_, err := scanTemplate(p, false)
	return err
}

// ValidateGenerateKey checks a generate_key template: like a pattern,
// without wildcards, with {uuid}, {date}, {filename} and {ext} too.
func ValidateGenerateKey(t string) error {
	_, err := scanTemplate(t, true)
	return err
}

// scanTemplate checks a key pattern (generate false) or a generate_key
// template (generate true) and returns the placeholders it uses.
func scanTemplate(s string, generate bool) ([]string, error) {
	if s == "" {
		return nil, errors.New("is empty")
	}
	known := keyPlaceholders
	if generate {
		known = generatePlaceholders
	}
	var used []string
	var sample strings.Builder // s with each placeholder as "x": a key it can make
	for i := 0; i < len(s); {
		switch s[i] {
		case '{':
			j := strings.IndexAny(s[i+1:], "{}")
			if j < 0 || s[i+1+j] == '{' {
				return nil, fmt.Errorf("has a { at byte %d without its }", i)
			}
			name := s[i+1 : i+1+j]
			if claim, ok := strings.CutPrefix(name, "claim."); ok {
				if !presign.IsClaimName(claim) {
					return nil, fmt.Errorf("{%s}: %q is not a claim name", name, claim)
				}
			} else if !slices.Contains(known, name) {
				return nil, fmt.Errorf("{%s} is not a placeholder here; known: %s", name, placeholderList(known))
			}
			used = append(used, name)
			sample.WriteByte('x')
			i += j + 2
		case '}':
			return nil, fmt.Errorf("has a } at byte %d without its {", i)
		default:
			sample.WriteByte(s[i])
			i++
		}
	}
	// The key rules themselves (length, UTF-8, control characters, "." and
	// ".." segments) are presign's, checked on a key the template makes.
	if err := presign.ValidateKey(sample.String()); err != nil {
		return nil, fmt.Errorf("makes keys that break the key rules: %s", presign.ErrorMessage(err))
	}
	for _, seg := range strings.Split(sample.String(), "/") {
		switch {
		case generate && strings.Contains(seg, "*"):
			return nil, errors.New("has a *: generate_key is a template, not a pattern")
		case strings.Contains(seg, "**") && seg != "**":
			return nil, errors.New("has ** inside a path segment; ** must be a whole segment, as in users/**")
		}
	}
	return used, nil
}

func placeholderList(known []string) string {
	out := make([]string, 0, len(known)+1)
	for _, n := range known {
		out = append(out, "{"+n+"}")
	}
	return strings.Join(append(out, "{claim.NAME}"), " ")
}

// ValidateContentTypePattern accepts type/subtype, type/* and */*, each
// part an RFC 9110 token.
func ValidateContentTypePattern(p string) error {
	typ, sub, ok := strings.Cut(p, "/")
	switch {
	case !ok || !(typ == "*" || isToken(typ)) || !(sub == "*" || isToken(sub)):
		return fmt.Errorf("%q is not a media type pattern like image/png, image/* or */*", p)
	case typ == "*" && sub != "*":
		return fmt.Errorf("%q: only */* may leave the type open", p)
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token without '*'.
func isToken(s string) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// FormatSize writes n bytes in the largest binary unit that divides it
// (10MiB), as configuration files write sizes.
func FormatSize(n int64) string {
	for _, u := range []struct {
		name string
		mult int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return fmt.Sprintf("%d%s", n/u.mult, u.name)
		}
	}
	return fmt.Sprintf("%d", n)
}
