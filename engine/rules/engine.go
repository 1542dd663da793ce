// Package rules is Stride's formula engine: admin-written expr expressions
// compiled against typed environments, cached, evaluated within hard limits
// and explained (DESIGN.md §4).
//
// A formula is compiled once, when the admin saves it, against a typed
// environment (types.Map, usually derived from a form's JSON Schema by
// package forms) and an expected result kind, so unknown names, type errors
// and wrong result types are reported at save time with a stable code, a
// line and column and a did-you-mean hint (see FormulaError). Compiled
// programs are immutable and safe for concurrent use; Engine.Compile caches
// them by (tenant, configuration key, version, source, result kind).
//
// # Limits
//
// No formula can hurt the server. At compile time a formula is limited in
// length and in syntax-tree nodes (Options.MaxNodes). At run time every
// evaluation gets a fresh budget:
//
//   - expr's VM memory budget (Options.MemoryBudget) counts the elements of
//     the ranges, lists and maps a formula builds, so map(1..100000000, #)
//     fails at once;
//   - the same budget, counted separately in bytes, bounds the text a formula
//     builds with +, string, join, replace, upper, lower and split — expr
//     itself does not count strings, and repeated doubling of a string would
//     otherwise exhaust the machine's memory in a second;
//   - every loop step (each element a map, filter, all, count, sum, reduce…
//     visits) counts against Options.MaxSteps, and looping formulas are
//     stopped after Options.Timeout of wall-clock time.
//
// A formula that hits a limit fails with code formula_limit_exceeded. The
// bookkeeping is added to a formula's syntax tree by an expr patch only where
// the formula loops or builds text, so plain arithmetic runs at full speed.
//
// # Functions
//
// Besides expr's builtins (abs, min, max, len, ceil, floor, upper, lower,
// date, duration, map, filter, sum, …) formulas may call:
//
//	tier(x, table)        x × the rate of the highest threshold ≤ x (0 below the first)
//	marginal(x, table)    each slice of x between thresholds at its own rate
//	clamp(x, lo, hi)      x limited to [lo, hi]
//	round(x[, digits])    half-even rounding to digits decimals (default 0)
//	daysBetween(a, b)     calendar days from a's date to b's date
//	daysSince(t)          calendar days from t's date to today
//	periodOf(t, grain)    the key of t's day, week, month, quarter or year
//	now()                 the engine's clock (Options.Now)
//
// A table is a list of [threshold, rate] rows in ascending threshold order,
// written as a literal such as [[0, 0.05], [100000, 0.08]] or read from the
// environment. The table parameter is declared as []any: expr types every
// array literal as []interface{}, so that is the one parameter type both
// literals and environment lists fit; the table's shape (rows of two finite
// numbers, thresholds strictly ascending) is checked when the function runs
// and a bad table is a formula_runtime_error naming the row. Number
// parameters accept ints as well as floats. Dates are read in their own time zone: forms gives date
// fields as midnight UTC and date-times as UTC instants, so daysBetween,
// daysSince and periodOf work on UTC calendar days and calendar years unless
// the caller converts times to the tenant's zone first.
//
// toJSON, fromJSON, toBase64 and fromBase64 are not available: formulas work
// on record fields, not on encoded documents.
package rules

