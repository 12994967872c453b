package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"presign.dev/presign"
)

// Notifier delivers events to the application's receivers, synchronously,
// and returns what they answered; *webhook.Sender is one.
type Notifier interface {
	Subscribed(typ string) bool
	Deliver(ctx context.Context, typ, id string, data any) (json.RawMessage, error)
}

// uploadEvent is the data of upload.completed: what complete verified,
// the caller, and the receipt when there is one.
type uploadEvent struct {
	Backend     string `json:"backend"`
	Bucket      string `json:"bucket"`
	Key         string `json:"key"`
	Size        int64  `json:"size"`
	ETag        string `json:"etag"`
	ContentType string `json:"content_type"`
	Checksum    string `json:"checksum,omitempty"`
	Caller      string `json:"caller"`
	CallerKind  string `json:"caller_kind"`
	Receipt     string `json:"receipt,omitempty"`
}

// notifyCompleted delivers upload.completed for done before complete
// answers, and returns what the receivers answered (server_data). The
// webhook-id is the upload's ID, the same for a repeated complete's
// delivery, which receivers can de-duplicate. A delivery that fails is CodeUnavailable: the client may
// call complete again.
func (h *Handler) notifyCompleted(r *http.Request, p presign.Principal, done presign.CompletedUpload, receipt string) (json.RawMessage, error) {
	if h.opts.Webhooks == nil || !h.opts.Webhooks.Subscribed(presign.EventUploadCompleted) {
		return nil, nil
	}
	data, err := h.opts.Webhooks.Deliver(r.Context(), presign.EventUploadCompleted, done.ID(),
		uploadEvent{Backend: done.Backend, Bucket: done.Bucket, Key: done.Key, Size: done.Size, ETag: done.ETag,
			ContentType: done.ContentType, Checksum: done.Checksum, Caller: p.Name, CallerKind: p.Kind, Receipt: receipt})
	if err != nil {
		return nil, &presign.Error{Code: presign.CodeUnavailable, Err: err,
			Message: "the upload is verified, but the application's webhook receiver did not accept it; call complete again"}
	}
	return data, nil
}
