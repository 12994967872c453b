package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"presign.dev/presign"
)

// reader reads one configuration: it decodes the file (if any) into the
// schema, lets the environment fill it, converts it, and locates every
// problem: at its file line and field path, or at the variable that set it.
type reader struct {
	name   string // the file, for messages; "" when the environment alone configures
	lookup Lookup
	lines  map[string]int    // field path → line in the file
	envSet map[string]string // field path → the variable that set it (and what is below it)
	// envBackend: backends[0] was made from PRESIGN_S3_* (the file has no
	// backends), so its fields are named by their variables.
	envBackend bool
	// expanded: the values ${env:NAME} references put in each field, which
	// problems never quote (a secret may have been referred to by mistake).
	expanded map[string][]expansion
	failed   map[string]bool // paths whose decoding failed: no further problems there or below
	done     map[string]bool // paths with a problem already: one problem per field
	probs    []problem
	budget   int // nodes the decoder may still visit (aliases can multiply them)
}

// expansion is the value a reference put into a field.
type expansion struct{ value, ref string }

// hideExpansion replaces, in a problem's message, the value a reference
// put into the field with the reference itself: the value as it may be
// quoted (escaped or not, in any case, as owners lower-case some values),
// and, when it is long enough to be a secret rather than a common word, as
// it may appear inside a longer quoted value.
func hideExpansion(msg string, e expansion) string {
	if e.value == "" {
		return msg
	}
	inner := func(q string) string { return q[1 : len(q)-1] }
	forms := []string{e.value, inner(strconv.Quote(e.value)), inner(strconv.QuoteToASCII(e.value))}
	for _, f := range forms {
		msg = replaceFold(msg, `"`+f+`"`, e.ref)
	}
	if len(e.value) >= 8 {
		for _, f := range forms {
			msg = replaceFold(msg, f, e.ref)
		}
	}
	return msg
}

// replaceFold replaces every occurrence of old in s, in any case, with new.
func replaceFold(s, old, new string) string {
	lower, lowerOld := strings.ToLower(s), strings.ToLower(old)
	if len(lower) != len(s) || len(lowerOld) != len(old) {
		return strings.ReplaceAll(s, old, new) // case folding changed the lengths: exact matches only
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, lowerOld)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(new)
		s, lower = s[i+len(old):], lower[i+len(old):]
	}
}

// problem is one located problem: in the file (line > 0 when known) or in
// the environment (env).
type problem struct {
	line int
	env  bool
	text string
}

func newReader(name string, lookup Lookup) *reader {
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	return &reader{name: name, lookup: lookup, lines: map[string]int{}, envSet: map[string]string{}, expanded: map[string][]expansion{},
		failed: map[string]bool{}, done: map[string]bool{}, budget: maxNodes}
}

// maxNodes bounds the values one file may expand to, aliases followed;
// maxProblems the problems listed (the rest are counted).
const (
	maxNodes    = 100_000
	maxProblems = 100
)

// envVars names the variable behind each setting the environment can
// fill (env.go sets them): problems of a setting that the file does not
// hold say which variable would set it, and in the environment-only
// configuration they are reported by that variable.
var envVars = map[string]string{
	"listen":                        "PRESIGN_ADDR",
	"defaults.expires":              "PRESIGN_EXPIRES",
	"defaults.max_expires":          "PRESIGN_MAX_EXPIRES",
	"cors.origins":                  "PRESIGN_CORS_ORIGINS",
	"log.level":                     "PRESIGN_LOG_LEVEL",
	"log.format":                    "PRESIGN_LOG_FORMAT",
	"backends":                      "PRESIGN_S3_BUCKET",
	"backends[0].endpoint":          "PRESIGN_S3_ENDPOINT",
	"backends[0].region":            "PRESIGN_S3_REGION",
	"backends[0].bucket":            "PRESIGN_S3_BUCKET",
	"backends[0].path_style":        "PRESIGN_S3_PATH_STYLE",
	"backends[0].provider":          "PRESIGN_S3_PROVIDER",
	"backends[0].access_key_id":     "AWS_ACCESS_KEY_ID",
	"backends[0].secret_access_key": "AWS_SECRET_ACCESS_KEY",
	"backends[0].session_token":     "AWS_SESSION_TOKEN",
	"auth":                          "PRESIGN_API_KEYS",
	"auth.api_keys":                 "PRESIGN_API_KEYS",
	"uploads.secrets":               "PRESIGN_UPLOAD_SECRETS",
	"companion":                     "PRESIGN_COMPANION_PATH",
	"companion.path":                "PRESIGN_COMPANION_PATH",
	"receipts":                      "PRESIGN_RECEIPT_KEYS",
	"receipts.keys":                 "PRESIGN_RECEIPT_KEYS",
	"public_url":                    "PRESIGN_PUBLIC_URL",
	"limits.rate":                   "PRESIGN_RATE_LIMIT",
	"limits.burst":                  "PRESIGN_RATE_BURST",
	"limits.client_ip_header":       "PRESIGN_CLIENT_IP_HEADER",
	"limits.on_store_error":         "PRESIGN_LIMITS_ON_STORE_ERROR",
	"shutdown.delay":                "PRESIGN_SHUTDOWN_DELAY",
	"shutdown.timeout":              "PRESIGN_SHUTDOWN_TIMEOUT",
	"limits.quota":                  "PRESIGN_QUOTA",
	"limits.quota_period":           "PRESIGN_QUOTA_PERIOD",
	"limits.store":                  "PRESIGN_LIMITS_STORE",
	"limits.redis_url":              "PRESIGN_REDIS_URL",
}

