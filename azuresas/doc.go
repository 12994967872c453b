// Package azuresas signs Azure Blob Storage shared access signatures (SAS)
// for single blobs, and is a minimal Blob client for what presign does
// itself, server to server.
//
//   - A service SAS is signed with the account key ([NewSigner], the key from
//     [ParseAccountKey] or [ParseConnectionString]); a user delegation SAS
//     with a user delegation key ([NewUserDelegationSigner], the key from
//     [GetUserDelegationKey] with an Entra ID token). Both grant one blob
//     (sr=b) some of r, a, c, w, d ([Permissions]) until an expiry, from an
//     optional start, optionally over HTTPS only or from an IPv4 range, and
//     may set the response headers of a read (rscc, rscd, rsce, rscl, rsct).
//     The signed version is [Version].
//   - [Client] reads a blob's properties and its block list and commits a
//     block list, each request authorized by a SAS it signs for that one
//     request.
//   - [DelegationKeys] holds a user delegation key and renews it before it
//     expires, with the tokens of a [TokenSource]: a [TokenFile] that
//     something else keeps fresh, or a [ManagedIdentity] (the Azure
//     Instance Metadata Service). A SAS is never signed past its key's
//     expiry, which is when Azure stops honouring it, whatever the token's.
//
// The signing is pure: it does no I/O and reads no clock. Every SAS is
// compared with the Azure SDK for Go's SAS builder on fuzzed values
// (the same query, byte for byte) and used against Azurite.
//
// # Uploads
//
// A blob up to [MaxPutBlobSize] is one Put Blob: PUT <blob URL>?<SAS> with
// the header x-ms-blob-type: BlockBlob ([HeaderBlobType], [BlockBlob]),
// which the client must send (Azure refuses the PUT without it), with a SAS
// of [Create] (a new blob only) or [Write] (overwrites). A larger one is
// uploaded in blocks: the client sends each part as Put Block, PUT <blob
// URL>?<[PutBlockQuery] of the part number>&<SAS of Write>, and presign
// commits them with [Client.PutBlockList]. The blocks not yet committed are
// the parts of the upload so far ([Client.GetBlockList]: their IDs and
// sizes).
//
// Azure has no operation that deletes uncommitted blocks, so aborting an
// upload deletes nothing: the blocks stay until the blob's next Put Block
// List (which discards every uncommitted block it does not name) or until
// Azure collects them, a week after the blob's last successful Put Block or
// Put Block List; the URLs already signed for the upload stay valid until
// they expire. An abort in presign is therefore only forgetting the upload.
//
// # What a SAS cannot enforce
//
// A SAS binds the blob, the permissions, the time window, the protocol, the
// client's address and the headers of responses. It binds nothing of the
// request's headers or body, so:
//
//   - Size: there is no content-length-range. A SAS of Create or Write lets
//     its holder upload any size up to Azure's limits ([MaxPutBlobSize] in
//     one Put Blob, [MaxBlockSize] per block, [MaxBlocks] blocks), and a Put
//     Block URL any block size. Presign can check a size only after the
//     upload (the block list's sizes before it commits, or the blob's
//     properties after).
//   - Content type: the uploader chooses the blob's Content-Type
//     (Content-Type or x-ms-blob-content-type on Put Blob; on Put Block List
//     presign sets it). rsct changes only the Content-Type of a download
//     with that SAS, never what is stored.
//   - No overwrite: If-None-Match: * is the client's choice, not the SAS's.
//     [Create] refuses an existing blob on Put Blob, but block uploads need
//     [Write], which overwrites; presign's own Put Block List can send
//     If-None-Match: * ([CommitInput.IfNoneMatch]).
//   - A block upload's steps: neither comp nor blockid is signed, so the
//     [Write] SAS of a part's URL serves any block ID, any number of blocks,
//     and also Put Block List and Put Blob on that blob. Its holder can
//     commit the upload (or replace the blob) without presign, with any
//     block list, content type and metadata, and without If-None-Match.
//     A commit by presign verifies only the blob presign itself commits.
//   - Checksums, metadata and other request headers (x-ms-meta-*,
//     Content-MD5, x-ms-blob-cache-control, ...) are the uploader's choice.
//   - The IP range is Azure's to check; Azurite 3.37.0 does not.
//
// The user delegation SAS of version 2026-04-06 has fields that may bind
// request headers (srh, srq); their semantics are not verified and this
// package does not sign them. Rules that need any of the above to be
// enforced by the store must be refused for an Azure backend.
//
// # Preconditions
//
// [Values.Validate] (called by [Signer.Sign]) refuses what cannot be signed
// safely: every signed value is UTF-8 without control characters, since the
// string to sign separates them with newlines; blob names have no backslash
// (Azure stores it as a slash); container and account names follow Azure's
// rules. Errors of this package never hold an account key, a user delegation
// key, a token or a SAS.
package azuresas
