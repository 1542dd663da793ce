package calc

import (
	"slices"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"stride/engine/forms"
)

// Native conditions.
//
// Most record conditions of a plan are comparisons of record fields with
// constants, joined by and/or/not: stage == 'won', amount >= 100000,
// newLogo && discount <= 0.2, channel in ['online', 'partner']. They are
// evaluated once per credit line (a SPIF's `when`, a rule's `when`) or per
// record (credits.when), so they are the per-line cost that remains once
// everything record-independent is evaluated once per statement. For
// these shapes the formula is also compiled — from expr's own syntax tree —
// into Go closures that read the record map directly, several times faster
// than a VM run.
//
// A native condition never decides on its own when in doubt: it reports
// ok = false whenever a value is not of the field's formula type (a field
// missing from the map, a stored instead of a formula value), and the
// caller then runs the compiled program. For well-typed records both give
// the same answer, which TestNativeMatchesExpr checks on random formulas
// and records. Anything else — arithmetic, functions, dates, the period
// context — is left to the program.

// nativeBool is a compiled condition; ok is false when it cannot decide.
type nativeBool func(m map[string]any) (v, ok bool)

type nativeNum func(m map[string]any) (float64, bool)

type nativeStr func(m map[string]any) (string, bool)

// maxExactInt bounds integer field values compared as float64.
const maxExactInt = 1 << 53

// compileNative returns the native form of a boolean formula over the
// record's fields, or nil when the formula has another shape.
func compileNative(src string, fields map[string]forms.Field) nativeBool {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	return natBool(tree.Node, fields)
}

func natBool(n ast.Node, fields map[string]forms.Field) nativeBool {
	switch x := n.(type) {
	case *ast.BoolNode:
		v := x.Value
		return func(map[string]any) (bool, bool) { return v, true }
	case *ast.IdentifierNode:
		if f, ok := fields[x.Value]; !ok || f.Type != forms.TypeBoolean {
			return nil
		}
		name := x.Value
		return func(m map[string]any) (bool, bool) {
			b, ok := m[name].(bool)
			return b, ok
		}
	case *ast.UnaryNode:
		if x.Operator != "!" && x.Operator != "not" {
			return nil
		}
		inner := natBool(x.Node, fields)
		if inner == nil {
			return nil
		}
		return func(m map[string]any) (bool, bool) {
			v, ok := inner(m)
			return !v, ok
		}
	case *ast.BinaryNode:
		return natBinary(x, fields)
	}
	return nil
}

func natBinary(x *ast.BinaryNode, fields map[string]forms.Field) nativeBool {
	switch x.Operator {
	case "&&", "and", "||", "or":
		l, r := natBool(x.Left, fields), natBool(x.Right, fields)
		if l == nil || r == nil {
			return nil
		}
		if x.Operator == "&&" || x.Operator == "and" {
			return func(m map[string]any) (bool, bool) {
				a, ok := l(m)
				if !ok || !a {
					return false, ok
				}
				return r(m)
			}
		}
		return func(m map[string]any) (bool, bool) {
			a, ok := l(m)
			if !ok || a {
				return a, ok
			}
			return r(m)
		}
	case "==", "!=", "<", "<=", ">", ">=":
		op := x.Operator
		if l, r := natNum(x.Left, fields), natNum(x.Right, fields); l != nil && r != nil {
			return func(m map[string]any) (bool, bool) {
				a, ok := l(m)
				if !ok {
					return false, false
				}
				b, ok := r(m)
				if !ok {
					return false, false
				}
				return compare(op, a, b), true
			}
		}
		if l, r := natStr(x.Left, fields), natStr(x.Right, fields); l != nil && r != nil {
			return func(m map[string]any) (bool, bool) {
				a, ok := l(m)
				if !ok {
					return false, false
				}
				b, ok := r(m)
				if !ok {
					return false, false
				}
				return compare(op, a, b), true
			}
		}
		if op == "==" || op == "!=" {
			if l, r := natBool(x.Left, fields), natBool(x.Right, fields); l != nil && r != nil {
				return func(m map[string]any) (bool, bool) {
					a, ok := l(m)
					if !ok {
						return false, false
					}
					b, ok := r(m)
					if !ok {
						return false, false
					}
					return (a == b) == (op == "=="), true
				}
			}
		}
	case "in":
		arr, ok := x.Right.(*ast.ArrayNode)
		if !ok {
			return nil
		}
		if l := natNum(x.Left, fields); l != nil {
			var set []float64
			for _, e := range arr.Nodes {
				c := natNum(e, nil) // constants only
				if c == nil {
					return nil
				}
				v, _ := c(nil)
				set = append(set, v)
			}
			return func(m map[string]any) (bool, bool) {
				a, ok := l(m)
				return ok && slices.Contains(set, a), ok
			}
		}
		if l := natStr(x.Left, fields); l != nil {
			var set []string
			for _, e := range arr.Nodes {
				c := natStr(e, nil)
				if c == nil {
					return nil
				}
				v, _ := c(nil)
				set = append(set, v)
			}
			return func(m map[string]any) (bool, bool) {
				a, ok := l(m)
				return ok && slices.Contains(set, a), ok
			}
		}
	}
	return nil
}

func compare[T float64 | string](op string, a, b T) bool {
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	}
	return a >= b
}

// natNum compiles a number: a numeric literal (signed) or a number, money
// or integer field of the record (fields nil: literals only).
func natNum(n ast.Node, fields map[string]forms.Field) nativeNum {
	switch x := n.(type) {
	case *ast.IntegerNode:
		v := float64(x.Value)
		if x.Value > maxExactInt || x.Value < -maxExactInt {
			return nil
		}
		return func(map[string]any) (float64, bool) { return v, true }
	case *ast.FloatNode:
		v := x.Value
		return func(map[string]any) (float64, bool) { return v, true }
	case *ast.UnaryNode:
		if x.Operator != "-" && x.Operator != "+" {
			return nil
		}
		switch x.Node.(type) {
		case *ast.IntegerNode, *ast.FloatNode:
		default:
			return nil
		}
		c := natNum(x.Node, nil)
		if c == nil {
			return nil
		}
		v, _ := c(nil)
		if x.Operator == "-" {
			v = -v
		}
		return func(map[string]any) (float64, bool) { return v, true }
	case *ast.IdentifierNode:
		f, ok := fields[x.Value]
		if !ok {
			return nil
		}
		name := x.Value
		switch f.Type {
		case forms.TypeMoney, forms.TypeNumber:
			return func(m map[string]any) (float64, bool) {
				v, ok := m[name].(float64)
				return v, ok
			}
		case forms.TypeInteger:
			return func(m map[string]any) (float64, bool) {
				v, ok := m[name].(int)
				if !ok || v > maxExactInt || v < -maxExactInt {
					return 0, false
				}
				return float64(v), true
			}
		}
	}
	return nil
}

// natStr compiles a string literal or a string field of the record.
func natStr(n ast.Node, fields map[string]forms.Field) nativeStr {
	switch x := n.(type) {
	case *ast.StringNode:
		v := x.Value
		return func(map[string]any) (string, bool) { return v, true }
	case *ast.IdentifierNode:
		if f, ok := fields[x.Value]; !ok || f.Type != forms.TypeString {
			return nil
		}
		name := x.Value
		return func(m map[string]any) (string, bool) {
			s, ok := m[name].(string)
			return s, ok
		}
	}
	return nil
}
