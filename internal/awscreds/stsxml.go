package awscreds

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf8"
)

// STS answers (AssumeRoleResponse, AssumeRoleWithWebIdentityResponse,
// ErrorResponse) are read by hand rather than with encoding/xml, which the
// Lambda function does not link (docs/benchmarks.md). The reader takes a
// strict subset of XML 1.0, enough for what STS and MinIO send:
//
//   - an optional XML declaration first (version 1.0, encoding UTF-8 if
//     given, standalone yes or no), comments and white space around the
//     root element;
//   - elements with ASCII names, at most one prefix ("p:name"), matched by
//     local name; attributes (quoted, no "<", references checked) skipped,
//     namespace declarations among them;
//   - character data with the five predefined entities and character
//     references, line ends normalized to "\n".
//
// It refuses everything else: a DOCTYPE, CDATA sections, processing
// instructions other than the declaration, "--" inside a comment, "]]>" in
// text, invalid UTF-8 or a character XML does not allow, anything after the
// root but comments and white space, nesting deeper than maxXMLDepth, and a
// wanted element (one whose text is read) that has child elements. What it
// accepts, encoding/xml accepts and reads the same way (FuzzReadXML).

// maxXMLDepth bounds how deep a document may nest; STS answers are four
// elements deep.
const maxXMLDepth = 16

var errXML = errors.New("malformed XML")

// readXML reads doc and stores in want[path] the text of the last element
// at each wanted path: local names from the root down, joined by "/"
// ("AssumeRoleResponse/AssumeRoleResult/Credentials/AccessKeyId"). Paths
// absent from doc are left alone. It returns the root element's local name.
func readXML(doc []byte, want map[string]*string) (root string, err error) {
	s := xmlReader{doc: doc, want: want}
	if err := s.declaration(); err != nil {
		return "", err
	}
	if err := s.misc(); err != nil {
		return "", err
	}
	if s.i == len(doc) || doc[s.i] != '<' {
		return "", errXML
	}
	if err := s.element(); err != nil {
		return "", err
	}
	root = s.root
	if err := s.misc(); err != nil {
		return "", err
	}
	if s.i != len(doc) {
		return "", errXML
	}
	return root, nil
}

type xmlReader struct {
	doc  []byte
	i    int
	want map[string]*string
	root string
	path []byte // local names of the open elements, "/"-joined
	text []byte // decoded character data of the wanted element being read
}

func (s *xmlReader) has(p string) bool { return bytes.HasPrefix(s.doc[s.i:], []byte(p)) }

// declaration reads `<?xml version="1.0" [encoding="UTF-8"] [standalone="yes"|"no"]?>`
// when the document starts with "<?", its pseudo-attributes in that order.
func (s *xmlReader) declaration() error {
	if !s.has("<?") {
		return nil
	}
	if !s.has("<?xml") {
		return errXML
	}
	s.i += len("<?xml")
	next := 0 // index in params of the next pseudo-attribute allowed
	params := [...]string{"version", "encoding", "standalone"}
	for {
		sp := s.space()
		if s.has("?>") {
			if next == 0 { // version is required
				return errXML
			}
			s.i += 2
			return nil
		}
		if !sp {
			return errXML
		}
		k := next
		for k < len(params) && !s.has(params[k]+"=") {
			if k == 0 {
				return errXML
			}
			k++
		}
		if k == len(params) {
			return errXML
		}
		s.i += len(params[k]) + 1
		v, ok := s.pseudoValue()
		if !ok {
			return errXML
		}
		switch {
		case k == 0 && v == "1.0":
		case k == 1 && (v == "UTF-8" || v == "utf-8"):
		case k == 2 && (v == "yes" || v == "no"):
		default:
			return errXML
		}
		next = k + 1
	}
}