// errf records a problem with the field at path ("" is the configuration
// as a whole): at most one per field, none below a field that failed to
// decode.
func (r *reader) errf(path, format string, args ...any) {
	if r.done[path] {
		return
	}
	for p := path; ; p = parentPath(p) {
		if r.failed[p] {
			return
		}
		if p == "" {
			break
		}
	}
	r.done[path] = true
	msg := fmt.Sprintf(format, args...)
	for _, e := range r.expanded[path] {
		msg = hideExpansion(msg, e)
	}
	if v := r.variableOf(path); v != "" {
		r.probs = append(r.probs, problem{env: true, text: v + ": " + msg})
		return
	}
	line := r.lineOf(path)
	where := r.name
	if where == "" {
		where = "environment"
	}
	if line > 0 {
		where += ":" + strconv.Itoa(line)
	}
	if path != "" {
		where += ": " + path
	}
	if _, inFile := r.lines[path]; !inFile && r.name != "" {
		if v := envVars[path]; v != "" {
			msg += " (or set " + v + ")"
		}
	}
	r.probs = append(r.probs, problem{line: line, text: where + ": " + msg})
}

// envErrf records a problem with an environment variable itself.
func (r *reader) envErrf(name, format string, args ...any) {
	r.probs = append(r.probs, problem{env: true, text: name + ": " + fmt.Sprintf(format, args...)})
}

// addProblems records problems that a domain package found, their fields
// under prefix; rename maps a field to its path in the schema when the
// names differ.
func (r *reader) addProblems(prefix string, ps presign.Problems, rename map[string]string) {
	for _, p := range ps {
		field := p.Field
		if to, ok := rename[field]; ok {
			field = to
		}
		r.errf(presign.Join(prefix, field), "%s", p.Message)
	}
}

// fromEnv reports whether the environment set the field at path (or an
// ancestor, whole).
func (r *reader) fromEnv(path string) bool {
	for p := path; ; p = parentPath(p) {
		if _, ok := r.envSet[p]; ok {
			return true
		}
		if p == "" {
			return false
		}
	}
}

// variableOf returns the environment variable that set the field at path
// (or an ancestor that the variable set whole), or "" when the file did.
func (r *reader) variableOf(path string) string {
	for p := path; ; p = parentPath(p) {
		if v, ok := r.envSet[p]; ok {
			return v
		}
		if p == "" {
			break
		}
	}
	if r.name == "" || (r.envBackend && strings.HasPrefix(path, "backends[0].")) {
		return envVars[path]
	}
	return ""
}

// err joins the problems: the file's by line (those without a line last),
// then the environment's, each group in the order found.
func (r *reader) err() error {
	sort.SliceStable(r.probs, func(i, j int) bool {
		a, b := r.probs[i], r.probs[j]
		if a.env != b.env {
			return !a.env
		}
		if a.env {
			return false
		}
		if (a.line == 0) != (b.line == 0) {
			return b.line == 0
		}
		return a.line < b.line
	})
	errs := make([]error, 0, min(len(r.probs), maxProblems+1))
	for i, p := range r.probs {
		if i == maxProblems {
			errs = append(errs, fmt.Errorf("... and %d more problems", len(r.probs)-maxProblems))
			break
		}
		errs = append(errs, errors.New(p.text))
	}
	return errors.Join(errs...)
}

// lineOf is the line of the field at path, or of its nearest ancestor
// present in the file; 0 when unknown.
func (r *reader) lineOf(path string) int {
	for p := path; ; p = parentPath(p) {
		if l, ok := r.lines[p]; ok {
			return l
		}
		if p == "" {
			return 0
		}
	}
}

