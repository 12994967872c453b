package httpapi

import (
	"net/http"

	"presign.dev/presign"
)

// ReceiptSigner signs upload receipts and publishes its keys (a JWK Set);
// *receipt.Signer is one.
type ReceiptSigner interface {
	SignUpload(issuer string, p presign.Principal, done presign.CompletedUpload) (string, error)
	JWKS() []byte
}

// receipt returns the signed receipt of a verified upload for p ("" when
// no receipt keys are configured).
func (h *Handler) receipt(r *http.Request, p presign.Principal, done presign.CompletedUpload) (string, error) {
	if h.opts.Receipts == nil {
		return "", nil
	}
	s, err := h.opts.Receipts.SignUpload(h.externalURL(r), p, done)
	if err != nil {
		return "", &presign.Error{Code: presign.CodeInternal, Message: "internal error", Err: err}
	}
	return s, nil
}

// noKeys is the JWK Set of a presign without receipt keys.
var noKeys = []byte(`{"keys":[]}`)

// jwks serves GET /.well-known/jwks.json: the receipts' public keys.
func (h *Handler) jwks(w http.ResponseWriter, _ *http.Request, _ presign.Principal) error {
	doc := noKeys
	if h.opts.Receipts != nil {
		doc = h.opts.Receipts.JWKS()
	}
	setHeaders(w.Header(), "Content-Type", "application/json", "Cache-Control", "public, max-age=300", "X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc)
	return nil
}
