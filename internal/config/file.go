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
)

// The file's schema. Every leaf is a pointer or a slice so that "absent" is
// told apart from "zero"; strings are decoded as written (numbers and
// booleans included) and parsed here, so that every problem is reported with
// its path. The same types, with their omitempty tags, write the redacted
// effective configuration.
type fileConfig struct {
	Listen   *string       `yaml:"listen,omitempty" json:"listen,omitempty"`
	Defaults *fileDefaults `yaml:"defaults,omitempty" json:"defaults,omitempty"`
	CORS     *fileCORS     `yaml:"cors,omitempty" json:"cors,omitempty"`
	Log      *fileLog      `yaml:"log,omitempty" json:"log,omitempty"`
	Backends []fileBackend `yaml:"backends,omitempty" json:"backends,omitempty"`
	Auth     *fileAuth     `yaml:"auth,omitempty" json:"auth,omitempty"`
	Rules    []fileRule    `yaml:"rules,omitempty" json:"rules,omitempty"`
}

type fileDefaults struct {
	Expires    *string `yaml:"expires,omitempty" json:"expires,omitempty"`
	MaxExpires *string `yaml:"max_expires,omitempty" json:"max_expires,omitempty"`
}

type fileCORS struct {
	Origins []string `yaml:"origins,omitempty" json:"origins,omitempty"`
}

type fileLog struct {
	Level  *string `yaml:"level,omitempty" json:"level,omitempty"`
	Format *string `yaml:"format,omitempty" json:"format,omitempty"`
}

type fileBackend struct {
	Name            *string `yaml:"name,omitempty" json:"name,omitempty"`
	Endpoint        *string `yaml:"endpoint,omitempty" json:"endpoint,omitempty"`
	Region          *string `yaml:"region,omitempty" json:"region,omitempty"`
	Bucket          *string `yaml:"bucket,omitempty" json:"bucket,omitempty"`
	PathStyle       *string `yaml:"path_style,omitempty" json:"path_style,omitempty"`
	AccessKeyID     *string `yaml:"access_key_id,omitempty" json:"access_key_id,omitempty"`
	SecretAccessKey *string `yaml:"secret_access_key,omitempty" json:"secret_access_key,omitempty"`
	SessionToken    *string `yaml:"session_token,omitempty" json:"session_token,omitempty"`
	MaxExpires      *string `yaml:"max_expires,omitempty" json:"max_expires,omitempty"`
	Post            *bool   `yaml:"post,omitempty" json:"post,omitempty"`
}

type fileAuth struct {
	APIKeys []fileAPIKey `yaml:"api_keys,omitempty" json:"api_keys,omitempty"`
	JWT     []fileJWT    `yaml:"jwt,omitempty" json:"jwt,omitempty"`
}

type fileAPIKey struct {
	Name   *string `yaml:"name,omitempty" json:"name,omitempty"`
	SHA256 *string `yaml:"sha256,omitempty" json:"sha256,omitempty"`
}

type fileJWT struct {
	Issuer       *string  `yaml:"issuer,omitempty" json:"issuer,omitempty"`
	Audience     []string `yaml:"audience,omitempty" json:"audience,omitempty"`
	JWKSURL      *string  `yaml:"jwks_url,omitempty" json:"jwks_url,omitempty"`
	Keys         []string `yaml:"keys,omitempty" json:"keys,omitempty"`
	HS256Secret  *string  `yaml:"hs256_secret,omitempty" json:"hs256_secret,omitempty"`
	ClockSkew    *string  `yaml:"clock_skew,omitempty" json:"clock_skew,omitempty"`
	SubjectClaim *string  `yaml:"subject_claim,omitempty" json:"subject_claim,omitempty"`
	GroupsClaim  *string  `yaml:"groups_claim,omitempty" json:"groups_claim,omitempty"`
}

