package httpapi

import (
	"net/http"

	"presign.dev/presign"
)

// statusOf is the one table from error codes to HTTP status.
var statusOf = map[presign.Code]int{
	presign.CodeInvalidArgument:  http.StatusBadRequest,
	presign.CodeUnauthenticated:  http.StatusUnauthorized,
	presign.CodePermissionDenied: http.StatusForbidden,
	presign.CodeNotFound:         http.StatusNotFound,
	presign.CodeTooLarge:         http.StatusRequestEntityTooLarge,
	presign.CodeUnsupported:      http.StatusUnprocessableEntity,
	presign.CodeRateLimited:      http.StatusTooManyRequests,
	presign.CodeInternal:         http.StatusInternalServerError,
	presign.CodeUnavailable:      http.StatusServiceUnavailable,
}

// Status returns the HTTP status of err's code.
func Status(err error) int {
	if s, ok := statusOf[presign.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON error of every JSON route.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    presign.Code `json:"code"`
	Message string       `json:"message"`
}
