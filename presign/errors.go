package presign

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an Error. The set is closed and codes are only ever added,
// never renamed; each maps to one HTTP status in the transport (package httpapi).
type Code string

const (
	CodeInvalidArgument  Code = "invalid_argument"  // the request is malformed or breaks a rule
	CodeUnauthenticated  Code = "unauthenticated"   // no or invalid credential
	CodePermissionDenied Code = "permission_denied" // the caller may not do this
	CodeNotFound         Code = "not_found"         // unknown backend, route or resource
	CodeTooLarge         Code = "too_large"         // declared size or body above a limit
	CodeUnsupported      Code = "unsupported"       // the backend cannot do this (e.g. POST on R2)
	CodeRateLimited      Code = "rate_limited"
	CodeInternal         Code = "internal"
	CodeUnavailable      Code = "unavailable"
)

// Codes lists every Code, in the order they were added.
var Codes = []Code{
	CodeInvalidArgument, CodeUnauthenticated, CodePermissionDenied, CodeNotFound,
	CodeTooLarge, CodeUnsupported, CodeRateLimited, CodeInternal, CodeUnavailable,
}

// Error is the one error type of presign. Message is safe to show the caller;
// Err is the cause, for logs only, never sent to a client.
type Error struct {
	Code    Code
	Message string
	Err     error
	// RetryAfter, when positive, is how long the caller should wait before
	// asking again (CodeRateLimited); the transport says it (Retry-After).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return string(e.Code) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code c and a formatted public message.
func Errorf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the Code of err: that of the first *Error in its chain,
// CodeInternal for any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the public message of err, or "internal error" when
// err carries no *Error (its text may hold internal detail).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// RetryAfter returns how long err asks its caller to wait before asking
// again: that of the first *Error in its chain, 0 when it says nothing.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
