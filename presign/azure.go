package presign

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"presign.dev/azuresas"
)

// Azure Blob Storage (kind azure): grants are blob URLs with a service
// shared access signature (SAS) signed with the storage account's key
// (Backend.Credentials: AccessKeyID is the account name, SecretAccessKey
// its key; Bucket is the container; Endpoint the Blob service's base URL),
// or with a user delegation SAS signed with a user delegation key of the
// account (Backend.AzureKeys, with the account name alone in Credentials),
// each URL's lifetime then clamped to the key's expiry. Presign's own
// calls to the store are signed the same way.
//
// A SAS binds the blob, the permissions (read, create, write, delete), the
// expiry, the protocol and the headers of a download's response — nothing
// of the request's headers or body. So on Azure:
//
//   - get signs Read (with rscd for a download name), head Read, delete
//     Delete; put signs Write, or Create alone when the rule forbids
//     overwrite: Azure refuses Create over an existing blob (403
//     AuthorizationPermissionMismatch). The put's headers are
//     x-ms-blob-type: BlockBlob, the content type and metadata to send;
//     the store does not check them.
//   - No signed size or type on single uploads: a rule that caps sizes (or
//     a quota) or limits types cannot allow put; a multipart upload is the
//     alternative: presign checks the blocks' sizes before it commits them,
//     and sets the content type and metadata itself.
//   - No POST forms, no listings (a container SAS cannot pin a prefix), no
//     checksum headers; content_md5 is refused (a SAS cannot require
//     Content-MD5).
//   - Multipart uploads are block uploads: each part URL is a Put Block with
//     a Write SAS of the blob, and presign commits the blocks (Put Block
//     List) with If-None-Match: * where the rule forbids overwrite. The
//     Write SAS of a part's URL also lets its holder commit blocks or
//     replace the blob itself, without presign, until the URL expires:
//     presign's checks bind what presign commits and reports, not what a
//     client does with a part URL on its own (see the README).
//
// Metadata names on Azure are C# identifiers: presign's stamp is stored as
// presign_upload, and a request's metadata names may not hold '-' nor
// start with a digit or presign_.

func init() {
	kinds[KindAzure] = kind{
		withDefaults: azureWithDefaults,
		validate:     azureValidate,
		capabilities: func(Backend) Capabilities { return azureCapabilities },
		newSigner:    func(b Backend) (urlSigner, error) { return newAzureSigner(b) },
		newStore:     func(b Backend, o StoreOptions) (Store, error) { return newAzureStore(b, o) },
	}
}

// azureCapabilities is what Azure Blob Storage enforces of what presign
// signs (see the comment above; Azurite 3.37.0 is the store tested). A SAS
// may be valid for longer than 7 days, but no presign grant is.
var azureCapabilities = Capabilities{ConditionalPut: true, ConditionalComplete: true, Multipart: true, MaxExpires: 7 * 24 * time.Hour}

// azureEndpoint is the Blob service endpoint of an account in Azure's
// public cloud.
func azureEndpoint(account string) string { return "https://" + account + ".blob.core.windows.net" }

// azureWithDefaults fills in an azure backend's endpoint (the account's in
// Azure's public cloud).
func azureWithDefaults(b Backend) Backend {
	if b.Endpoint == "" && azuresas.ValidateAccountName(b.Credentials.AccessKeyID) == nil {
		b.Endpoint = azureEndpoint(b.Credentials.AccessKeyID)
	}
	return b
}

