package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"stride/engine/apperr"
	"stride/engine/store"
)

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail,omitempty"`
	Instance string              `json:"instance,omitempty"`
	Code     string              `json:"code"`
	Errors   []apperr.FieldError `json:"errors,omitempty"`
}

const problemBase = "https://stride.dev/problems/"

var kindStatus = map[apperr.Kind]int{
	apperr.KindInternal:     http.StatusInternalServerError,
	apperr.KindBadRequest:   http.StatusBadRequest,
	apperr.KindUnauthorized: http.StatusUnauthorized,
	apperr.KindForbidden:    http.StatusForbidden,
	apperr.KindNotFound:     http.StatusNotFound,
	apperr.KindConflict:     http.StatusConflict,
	apperr.KindInvalid:      http.StatusUnprocessableEntity,
	apperr.KindTooMany:      http.StatusTooManyRequests,
	apperr.KindUnavailable:  http.StatusServiceUnavailable,
	apperr.KindTooLarge:     http.StatusRequestEntityTooLarge,
}

// classify turns any error into an *apperr.Error: domain errors pass
// through, store sentinels get their meaning, anything else is internal.
func classify(err error) *apperr.Error {
	if e, ok := apperr.As(err); ok {
		return e
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return apperr.New(apperr.KindTooLarge, "body_too_large", "the request body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return apperr.New(apperr.KindUnavailable, "unavailable", "the database is unavailable; retry shortly").Wrap(err)
	case errors.Is(err, store.ErrNotFound):
		return apperr.NotFound("not found").Wrap(err)
	case errors.Is(err, store.ErrConflict):
		return apperr.Conflict("version_conflict", "the resource was changed by someone else; reload it").Wrap(err)
	case errors.Is(err, store.ErrDuplicate):
		return apperr.Conflict("duplicate", "the resource already exists").Wrap(err)
	case errors.Is(err, store.ErrInvalid):
		// Validation should have caught this; never blame the server for
		// input it could not store.
		slog.Warn("store refused a value validation let through", "err", err)
		return apperr.New(apperr.KindBadRequest, "unstorable_value", "the request contains a value that cannot be stored").Wrap(err)
	case errors.Is(err, context.Canceled):
		return apperr.New(apperr.KindBadRequest, "canceled", "the request was canceled").Wrap(err)
	}
	return &apperr.Error{Kind: apperr.KindInternal, Code: "internal", Message: "an internal error occurred; it has been logged", Err: err}
}

// writeError is the single place errors become HTTP responses.
func writeError(c *gin.Context, err error) {
	e := classify(err)
	status := kindStatus[e.Kind]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		slog.ErrorContext(c.Request.Context(), "request failed", "method", c.Request.Method, "path", c.Request.URL.Path,
			"request_id", c.GetString(ctxRequestID), "err", err)
	}
	body := map[string]any{
		"type": problemBase + e.Code, "title": http.StatusText(status), "status": status,
		"detail": e.Message, "code": e.Code, "instance": c.Request.URL.Path,
	}
	if len(e.Fields) > 0 {
		body["errors"] = e.Fields
	}
	for k, v := range e.Extra {
		if k == "retryAfter" {
			c.Header("Retry-After", fmt.Sprint(v))
		}
		body[k] = v
	}
	if status == http.StatusServiceUnavailable && c.Writer.Header().Get("Retry-After") == "" {
		c.Header("Retry-After", "2")
	}
	if rid := c.GetString(ctxRequestID); rid != "" {
		body["requestId"] = rid
	}
	b, _ := json.Marshal(body)
	c.Data(status, "application/problem+json", b)
	c.Abort()
}

// decodeJSON reads the request body as one JSON value into v. Numbers decode
// as json.Number so integers stay exact. Typed targets reject unknown fields.
// Every failure is a 4xx problem naming what is wrong and where.
func decodeJSON(c *gin.Context, v any) error {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return apperr.New(apperr.KindBadRequest, "unsupported_media_type", "send the body as application/json")
		}
	}
	dec := json.NewDecoder(c.Request.Body)
	dec.UseNumber()
	if _, generic := v.(*map[string]any); !generic {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.New(apperr.KindBadRequest, "malformed_json", "the body must be a single JSON value; found data after it")
	}
	return nil
}

func jsonError(err error) error {
	var (
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return apperr.New(apperr.KindTooLarge, "body_too_large", "the request body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, io.EOF):
		return apperr.New(apperr.KindBadRequest, "malformed_json", "the request body is empty; send a JSON object")
	case errors.As(err, &se):
		return apperr.New(apperr.KindBadRequest, "malformed_json", "malformed JSON at byte %d: %s", se.Offset, se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.New(apperr.KindBadRequest, "malformed_json", "malformed JSON: the body ends too early")
	case errors.As(err, &te):
		ptr := "/" + strings.ReplaceAll(te.Field, ".", "/")
		if te.Field == "" {
			return apperr.New(apperr.KindBadRequest, "malformed_json", "expected a JSON %s, got %s", jsonKind(te.Type.Kind().String()), te.Value)
		}
		return apperr.Invalid("a field has the wrong type", apperr.FieldError{Pointer: ptr, Code: "type",
			Message: fmt.Sprintf("expected %s, got %s", jsonKind(te.Type.Kind().String()), te.Value)})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return apperr.Invalid("unknown field", apperr.FieldError{Pointer: "/" + name, Code: "additional_properties", Message: fmt.Sprintf("unknown field %q", name)})
	}
	return apperr.New(apperr.KindBadRequest, "malformed_json", "malformed JSON: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "ptr", "interface":
		return "value"
	}
	return "number"
}

// ifMatch reads an If-Match header as a version; 0 when absent.
func ifMatch(c *gin.Context) (int64, error) {
	h := strings.TrimSpace(c.GetHeader("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	h = strings.TrimPrefix(h, "W/")
	v, err := strconv.ParseInt(strings.Trim(h, `"`), 10, 64)
	if err != nil || v <= 0 {
		return 0, apperr.New(apperr.KindBadRequest, "bad_if_match", `If-Match must be a version like "3"`)
	}
	return v, nil
}

func etag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }
