package presign

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The S3 store's XML, by hand: a reader of the four documents the store
// reads (S3's answers InitiateMultipartUploadResult, ListPartsResult,
// CompleteMultipartUploadResult and Error) and a writer of the one it sends
// (CompleteMultipartUpload). encoding/xml would do both, but it is some
// 72 KB of code in the Lambda function for these five small documents
// (docs/benchmarks.md, "The store's XML: by hand").
//
// The reader takes XML 1.0 as stores send it: an XML declaration and other
// processing instructions, comments, white space, CDATA sections, attributes
// anywhere (skipped, namespace declarations among them), self-closing
// elements, the five predefined entities and character references. Elements
// are matched by local name, whatever their prefix, as encoding/xml matches
// a field that names no namespace, and a field's text is what encoding/xml
// reads into a string: the element's own character data (not its children's),
// references replaced and line ends normalized to "\n"; of an element given
// twice, the last. It refuses what is not well-formed — mismatched or unclosed
// elements, an unknown entity or a malformed reference, text or elements
// outside the root, invalid UTF-8 or a character XML does not allow — and any
// DOCTYPE or other declaration, and nests at most maxXMLDepth deep. It does
// not check what the store does not depend on: an XML declaration's version
// and encoding, and which non-ASCII characters a name may hold (any, here).
// It reads each byte a bounded number of times and allocates in proportion
// to the document: the caller bounds the document's size.

// maxXMLDepth bounds how deep a document read by the store may nest: S3's
// are three elements deep.
const maxXMLDepth = 64

// xmlElement is an element of a document, as scanXML reports it once it ends.
type xmlElement struct {
	depth  int    // 0 for the root
	name   []byte // local name: without its prefix
	parent []byte // local name of the parent; nil for the root
	// text is the element's character data, children's left out,
	// references replaced and line ends normalized; valid until the call
	// returns.
	text []byte
}

// xmlOpen is an element whose end tag is still to come.
type xmlOpen struct {
	qname, name, text []byte // name is qname's local part
}

type xmlScanner struct {
	doc     []byte
	i       int // position of the next byte to read
	stack   []xmlOpen
	scratch []byte // attribute values, decoded to be checked
	end     func(*xmlElement) error
}

// scanXML reads the XML document doc and calls end for each element as it
// ends (children before their parents). It returns the root element's local
// name, known once the root's start tag is read (so also when the document
// is malformed further on), and the first error: malformed XML, or end's.
// With end nil, scanXML stops after the root's start tag.
func scanXML(doc []byte, end func(*xmlElement) error) (root string, err error) {
	s := &xmlScanner{doc: doc, end: end}
	if bytes.HasPrefix(doc, []byte("\uFEFF")) { // a byte order mark
		s.i = 3
	}
	if err := s.misc(); err != nil {
		return "", err
	}
	if s.i == len(doc) {
		return "", s.fail("no root element")
	}
	if doc[s.i] != '<' {
		return "", s.fail("text before the root element")
	}
	qname, name, empty, err := s.startTag()
	if err == nil {
		err = s.checkChars(0, s.i)
	}
	if err != nil {
		return "", err
	}
	root = string(name)
	if end == nil {
		return root, nil
	}
	if err := s.checkChars(s.i, len(doc)); err != nil {
		return root, err
	}
	if err := s.content(qname, name, empty); err != nil {
		return root, err
	}
	if err := s.misc(); err != nil {
		return root, err
	}
	if s.i < len(doc) {
		return root, s.fail("content after the root element")
	}
	return root, nil
}

func (s *xmlScanner) fail(msg string) error {
	return fmt.Errorf("XML syntax error at byte %d: %s", s.i, msg)
}

func (s *xmlScanner) has(prefix string) bool {
	return bytes.HasPrefix(s.doc[s.i:], []byte(prefix))
}