// azureValidate checks what an azure backend needs: the account's name and
// key (which must decode; no problem quotes it), an endpoint, a container,
// and none of the other kinds' fields.
func azureValidate(b Backend, ps *Problems) {
	for _, f := range []struct{ field, value string }{
		{"provider", string(b.Provider)}, {"region", b.Region}, {"path_style", string(b.PathStyle)},
		{"service_account_key", b.ServiceAccountKey}, {"session_token", b.Credentials.SessionToken},
	} {
		if f.value != "" {
			ps.Addf(f.field, "does not apply to kind azure (a storage account signs with its name and key); remove it")
		}
	}
	switch {
	case b.CredentialSource != nil:
		ps.Addf("credentials.source", "kind azure signs with the storage account's key (account_name, account_key); credential sources are AWS's")
	case b.AzureKeys != nil:
		// User delegation keys of the account sign.
		switch name := b.Credentials.AccessKeyID; {
		case name == "":
			ps.Addf("account_name", "required: the storage account whose user delegation keys sign")
		case azuresas.ValidateAccountName(name) != nil:
			ps.Addf("account_name", "%q is not a storage account name: 3 to 24 lower-case letters and digits", name)
		}
		if b.Credentials.SecretAccessKey != "" {
			ps.Addf("account_key", "user delegation keys sign here (credentials): give no account key")
		}
		if u, err := url.Parse(b.Endpoint); err == nil && u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
			// Getting a key sends the Entra ID token to the endpoint.
			ps.Addf("endpoint", "http would send the Entra ID token in clear text: use https (http only on a loopback address, as for Azurite)")
		}
	default:
		switch name := b.Credentials.AccessKeyID; {
		case name == "":
			ps.Addf("account_name", "required: the storage account whose key signs")
		case azuresas.ValidateAccountName(name) != nil:
			ps.Addf("account_name", "%q is not a storage account name: 3 to 24 lower-case letters and digits", name)
		}
		switch {
		case b.Credentials.SecretAccessKey == "":
			ps.Addf("account_key", "required: one of the storage account's access keys (base64)")
		default:
			if _, err := azuresas.ParseAccountKey("key", b.Credentials.SecretAccessKey); err != nil {
				// azuresas's errors never quote the key.
				ps.Addf("account_key", "%s", strings.TrimPrefix(err.Error(), azuresas.ErrInvalid.Error()+": the "))
			}
		}
	}
	// An empty endpoint is the default's, missing only with an account name
	// that is not one (a problem already).
	if b.Endpoint != "" {
		if _, err := azuresas.NormalizeEndpoint(b.Endpoint); err != nil {
			ps.Addf("endpoint", "%s is not the Blob service's URL, like https://ACCOUNT.blob.core.windows.net or http://127.0.0.1:10000/ACCOUNT (no query, fragment or user info)", QuoteURL(b.Endpoint))
		}
	}
	if b.Bucket == "" {
		ps.Addf("bucket", "required: the container to presign for")
	} else if err := azuresas.ValidateContainer(b.Bucket); err != nil {
		ps.Addf("bucket", "%q is not a container name: 3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit", b.Bucket)
	}
}

// azureSigner signs SAS URLs for the blobs of one container: service SAS
// with the account key, or user delegation SAS with the current user
// delegation key (Backend.AzureKeys), each URL then clamped to the key's
// expiry.
type azureSigner struct {
	name      string // the backend's, for messages
	endpoint  string // normalized
	container string
	protocol  azuresas.Protocol // https only when the endpoint is https
	keys      azureKeys
}

// azureAccount returns what both the signer and the store of b need: the
// Blob service's endpoint, normalized, and the keys that sign.
func azureAccount(b Backend) (endpoint string, keys azureKeys, err error) {
	if endpoint, err = azuresas.NormalizeEndpoint(b.Endpoint); err != nil {
		return "", azureKeys{}, err
	}
	keys, err = newAzureKeys(b)
	return endpoint, keys, err
}

func newAzureSigner(b Backend) (*azureSigner, error) {
	endpoint, keys, err := azureAccount(b)
	if err != nil {
		return nil, err
	}
	s := &azureSigner{name: b.Name, endpoint: endpoint, container: b.Bucket, keys: keys}
	if strings.HasPrefix(endpoint, "https:") {
		s.protocol = azuresas.ProtocolHTTPS
	}
	return s, nil
}

