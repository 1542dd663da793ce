package forms

import "stride/engine/apperr"

// Problems converts validation errors to the field problems of an API error.
func Problems(in []FieldError) []apperr.FieldError {
	out := make([]apperr.FieldError, 0, len(in))
	for _, e := range in {
		out = append(out, apperr.FieldError{Pointer: e.Pointer, Code: e.Code, Message: e.Message})
	}
	return out
}