// content reads the root element, whose start tag has just been read, to
// its end tag.
func (s *xmlScanner) content(qname, name []byte, empty bool) error {
	for {
		if qname != nil {
			if err := s.open(qname, name); err != nil {
				return err
			}
			if empty {
				if err := s.close(); err != nil {
					return err
				}
			}
			qname = nil
		}
		if len(s.stack) == 0 {
			return nil
		}
		top := &s.stack[len(s.stack)-1]
		k := bytes.IndexByte(s.doc[s.i:], '<')
		if k < 0 {
			s.i = len(s.doc)
			return s.fail("unclosed element <" + string(top.qname) + ">")
		}
		raw := s.doc[s.i : s.i+k]
		if bytes.Contains(raw, []byte("]]>")) {
			return s.fail(`"]]>" in text`)
		}
		var ok bool
		if top.text, ok = appendXMLText(top.text, raw); !ok {
			return s.fail("unknown entity or malformed character reference")
		}
		s.i += k
		var err error
		switch {
		case s.has("</"):
			s.i += 2
			var q []byte
			if q, _, err = s.name(); err != nil {
				return err
			}
			if !bytes.Equal(q, top.qname) {
				return s.fail("element <" + string(top.qname) + "> closed by </" + string(q) + ">")
			}
			s.space()
			if !s.has(">") {
				return s.fail("expected > after </" + string(q))
			}
			s.i++
			err = s.close()
		case s.has("<![CDATA["):
			s.i += len("<![CDATA[")
			k := bytes.Index(s.doc[s.i:], []byte("]]>"))
			if k < 0 {
				s.i = len(s.doc)
				return s.fail("unclosed CDATA section")
			}
			top.text = appendXMLLines(top.text, s.doc[s.i:s.i+k])
			s.i += k + len("]]>")
		case s.has("<!--"):
			err = s.comment()
		case s.has("<?"):
			err = s.procInst()
		case s.has("<!"):
			err = s.fail("<! neither a comment nor CDATA: a declaration")
		default:
			qname, name, empty, err = s.startTag()
		}
		if err != nil {
			return err
		}
	}
}

// open pushes a started element.
func (s *xmlScanner) open(qname, name []byte) error {
	n := len(s.stack)
	if n == maxXMLDepth {
		return s.fail("elements nested too deep")
	}
	if n < cap(s.stack) {
		s.stack = s.stack[:n+1] // reusing the text buffer left there
	} else {
		s.stack = append(s.stack, xmlOpen{})
	}
	o := &s.stack[n]
	o.qname, o.name, o.text = qname, name, o.text[:0]
	return nil
}

// close pops the element that ended, and reports it.
func (s *xmlScanner) close() error {
	n := len(s.stack) - 1
	e := xmlElement{depth: n, name: s.stack[n].name, text: s.stack[n].text}
	if n > 0 {
		e.parent = s.stack[n-1].name
	}
	s.stack = s.stack[:n]
	return s.end(&e)
}

