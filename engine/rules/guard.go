package rules

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm/runtime"
)

// The guard rewrites a formula's syntax tree (as an expr patch, after a
// first type-check pass) so that every evaluation is bounded:
//
//   - each predicate body p (of map, filter, all, count, sum, reduce…)
//     becomes `__tick(__m); p`, counting loop steps and watching the clock;
//   - a + b on strings (or on values of unknown type) becomes
//     __concat(__m, a, b) / __add(__m, a, b), which count the bytes built;
//   - string, join and replace become __string, __join and __replace, which
//     count the size of their result before building it;
//   - upper, lower, split, splitAfter, keys, values, toPairs, fromPairs and
//     uniq are wrapped in __charge(__m, …), which counts the size of what
//     they built, so a loop cannot pile up copies of a large value.
//
// __m is a per-evaluation *meter the program reads from its environment.
// Formulas that need none of this are not rewritten and run on the caller's
// variables directly; the others run on a pooled copy with __m added.

const (
	hiddenPrefix = "__"
	meterName    = "__m"
)

type meter struct {
	steps, maxSteps int
	used, budget    int
	deadline        time.Time
	timeout         time.Duration
}

var meterType = types.TypeOf((*meter)(nil))

func (m *meter) tick() error {
	m.steps++
	if m.steps > m.maxSteps {
		return &limitError{fmt.Sprintf("step limit exceeded: the formula loops more than %d times", m.maxSteps)}
	}
	if m.steps&63 == 0 {
		return m.checkTime()
	}
	return nil
}

func (m *meter) checkTime() error {
	if time.Now().After(m.deadline) {
		return &limitError{fmt.Sprintf("time limit exceeded: the formula ran longer than %s", m.timeout)}
	}
	return nil
}

// charge counts n units (bytes of text, elements of lists and maps).
func (m *meter) charge(n int) error {
	if n < 0 || n > m.budget-m.used {
		m.used = m.budget + 1
		return &limitError{memoryMessage(uint(m.budget))}
	}
	m.used += n
	return m.checkTime()
}

// runState is the pooled per-evaluation state of a guarded program: a copy
// of the caller's variables plus the meter.
type runState struct {
	env   map[string]any
	meter meter
}

func (s *runState) begin(vars map[string]any, o *Options) {
	for k, v := range vars {
		s.env[k] = v
	}
	s.meter = meter{
		maxSteps: o.MaxSteps,
		budget:   int(min(o.MemoryBudget, uint(maxInt))),
		timeout:  o.Timeout,
		deadline: time.Now().Add(o.Timeout),
	}
	s.env[meterName] = &s.meter
}

func (s *runState) end() {
	clear(s.env)
}

const maxInt = int(^uint(0) >> 1)

// violation is a name a formula may not use.
type violation struct {
	name string
	loc  file.Location
}

// guard is the expr patch described above; one is used per compilation.
type guard struct {
	metered   bool
	violation *violation
	types     map[ast.Node]reflect.Type
}

// metered calls: the user-visible function and its guarded implementation.
var guardedCalls = map[string]string{
	"string":  "__string",
	"join":    "__join",
	"replace": "__replace",
}

// builtins whose result is counted after they build it.
var chargedBuiltins = map[string]bool{
	"upper": true, "lower": true, "split": true, "splitAfter": true,
	"keys": true, "values": true, "toPairs": true, "fromPairs": true, "uniq": true,
}

func (g *guard) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if (n.Value == "$env" || strings.HasPrefix(n.Value, hiddenPrefix)) && g.violation == nil {
			g.violation = &violation{name: n.Value, loc: n.Location()}
		}
	case *ast.PredicateNode:
		tick := g.call("__tick", n.Node.Location(), boolType)
		n.Node = &ast.SequenceNode{Nodes: []ast.Node{tick, n.Node}}
		n.Node.SetLocation(tick.Location())
	case *ast.BinaryNode:
		if n.Operator != "+" {
			return
		}
		l, r := g.typeOf(n.Left), g.typeOf(n.Right)
		if !stringish(l) || !stringish(r) {
			return
		}
		if isString(l) && isString(r) {
			ast.Patch(node, g.call("__concat", n.Location(), stringType, n.Left, n.Right))
		} else {
			ast.Patch(node, g.call("__add", n.Location(), nil, n.Left, n.Right))
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		if hidden, ok := guardedCalls[id.Value]; ok {
			ast.Patch(node, g.call(hidden, n.Location(), stringType, n.Arguments...))
		}
	case *ast.BuiltinNode:
		if chargedBuiltins[n.Name] {
			ast.Patch(node, g.call("__charge", n.Location(), n.Type(), n))
		}
	}
}