// Metadata on Azure: names are C# identifiers, so presign's stamp
// (stampMetadata) is stored under azureStampMetadata.
const azureStampMetadata = "presign_upload"

// azureOwnMetadata prefixes the metadata names presign sets on Azure: no
// request may set one.
const azureOwnMetadata = "presign_"

// azureMetadataName returns the Azure name of metadata name.
func azureMetadataName(name string) string {
	if name == stampMetadata {
		return azureStampMetadata
	}
	return name
}

func (s *azureSigner) unsupported(what, instead string) error {
	return Errorf(CodeUnsupported, "backend %q cannot sign %s: its store (azure) does not enforce it; %s", s.name, what, instead)
}

// check refuses what a SAS cannot grant: keys Azure would store under
// another name, metadata names that are not Azure's, content_md5, and a
// multipart upload whose content type and metadata (which its upload ID
// carries) are too long for its token.
func (s *azureSigner) check(r Request, dec Decision) error {
	switch r.Op {
	case OpPost, OpList:
		return s.unsupported(string(r.Op), "use put, get or a multipart upload")
	}
	if err := azuresas.ValidateBlobName(r.Key); err != nil {
		return Errorf(CodeInvalidArgument, "key %q cannot be a blob name on Azure: %s", r.Key, strings.TrimPrefix(err.Error(), azuresas.ErrInvalid.Error()+": "))
	}
	for name := range r.Metadata {
		switch {
		case strings.Contains(name, "-") || name[0] >= '0' && name[0] <= '9':
			return Errorf(CodeInvalidArgument, "metadata name %q is not an Azure metadata name: letters, digits and '_', not starting with a digit", name)
		case strings.HasPrefix(name, azureOwnMetadata):
			return Errorf(CodeInvalidArgument, "metadata name %q is refused: names starting with %q are presign's own on Azure (the stamp of a verified upload)", name, azureOwnMetadata)
		}
	}
	if r.ContentMD5 != "" {
		return s.unsupported("content_md5", "a SAS cannot require Content-MD5: send none (a client may send its own Content-MD5 header, which Azure then checks)")
	}
	if r.Op == OpMultipart {
		ct := cmpOr(r.ContentType, defaultContentType)
		md := make(map[string]string, len(r.Metadata)+1)
		for k, v := range r.Metadata {
			md[k] = v
		}
		md[stampMetadata] = "0123456789abcdef" // a stamp's length
		if n := len(azureUploadID(ct, md)); n > maxAzureUploadID {
			return Errorf(CodeTooLarge, "on Azure, a multipart upload's content type and metadata travel in its token: they take %d bytes there, and at most %d fit", n, maxAzureUploadID)
		}
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// values returns the SAS values of key for the lifetime expires from now
// (the expiry in whole seconds, as a SAS signs it).
func (s *azureSigner) values(key string, perm azuresas.Permissions, now time.Time, expires time.Duration) azuresas.Values {
	return azuresas.Values{Container: s.container, Blob: key, Permissions: perm, Expiry: now.Add(expires).Truncate(time.Second), Protocol: s.protocol}
}

// url signs v with sg and returns the blob's URL with the SAS, query (if
// any) before it.
func (s *azureSigner) url(sg *azuresas.Signer, v azuresas.Values, query string) (string, error) {
	sas, err := sg.Sign(v)
	if err != nil {
		return "", Errorf(CodeInvalidArgument, "cannot sign this for Azure: %s", strings.TrimPrefix(err.Error(), azuresas.ErrInvalid.Error()+": "))
	}
	if query != "" {
		sas = query + "&" + sas
	}
	return azuresas.BlobURL(s.endpoint, v.Container, v.Blob, sas), nil
}

func (s *azureSigner) sign(ctx context.Context, r Request, dec Decision, now time.Time, expires time.Duration, _ int64) (Grant, error) {
	sg, expires, err := s.keys.signerFor(ctx, now, expires)
	if err != nil {
		return Grant{}, err
	}
	g := Grant{ExpiresAt: now.Add(expires).UTC().Truncate(time.Second)}
	var v azuresas.Values
	switch r.Op {
	case OpGet:
		g.Method = http.MethodGet
		v = s.values(r.Key, azuresas.Read, now, expires)
		if r.Filename != "" {
			v.ContentDisposition = ContentDisposition(r.Filename)
		}
	case OpHead:
		g.Method = http.MethodHead
		v = s.values(r.Key, azuresas.Read, now, expires)
	case OpDelete:
		g.Method = http.MethodDelete
		v = s.values(r.Key, azuresas.Delete, now, expires)
	case OpPut:
		g.Method = http.MethodPut
		perm := azuresas.Write
		g.Headers = make(map[string]string, 3+len(r.Metadata))
		g.Headers[azuresas.HeaderBlobType] = azuresas.BlockBlob
		if dec.NoOverwrite {
			// Create alone: Azure refuses it over an existing blob, whatever
			// the client sends. If-None-Match makes the refusal a 409.
			perm = azuresas.Create
			g.Headers["If-None-Match"] = "*"
		}
		if r.ContentType != "" {
			g.Headers["Content-Type"] = r.ContentType
		}
		for name, value := range r.Metadata {
			g.Headers["x-ms-meta-"+azureMetadataName(name)] = value
		}
		v = s.values(r.Key, perm, now, expires)
	default:
		return Grant{}, s.unsupported(string(r.Op), "use put, get, head, delete or a multipart upload")
	}
	u, err := s.url(sg, v, "")
	if err != nil {
		return Grant{}, err
	}
	g.URL = u
	return g, nil
}

// signPart presigns the Put Block of part p.PartNumber: PUT
// ?blockid=<its block ID>&comp=block with a Write SAS of the blob. Nothing
// of the part is signed (neither its size nor its block ID): presign checks
// the blocks' sizes at complete.
func (s *azureSigner) signPart(ctx context.Context, p uploadPart, now time.Time, expires time.Duration) (Grant, error) {
	switch {
	case p.ChecksumSHA256 != "" || p.ChecksumCRC64NVME != "":
		return Grant{}, s.unsupported("a part's checksum", "sign the parts without checksums")
	case p.Size > azuresas.MaxBlockSize:
		return Grant{}, Errorf(CodeInvalidArgument, "part %d would hold %d bytes, above Azure's %d per block: start the upload again with a smaller part_size", p.PartNumber, p.Size, azuresas.MaxBlockSize)
	}
	up, err := parseAzureUploadID(p.UploadID)
	if err != nil {
		return Grant{}, err
	}
	sg, expires, err := s.keys.signerFor(ctx, now, expires)
	if err != nil {
		return Grant{}, err
	}
	u, err := s.url(sg, s.values(p.Key, azuresas.Write, now, expires), "blockid="+azureBlockID(up.stamp, p.PartNumber)+"&comp=block")
	if err != nil {
		return Grant{}, err
	}
	return Grant{Method: http.MethodPut, URL: u, Headers: map[string]string{}, ExpiresAt: now.Add(expires).UTC().Truncate(time.Second)}, nil
}

func (s *azureSigner) objectURL(bucket, key string) string {
	return azuresas.BlobURL(s.endpoint, bucket, key, "")
}

// An Azure upload has no ID of the store's: its upload ID is presign's
// own. It carries what Put Block List must set and the token keeps — the
// content type and the metadata (the stamp among them) — as a query string:
// "v=1&ct=<type>&m.<name>=<value>…", sorted. Its stamp also names its blocks
// (azureBlockID), so that uploads to the same blob never mix their parts.
const azureUploadIDVersion = "1"

// maxAzureUploadID bounds an upload ID, so that a token with the longest
// key, bucket, backend and rule names still fits maxTokenSize.
const maxAzureUploadID = 1200

func azureUploadID(contentType string, md map[string]string) string {
	q := url.Values{"v": {azureUploadIDVersion}, "ct": {contentType}}
	for name, v := range md {
		q.Set("m."+name, v)
	}
	return q.Encode()
}

// azureUpload is a parsed upload ID.
type azureUpload struct {
	contentType string
	metadata    map[string]string // by presign's names (stampMetadata)
	stamp       string
}

// parseAzureUploadID reads an upload ID azureUploadID wrote (the token's
// MAC vouches for it).
func parseAzureUploadID(id string) (azureUpload, error) {
	q, err := url.ParseQuery(id)
	up := azureUpload{contentType: q.Get("ct"), metadata: map[string]string{}}
	for k, vs := range q {
		if name, ok := strings.CutPrefix(k, "m."); ok && len(vs) == 1 {
			up.metadata[name] = vs[0]
		}
	}
	up.stamp = up.metadata[stampMetadata]
	if err != nil || q.Get("v") != azureUploadIDVersion || len(up.stamp) != 16 {
		return azureUpload{}, fmt.Errorf("presign: %q is not an Azure upload ID of presign", id)
	}
	return up, nil
}

// azureBlockID is the block ID of part n of the upload with stamp: the
// base64 of the stamp's 16 hex digits and n in 8 decimal digits (32
// characters, all of one length as Azure requires, none to escape in a
// URL).
func azureBlockID(stamp string, n int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s%08d", stamp, n))
}

// parseAzureBlockID returns the part number of a block ID of the upload
// with stamp, and false for any other block.
func parseAzureBlockID(stamp, id string) (int, bool) {
	b, err := base64.StdEncoding.Strict().DecodeString(id)
	if err != nil || len(b) != 24 || string(b[:16]) != stamp {
		return 0, false
	}
	n := 0
	for _, c := range b[16:] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n >= 1 && n <= MaxParts
}

// azureStore is the Store of an azure backend, through azuresas.Client
// (each request authorized by a SAS of its own, valid for 5 minutes).
//
// Azure's answers are reported in the S3 terms presign acts on (see
// complete in uploads.go): a refused If-None-Match (409 BlobAlreadyExists)
// as 412, a missing container as NoSuchBucket, a block list naming blocks
// the blob does not have as InvalidPart; the message keeps Azure's own.
//
// A multipart upload exists only as the blob's uncommitted blocks:
// CreateMultipartUpload calls nothing, and AbortMultipartUpload deletes
// nothing (Azure has no such operation; the blocks go at the blob's next
// commit or a week after their upload, and a complete with the same token
// still commits them until then).
type azureStore struct {
	base azuresas.Client // without its Signer: client sets it
	keys azureKeys
}

func newAzureStore(b Backend, o StoreOptions) (*azureStore, error) {
	endpoint, keys, err := azureAccount(b)
	if err != nil {
		return nil, err
	}
	if o.HTTPClient == nil {
		o.HTTPClient = newStoreHTTPClient()
	}
	return &azureStore{base: azuresas.Client{Endpoint: endpoint, HTTP: o.HTTPClient, Now: o.Now}, keys: keys}, nil
}

// client is the Blob client of the key valid now (the account key, or the
// current user delegation key).
func (s *azureStore) client(ctx context.Context) (*azuresas.Client, error) {
	return s.keys.client(ctx, s.base)
}

// storeError translates an azuresas error of op.
func azureStoreError(op string, err error) error {
	var ae *azuresas.Error
	if !errors.As(err, &ae) {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	se := &StoreError{Op: op, StatusCode: ae.StatusCode, Code: ae.Code, Message: ae.Message, RequestID: ae.RequestID}
	switch ae.Code {
	case "BlobAlreadyExists":
		se.StatusCode = http.StatusPreconditionFailed
		se.Message = "Azure answered 409 BlobAlreadyExists: " + ae.Message
	case "ContainerNotFound":
		se.Code = "NoSuchBucket"
		se.Message = "Azure answered ContainerNotFound: " + ae.Message
	case "InvalidBlockList":
		se.Code = "InvalidPart"
		se.Message = "Azure answered InvalidBlockList: " + ae.Message
	}
	return se
}

func isBlobNotFound(err error) bool {
	var ae *azuresas.Error
	return errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound && ae.Code != "ContainerNotFound"
}

func (s *azureStore) CreateMultipartUpload(_ context.Context, in CreateMultipartInput) (string, error) {
	if in.ChecksumAlgorithm != "" {
		return "", fmt.Errorf("store: CreateMultipartUpload: Azure keeps no checksum algorithm of an upload")
	}
	if len(in.Metadata[stampMetadata]) != 16 {
		return "", fmt.Errorf("store: CreateMultipartUpload: an Azure upload needs presign's stamp")
	}
	return azureUploadID(in.ContentType, in.Metadata), nil
}

// ListParts returns the blob's uncommitted blocks of the upload. When it
// has none and the blob is what this upload's commit made (its blocks,
// type and metadata), it returns the committed blocks, so that a repeated
// complete answers the same.
func (s *azureStore) ListParts(ctx context.Context, bucket, key, uploadID string) ([]Part, error) {
	up, err := parseAzureUploadID(uploadID)
	if err != nil {
		return nil, err
	}
	c, err := s.client(ctx)
	if err != nil {
		return nil, err
	}
	bl, err := c.GetBlockList(ctx, bucket, key)
	if isBlobNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, azureStoreError("GetBlockList", err)
	}
	if parts := azureParts(up.stamp, bl.Uncommitted); len(parts) > 0 {
		return parts, nil
	}
	if ok, _, err := s.committed(ctx, bucket, key, up, bl.Committed, nil); err != nil || !ok {
		return nil, err
	}
	return azureParts(up.stamp, bl.Committed), nil
}

// azureParts are the blocks of the upload with stamp, in part order.
func azureParts(stamp string, blocks []azuresas.Block) []Part {
	var parts []Part
	for _, b := range blocks {
		if n, ok := parseAzureBlockID(stamp, b.ID); ok {
			parts = append(parts, Part{PartNumber: n, Size: b.Size})
		}
	}
	slices.SortFunc(parts, func(a, b Part) int { return a.PartNumber - b.PartNumber })
	return parts
}

// committed reports whether the blob is what the commit of up made: its
// committed blocks up's (exactly ids, when not nil), its content type and
// metadata up's; and returns its ETag.
func (s *azureStore) committed(ctx context.Context, bucket, key string, up azureUpload, blocks []azuresas.Block, ids []string) (bool, string, error) {
	if len(blocks) == 0 || ids != nil && len(blocks) != len(ids) {
		return false, "", nil
	}
	for i, b := range blocks {
		if _, ok := parseAzureBlockID(up.stamp, b.ID); !ok || ids != nil && b.ID != ids[i] {
			return false, "", nil
		}
	}
	c, err := s.client(ctx)
	if err != nil {
		return false, "", err
	}
	p, err := c.GetProperties(ctx, bucket, key)
	if isBlobNotFound(err) {
		return false, "", nil
	}
	if err != nil {
		return false, "", azureStoreError("GetBlobProperties", err)
	}
	md := make(map[string]string, len(up.metadata))
	for name, v := range up.metadata {
		md[azureMetadataName(name)] = v
	}
	if p.ContentType != up.contentType || len(p.Metadata) != len(md) {
		return false, "", nil
	}
	for name, v := range md {
		if p.Metadata[strings.ToLower(name)] != v {
			return false, "", nil
		}
	}
	return true, p.ETag, nil
}

// CompleteMultipartUpload commits the named parts' blocks (Put Block List)
// with the upload's content type and metadata. When they are committed
// already — the blob is what this commit made — it answers the blob's ETag
// and writes nothing.
func (s *azureStore) CompleteMultipartUpload(ctx context.Context, in CompleteMultipartInput) (CompletedObject, error) {
	up, err := parseAzureUploadID(in.UploadID)
	if err != nil {
		return CompletedObject{}, err
	}
	if in.ChecksumCRC64NVME != "" || in.ChecksumSHA256 != "" {
		return CompletedObject{}, fmt.Errorf("store: PutBlockList: Azure verifies no whole-object checksum")
	}
	ids := make([]string, len(in.Parts))
	for i, p := range in.Parts {
		ids[i] = azureBlockID(up.stamp, p.PartNumber)
	}
	c, err := s.client(ctx)
	if err != nil {
		return CompletedObject{}, err
	}
	bl, err := c.GetBlockList(ctx, in.Bucket, in.Key)
	if err != nil && !isBlobNotFound(err) {
		return CompletedObject{}, azureStoreError("GetBlockList", err)
	}
	uncommitted := make(map[string]bool, len(bl.Uncommitted))
	for _, b := range bl.Uncommitted {
		uncommitted[b.ID] = true
	}
	for _, id := range ids {
		if uncommitted[id] {
			continue
		}
		// Not all of them are waiting: the same commit done before, or
		// blocks that are gone.
		ok, etag, err := s.committed(ctx, in.Bucket, in.Key, up, bl.Committed, ids)
		switch {
		case err != nil:
			return CompletedObject{}, err
		case ok:
			return CompletedObject{ETag: etag}, nil
		}
		return CompletedObject{}, &StoreError{Op: "PutBlockList", StatusCode: http.StatusBadRequest, Code: "InvalidPart",
			Message: "a block of the list is not among the blob's uncommitted blocks"}
	}
	md := make(map[string]string, len(up.metadata))
	for name, v := range up.metadata {
		md[azureMetadataName(name)] = v
	}
	res, err := c.PutBlockList(ctx, azuresas.CommitInput{Container: in.Bucket, Blob: in.Key, BlockIDs: ids,
		ContentType: up.contentType, Metadata: md, IfNoneMatch: in.IfNoneMatch})
	if err != nil {
		return CompletedObject{}, azureStoreError("PutBlockList", err)
	}
	// A part URL is a write SAS: its holder could have put a block again
	// between the listing and the commit (Azure commits the latest), so
	// the object's size is read back, not assumed.
	p, err := c.GetProperties(ctx, in.Bucket, in.Key)
	if err != nil {
		return CompletedObject{}, azureStoreError("GetBlobProperties", err)
	}
	return CompletedObject{ETag: cmp.Or(p.ETag, res.ETag), Size: p.Size}, nil
}

// AbortMultipartUpload deletes nothing: Azure cannot delete uncommitted
// blocks (see azureStore).
func (s *azureStore) AbortMultipartUpload(context.Context, string, string, string) error { return nil }

// HeadObject reads the blob's properties: its Content-MD5 is the MD5
// checksum, and presign_upload the stamp.
func (s *azureStore) HeadObject(ctx context.Context, bucket, key string) (ObjectInfo, error) {
	c, err := s.client(ctx)
	if err != nil {
		return ObjectInfo{}, err
	}
	p, err := c.GetProperties(ctx, bucket, key)
	if err != nil {
		return ObjectInfo{}, azureStoreError("GetBlobProperties", err)
	}
	info := ObjectInfo{Size: p.Size, ETag: p.ETag, ContentType: p.ContentType, LastModified: p.LastModified}
	if len(p.Metadata) > 0 {
		info.Metadata = make(map[string]string, len(p.Metadata))
		for name, v := range p.Metadata {
			if name == azureStampMetadata {
				name = stampMetadata
			}
			info.Metadata[name] = v
		}
	}
	if p.ContentMD5 != nil {
		info.Checksums = map[string]string{"MD5": base64.StdEncoding.EncodeToString(p.ContentMD5)}
	}
	return info, nil
}

// isLoopbackHost reports whether host names this machine: localhost or a
// loopback address.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
