package policy

import (
	"context"

	"presign.dev/presign"
)

// OpenMode is the Authorizer of the open mode (no authentication), the
// tutorials' mode: anyone may have a presigned GET or PUT URL for any key,
// or a POST form (the tutorials' /get-upload-url), and nothing more than
// the tutorials granted — no delete, head, metadata, or any op added later
// — so that switching authentication off never hands strangers the power
// to remove objects.
// A refusal is CodePermissionDenied and says what open mode allows.
type OpenMode struct{}

var _ presign.Authorizer = OpenMode{}

// OpenModeRule names the decisions of OpenMode in the audit log.
const OpenModeRule = "open-mode"

func (OpenMode) Authorize(_ context.Context, _ presign.Principal, r *presign.Request) (presign.Decision, error) {
	switch r.Op {
	case presign.OpGet, presign.OpPut, presign.OpPost:
	default:
		return presign.Decision{}, presign.Errorf(presign.CodePermissionDenied,
			"open mode allows only get and put (and POST forms): %s is refused; configure authentication for it", r.Op)
	}
	if len(r.Metadata) > 0 {
		return presign.Decision{}, presign.Errorf(presign.CodePermissionDenied,
			"open mode allows only get and put, without metadata; configure authentication to set metadata")
	}
	return presign.Decision{Rule: OpenModeRule}, nil
}