// pseudoValue reads `"v"` or `'v'` of the declaration, v in [A-Za-z0-9.-].
func (s *xmlReader) pseudoValue() (string, bool) {
	if s.i >= len(s.doc) || (s.doc[s.i] != '"' && s.doc[s.i] != '\'') {
		return "", false
	}
	q := s.doc[s.i]
	s.i++
	start := s.i
	for s.i < len(s.doc) && s.doc[s.i] != q {
		c := s.doc[s.i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return "", false
		}
		s.i++
	}
	if s.i == len(s.doc) {
		return "", false
	}
	v := string(s.doc[start:s.i])
	s.i++
	return v, true
}

// space skips white space and reports whether there was any.
func (s *xmlReader) space() bool {
	start := s.i
	for s.i < len(s.doc) && isXMLSpace(s.doc[s.i]) {
		s.i++
	}
	return s.i > start
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// misc skips white space and comments.
func (s *xmlReader) misc() error {
	for {
		s.space()
		if !s.has("<!--") {
			return nil
		}
		if err := s.comment(); err != nil {
			return err
		}
	}
}

// comment reads `<!-- ... -->`, which holds no "--".
func (s *xmlReader) comment() error {
	s.i += len("<!--")
	end := bytes.Index(s.doc[s.i:], []byte("--"))
	if end < 0 || !bytes.HasPrefix(s.doc[s.i+end:], []byte("-->")) {
		return errXML
	}
	if err := checkChars(s.doc[s.i : s.i+end]); err != nil {
		return err
	}
	s.i += end + len("-->")
	return nil
}

// name reads an element or attribute name: [A-Za-z_][A-Za-z0-9._-]*, with
// at most one ":" between two such parts. It returns the qualified name and
// its local part.
func (s *xmlReader) name() (qname, local []byte, ok bool) {
	start := s.i
	part := s.i
	colon := false
	for s.i < len(s.doc) {
		c := s.doc[s.i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
		case '0' <= c && c <= '9', c == '.', c == '-':
			if s.i == part {
				return nil, nil, false
			}
		case c == ':':
			if colon || s.i == part {
				return nil, nil, false
			}
			colon = true
			part = s.i + 1
		default:
			goto done
		}
		s.i++
	}
done:
	if s.i == part {
		return nil, nil, false
	}
	return s.doc[start:s.i], s.doc[part:s.i], true
}

// element reads an element whose "<" is at s.i, and its content.
func (s *xmlReader) element() error {
	if len(s.path) > 0 && bytes.Count(s.path, []byte("/"))+1 >= maxXMLDepth {
		return errXML
	}
	s.i++ // <
	qname, local, ok := s.name()
	if !ok {
		return errXML
	}
	if s.root == "" {
		s.root = string(local)
	}
	parentLen := len(s.path)
	if parentLen > 0 {
		s.path = append(s.path, '/')
	}
	s.path = append(s.path, local...)
	defer func() { s.path = s.path[:parentLen] }()

	empty, err := s.attributes()
	if err != nil {
		return err
	}
	target := s.want[string(s.path)]
	if target != nil {
		s.text = s.text[:0]
	}
	if empty {
		if target != nil {
			*target = ""
		}
		return nil
	}
	for {
		if s.i == len(s.doc) {
			return errXML
		}
		if s.doc[s.i] != '<' {
			if err := s.chardata(target != nil); err != nil {
				return err
			}
			continue
		}
		switch {
		case s.has("</"):
			s.i += 2
			end, _, ok := s.name()
			if !ok || !bytes.Equal(end, qname) {
				return errXML
			}
			s.space()
			if !s.has(">") {
				return errXML
			}
			s.i++
			if target != nil {
				*target = string(s.text)
			}
			return nil
		case s.has("<!--"):
			if err := s.comment(); err != nil {
				return err
			}
		case s.has("<!"), s.has("<?"):
			return errXML // CDATA, DOCTYPE, processing instructions
		default:
			if target != nil {
				return errXML // a wanted element holds text only
			}
			if err := s.element(); err != nil {
				return err
			}
		}
	}
}

// attributes reads the rest of a start tag: attributes, then ">" or "/>"
// (empty reports the latter).
func (s *xmlReader) attributes() (empty bool, err error) {
	var seen [][]byte
	for {
		sp := s.space()
		switch {
		case s.has("/>"):
			s.i += 2
			return true, nil
		case s.has(">"):
			s.i++
			return false, nil
		}
		if !sp {
			return false, errXML
		}
		name, _, ok := s.name()
		if !ok {
			return false, errXML
		}
		for _, n := range seen {
			if bytes.Equal(n, name) {
				return false, errXML
			}
		}
		seen = append(seen, name)
		s.space()
		if !s.has("=") {
			return false, errXML
		}
		s.i++
		s.space()
		if s.i == len(s.doc) || (s.doc[s.i] != '"' && s.doc[s.i] != '\'') {
			return false, errXML
		}
		q := s.doc[s.i]
		s.i++
		end := bytes.IndexByte(s.doc[s.i:], q)
		if end < 0 {
			return false, errXML
		}
		v := s.doc[s.i : s.i+end]
		if bytes.IndexByte(v, '<') >= 0 {
			return false, errXML
		}
		if _, err := decodeText(nil, v, false); err != nil {
			return false, err
		}
		s.i += end + 1
	}
}

// chardata reads character data up to the next "<", keeping it in s.text
// when keep is set.
func (s *xmlReader) chardata(keep bool) error {
	end := bytes.IndexByte(s.doc[s.i:], '<')
	if end < 0 {
		return errXML
	}
	raw := s.doc[s.i : s.i+end]
	if bytes.Contains(raw, []byte("]]>")) {
		return errXML
	}
	s.i += end
	var err error
	if keep {
		s.text, err = decodeText(s.text, raw, true)
	} else {
		_, err = decodeText(nil, raw, false)
	}
	return err
}

// decodeText appends raw (character data or an attribute value) to dst
// with references replaced and line ends normalized, after checking its
// characters. Unless keep is set it only checks.
func decodeText(dst, raw []byte, keep bool) ([]byte, error) {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '&':
			semi := bytes.IndexByte(raw[i:], ';')
			if semi < 0 {
				return nil, errXML
			}
			r, ok := reference(raw[i+1 : i+semi])
			if !ok {
				return nil, errXML
			}
			if keep {
				dst = utf8.AppendRune(dst, r)
			}
			i += semi + 1
		case c == '\r':
			if keep {
				dst = append(dst, '\n')
			}
			i++
			if i < len(raw) && raw[i] == '\n' {
				i++
			}
		case c < utf8.RuneSelf:
			if !xmlChar(rune(c)) {
				return nil, errXML
			}
			if keep {
				dst = append(dst, c)
			}
			i++
		default:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 || !xmlChar(r) {
				return nil, errXML
			}
			if keep {
				dst = append(dst, raw[i:i+n]...)
			}
			i += n
		}
	}
	return dst, nil
}

// reference resolves the name of "&name;": a predefined entity or a
// character reference ("#65", "#x41") to a character XML allows.
func reference(name []byte) (rune, bool) {
	switch string(name) {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "apos":
		return '\'', true
	case "quot":
		return '"', true
	}
	if len(name) < 2 || name[0] != '#' {
		return 0, false
	}
	digits, base := name[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 || len(digits) > 8 {
		return 0, false
	}
	for _, d := range digits {
		if !('0' <= d && d <= '9' || base == 16 && ('a' <= d && d <= 'f' || 'A' <= d && d <= 'F')) {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(string(digits), base, 32)
	if err != nil || !xmlChar(rune(n)) {
		return 0, false
	}
	return rune(n), true
}

// xmlChar reports whether XML 1.0 allows r (its Char production).
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// checkChars checks that b is UTF-8 of characters XML allows.
func checkChars(b []byte) error {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || !xmlChar(r) {
			return errXML
		}
		i += n
	}
	return nil
}
