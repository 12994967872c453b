package azuresas

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Azure's limits on block blobs (service versions 2019-12-12 and later).
const (
	MaxBlocks       = 50000      // committed blocks in one blob
	MaxBlockSize    = 4000 << 20 // bytes in one Put Block
	MaxPutBlobSize  = 5000 << 20 // bytes in one Put Blob
	MaxBlobSize     = MaxBlocks * MaxBlockSize
	blockIDDigits   = 6 // BlockID's decimal digits
	clientSASExpiry = 5 * time.Minute
)

// BlockID returns the block ID of part n (1 to [MaxBlocks]): the base64 of
// n in six decimal digits, e.g. "MDAwMDAx" for part 1. Every block ID of a
// blob must have the same length, and these have no "+", "/" or "=" to
// escape in a URL. It panics for any other n.
func BlockID(n int) string {
	if n < 1 || n > MaxBlocks {
		panic("azuresas: BlockID of part " + strconv.Itoa(n))
	}
	var d [blockIDDigits]byte
	for i := blockIDDigits - 1; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return base64.StdEncoding.EncodeToString(d[:])
}

// PutBlockQuery is the query of a Put Block of part n, which goes before
// the SAS in the part's URL: BlobURL(endpoint, container, blob,
// PutBlockQuery(n)+"&"+sas). The block ID and comp are not signed: one SAS
// of [Write] serves every part.
func PutBlockQuery(n int) string { return "blockid=" + BlockID(n) + "&comp=block" }

// The header a client must send with Put Blob (a PUT without a comp), and
// its value for the blobs presign signs.
const (
	HeaderBlobType = "x-ms-blob-type"
	BlockBlob      = "BlockBlob"
)

// ParseBlockID returns the part number of a block ID that [BlockID] made,
// and false for any other ID (a block that presign did not sign).
func ParseBlockID(id string) (int, bool) {
	if len(id) != 8 {
		return 0, false
	}
	var d [blockIDDigits]byte
	if n, err := base64.StdEncoding.Strict().Decode(d[:], []byte(id)); err != nil || n != blockIDDigits {
		return 0, false
	}
	n := 0
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > MaxBlocks {
		return 0, false
	}
	return n, true
}

// Client makes the calls presign makes itself, server to server, on the
// blobs of one account: it reads a blob's properties and block list and
// commits a block list. Each request carries a SAS the Client signs for
// that one request and blob: the least permission it needs (r to read, w
// to commit), valid for 5 minutes (never past a user delegation key's
// expiry). So the account key never leaves the process (not even as a
// Shared Key signature over a request), and the same Client works with a
// user delegation key, with which Shared Key is impossible.
type Client struct {
	// Endpoint is the Blob service's base URL, as [NormalizeEndpoint]
	// returns it.
	Endpoint string
	Signer   *Signer
	HTTP     *http.Client     // nil: http.DefaultClient
	Now      func() time.Time // nil: time.Now; the SAS expiries count from it
}

// Error is an error answer of the Blob service.
type Error struct {
	Op         string // "GetBlobProperties", "PutBlockList", ...
	StatusCode int
	// Code is the service's error code (x-ms-error-code, else the body's
	// <Code>), e.g. "BlobNotFound", "BlobAlreadyExists",
	// "AuthorizationPermissionMismatch"; "" when it gave none.
	Code      string
	Message   string // the service's message (never a URL or a SAS)
	RequestID string // x-ms-request-id, for the account's operator
}

func (e *Error) Error() string {
	return fmt.Sprintf("azure blob: %s: %d %s: %s (request id %s)", e.Op, e.StatusCode, e.Code, e.Message, e.RequestID)
}

// Properties is what Get Blob Properties tells of a blob.
type Properties struct {
	Size         int64
	ContentType  string
	ETag         string // quoted, as the service sends it
	LastModified time.Time
	ContentMD5   []byte            // nil when the blob has none
	Metadata     map[string]string // by lower-case name, without x-ms-meta-
	BlobType     string            // "BlockBlob", "AppendBlob" or "PageBlob"
}

