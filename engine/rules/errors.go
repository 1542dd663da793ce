package rules

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/checker/nature"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/types"
)

// The stable codes of formula errors.
const (
	// CodeSyntax: the formula cannot be parsed.
	CodeSyntax = "formula_syntax_error"
	// CodeUnknownName: the formula uses a name (variable, field or
	// function) the environment does not have; Name and usually Hint are set.
	CodeUnknownName = "formula_unknown_name"
	// CodeType: an operation or call does not fit the types of its operands.
	CodeType = "formula_type_error"
	// CodeResultType: the formula produces the wrong kind of value.
	CodeResultType = "formula_result_type"
	// CodeTooComplex: the formula is too long or has too many nodes.
	CodeTooComplex = "formula_too_complex"
	// CodeRuntime: evaluation failed (bad table, index out of range…).
	CodeRuntime = "formula_runtime_error"
	// CodeLimit: evaluation hit the memory, step or time limit.
	CodeLimit = "formula_limit_exceeded"
)

// FormulaError is a mistake in a formula or its evaluation. Line and Column
// are 1-based (Column counts characters, not bytes) and zero when the error
// has no position; Snippet is the offending line with a caret under the
// column. For unknown names, Name is the name and Hint may suggest a close
// known one ("did you mean amount?").
type FormulaError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Snippet string `json:"snippet,omitempty"`
	Name    string `json:"name,omitempty"`
	Hint    string `json:"hint,omitempty"`
}

// Error formats the error as "code: message (line:column); hint".
func (e *FormulaError) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (%d:%d)", e.Line, e.Column)
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// AsFormulaError returns the FormulaError in err's chain, if any.
func AsFormulaError(err error) (*FormulaError, bool) {
	var fe *FormulaError
	if errors.As(err, &fe) {
		return fe, true
	}
	return nil, false
}

// compileError classifies an error from expr.Compile.
func (e *Engine) compileError(src string, err error, opts []expr.Option, env types.Map) error {
	var ferr *file.Error
	if !errors.As(err, &ferr) {
		// The checker reports a wrong result kind as a plain error.
		if msg := err.Error(); strings.HasPrefix(msg, "expected ") {
			return &FormulaError{Code: CodeResultType, Message: msg}
		}
		return &FormulaError{Code: CodeType, Message: err.Error()}
	}
	fe := &FormulaError{Message: strings.TrimSpace(ferr.Message)}
	fe.Line, fe.Column, fe.Snippet = position(src, ferr)
	switch {
	case strings.Contains(fe.Message, "exceeds maximum allowed nodes"):
		fe.Code = CodeTooComplex
		fe.Message = fmt.Sprintf("formula has more than %d parts; split it or simplify it", e.opts.MaxNodes)
	case parses(src, opts) != nil:
		fe.Code = CodeSyntax
	default:
		fe.Code = CodeType
		if name, nested, ok := unknownName(fe.Message); ok {
			fe.Code, fe.Name = CodeUnknownName, name
			fe.Hint = hint(name, e.candidates(env, nested))
		}
	}
	return fe
}

// formulaError reports a name the guard refused ($env, or a reserved
// internal name) as an unknown name.
func (e *Engine) formulaError(src string, v *violation, env types.Map) error {
	ferr := &file.Error{Location: v.loc, Message: "unknown name " + v.name}
	ferr.Bind(file.NewSource(src))
	fe := &FormulaError{Code: CodeUnknownName, Message: ferr.Message, Name: v.name}
	fe.Line, fe.Column, fe.Snippet = position(src, ferr)
	fe.Hint = hint(v.name, e.candidates(env, false))
	return fe
}

// parses reports the parse error of src under the compile options, if any.
func parses(src string, opts []expr.Option) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	cfg := conf.CreateNew()
	for _, op := range opts {
		op(cfg)
	}
	for name := range cfg.Disabled {
		delete(cfg.Builtins, name)
	}
	_, err = parser.ParseWithConfig(src, cfg)
	return err
}

// unknownName extracts the name from the checker's messages about unknown
// names and fields; nested reports whether it is a field of something.
func unknownName(msg string) (name string, nested bool, ok bool) {
	if n, ok := strings.CutPrefix(msg, "unknown name "); ok {
		return n, false, true
	}
	if n, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return n, true, true
	}
	if strings.HasPrefix(msg, "type ") {
		for _, sep := range []string{" has no field ", " has no method "} {
			if _, n, ok := strings.Cut(msg, sep); ok {
				return n, true, true
			}
		}
	}
	return "", false, false
}

// candidates returns the names a misspelt name may have meant: the
// environment's top-level names and the functions, or for a field, every
// field name anywhere in the environment.
func (e *Engine) candidates(env types.Map, nested bool) []string {
	var out []string
	if nested {
		for _, t := range env {
			out = fieldNames(t.Nature(), out, 0)
		}
		return out
	}
	for k := range env {
		out = append(out, k)
	}
	return append(out, e.names...)
}

// fieldNames appends the field names of a map nature, and of the maps
// inside its fields and list elements.
func fieldNames(n nature.Nature, out []string, depth int) []string {
	if depth > 16 {
		return out
	}
	if n.Ref != nil {
		out = fieldNames(*n.Ref, out, depth+1)
	}
	if n.TypeData != nil {
		for k, f := range n.Fields {
			out = append(out, k)
			out = fieldNames(f, out, depth+1)
		}
	}
	return out
}

func hint(name string, known []string) string {
	if s := Suggest(name, known); s != "" {
		return "did you mean " + s + "?"
	}
	return ""
}

// Suggest returns the known name closest to name, or "" if none is close
// enough to be a likely typo: within one edit (insertion, deletion,
// substitution or swap of adjacent characters, ignoring case) for every
// three characters of name, at least one. Ties go to the alphabetically
// first name.
func Suggest(name string, known []string) string {
	if name == "" {
		return ""
	}
	limit := max(1, utf8.RuneCountInString(name)/3)
	lower := strings.ToLower(name)
	best, bestDist := "", limit+1
	sorted := slices.Clone(known)
	slices.Sort(sorted)
	for _, k := range sorted {
		if k == name || k == "" || strings.HasPrefix(k, hiddenPrefix) {
			continue
		}
		if d := distance(lower, strings.ToLower(k), bestDist); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// distance is the optimal-string-alignment (restricted Damerau–Levenshtein)
// distance between a and b in runes; it gives up, returning bound, once the
// distance is known to be at least bound.
func distance(a, b string, bound int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d >= bound || -d >= bound {
		return bound
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= bound {
			return bound
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(rb)], bound)
}

// position returns the 1-based line and column of a bound expr error and a
// snippet of the offending line with a caret under the column.
func position(src string, ferr *file.Error) (line, column int, snippet string) {
	if ferr.Line <= 0 {
		return 0, 0, ""
	}
	line, column = ferr.Line, ferr.Column+1
	lines := strings.Split(src, "\n")
	if line > len(lines) {
		return line, column, ""
	}
	text := strings.ReplaceAll(lines[line-1], "\t", " ")
	text = strings.TrimRight(text, "\r")
	return line, column, text + "\n" + strings.Repeat(" ", column-1) + "^"
}

// limitError is returned by the guard's functions when a formula exceeds a
// limit; it reaches Run wrapped in expr's runtime error.
type limitError struct{ msg string }

// Error returns the limit message.
func (e *limitError) Error() string { return e.msg }

func memoryMessage(budget uint) string {
	return fmt.Sprintf("memory budget exceeded: the formula builds more data than its budget of %d allows", budget)
}

var _ error = (*FormulaError)(nil)
