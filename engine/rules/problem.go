package rules

import "stride/engine/apperr"

// Problem places a formula error at a JSON pointer of the document that
// holds the formula, with its code, line, column, snippet and hint; any
// other error becomes a plain formula_error. Every configuration kind
// reports its formulas' errors through it.
func Problem(ptr string, err error) apperr.FieldError {
	if fe, ok := AsFormulaError(err); ok {
		return apperr.FieldError{Pointer: ptr, Code: fe.Code, Message: fe.Message, Line: fe.Line, Column: fe.Column, Snippet: fe.Snippet, Hint: fe.Hint}
	}
	return apperr.FieldError{Pointer: ptr, Code: "formula_error", Message: err.Error()}
}

// DidYouMean is the hint for an unknown name: "did you mean x?" when a known
// name is close, else "".
func DidYouMean(name string, known []string) string {
	if s := Suggest(name, known); s != "" {
		return "did you mean " + s + "?"
	}
	return ""
}