// GetProperties returns the properties of a blob (Get Blob Properties,
// HEAD). A missing blob is an *Error with StatusCode 404 and Code
// "BlobNotFound".
func (c *Client) GetProperties(ctx context.Context, container, blob string) (Properties, error) {
	const op = "GetBlobProperties"
	req, err := c.request(ctx, http.MethodHead, container, blob, "", Read, nil)
	if err != nil {
		return Properties{}, err
	}
	_, h, err := do(c.HTTP, req, op, http.StatusOK, 0)
	if err != nil {
		return Properties{}, err
	}
	p := Properties{
		ContentType: h.Get("Content-Type"),
		ETag:        h.Get("ETag"),
		BlobType:    h.Get("x-ms-blob-type"),
	}
	bad := func(what string) error {
		return &Error{Op: op, StatusCode: http.StatusOK, Message: "the answer's " + what + " is malformed", RequestID: h.Get("x-ms-request-id")}
	}
	if p.Size, err = strconv.ParseInt(h.Get("Content-Length"), 10, 64); err != nil || p.Size < 0 {
		return Properties{}, bad("Content-Length")
	}
	if p.LastModified, err = http.ParseTime(h.Get("Last-Modified")); err != nil {
		return Properties{}, bad("Last-Modified")
	}
	if md5 := h.Get("Content-MD5"); md5 != "" {
		if p.ContentMD5, err = base64.StdEncoding.DecodeString(md5); err != nil {
			return Properties{}, bad("Content-MD5")
		}
	}
	for name, vs := range h {
		if meta, ok := strings.CutPrefix(strings.ToLower(name), "x-ms-meta-"); ok && len(vs) > 0 {
			if p.Metadata == nil {
				p.Metadata = map[string]string{}
			}
			p.Metadata[meta] = vs[0]
		}
	}
	return p, nil
}

// CommitInput is a Put Block List: the blocks that become the blob.
type CommitInput struct {
	Container, Blob string
	// BlockIDs in the blob's order; each names the latest block uploaded
	// with that ID (uncommitted, else committed). All have the same length.
	// The blob's uncommitted blocks not named are discarded.
	BlockIDs []string
	// ContentType is sent as x-ms-blob-content-type: the blob's Content-Type
	// from then on. "" sets none (the service answers with
	// application/octet-stream).
	ContentType string
	// Metadata is sent as x-ms-meta-<name>; names are C# identifiers
	// (letters, digits and _, not starting with a digit), values ASCII
	// without control characters. It replaces the blob's metadata.
	Metadata map[string]string
	// IfNoneMatch sends If-None-Match: *, so that the service refuses (409
	// BlobAlreadyExists) to replace an existing blob.
	IfNoneMatch bool
}

// CommitResult is the blob that a Put Block List made.
type CommitResult struct {
	ETag         string // quoted
	LastModified time.Time
}

// PutBlockList commits a block list (PUT ?comp=blocklist), making the blob.
func (c *Client) PutBlockList(ctx context.Context, in CommitInput) (CommitResult, error) {
	const op = "PutBlockList"
	if len(in.BlockIDs) > MaxBlocks {
		return CommitResult{}, invalid("more than 50000 blocks")
	}
	var body bytes.Buffer
	body.WriteString(`<?xml version="1.0" encoding="utf-8"?><BlockList>`)
	for _, id := range in.BlockIDs {
		if d, err := base64.StdEncoding.DecodeString(id); err != nil || len(d) == 0 || len(d) > 64 || len(id) != len(in.BlockIDs[0]) {
			return CommitResult{}, invalid("block IDs: base64 of 1-64 bytes, all of the same length")
		}
		body.WriteString("<Latest>")
		body.WriteString(id) // base64: nothing to escape in XML
		body.WriteString("</Latest>")
	}
	body.WriteString("</BlockList>")
	if !cleanText(in.ContentType) {
		return CommitResult{}, invalid("content type: a control character or invalid UTF-8")
	}
	for name, v := range in.Metadata {
		if !identifier(name) || !printableASCII(v) {
			return CommitResult{}, invalid("metadata: names are C# identifiers, values printable ASCII")
		}
	}
	req, err := c.request(ctx, http.MethodPut, in.Container, in.Blob, "comp=blocklist", Write, &body)
	if err != nil {
		return CommitResult{}, err
	}
	req.Header.Set("Content-Type", "application/xml")
	if in.ContentType != "" {
		req.Header.Set("x-ms-blob-content-type", in.ContentType)
	}
	for name, v := range in.Metadata {
		req.Header["x-ms-meta-"+name] = []string{v}
	}
	if in.IfNoneMatch {
		req.Header.Set("If-None-Match", "*")
	}
	_, h, err := do(c.HTTP, req, op, http.StatusCreated, maxSmallBody)
	if err != nil {
		return CommitResult{}, err
	}
	r := CommitResult{ETag: h.Get("ETag")}
	r.LastModified, _ = http.ParseTime(h.Get("Last-Modified"))
	return r, nil
}

// Block is one block of a blob's block list.
type Block struct {
	ID   string // base64, as uploaded
	Size int64
}

// BlockList is a blob's blocks: those of its committed content, in order,
// and those uploaded since and not yet committed (the parts of an upload in
// progress), in the order the service lists them.
type BlockList struct {
	Committed, Uncommitted []Block
}

