package rules

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// Program is a compiled formula. It is immutable and safe for concurrent use.
type Program struct {
	prog    *vm.Program
	src     string
	want    Result
	typ     string
	reads   []string
	metered bool // the guard added limit bookkeeping: run with a meter
	eng     *Engine
}

// Source returns the formula as written.
func (p *Program) Source() string { return p.src }

// Type returns the name of the type the formula produces, as checked at
// compile time: "float64" for every Number formula, "bool", "string",
// "time.Time", "int", "[]interface {}"…, or "any" when it is only known at
// run time.
func (p *Program) Type() string { return p.typ }

// Reads returns the environment names the formula reads, sorted. Function
// names, let-variables and predicate pointers (#) are not included; a read
// of a nested field (deal.amount) counts as a read of its root (deal).
func (p *Program) Reads() []string { return slices.Clone(p.reads) }

// Run evaluates the formula with the given variables, which must match the
// environment the formula was compiled against (forms.Schema.ToEnv builds
// them for records); vars is only read. The result has the program's result
// kind: a float64 for Number, a bool for Bool, and so on. A failure is a
// *FormulaError with code formula_runtime_error, formula_result_type or
// formula_limit_exceeded.
func (p *Program) Run(vars map[string]any) (out any, err error) {
	e := p.eng
	m := e.vms.Get().(*vm.VM)
	m.MemoryBudget = e.opts.MemoryBudget
	var env any = vars
	var st *runState
	if p.metered {
		st = e.states.Get().(*runState)
		st.begin(vars, &e.opts)
		env = st.env
	}
	out, err = runSafely(m, p.prog, env)
	if st != nil {
		st.end()
		e.states.Put(st)
	}
	e.vms.Put(m)
	if err != nil {
		return nil, p.runtimeError(err)
	}
	return p.result(out)
}

// runSafely runs the VM; the VM recovers panics itself, this is a second
// line of defence for anything that escapes it.
func runSafely(m *vm.VM, prog *vm.Program, env any) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("internal error: %v", r)
		}
	}()
	return m.Run(prog, env)
}

// Explain evaluates the formula like Run and also returns the inputs it read
// (the Reads names with their values in vars), for dry runs and
// explanations. The inputs are returned even when evaluation fails.
func (p *Program) Explain(vars map[string]any) (value any, reads map[string]any, err error) {
	reads = make(map[string]any, len(p.reads))
	for _, name := range p.reads {
		reads[name] = vars[name]
	}
	value, err = p.Run(vars)
	return value, reads, err
}

// result checks a run's value against the program's result kind.
func (p *Program) result(out any) (any, error) {
	switch p.want {
	case Number:
		f, ok := out.(float64)
		if !ok {
			return nil, &FormulaError{Code: CodeResultType, Message: fmt.Sprintf("expected float64, but got %s", runtimeType(out))}
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, &FormulaError{Code: CodeRuntime, Message: "the result is not a finite number (a division by zero?)"}
		}
	case Bool:
		if _, ok := out.(bool); !ok {
			return nil, &FormulaError{Code: CodeResultType, Message: fmt.Sprintf("expected bool, but got %s", runtimeType(out))}
		}
	case String:
		if _, ok := out.(string); !ok {
			return nil, &FormulaError{Code: CodeResultType, Message: fmt.Sprintf("expected string, but got %s", runtimeType(out))}
		}
	case Time:
		if _, ok := out.(time.Time); !ok {
			return nil, &FormulaError{Code: CodeResultType, Message: fmt.Sprintf("expected time.Time, but got %s", runtimeType(out))}
		}
	default:
		if !finite(out, 0) {
			return nil, &FormulaError{Code: CodeRuntime, Message: "the result contains a number that is not finite (a division by zero?)"}
		}
	}
	return out, nil
}

func runtimeType(v any) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprintf("%T", v)
}

// finite reports whether v holds no NaN or infinite float, looking into
// lists and maps (which the memory budget keeps small).
func finite(v any, depth int) bool {
	switch x := v.(type) {
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return finite(float64(x), depth)
	case []any:
		if depth > 32 {
			return true
		}
		for _, e := range x {
			if !finite(e, depth+1) {
				return false
			}
		}
	case []float64:
		for _, e := range x {
			if !finite(e, depth) {
				return false
			}
		}
	case map[string]any:
		if depth > 32 {
			return true
		}
		for _, e := range x {
			if !finite(e, depth+1) {
				return false
			}
		}
	}
	return true
}

// runtimeError turns a VM error into a FormulaError with the location of
// the failing operation.
func (p *Program) runtimeError(err error) error {
	fe := &FormulaError{Code: CodeRuntime, Message: err.Error()}
	var ferr *file.Error
	if errors.As(err, &ferr) {
		fe.Message = ferr.Message
		fe.Line, fe.Column, fe.Snippet = position(p.src, ferr)
	}
	var le *limitError
	switch {
	case errors.As(err, &le):
		fe.Code, fe.Message = CodeLimit, le.msg
	case fe.Message == "memory budget exceeded":
		fe.Code, fe.Message = CodeLimit, memoryMessage(p.eng.opts.MemoryBudget)
	}
	return fe
}

// reads lists the names of env the tree reads.
func reads(node ast.Node, env types.Map) []string {
	v := &readVisitor{env: env, seen: map[string]bool{}, names: []string{}}
	ast.Walk(&node, v)
	slices.Sort(v.names)
	return v.names
}

type readVisitor struct {
	env   types.Map
	seen  map[string]bool
	names []string
}

func (v *readVisitor) Visit(node *ast.Node) {
	id, ok := (*node).(*ast.IdentifierNode)
	if !ok || v.seen[id.Value] {
		return
	}
	if _, ok := v.env[id.Value]; ok {
		v.seen[id.Value] = true
		v.names = append(v.names, id.Value)
	}
}