// misc skips what may come before and after the root element: white space,
// comments and processing instructions (the XML declaration is one).
func (s *xmlScanner) misc() error {
	for {
		s.space()
		var err error
		switch {
		case s.has("<!--"):
			err = s.comment()
		case s.has("<?"):
			err = s.procInst()
		case s.has("<!"):
			err = s.fail("<! outside the root element: a DOCTYPE, a declaration or CDATA")
		default:
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (s *xmlScanner) space() bool {
	start := s.i
	for s.i < len(s.doc) && isXMLSpace(s.doc[s.i]) {
		s.i++
	}
	return s.i > start
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// comment skips a comment, from its "<!--".
func (s *xmlScanner) comment() error {
	s.i += len("<!--")
	k := bytes.Index(s.doc[s.i:], []byte("--"))
	if k < 0 {
		s.i = len(s.doc)
		return s.fail("unclosed comment")
	}
	s.i += k + 2
	if !s.has(">") {
		return s.fail(`"--" in a comment`)
	}
	s.i++
	return nil
}

// procInst skips a processing instruction, from its "<?".
func (s *xmlScanner) procInst() error {
	s.i += len("<?")
	if _, _, err := s.name(); err != nil {
		return err
	}
	k := bytes.Index(s.doc[s.i:], []byte("?>"))
	if k < 0 {
		s.i = len(s.doc)
		return s.fail("unclosed processing instruction")
	}
	s.i += k + len("?>")
	return nil
}

// name reads a name: ASCII letters, digits, '_', '-', '.' and any non-ASCII
// character, not starting with a digit, '-' or '.', and at most one ':',
// between a prefix and the local name.
func (s *xmlScanner) name() (qname, local []byte, err error) {
	start := s.i
	for s.i < len(s.doc) {
		c := s.doc[s.i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == ':' || c >= utf8.RuneSelf ||
			s.i > start && ('0' <= c && c <= '9' || c == '-' || c == '.')) {
			break
		}
		s.i++
	}
	qname = s.doc[start:s.i]
	local = qname
	if k := bytes.IndexByte(qname, ':'); k >= 0 {
		local = qname[k+1:]
		if k == 0 || len(local) == 0 || bytes.IndexByte(local, ':') >= 0 {
			return nil, nil, s.fail("malformed name " + strconv.Quote(string(qname)))
		}
	}
	if len(qname) == 0 {
		return nil, nil, s.fail("expected a name")
	}
	return qname, local, nil
}

// startTag reads a start tag, from its '<'. Attributes are skipped, their
// values checked.
func (s *xmlScanner) startTag() (qname, name []byte, empty bool, err error) {
	s.i++
	if qname, name, err = s.name(); err != nil {
		return nil, nil, false, err
	}
	for {
		sp := s.space()
		switch {
		case s.has(">"):
			s.i++
			return qname, name, false, nil
		case s.has("/>"):
			s.i += 2
			return qname, name, true, nil
		case s.i == len(s.doc):
			return nil, nil, false, s.fail("unclosed start tag <" + string(qname))
		case !sp:
			return nil, nil, false, s.fail("expected white space, > or /> in <" + string(qname))
		}
		if err := s.attribute(); err != nil {
			return nil, nil, false, err
		}
	}
}

// attribute skips an attribute: name="value" or name='value'.
func (s *xmlScanner) attribute() error {
	if _, _, err := s.name(); err != nil {
		return err
	}
	s.space()
	if !s.has("=") {
		return s.fail("attribute without a value")
	}
	s.i++
	s.space()
	if !s.has(`"`) && !s.has("'") {
		return s.fail("attribute value not quoted")
	}
	q := s.doc[s.i]
	s.i++
	k := bytes.IndexByte(s.doc[s.i:], q)
	if k < 0 {
		s.i = len(s.doc)
		return s.fail("unclosed attribute value")
	}
	v := s.doc[s.i : s.i+k]
	var ok bool
	if s.scratch, ok = appendXMLText(s.scratch[:0], v); !ok || bytes.IndexByte(v, '<') >= 0 {
		return s.fail("malformed attribute value")
	}
	s.i += k + 1
	return nil
}

// checkChars refuses invalid UTF-8 and characters XML does not allow in
// s.doc[from:to].
func (s *xmlScanner) checkChars(from, to int) error {
	for i := from; i < to; {
		if c := s.doc[i]; c >= 0x20 && c < utf8.RuneSelf || c == '\t' || c == '\n' || c == '\r' {
			i++
			continue
		}
		r, n := utf8.DecodeRune(s.doc[i:to])
		if r == utf8.RuneError && n == 1 || !isXMLChar(r) {
			s.i = i
			return s.fail("invalid UTF-8 or a character XML does not allow")
		}
		i += n
	}
	return nil
}

// isXMLChar reports whether XML 1.0 allows r (its production Char).
func isXMLChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= utf8.MaxRune
}

// appendXMLText appends the character data raw to dst with its references
// replaced and its line ends normalized. ok is false for an unknown entity,
// a malformed reference or one to a character XML does not allow.
func appendXMLText(dst, raw []byte) (_ []byte, ok bool) {
	for {
		k := bytes.IndexByte(raw, '&')
		if k < 0 {
			return appendXMLLines(dst, raw), true
		}
		dst = appendXMLLines(dst, raw[:k])
		raw = raw[k+1:]
		semi := bytes.IndexByte(raw, ';')
		if semi < 0 {
			return dst, false
		}
		r := xmlReference(raw[:semi])
		if r < 0 {
			return dst, false
		}
		dst = utf8.AppendRune(dst, r)
		raw = raw[semi+1:]
	}
}

// xmlReference returns the character the reference &ref; stands for, or -1.
func xmlReference(ref []byte) rune {
	switch string(ref) {
	case "lt":
		return '<'
	case "gt":
		return '>'
	case "amp":
		return '&'
	case "apos":
		return '\''
	case "quot":
		return '"'
	}
	base := 10
	digits, ok := bytes.CutPrefix(ref, []byte("#"))
	if !ok {
		return -1
	}
	if hex, ok := bytes.CutPrefix(digits, []byte("x")); ok {
		digits, base = hex, 16
	}
	n, err := strconv.ParseUint(string(digits), base, 32)
	if err != nil || n > utf8.MaxRune || !isXMLChar(rune(n)) {
		return -1
	}
	return rune(n)
}

// appendXMLLines appends raw to dst with "\r\n" and "\r" made "\n".
func appendXMLLines(dst, raw []byte) []byte {
	for {
		k := bytes.IndexByte(raw, '\r')
		if k < 0 {
			return append(dst, raw...)
		}
		dst = append(append(dst, raw[:k]...), '\n')
		raw = raw[k+1:]
		if len(raw) > 0 && raw[0] == '\n' {
			raw = raw[1:]
		}
	}
}

// rootElement returns the local name of the document's root element, or ""
// when it has none (or what precedes it is not XML).
func rootElement(doc []byte) string {
	root, _ := scanXML(doc, nil)
	return root
}

// xmlInt reads an integer element as encoding/xml does: empty is 0, and
// white space around the number is trimmed.
func xmlInt(e *xmlElement, bits int) (int64, error) {
	if len(e.text) == 0 {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(e.text)), 10, bits)
	if err != nil {
		return 0, fmt.Errorf("<%s>: %w", e.name, err)
	}
	return n, nil
}

// xmlBool reads a boolean element as encoding/xml does (strconv.ParseBool).
func xmlBool(e *xmlElement) (bool, error) {
	if len(e.text) == 0 {
		return false, nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(string(e.text)))
	if err != nil {
		return false, fmt.Errorf("<%s>: %w", e.name, err)
	}
	return b, nil
}

// setChecksum sets the checksum of e if it is a Checksum<algorithm> element.
func (c *xmlChecksums) setChecksum(e *xmlElement) {
	if alg, ok := bytes.CutPrefix(e.name, []byte("Checksum")); ok {
		for i, a := range checksumAlgorithms {
			if string(alg) == a {
				*c.fields()[i] = string(e.text)
			}
		}
	}
}

// read reads InitiateMultipartUploadResult.
func (r *initiateResult) read(doc []byte) error {
	_, err := scanXML(doc, func(e *xmlElement) error {
		if e.depth == 1 && string(e.name) == "UploadId" {
			r.UploadID = string(e.text)
		}
		return nil
	})
	return err
}

// read reads a ListPartsResult.
func (r *listPartsResult) read(doc []byte) error {
	var p listedPart // the <Part> being read
	_, err := scanXML(doc, func(e *xmlElement) (err error) {
		var n int64
		switch {
		case e.depth == 2 && string(e.parent) == "Part":
			switch string(e.name) {
			case "PartNumber":
				n, err = xmlInt(e, strconv.IntSize)
				p.PartNumber = int(n)
			case "Size":
				p.Size, err = xmlInt(e, 64)
			case "ETag":
				p.ETag = string(e.text)
			case "LastModified":
				p.LastModified = string(e.text)
			default:
				p.setChecksum(e)
			}
		case e.depth != 1:
		case string(e.name) == "Part":
			r.Parts = append(r.Parts, p)
			p = listedPart{}
		case string(e.name) == "IsTruncated":
			r.IsTruncated, err = xmlBool(e)
		case string(e.name) == "NextPartNumberMarker":
			n, err = xmlInt(e, strconv.IntSize)
			r.NextPartNumberMarker = int(n)
		}
		return err
	})
	return err
}

// read reads a CompleteMultipartUploadResult.
func (r *completeResult) read(doc []byte) error {
	_, err := scanXML(doc, func(e *xmlElement) error {
		if e.depth == 1 {
			if string(e.name) == "ETag" {
				r.ETag = string(e.text)
			} else {
				r.setChecksum(e)
			}
		}
		return nil
	})
	return err
}

// read reads an Error document: its root must be <Error>.
func (r *errorBody) read(doc []byte) error {
	root, err := scanXML(doc, func(e *xmlElement) error {
		if e.depth == 1 {
			switch string(e.name) {
			case "Code":
				r.Code = string(e.text)
			case "Message":
				r.Message = string(e.text)
			case "RequestId":
				r.RequestID = string(e.text)
			}
		}
		return nil
	})
	if err == nil && root != "Error" {
		err = fmt.Errorf("expected element <Error>, not <%s>", root)
	}
	return err
}

// appendCompleteRequest appends CompleteMultipartUpload's body, as
// encoding/xml would marshal it: each part's checksums set, ETag and
// PartNumber.
func appendCompleteRequest(b []byte, parts []completePart) []byte {
	b = append(b, `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`...)
	for i := range parts {
		p := &parts[i]
		b = append(b, "<Part>"...)
		for j, f := range p.fields() {
			if *f != "" {
				b = appendXMLElement(b, "Checksum"+checksumAlgorithms[j], *f)
			}
		}
		b = appendXMLElement(b, "ETag", p.ETag)
		b = appendXMLElement(b, "PartNumber", strconv.Itoa(p.PartNumber))
		b = append(b, "</Part>"...)
	}
	return append(b, "</CompleteMultipartUpload>"...)
}

// appendXMLElement appends <name>text</name>, text escaped.
func appendXMLElement(b []byte, name, text string) []byte {
	b = append(append(append(b, '<'), name...), '>')
	b = appendXMLEscaped(b, text)
	return append(append(append(b, "</"...), name...), '>')
}

// appendXMLEscaped appends s escaped as xml.EscapeText does: &, <, >, " and
// ', tab and line ends as references, and invalid UTF-8 and characters XML
// does not allow as U+FFFD.
func appendXMLEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		var esc string
		switch r {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case '\t':
			esc = "&#x9;"
		case '\n':
			esc = "&#xA;"
		case '\r':
			esc = "&#xD;"
		default:
			if r == utf8.RuneError && n == 1 || !isXMLChar(r) {
				esc = "\uFFFD"
			} else {
				esc = s[i : i+n]
			}
		}
		b = append(b, esc...)
		i += n
	}
	return b
}
