// Package apperr is the error vocabulary shared by the domain packages.
//
// Domain code returns *Error values (or wraps store sentinels); the API edge
// maps them, once, to RFC 9457 problem+json. Keeping the kind separate from
// the HTTP status keeps HTTP out of the domain packages.
package apperr

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the caller.
type Kind int

// Error kinds, each mapped to one HTTP status at the API edge.
const (
	KindInternal     Kind = iota // 500: a bug or an unexpected failure
	KindBadRequest               // 400: malformed request (syntax)
	KindUnauthorized             // 401: no or bad credentials
	KindForbidden                // 403: authenticated but not allowed
	KindNotFound                 // 404: unknown or invisible
	KindConflict                 // 409: version mismatch, duplicate
	KindInvalid                  // 422: well-formed but semantically wrong
	KindTooMany                  // 429: rate-limited
	KindUnavailable              // 503: backend unreachable, retry later
	KindTooLarge                 // 413: body over the limit
)

// FieldError locates a problem in the request body by JSON Pointer.
type FieldError struct {
	Pointer string `json:"pointer"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Formula location, set for formula errors.
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Snippet string `json:"snippet,omitempty"`
	Hint    string `json:"hint,omitempty"`
}

// Error is a classified, user-presentable error.
type Error struct {
	Kind    Kind
	Code    string // stable snake_case, e.g. "validation", "version_conflict"
	Message string // one sentence for a person
	Fields  []FieldError
	// Extra members added to the problem document (e.g. "current": 4).
	Extra map[string]any
	Err   error // cause, for logs; never shown to the client
}

func (e *Error) Error() string {
	msg := e.Message
	if len(e.Fields) > 0 {
		msg = fmt.Sprintf("%s (%s: %s)", msg, e.Fields[0].Pointer, e.Fields[0].Message)
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error of the kind with a code and message.
func New(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a 422 validation error listing the fields at fault.
func Invalid(message string, fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Code: "validation", Message: message, Fields: fields}
}

// NotFound returns a 404 error.
func NotFound(format string, args ...any) *Error {
	return New(KindNotFound, "not_found", format, args...)
}

// Forbidden returns a 403 error.
func Forbidden(format string, args ...any) *Error {
	return New(KindForbidden, "forbidden", format, args...)
}

// Conflict returns a 409 error.
func Conflict(code, format string, args ...any) *Error {
	return New(KindConflict, code, format, args...)
}

// BadRequest returns a 400 error.
func BadRequest(format string, args ...any) *Error {
	return New(KindBadRequest, "bad_request", format, args...)
}

// Unauthorized returns a 401 error.
func Unauthorized(format string, args ...any) *Error {
	return New(KindUnauthorized, "unauthorized", format, args...)
}

// With adds an extra member to the problem document and returns e.
func (e *Error) With(key string, v any) *Error {
	if e.Extra == nil {
		e.Extra = map[string]any{}
	}
	e.Extra[key] = v
	return e
}

// Wrap attaches a cause and returns e.
func (e *Error) Wrap(err error) *Error { e.Err = err; return e }

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