type fileRule struct {
	Name         *string  `yaml:"name,omitempty" json:"name,omitempty"`
	Who          *fileWho `yaml:"who,omitempty" json:"who,omitempty"`
	Ops          []string `yaml:"ops,omitempty" json:"ops,omitempty"`
	Backend      *string  `yaml:"backend,omitempty" json:"backend,omitempty"`
	Keys         []string `yaml:"keys,omitempty" json:"keys,omitempty"`
	GenerateKey  *string  `yaml:"generate_key,omitempty" json:"generate_key,omitempty"`
	MaxSize      *string  `yaml:"max_size,omitempty" json:"max_size,omitempty"`
	ContentTypes []string `yaml:"content_types,omitempty" json:"content_types,omitempty"`
	MaxExpires   *string  `yaml:"max_expires,omitempty" json:"max_expires,omitempty"`
	Overwrite    *bool    `yaml:"overwrite,omitempty" json:"overwrite,omitempty"`
	Download     *bool    `yaml:"download,omitempty" json:"download,omitempty"`
	// Metadata: the x-amz-meta-* names uploads may set (default none).
	Metadata []string `yaml:"metadata,omitempty" json:"metadata,omitempty"`
	// RequireChecksum: put uploads must declare content_md5 or checksum_sha256.
	RequireChecksum *bool `yaml:"require_checksum,omitempty" json:"require_checksum,omitempty"`
}

type fileWho struct {
	Anonymous     *bool               `yaml:"anonymous,omitempty" json:"anonymous,omitempty"`
	Authenticated *bool               `yaml:"authenticated,omitempty" json:"authenticated,omitempty"`
	APIKeys       []string            `yaml:"api_keys,omitempty" json:"api_keys,omitempty"`
	IAM           []string            `yaml:"iam,omitempty" json:"iam,omitempty"`
	Groups        []string            `yaml:"groups,omitempty" json:"groups,omitempty"`
	Claims        map[string][]string `yaml:"claims,omitempty" json:"claims,omitempty"`
}

// problem is one configuration problem in the file (line > 0 when known)
// or in the environment (env).
type problem struct {
	line int
	env  bool
	text string
}

// reader holds what reading one file needs: where each field is, which
// fields failed to decode, and the problems found so far.
type reader struct {
	name   string
	lookup Lookup
	lines  map[string]int  // field path → line
	failed map[string]bool // paths whose decoding failed: no further problems there or below
	done   map[string]bool // paths with a problem already: one problem per field
	probs  []problem
}

// Parse reads the configuration file named name (for messages) with content
// data, merged with the environment, as [Load] does.
func Parse(lookup Lookup, name string, data []byte) (Config, error) {
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	if name == "" {
		name = "config"
	}
	r := &reader{name: name, lookup: lookup, lines: map[string]int{}, failed: map[string]bool{}, done: map[string]bool{}}
	f, ok := r.decode(data)
	if !ok {
		return Config{}, r.err()
	}
	c := r.convert(f)
	return c, r.err()
}

// errf records a problem with the field at path ("" is the file itself).
func (r *reader) errf(path, format string, args ...any) {
	if r.done[path] {
		return
	}
	r.done[path] = true
	for p := path; ; p = parentPath(p) {
		if r.failed[p] {
			return
		}
		if p == "" {
			break
		}
	}
	msg := fmt.Sprintf(format, args...)
	line := r.lineOf(path)
	where := r.name
	if line > 0 {
		where += ":" + strconv.Itoa(line)
	}
	if path != "" {
		where += ": " + path
	}
	r.probs = append(r.probs, problem{line: line, text: where + ": " + msg})
}

// envErrf records a problem with an environment variable.
func (r *reader) envErrf(name, format string, args ...any) {
	r.probs = append(r.probs, problem{env: true, text: name + ": " + fmt.Sprintf(format, args...)})
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
	errs := make([]error, len(r.probs))
	for i, p := range r.probs {
		errs[i] = errors.New(p.text)
	}
	return errors.Join(errs...)
}

// lineOf is the line of the field at path, or of its nearest ancestor
// present in the file (the file itself only when path is ""); 0 when
// unknown.
func (r *reader) lineOf(path string) int {
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := r.lines[p]; ok {
			return l
		}
	}
	if path == "" {
		return r.lines[""]
	}
	return 0
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

var plainKey = lazyRegexp(`^[A-Za-z0-9_-]+$`)