// parentPath strips the last element of a field path: "a.b[2]" → "a.b" → "a".
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// fieldPath appends a mapping key to a path, quoted unless it is a plain
// word.
func fieldPath(parent, key string) string {
	plain := key != ""
	for i := 0; plain && i < len(key); i++ {
		c := key[i]
		plain = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
	}
	if !plain {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	return presign.Join(parent, key)
}

// decode parses data into the schema, strictly and from the YAML node
// tree: an unknown field, a wrong type or a key set twice is a problem at
// its path and line. It returns false when the file cannot be read at all
// (a YAML syntax error).
func (r *reader) decode(data []byte) (*fileConfig, bool) {
	f := &fileConfig{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	switch err := dec.Decode(&root); {
	case err == io.EOF:
		return f, true // an empty file
	case err != nil:
		r.syntaxError(err)
		return nil, false
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		r.probs = append(r.probs, problem{line: next.Line, text: r.name + lineSuffix(next.Line) + ": the file must hold one YAML document, not several"})
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind == yaml.ScalarNode && doc.ShortTag() == "!!null" {
		return f, true // a file of comments only
	}
	if doc.Kind != yaml.MappingNode {
		r.probs = append(r.probs, problem{line: doc.Line, text: fmt.Sprintf("%s:%d: the file must be a mapping of settings (%s), not %s",
			r.name, doc.Line, strings.Join(fieldNames(reflect.TypeOf(fileConfig{})), ", "), kindName(doc))})
		r.failed[""] = true
		return f, true
	}
	r.decodeValue(doc, reflect.ValueOf(f).Elem(), "")
	// companion: written without a value turns the routes on, at their
	// default path, as companion: {} does.
	if _, written := r.lines["companion"]; written && f.Companion == nil && !r.failed["companion"] {
		f.Companion = &fileCompanion{}
	}
	return f, true
}

// decodeValue decodes node n into v (a field of the schema) at path.
func (r *reader) decodeValue(n *yaml.Node, v reflect.Value, path string) {
	if !r.spend(n) {
		return
	}
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if _, seen := r.lines[path]; !seen && path != "" {
		r.lines[path] = n.Line
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // absent
	}
	t := v.Type()
	fail := func(want string) {
		r.failed[path] = true
		r.probs = append(r.probs, problem{line: n.Line, text: fmt.Sprintf("%s:%d: %s: must be %s, not %s", r.name, n.Line, path, want, kindName(n))})
	}
	switch {
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			fail("a string")
			return
		}
		s := n.Value
		v.Set(reflect.ValueOf(&s))
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			fail("true or false")
			return
		}
		v.Set(reflect.ValueOf(&b))
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			fail("a mapping")
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		r.decodeMapping(n, v.Elem(), path)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if t.Elem().Kind() == reflect.String {
				fail("a list of strings")
			} else {
				fail("a list of mappings")
			}
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			ip := presign.Index(path, i)
			if t.Elem().Kind() == reflect.String {
				if !r.spend(item) {
					break
				}
				for item.Kind == yaml.AliasNode {
					item = item.Alias
				}
				r.lines[ip] = item.Line
				if item.Kind != yaml.ScalarNode || item.ShortTag() == "!!null" {
					r.failed[ip] = true
					r.probs = append(r.probs, problem{line: item.Line, text: fmt.Sprintf("%s:%d: %s: must be a string, not %s", r.name, item.Line, ip, kindName(item))})
					continue
				}
				s.Index(i).SetString(item.Value)
				continue
			}
			r.decodeValue(item, s.Index(i).Addr().Elem(), ip)
		}
		v.Set(s)
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			fail("a mapping")
			return
		}
		r.decodeMapping(n, v, path)
	case t.Kind() == reflect.Map: // map[string][]string
		if n.Kind != yaml.MappingNode {
			fail("a mapping of names to lists of strings")
			return
		}
		m := reflect.MakeMap(t)
		r.eachPair(n, path, func(key string, kn, vn *yaml.Node) {
			kp := fieldPath(path, key)
			r.lines[kp] = kn.Line
			elem := reflect.New(t.Elem()).Elem()
			r.decodeValue(vn, elem, kp)
			if !r.failed[kp] {
				m.SetMapIndex(reflect.ValueOf(key), elem)
			}
		})
		v.Set(m)
	default:
		panic("config: schema type " + t.String() + " has no decoder")
	}
}