import (
	"container/list"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// Defaults for the zero fields of Options.
const (
	DefaultMaxNodes     uint = 1000
	DefaultMemoryBudget uint = 1_000_000
	DefaultCacheSize         = 1024
	DefaultMaxSteps          = 1_000_000
	DefaultTimeout           = time.Second
)

// MaxSourceLen is the longest formula, in bytes, the engine compiles.
const MaxSourceLen = 16 << 10

// Options configure an Engine. Zero fields take the defaults above.
type Options struct {
	// MaxNodes bounds the size of a formula's syntax tree.
	MaxNodes uint
	// MemoryBudget bounds what one evaluation may build: list, map and range
	// elements (counted by expr's VM) and, separately, bytes of text.
	MemoryBudget uint
	// CacheSize is the number of compiled programs Engine.Compile keeps.
	CacheSize int
	// Now is the clock of now() and daysSince; time.Now if nil.
	Now func() time.Time
	// MaxSteps bounds the loop steps of one evaluation.
	MaxSteps int
	// Timeout bounds the wall-clock time of one evaluation of a formula that
	// loops. It is a backstop: MaxSteps and MemoryBudget stop runaway
	// formulas deterministically long before it in practice.
	Timeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.MaxNodes == 0 {
		o.MaxNodes = DefaultMaxNodes
	}
	if o.MemoryBudget == 0 {
		o.MemoryBudget = DefaultMemoryBudget
	}
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxSteps <= 0 {
		o.MaxSteps = DefaultMaxSteps
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// Result is the kind of value a formula must produce.
type Result int

// The result kinds.
const (
	// Any accepts every value.
	Any Result = iota
	// Bool requires a boolean.
	Bool
	// Number requires an int or a float; the result is always a float64.
	Number
	// String requires a string.
	String
	// Time requires a time.Time.
	Time
)

// String returns the Go type name of the result kind ("any", "bool",
// "float64", "string" or "time.Time").
func (r Result) String() string {
	switch r {
	case Bool:
		return "bool"
	case Number:
		return "float64"
	case String:
		return "string"
	case Time:
		return "time.Time"
	}
	return "any"
}

// Key identifies a formula in the compiled-program cache: the tenant, the
// configuration it belongs to (e.g. "object:deal:commission") and that
// configuration's published version.
type Key struct {
	Tenant  string
	Config  string
	Version int64
}

// Engine compiles and caches formulas. It is safe for concurrent use.
type Engine struct {
	opts      Options
	functions []expr.Option
	names     []string // callable names, for did-you-mean hints
	cache     *lru
	vms       sync.Pool // *vm.VM
	states    sync.Pool // *runState
}

// New returns an engine with the given options.
func New(opts Options) *Engine {
	e := &Engine{opts: opts.withDefaults()}
	e.cache = newLRU(e.opts.CacheSize)
	e.vms.New = func() any { return new(vm.VM) }
	e.states.New = func() any { return &runState{env: make(map[string]any, 16)} }
	e.functions, e.names = e.library()
	return e
}

// Compile returns the program for src, compiling it on first use and caching
// it under key. Programs differing in source or result kind are cached
// separately even under the same key. env must be the same for every call
// with the same key. A formula mistake is a *FormulaError.
func (e *Engine) Compile(key Key, src string, env types.Map, want Result) (*Program, error) {
	ck := cacheKey{Key: key, src: src, want: want}
	if p, ok := e.cache.get(ck); ok {
		return p, nil
	}
	p, err := e.compile(src, env, want)
	if err != nil {
		return nil, err
	}
	e.cache.add(ck, p)
	return p, nil
}

// Check compiles src without caching it, for formulas being edited.
func (e *Engine) Check(src string, env types.Map, want Result) (*Program, error) {
	return e.compile(src, env, want)
}

// Functions returns the names of the functions formulas may call (the
// library and expr's enabled builtins), sorted.
func (e *Engine) Functions() []string {
	return append([]string(nil), e.names...)
}

func (e *Engine) compile(src string, env types.Map, want Result) (*Program, error) {
	if len(src) > MaxSourceLen {
		return nil, &FormulaError{Code: CodeTooComplex, Message: fmt.Sprintf("formula is longer than %d characters", MaxSourceLen)}
	}
	if strings.TrimSpace(src) == "" {
		return nil, &FormulaError{Code: CodeSyntax, Message: "formula is empty"}
	}
	full := make(types.Map, len(env)+1)
	for name, t := range env {
		if strings.HasPrefix(name, hiddenPrefix) || strings.HasPrefix(name, "$") {
			return nil, fmt.Errorf("rules: environment name %q is reserved", name)
		}
		full[name] = t
	}
	full[meterName] = meterType
	opts := make([]expr.Option, 0, len(e.functions)+4)
	opts = append(opts, expr.Env(full), expr.MaxNodes(e.opts.MaxNodes))
	opts = append(opts, e.functions...)
	switch want {
	case Bool:
		opts = append(opts, expr.AsBool())
	case Number:
		opts = append(opts, expr.AsFloat64())
	case String:
		opts = append(opts, expr.AsKind(reflect.String))
	}

	g := &guard{}
	prog, err := compileSafely(src, append(opts, expr.Patch(g))...)
	if g.violation != nil {
		return nil, e.formulaError(src, g.violation, env)
	}
	if err != nil {
		// Report the mistake as the admin wrote it, without the guard's
		// rewriting (which could only rename functions in messages).
		if _, plainErr := compileSafely(src, opts...); plainErr != nil {
			err = plainErr
		}
		return nil, e.compileError(src, err, opts, env)
	}
	p := &Program{
		prog:    prog,
		src:     src,
		want:    want,
		metered: g.metered,
		eng:     e,
	}
	node := prog.Node()
	p.typ = typeName(node.Type())
	switch want {
	case Bool, Number, String:
		p.typ = want.String()
	case Time:
		if t := node.Type(); t != nil && t.Kind() != reflect.Interface && t != timeType {
			return nil, &FormulaError{Code: CodeResultType, Message: fmt.Sprintf("expected time.Time, but got %s", t)}
		}
		p.typ = want.String()
	}
	p.reads = reads(node, env)
	return p, nil
}

// compileSafely runs expr.Compile, turning a panic inside expr into an error
// so that no input can crash the caller.
func compileSafely(src string, opts ...expr.Option) (prog *vm.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, fmt.Errorf("internal compiler error: %v", r)
		}
	}()
	return expr.Compile(src, opts...)
}

var timeType = reflect.TypeOf(time.Time{})

func typeName(t reflect.Type) string {
	if t == nil || t.Kind() == reflect.Interface {
		return "any"
	}
	return t.String()
}

// cacheKey is what a compiled program is cached under.
type cacheKey struct {
	Key
	src  string
	want Result
}

// lru is a bounded least-recently-used cache of programs, safe for
// concurrent use.
type lru struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recent; values are *lruEntry
	items map[cacheKey]*list.Element
}

type lruEntry struct {
	key cacheKey
	p   *Program
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: make(map[cacheKey]*list.Element, max)}
}

func (c *lru) get(k cacheKey) (*Program, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry).p, true
}

func (c *lru) add(k cacheKey, p *Program) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&lruEntry{key: k, p: p})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry).key)
	}
}

func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