// GetBlockList returns a blob's committed and uncommitted blocks (GET
// ?comp=blocklist&blocklisttype=all). A blob that has neither is an *Error
// with StatusCode 404 and Code "BlobNotFound".
func (c *Client) GetBlockList(ctx context.Context, container, blob string) (BlockList, error) {
	const op = "GetBlockList"
	req, err := c.request(ctx, http.MethodGet, container, blob, "blocklisttype=all&comp=blocklist", Read, nil)
	if err != nil {
		return BlockList{}, err
	}
	data, h, err := do(c.HTTP, req, op, http.StatusOK, maxBlockListBody)
	if err != nil {
		return BlockList{}, err
	}
	bl, err := parseBlockList(data)
	if err != nil {
		return BlockList{}, &Error{Op: op, StatusCode: http.StatusOK, Message: err.Error(), RequestID: h.Get("x-ms-request-id")}
	}
	return bl, nil
}

type blockListXML struct {
	XMLName     xml.Name   `xml:"BlockList"`
	Committed   []blockXML `xml:"CommittedBlocks>Block"`
	Uncommitted []blockXML `xml:"UncommittedBlocks>Block"`
}

type blockXML struct {
	Name string `xml:"Name"`
	Size int64  `xml:"Size"`
}

// parseBlockList parses the body of Get Block List's answer.
func parseBlockList(body []byte) (BlockList, error) {
	var x blockListXML
	if err := xml.Unmarshal(body, &x); err != nil {
		return BlockList{}, errString("the block list is not the XML of a BlockList")
	}
	conv := func(bs []blockXML) ([]Block, error) {
		if len(bs) == 0 {
			return nil, nil
		}
		out := make([]Block, len(bs))
		for i, b := range bs {
			if b.Name == "" || b.Size < 0 {
				return nil, errString("the block list has a block without a name or with a negative size")
			}
			out[i] = Block{ID: b.Name, Size: b.Size}
		}
		return out, nil
	}
	var bl BlockList
	var err error
	if bl.Committed, err = conv(x.Committed); err != nil {
		return BlockList{}, err
	}
	if bl.Uncommitted, err = conv(x.Uncommitted); err != nil {
		return BlockList{}, err
	}
	return bl, nil
}

// request builds a request on one blob with a SAS of perm for it; query,
// when not "", comes before the SAS.
func (c *Client) request(ctx context.Context, method, container, blob, query string, perm Permissions, body io.Reader) (*http.Request, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	t := now()
	expiry := t.Add(clientSASExpiry)
	if ke := c.Signer.KeyExpiry(); !ke.IsZero() && expiry.After(ke) {
		if !ke.After(t) {
			return nil, invalid("the user delegation key has expired")
		}
		expiry = ke
	}
	sas, err := c.Signer.Sign(Values{Container: container, Blob: blob, Permissions: perm, Expiry: expiry})
	if err != nil {
		return nil, err
	}
	if query != "" {
		sas = query + "&" + sas
	}
	req, err := http.NewRequestWithContext(ctx, method, BlobURL(c.Endpoint, container, blob, sas), body)
	if err != nil {
		return nil, invalid("endpoint: not a URL")
	}
	req.Header.Set("x-ms-version", Version)
	return req, nil
}

const (
	maxSmallBody     = 1 << 20
	maxBlockListBody = 64 << 20 // 150,000 blocks (committed and uncommitted) of 64-byte IDs
)

// do sends req and returns the body (at most max bytes) and headers of an
// answer with status want, or an *Error. A transport error loses its URL,
// which holds a SAS.
func do(hc *http.Client, req *http.Request, op string, want, max int) ([]byte, http.Header, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nil, fmt.Errorf("azure blob: %s: %w", op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxSmallBody))
		return nil, nil, answerError(op, resp, data)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(max)+1))
	if err != nil {
		return nil, nil, fmt.Errorf("azure blob: %s: reading the answer: %w", op, err)
	}
	if len(data) > max {
		return nil, nil, &Error{Op: op, StatusCode: resp.StatusCode, Message: "the answer is too long", RequestID: resp.Header.Get("x-ms-request-id")}
	}
	return data, resp.Header, nil
}

// answerError makes the *Error of an answer with an unexpected status.
func answerError(op string, resp *http.Response, body []byte) *Error {
	e := &Error{Op: op, StatusCode: resp.StatusCode, Code: resp.Header.Get("x-ms-error-code"), RequestID: resp.Header.Get("x-ms-request-id")}
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(body, &x) == nil {
		if e.Code == "" {
			e.Code = x.Code
		}
		e.Message = x.Message
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// identifier reports whether s is a C# identifier of ASCII letters, digits
// and _, as metadata names must be.
func identifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