// fieldPath appends a mapping key to a path.
func fieldPath(parent, key string) string {
	if !plainKey().MatchString(key) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string { return parent + "[" + strconv.Itoa(i) + "]" }

// entry is one node of the file, by path.
type entry struct {
	path string
	key  *yaml.Node // nil for sequence items and the root
	val  *yaml.Node
}

// index lists every node of the document (not following aliases, so its
// size is the file's) with its path, and records each path's line.
func (r *reader) index(n *yaml.Node, path string, key *yaml.Node, out *[]entry) {
	*out = append(*out, entry{path: path, key: key, val: n})
	line := n.Line
	if key != nil {
		line = key.Line
	}
	if _, seen := r.lines[path]; !seen {
		r.lines[path] = line
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			r.index(c, path, nil, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			r.index(n.Content[i+1], fieldPath(path, k.Value), k, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			r.index(c, indexPath(path, i), nil, out)
		}
	}
}

var (
	reSyntax  = lazyRegexp(`^yaml: line (\d+): (.*)$`)
	reUnknown = lazyRegexp(`^line (\d+): field (.*) not found in type (\S+)$`)
	reType    = lazyRegexp("^line (\\d+): cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.+)$")
	reDupKey  = lazyRegexp(`^line (\d+): mapping key (".*") already defined at line (\d+)$`)
	reDupFld  = lazyRegexp(`^line (\d+): field (.*) already set in type \S+$`)
	reLine    = lazyRegexp(`^line (\d+): (.*)$`)
	reQuoted  = lazyRegexp(" `[^`]*`")
)

// decode parses data into the file schema, strictly: unknown fields, wrong
// types and duplicate keys are problems with their paths. It returns false
// when the file cannot be read at all (a YAML syntax error).
func (r *reader) decode(data []byte) (*fileConfig, bool) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		r.syntaxError(err)
		return nil, false
	}
	var entries []entry
	if root.Kind != 0 {
		r.index(&root, "", nil, &entries)
	}

	f := &fileConfig{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(f)
	var te *yaml.TypeError
	switch {
	case err == nil, err == io.EOF:
	case errors.As(err, &te):
		byLine := map[int][]int{}
		for i, e := range entries {
			byLine[e.val.Line] = append(byLine[e.val.Line], i)
			if e.key != nil && e.key.Line != e.val.Line {
				byLine[e.key.Line] = append(byLine[e.key.Line], i)
			}
		}
		used, seen := map[int]bool{}, map[string]bool{}
		for _, msg := range te.Errors {
			if !seen[msg] { // aliases repeat the messages of what they refer to
				seen[msg] = true
				r.typeError(msg, entries, byLine, used)
			}
		}
	default:
		r.syntaxError(err)
		return nil, false
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		line := next.Line
		if err != nil {
			line = 0
		}
		r.probs = append(r.probs, problem{line: line, text: r.name + lineSuffix(line) + ": the file must hold one YAML document, not several"})
	}
	return f, true
}

func lineSuffix(line int) string {
	if line <= 0 {
		return ""
	}
	return ":" + strconv.Itoa(line)
}

func (r *reader) syntaxError(err error) {
	msg := err.Error()
	if m := reSyntax().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		r.probs = append(r.probs, problem{line: line, text: r.name + lineSuffix(line) + ": " + m[2]})
		return
	}
	r.probs = append(r.probs, problem{text: r.name + ": " + strings.TrimPrefix(msg, "yaml: ")})
}