// call builds a call of a guard function with the meter as first argument;
// t is the call's static type, as far as the guard knows it.
func (g *guard) call(name string, loc file.Location, t reflect.Type, args ...ast.Node) ast.Node {
	g.metered = true
	m := &ast.IdentifierNode{Value: meterName}
	m.SetLocation(loc)
	callee := &ast.IdentifierNode{Value: name}
	callee.SetLocation(loc)
	c := &ast.CallNode{Callee: callee, Arguments: append([]ast.Node{m}, args...)}
	c.SetLocation(loc)
	if g.types == nil {
		g.types = map[ast.Node]reflect.Type{}
	}
	g.types[c] = t
	return c
}

// typeOf returns a node's static type from the first type-check pass; the
// guard's own calls have none yet, so it remembers theirs.
func (g *guard) typeOf(n ast.Node) reflect.Type {
	if t, ok := g.types[n]; ok {
		return t
	}
	return n.Type()
}

var (
	boolType   = reflect.TypeOf(true)
	stringType = reflect.TypeOf("")
)

func stringish(t reflect.Type) bool {
	return t == nil || t.Kind() == reflect.Interface || t.Kind() == reflect.String
}

func isString(t reflect.Type) bool {
	return t != nil && t.Kind() == reflect.String
}

// guardFunctions declares the guard's functions and the user-visible
// versions of string, join and replace (which the guard always rewrites; if
// one were ever reached unrewritten it still runs within a fresh budget).
func (e *Engine) guardFunctions() []expr.Option {
	budget := int(min(e.opts.MemoryBudget, uint(maxInt)))
	fresh := func() *meter {
		return &meter{maxSteps: e.opts.MaxSteps, budget: budget, timeout: e.opts.Timeout, deadline: time.Now().Add(e.opts.Timeout)}
	}
	withMeter := func(f func(m *meter, args []any) (any, error)) func(args ...any) (any, error) {
		return func(args ...any) (any, error) {
			m, ok := args[0].(*meter)
			if !ok || m == nil {
				return nil, fmt.Errorf("internal error: no meter")
			}
			return f(m, args[1:])
		}
	}
	unguarded := func(f func(m *meter, args []any) (any, error)) func(args ...any) (any, error) {
		return func(args ...any) (any, error) { return f(fresh(), args) }
	}
	joinTypes := []any{
		new(func([]string, string) string), new(func([]string) string),
		new(func([]any, string) string), new(func([]any) string),
	}
	replaceTypes := []any{new(func(string, string, string) string), new(func(string, string, string, int) string)}
	return []expr.Option{
		expr.Function("__tick", withMeter(func(m *meter, _ []any) (any, error) {
			if err := m.tick(); err != nil {
				return nil, err
			}
			return true, nil
		}), new(func(*meter) bool)),
		expr.Function("__concat", withMeter(concat), new(func(*meter, string, string) string)),
		expr.Function("__add", withMeter(add), new(func(*meter, any, any) any)),
		expr.Function("__string", withMeter(toString), new(func(*meter, any) string)),
		expr.Function("__join", withMeter(join), prefixMeter(joinTypes)...),
		expr.Function("__replace", withMeter(replace), prefixMeter(replaceTypes)...),
		charge(withMeter(func(m *meter, args []any) (any, error) {
			if err := m.charge(sizeOf(args[0])); err != nil {
				return nil, err
			}
			return args[0], nil
		})),
		expr.Function("string", unguarded(toString), new(func(any) string)),
		expr.Function("join", unguarded(join), joinTypes...),
		expr.Function("replace", unguarded(replace), replaceTypes...),
	}
}

// prefixMeter returns the function types with a *meter first parameter.
func prefixMeter(fns []any) []any {
	out := make([]any, len(fns))
	for i, f := range fns {
		t := reflect.TypeOf(f).Elem()
		in := []reflect.Type{reflect.TypeOf((*meter)(nil))}
		for j := 0; j < t.NumIn(); j++ {
			in = append(in, t.In(j))
		}
		outs := make([]reflect.Type, t.NumOut())
		for j := range outs {
			outs[j] = t.Out(j)
		}
		out[i] = reflect.Zero(reflect.FuncOf(in, outs, t.IsVariadic())).Interface()
	}
	return out
}

