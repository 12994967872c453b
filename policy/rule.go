// Package policy decides who may presign what: an ordered list of rules,
// each naming who it applies to, which operations, which backend and keys,
// and the limits a grant must carry. It implements presign.Authorizer and is
// pure: no I/O, no clock, no environment.
//
// The first rule that matches a request allows it, with that rule's limits.
// No match is a refusal (presign.CodePermissionDenied) whose message says
// which part of the rules refused and why, without naming other callers'
// paths.
package policy

import (
	"time"

	"presign.dev/presign"
)

// Who selects the callers a rule applies to. A caller matches when any of
// the set conditions holds. The zero Who matches nobody.
type Who struct {
	// Anonymous matches callers without a credential.
	Anonymous bool `json:"anonymous,omitempty"`
	// Authenticated matches every authenticated caller (API key or JWT).
	Authenticated bool `json:"authenticated,omitempty"`
	// APIKeys matches callers using one of these API keys, by name.
	APIKeys []string `json:"api_keys,omitempty"`
	// Groups matches JWT callers in any of these groups.
	Groups []string `json:"groups,omitempty"`
	// IAM matches AWS IAM callers (verified by the platform) by ARN.
	IAM []string `json:"iam,omitempty"`
	// Claims matches JWT callers whose claim has one of the listed values,
	// for every claim named (e.g. {"role": ["editor", "admin"]}).
	Claims map[string][]string `json:"claims,omitempty"`
}

// Rule allows some callers some operations on some keys, within limits.
type Rule struct {
	Name string `json:"name"`
	Who  Who    `json:"who"`
	// Ops are the operations allowed: get, head, put, post, delete, list
	// (the keys under a prefix), multipart (an upload in parts: POST
	// /v1/uploads and Companion's routes).
	Ops []presign.Op `json:"ops"`
	// Backend restricts the rule to one backend; "" means any.
	Backend string `json:"backend,omitempty"`
	// Keys are patterns of the keys allowed. "*" matches within one path
	// segment, "**" any number of segments; {sub}, {name} and {claim.X} are
	// replaced with the caller's identity (taken literally, never as a
	// pattern). Empty means any key, which only makes sense with GenerateKey.
	// A list is allowed when one pattern covers its whole prefix: the
	// pattern ends in "**" (and has no other), and the prefix holds each
	// segment before it, matched, and its "/" — users/{sub}/** allows
	// users/alice/ and users/alice/photos/, never users/, users/alice or
	// "" (["**"] allows every prefix, "" too). A rule with list needs keys.
	Keys []string `json:"keys,omitempty"`
	// GenerateKey, for uploads, makes the server choose the key from this
	// template ({uuid}, {date}, {sub}, {name}, {filename}, {ext}); a key the
	// client sends is refused.
	GenerateKey string `json:"generate_key,omitempty"`
	// MaxSize caps uploads, in bytes; 0 means S3's limit: 5 GiB for one
	// request, 5 TiB for a multipart upload.
	MaxSize int64 `json:"max_size,omitempty"`
	// ContentTypes are the media types uploads may declare, with wildcards
	// ("image/*"); empty means any. When set, uploads must declare one.
	ContentTypes []string `json:"content_types,omitempty"`
	// MaxExpires caps the grant's lifetime; 0 means the global cap.
	MaxExpires time.Duration `json:"max_expires,omitempty"`
	// Overwrite allows uploads to replace existing objects. nil means true.
	Overwrite *bool `json:"overwrite,omitempty"`
	// Metadata names the x-amz-meta-* entries (lower case, without the
	// prefix) uploads may set; empty means none. Metadata is signed, but
	// some names make a store act (MinIO unpacks an archive uploaded with
	// snowball-auto-extract, writing any keys in it), so a rule allows
	// only the names it lists.
	Metadata []string `json:"metadata,omitempty"`
	// RequireChecksum makes put uploads declare content_md5 or
	// checksum_sha256, which is signed, so the store verifies the body.
	RequireChecksum bool `json:"require_checksum,omitempty"`
	// Download lets get requests ask for Content-Disposition: attachment
	// with a file name; nil means true.
	Download *bool `json:"download,omitempty"`
}