// typeError turns one of yaml's decoding messages ("line 7: field x not
// found in type config.fileRule") into a problem at the field's path.
func (r *reader) typeError(msg string, entries []entry, byLine map[int][]int, used map[int]bool) {
	find := func(line int, match func(e entry) bool) (entry, bool) {
		best := -1
		for _, i := range byLine[line] {
			if e := entries[i]; !used[i] && match(e) && (best < 0 || len(e.path) > len(entries[best].path)) {
				best = i
			}
		}
		if best < 0 {
			return entry{}, false
		}
		used[best] = true
		return entries[best], true
	}
	if m := reUnknown().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if e, ok := find(line, func(e entry) bool { return e.key != nil && e.key.Line == line && e.key.Value == m[2] }); ok {
			r.failed[e.path] = true
			r.probs = append(r.probs, problem{line: line, text: fmt.Sprintf("%s:%d: %s: unknown field; %s", r.name, line, e.path, knownFields(m[3]))})
			return
		}
	}
	if m := reType().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		tag, val := m[2], m[3]
		e, ok := find(line, func(e entry) bool {
			if e.val.Line != line || e.val.ShortTag() != tag || e.val.Kind == yaml.DocumentNode {
				return false
			}
			if v, cut := strings.CutSuffix(val, "..."); cut {
				return strings.HasPrefix(e.val.Value, v)
			}
			return val == "" || e.val.Value == val
		})
		if ok {
			r.failed[e.path] = true
			where := e.path
			if where == "" {
				r.probs = append(r.probs, problem{line: line, text: fmt.Sprintf("%s:%d: the file must be a mapping of settings (listen, defaults, cors, log, backends, auth, rules), not %s", r.name, line, kindName(e.val))})
				return
			}
			r.probs = append(r.probs, problem{line: line, text: fmt.Sprintf("%s:%d: %s: must be %s, not %s", r.name, line, where, typeName(m[4]), kindName(e.val))})
			return
		}
	}
	if m := reDupKey().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		key, _ := strconv.Unquote(m[2])
		r.dupKey(line, key, m[3], entries, find)
		return
	}
	if m := reDupFld().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		r.dupKey(line, m[2], "", entries, find)
		return
	}
	// Unforeseen: yaml's own words, without the values they may quote.
	msg = reQuoted().ReplaceAllString(msg, "")
	if m := reLine().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		r.probs = append(r.probs, problem{line: line, text: fmt.Sprintf("%s:%d: %s", r.name, line, m[2])})
		return
	}
	r.probs = append(r.probs, problem{text: r.name + ": " + msg})
}

func (r *reader) dupKey(line int, key, first string, entries []entry, find func(int, func(entry) bool) (entry, bool)) {
	text := "is set twice"
	if first != "" {
		text += " (first at line " + first + ")"
	}
	if e, ok := find(line, func(e entry) bool { return e.key != nil && e.key.Line == line && e.key.Value == key }); ok {
		// yaml decodes nothing of a mapping with a duplicate key.
		r.failed[parentPath(e.path)] = true
		r.probs = append(r.probs, problem{line: line, text: fmt.Sprintf("%s:%d: %s: %s", r.name, line, e.path, text)})
		return
	}
	r.probs = append(r.probs, problem{line: line, text: fmt.Sprintf("%s:%d: %q %s", r.name, line, key, text)})
}

// kindName names what a node is, for "must be a list, not a string". It
// never quotes the value, which may be a secret.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
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

// typeName names a Go type of the schema the way the file's reader sees it.
func typeName(t string) string {
	switch {
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case t == "[]string":
		return "a list of strings"
	case t == "map[string][]string":
		return "a mapping of names to lists of strings"
	case strings.HasPrefix(t, "[]config."):
		return "a list of mappings"
	case strings.HasPrefix(t, "config.") || strings.HasPrefix(t, "*config."):
		return "a mapping"
	}
	return t
}

// schemaTypes are the file's mapping types by the name yaml gives them.
var schemaTypes = map[string]reflect.Type{}

func init() {
	for _, v := range []any{fileConfig{}, fileDefaults{}, fileCORS{}, fileLog{}, fileBackend{}, fileAuth{}, fileAPIKey{}, fileJWT{}, fileRule{}, fileWho{}} {
		t := reflect.TypeOf(v)
		schemaTypes[t.String()] = t
	}
}

// knownFields lists the fields of the schema type yaml named.
func knownFields(typ string) string {
	t, ok := schemaTypes[typ]
	if !ok {
		return "see examples/presign.yaml for the schema"
	}
	names := make([]string, t.NumField())
	for i := range names {
		names[i], _, _ = strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
	}
	return "known fields: " + strings.Join(names, ", ")
}