// charge declares __charge(__m, v), which returns v with v's static type
// (expr.Function cannot express "same type as the argument", so it is
// declared with a Validate function, as expr's own builtins are).
func charge(fn func(args ...any) (any, error)) expr.Option {
	return func(c *conf.Config) {
		c.Functions["__charge"] = &builtin.Function{
			Name: "__charge",
			Func: fn,
			Validate: func(args []reflect.Type) (reflect.Type, error) {
				if len(args) != 2 {
					return nil, fmt.Errorf("invalid number of arguments (expected 2, got %d)", len(args))
				}
				return args[1], nil
			},
		}
	}
}

func concat(m *meter, args []any) (any, error) {
	a, _ := args[0].(string)
	b, _ := args[1].(string)
	if err := m.charge(len(a) + len(b)); err != nil {
		return nil, err
	}
	return a + b, nil
}

func add(m *meter, args []any) (any, error) {
	a, aok := args[0].(string)
	b, bok := args[1].(string)
	if aok && bok {
		if err := m.charge(len(a) + len(b)); err != nil {
			return nil, err
		}
		return a + b, nil
	}
	return runtime.Add(args[0], args[1]), nil
}

func toString(m *meter, args []any) (any, error) {
	if err := m.charge(approxLen(args[0], m.budget-m.used+1, 0)); err != nil {
		return nil, err
	}
	return fmt.Sprintf("%v", args[0]), nil
}

func join(m *meter, args []any) (any, error) {
	glue := ""
	if len(args) > 1 {
		glue, _ = args[1].(string)
	}
	var parts []string
	switch x := args[0].(type) {
	case []string:
		parts = x
	case []any:
		parts = make([]string, len(x))
		for i, v := range x {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("join: element %d is %s, not a string", i, runtimeType(v))
			}
			parts[i] = s
		}
	default:
		return nil, fmt.Errorf("join: cannot join %s", runtimeType(args[0]))
	}
	size := 0
	for _, p := range parts {
		size += len(p) + len(glue)
		if size > m.budget {
			break
		}
	}
	if err := m.charge(size); err != nil {
		return nil, err
	}
	return strings.Join(parts, glue), nil
}

func replace(m *meter, args []any) (any, error) {
	s, _ := args[0].(string)
	old, _ := args[1].(string)
	repl, _ := args[2].(string)
	n := -1
	if len(args) > 3 {
		if i, ok := args[3].(int); ok {
			n = i
		}
	}
	count := strings.Count(s, old) // for old == "": one more than the runes of s
	if n >= 0 && n < count {
		count = n
	}
	if err := m.charge(len(s) + count*max(0, len(repl)-len(old))); err != nil {
		return nil, err
	}
	return strings.Replace(s, old, repl, n), nil
}

// sizeOf is what a value built by a charged builtin costs: bytes of text,
// elements of lists and maps.
func sizeOf(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case []any:
		return len(x)
	case []string:
		return len(x)
	case map[string]any:
		return len(x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.String:
		return rv.Len()
	}
	return 0
}

// approxLen estimates the length of fmt's %v rendering of v, stopping once
// it exceeds limit.
func approxLen(v any, limit, depth int) int {
	switch x := v.(type) {
	case nil:
		return 5
	case string:
		return len(x)
	case bool, int, int64, float64, float32, int32, uint, uint64:
		return 24
	case time.Time:
		return 64
	case []any:
		n := 2
		for _, e := range x {
			if n > limit || depth > 64 {
				break
			}
			n += approxLen(e, limit-n, depth+1) + 1
		}
		return n
	case []string:
		n := 2
		for _, e := range x {
			if n > limit {
				break
			}
			n += len(e) + 1
		}
		return n
	case map[string]any:
		n := 5
		for k, e := range x {
			if n > limit || depth > 64 {
				break
			}
			n += len(k) + approxLen(e, limit-n, depth+1) + 2
		}
		return n
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return 2 + 24*rv.Len()
	}
	return 64
}

// utcDates makes date("2026-11-23") without a zone mean midnight UTC, like
// date fields. It does what expr.Timezone("UTC") does, but gives the
// location constant its type: in expr v1.17.8 a date() call patched inside
// the arguments of an already type-checked call keeps an untyped constant,
// which the compiler then dereferences, and date() fails at run time.
type utcDates struct{}

func (utcDates) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BuiltinNode)
	if !ok || b.Name != "date" {
		return
	}
	loc := &ast.ConstantNode{Value: time.UTC}
	loc.SetType(reflect.TypeOf(time.UTC))
	loc.SetLocation(b.Location())
	b.Arguments = append([]ast.Node{loc}, b.Arguments...)
}

var (
	_ ast.Visitor = (*guard)(nil)
	_ ast.Visitor = utcDates{}
	_ error       = (*limitError)(nil)
)