// decodeMapping decodes a mapping node into the struct v, field by yaml
// tag: an unknown key is a problem that lists the known ones.
func (r *reader) decodeMapping(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	r.eachPair(n, path, func(key string, kn, vn *yaml.Node) {
		kp := fieldPath(path, key)
		i := fieldIndex(t, key)
		if i < 0 {
			r.failed[kp] = true
			r.lines[kp] = kn.Line
			r.probs = append(r.probs, problem{line: kn.Line, text: fmt.Sprintf("%s:%d: %s: unknown field; known fields: %s", r.name, kn.Line, kp, strings.Join(fieldNames(t), ", "))})
			return
		}
		r.lines[kp] = kn.Line
		r.decodeValue(vn, v.Field(i), kp)
	})
}

// eachPair calls fn for each key of a mapping node: its own keys in
// order, then those of merge keys (<<) that it does not set itself, as YAML
// merges them; a key set twice is reported once.
func (r *reader) eachPair(n *yaml.Node, path string, fn func(key string, kn, vn *yaml.Node)) {
	first := map[string]int{}
	var merges []*yaml.Node
	var walk func(n *yaml.Node, merged bool)
	walk = func(n *yaml.Node, merged bool) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			if !r.spend(kn) {
				return
			}
			switch {
			case kn.Kind != yaml.ScalarNode:
				r.probs = append(r.probs, problem{line: kn.Line, text: fmt.Sprintf("%s:%d: %s: a key must be a name, not %s", r.name, kn.Line, presign.Join(path, "?"), kindName(kn))})
			case kn.ShortTag() == "!!merge":
				for vn.Kind == yaml.AliasNode {
					vn = vn.Alias
				}
				if vn.Kind == yaml.SequenceNode {
					merges = append(merges, vn.Content...)
				} else {
					merges = append(merges, vn)
				}
			case merged:
				if _, set := first[kn.Value]; !set { // the mapping's own keys win
					first[kn.Value] = kn.Line
					fn(kn.Value, kn, vn)
				}
			default:
				if line, dup := first[kn.Value]; dup {
					r.probs = append(r.probs, problem{line: kn.Line, text: fmt.Sprintf("%s:%d: %s: is set twice (first at line %d)", r.name, kn.Line, fieldPath(path, kn.Value), line)})
					continue
				}
				first[kn.Value] = kn.Line
				fn(kn.Value, kn, vn)
			}
		}
	}
	walk(n, false)
	for len(merges) > 0 {
		m := merges[0]
		merges = merges[1:]
		for m.Kind == yaml.AliasNode {
			m = m.Alias
		}
		if m.Kind != yaml.MappingNode {
			r.probs = append(r.probs, problem{line: m.Line, text: fmt.Sprintf("%s:%d: %s: << must merge a mapping, not %s", r.name, m.Line, presign.Join(path, "<<"), kindName(m))})
			continue
		}
		walk(m, true)
	}
}

// spend counts one value decoded against the budget, which aliases
// could otherwise multiply without bound; past it, it reports the file once
// and returns false.
func (r *reader) spend(n *yaml.Node) bool {
	if r.budget--; r.budget >= 0 {
		return true
	}
	if r.budget == -1 {
		r.failed[""] = true
		r.probs = append(r.probs, problem{line: n.Line, text: fmt.Sprintf("%s:%d: the file expands to more than %d values through its aliases; write it out", r.name, n.Line, maxNodes)})
	}
	return false
}

// fieldIndex finds the struct field whose yaml tag names key; -1 if none.
func fieldIndex(t reflect.Type, key string) int {
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name == key {
			return i
		}
	}
	return -1
}

// fieldNames lists the yaml names of a schema type's fields.
func fieldNames(t reflect.Type) []string {
	names := make([]string, t.NumField())
	for i := range names {
		names[i], _, _ = strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
	}
	return names
}

func lineSuffix(line int) string {
	if line <= 0 {
		return ""
	}
	return ":" + strconv.Itoa(line)
}

// syntaxError reports a file that is not YAML: no node tree exists, so
// the parser's own description (which names the line) is all there is.
func (r *reader) syntaxError(err error) {
	r.probs = append(r.probs, problem{text: r.name + ": " + strings.TrimPrefix(err.Error(), "yaml: ")})
}

// kindName names what a node is, for "must be a list, not a string". It
// never quotes the value, which may be a secret.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!bool":
		return "a boolean"
	case "!!int", "!!float":
		return "a number"
	case "!!null":
		return "null"
	case "!!str":
		return "a string"
	}
	return "a " + strings.TrimPrefix(n.ShortTag(), "!!") + " value"
}
