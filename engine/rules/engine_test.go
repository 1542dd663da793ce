package rules

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/expr-lang/expr/types"
)

var (
	timeT   = types.TypeOf(time.Time{})
	testEnv = types.Map{
		"amount":      types.Float64,
		"probability": types.Int,
		"name":        types.String,
		"stage":       types.String,
		"won":         types.Bool,
		"closeDate":   timeT,
		"tags":        types.Array(types.String),
		"items":       types.Array(types.Map{"qty": types.Int, "price": types.Float64}),
		"customer":    types.Map{"name": types.String, "region": types.String, "level": types.Int},
		"rates":       types.Array(types.Array(types.Float64)),
	}
	fixedNow = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
)

func testVars() map[string]any {
	return map[string]any{
		"amount":      12500.0,
		"probability": 40,
		"name":        "华东医院设备采购",
		"stage":       "won",
		"won":         true,
		"closeDate":   time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
		"tags":        []any{"vip", "east"},
		"items":       []any{map[string]any{"qty": 2, "price": 1.5}, map[string]any{"qty": 1, "price": 10.0}},
		"customer":    map[string]any{"name": "协和", "region": "east", "level": 2},
		"rates":       []any{[]any{0.0, 0.05}, []any{10000.0, 0.08}},
	}
}

func newTestEngine(opts Options) *Engine {
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	return New(opts)
}

func TestRun(t *testing.T) {
	e := newTestEngine(Options{})
	cases := []struct {
		src   string
		want  Result
		value any
		typ   string
		reads []string
	}{
		{`amount * probability / 100`, Number, 5000.0, "float64", []string{"amount", "probability"}},
		{`probability`, Number, 40.0, "float64", []string{"probability"}},
		{`probability`, Any, 40, "int", []string{"probability"}},
		{`amount * 0.1 + (stage == "won" ? 500 : 0)`, Number, 1750.0, "float64", []string{"amount", "stage"}},
		{`stage == 'lost' && amount > 0`, Bool, false, "bool", []string{"amount", "stage"}},
		{`won`, Bool, true, "bool", []string{"won"}},
		{`name + " (" + customer.region + ")"`, String, "华东医院设备采购 (east)", "string", []string{"customer", "name"}},
		{`customer.level * 2`, Any, 4, "int", []string{"customer"}},
		{`closeDate`, Time, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), "time.Time", []string{"closeDate"}},
		{`sum(items, .qty * .price)`, Number, 13.0, "float64", []string{"items"}},
		{`filter(tags, # != "vip")`, Any, []any{"east"}, "[]interface {}", []string{"tags"}},
		{`let vip = "vip" in tags; vip ? amount : 0`, Number, 12500.0, "float64", []string{"amount", "tags"}},
		{`len(items) > 1`, Bool, true, "bool", []string{"items"}},
		{`tier(amount, rates)`, Number, 1000.0, "float64", []string{"amount", "rates"}},
		{`1 + 2`, Any, 3, "int", []string{}},
		{`string(probability) + "%"`, String, "40%", "string", []string{"probability"}},
		{`upper(customer.region)`, String, "EAST", "string", []string{"customer"}},
		{`join(tags, "/")`, String, "vip/east", "string", []string{"tags"}},
		{`replace(name, "设备", "器械")`, String, "华东医院器械采购", "string", []string{"name"}},
		{`date("2026-12-01")`, Time, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "time.Time", []string{}},
		{`daysBetween(closeDate, date("2026-12-01"))`, Number, 11.0, "float64", []string{"closeDate"}},
		{`amount > 10000 ? "big" : "small"`, String, "big", "string", []string{"amount"}},
		{`probability > 1 ? "a" : 2`, Any, "a", "any", []string{"probability"}},
		// Guarded expressions and date() inside the arguments of library functions.
		{`periodOf(closeDate, lower("WEEK"))`, String, "2026-W47", "string", []string{"closeDate"}},
		{`tier(len(name + name), [[0, 1]])`, Number, 16.0, "float64", []string{"name"}},
		{`round(sum(items, .qty * .price) / 3, 2)`, Number, 4.33, "float64", []string{"items"}},
		{`clamp(daysBetween(date("2026-11-01"), closeDate), 0, len(split(name, "")))`, Number, 8.0, "float64", []string{"closeDate", "name"}},
	}
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			p, err := e.Check(c.src, testEnv, c.want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Run(testVars())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.value) {
				t.Errorf("value %#v, want %#v", got, c.value)
			}
			if p.Type() != c.typ {
				t.Errorf("type %s, want %s", p.Type(), c.typ)
			}
			if r := p.Reads(); !reflect.DeepEqual(r, c.reads) {
				t.Errorf("reads %v, want %v", r, c.reads)
			}
			if p.Source() != c.src {
				t.Errorf("source %q", p.Source())
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	e := newTestEngine(Options{})
	cases := []struct {
		src     string
		want    Result
		code    string
		message string
		line    int
		column  int
		name    string
		hint    string
		snippet string
	}{
		{`amout * 2`, Number, CodeUnknownName, "unknown name amout", 1, 1, "amout", "did you mean amount?", "amout * 2\n^"},
		{`stage == 'lost' && amout > 0`, Bool, CodeUnknownName, "unknown name amout", 1, 20, "amout", "did you mean amount?", "stage == 'lost' && amout > 0\n                   ^"},
		{"amount\n  + nmae", Number, CodeUnknownName, "unknown name nmae", 2, 5, "nmae", "did you mean name?", "  + nmae\n    ^"},
		{`Amount`, Number, CodeUnknownName, "unknown name Amount", 1, 1, "Amount", "did you mean amount?", "Amount\n^"},
		{`teir(amount, rates)`, Number, CodeUnknownName, "unknown name teir", 1, 1, "teir", "did you mean tier?", "teir(amount, rates)\n^"},
		{`foo(1)`, Any, CodeUnknownName, "unknown name foo", 1, 1, "foo", "", "foo(1)\n^"},
		{`customer.regoin`, String, CodeUnknownName, "unknown field regoin", 1, 10, "regoin", "did you mean region?", "customer.regoin\n         ^"},
		{`items[0].qtx`, Any, CodeUnknownName, "unknown field qtx", 1, 10, "qtx", "did you mean qty?", "items[0].qtx\n         ^"},
		{`$env["amount"]`, Any, CodeUnknownName, "unknown name $env", 1, 1, "$env", "", "$env[\"amount\"]\n^"},
		{`__m`, Any, CodeUnknownName, "unknown name __m", 1, 1, "__m", "", "__m\n^"},
		{`amount + __tick(__m)`, Any, CodeUnknownName, "unknown name __tick", 1, 10, "__tick", "", "amount + __tick(__m)\n         ^"},
		{`toJSON(tags)`, String, CodeUnknownName, "unknown name toJSON", 1, 1, "toJSON", "", "toJSON(tags)\n^"},
		{`amount +`, Number, CodeSyntax, "unexpected token EOF", 1, 8, "", "", "amount +\n       ^"},
		{`(amount`, Number, CodeSyntax, "unexpected token EOF", 1, 7, "", "", "(amount\n      ^"},
		{`amount ** `, Number, CodeSyntax, "unexpected token EOF", 1, 10, "", "", ""},
		{`"unterminated`, String, CodeSyntax, "literal not terminated", 1, 14, "", "", "\"unterminated\n             ^"},
		{`name * 2`, Number, CodeType, "invalid operation: * (mismatched types string and int)", 1, 6, "", "", "name * 2\n     ^"},
		{`round(amount, "x")`, Number, CodeType, "cannot use string as argument (type int) to call round", 1, 15, "", "", "round(amount, \"x\")\n              ^"},
		{`tier(amount)`, Number, CodeType, "not enough arguments to call tier", 1, 1, "", "", "tier(amount)\n^"},
		{`daysBetween(closeDate, "2026-01-01")`, Number, CodeType, "cannot use string as argument (type time.Time) to call daysBetween", 1, 24, "", "", ""},
		{`won ? 1`, Number, CodeSyntax, "unexpected token EOF", 1, 7, "", "", ""},
		{`1 % 0`, Number, CodeType, "integer divide by zero", 1, 3, "", "", "1 % 0\n  ^"},
		{`name`, Number, CodeResultType, "expected float64, but got string", 0, 0, "", "", ""},
		{`amount + 1`, Bool, CodeResultType, "expected bool, but got float64", 0, 0, "", "", ""},
		{`amount`, String, CodeResultType, "expected string, but got float64", 0, 0, "", "", ""},
		{`amount`, Time, CodeResultType, "expected time.Time, but got float64", 0, 0, "", "", ""},
		{strings.Repeat("1 + ", 2000) + "1", Number, CodeTooComplex, "formula has more than 1000 parts; split it or simplify it", 0, 0, "", "", ""},
		{strings.Repeat("x", MaxSourceLen+1), Any, CodeTooComplex, "formula is longer than 16384 characters", 0, 0, "", "", ""},
		{"  \n ", Any, CodeSyntax, "formula is empty", 0, 0, "", "", ""},
	}
	for _, c := range cases {
		name := c.src
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			p, err := e.Check(c.src, testEnv, c.want)
			if err == nil {
				t.Fatalf("compiled to %s", p.Type())
			}
			fe, ok := AsFormulaError(err)
			if !ok {
				t.Fatalf("not a FormulaError: %T %v", err, err)
			}
			if fe.Code != c.code || fe.Message != c.message {
				t.Errorf("got %s %q, want %s %q", fe.Code, fe.Message, c.code, c.message)
			}
			if c.line != 0 && (fe.Line != c.line || fe.Column != c.column) {
				t.Errorf("position %d:%d, want %d:%d", fe.Line, fe.Column, c.line, c.column)
			}
			if fe.Name != c.name || fe.Hint != c.hint {
				t.Errorf("name %q hint %q, want %q %q", fe.Name, fe.Hint, c.name, c.hint)
			}
			if c.snippet != "" && fe.Snippet != c.snippet {
				t.Errorf("snippet %q, want %q", fe.Snippet, c.snippet)
			}
		})
	}
}

func TestFormulaErrorString(t *testing.T) {
	fe := &FormulaError{Code: CodeUnknownName, Message: "unknown name amout", Line: 1, Column: 1, Hint: "did you mean amount?"}
	if got := fe.Error(); got != "formula_unknown_name: unknown name amout (1:1); did you mean amount?" {
		t.Errorf("Error() = %q", got)
	}
	fe = &FormulaError{Code: CodeResultType, Message: "expected bool, but got float64"}
	if got := fe.Error(); got != "formula_result_type: expected bool, but got float64" {
		t.Errorf("Error() = %q", got)
	}
	wrapped := fmt.Errorf("field commission: %w", fe)
	if got, ok := AsFormulaError(wrapped); !ok || got != fe {
		t.Errorf("AsFormulaError(wrapped) = %v, %v", got, ok)
	}
	if _, ok := AsFormulaError(errors.New("x")); ok {
		t.Error("AsFormulaError(plain) = true")
	}
}

func TestRuntimeErrors(t *testing.T) {
	e := newTestEngine(Options{})
	cases := []struct {
		src     string
		want    Result
		code    string
		message string
		line    int
		column  int
	}{
		{`items[5].qty`, Any, CodeRuntime, "index out of range: 5 (array length is 2)", 1, 6},
		{`amount / 0`, Number, CodeRuntime, "the result is not a finite number (a division by zero?)", 0, 0},
		{`[1, amount / 0]`, Any, CodeRuntime, "the result contains a number that is not finite (a division by zero?)", 0, 0},
		{`tier(amount, [[0, 0.05], [100]])`, Number, CodeRuntime, "tier: table row 2 has 1 values; each row must be [threshold, rate]", 1, 1},
		{"amount +\n  tier(amount, [[10, 0.05], [1, 0.1]])", Number, CodeRuntime, "tier: table thresholds must be in ascending order, but row 2 (1) does not come after row 1 (10)", 2, 3},
		{`clamp(amount, 10, 1)`, Number, CodeRuntime, "clamp: the lower bound 10 is greater than the upper bound 1", 1, 1},
		{`periodOf(closeDate, stage)`, String, CodeRuntime, `periodOf: unknown period grain "won" (want day, week, month, quarter or year)`, 1, 1},
		{`int(name)`, Any, CodeRuntime, `invalid operation: int(华东医院设备采购)`, 1, 1},
		{`reduce(filter(tags, false), #acc + #)`, Any, CodeRuntime, "reduce of empty array with no initial value", 1, 1},
	}
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			p, err := e.Check(c.src, testEnv, c.want)
			if err != nil {
				t.Fatal(err)
			}
			v, err := p.Run(testVars())
			if err == nil {
				t.Fatalf("ran to %v", v)
			}
			fe, ok := AsFormulaError(err)
			if !ok {
				t.Fatalf("not a FormulaError: %T %v", err, err)
			}
			if fe.Code != c.code || fe.Message != c.message {
				t.Errorf("got %s %q, want %s %q", fe.Code, fe.Message, c.code, c.message)
			}
			if fe.Line != c.line || fe.Column != c.column {
				t.Errorf("position %d:%d, want %d:%d", fe.Line, fe.Column, c.line, c.column)
			}
		})
	}
}

// TestRuntimeResultType covers values whose kind is only known at run time.
func TestRuntimeResultType(t *testing.T) {
	e := newTestEngine(Options{})
	env := types.Map{"x": types.Any}
	cases := []struct {
		want    Result
		x       any
		message string
	}{
		{String, 3, "expected string, but got int"},
		{Time, "2026", "expected time.Time, but got string"},
		{Bool, 1, "invalid operation: bool(int)"},
	}
	for _, c := range cases {
		p, err := e.Check(`x`, env, c.want)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Run(map[string]any{"x": c.x})
		fe, ok := AsFormulaError(err)
		if !ok || fe.Message != c.message || (fe.Code != CodeResultType && fe.Code != CodeRuntime) {
			t.Errorf("Run(%v) as %s: %v, want %s", c.x, c.want, err, c.message)
		}
	}
	// A number-kind formula over an unknown value converts what it can.
	p, _ := e.Check(`x`, env, Number)
	if v, err := p.Run(map[string]any{"x": 3}); err != nil || v != 3.0 {
		t.Errorf("Number of int = %v, %v", v, err)
	}
	// nil is false, as in expr.
	p, _ = e.Check(`x`, env, Bool)
	if v, err := p.Run(map[string]any{"x": nil}); err != nil || v != false {
		t.Errorf("Bool of nil = %v, %v", v, err)
	}
}

func TestExplain(t *testing.T) {
	e := newTestEngine(Options{})
	p, err := e.Check(`amount * probability / 100 + (won ? 1 : 0)`, testEnv, Number)
	if err != nil {
		t.Fatal(err)
	}
	v, reads, err := p.Explain(testVars())
	if err != nil {
		t.Fatal(err)
	}
	if v != 5001.0 || !reflect.DeepEqual(reads, map[string]any{"amount": 12500.0, "probability": 40, "won": true}) {
		t.Errorf("Explain = %v, %v", v, reads)
	}
	p, _ = e.Check(`items[9].qty`, testEnv, Any)
	_, reads, err = p.Explain(testVars())
	if err == nil || len(reads["items"].([]any)) != 2 {
		t.Errorf("Explain on failure = %v, %v", reads, err)
	}
}

func TestReservedEnvNames(t *testing.T) {
	e := newTestEngine(Options{})
	for _, name := range []string{"__m", "__x", "$env"} {
		_, err := e.Check(`1`, types.Map{name: types.Int}, Any)
		if err == nil || err.Error() != fmt.Sprintf("rules: environment name %q is reserved", name) {
			t.Errorf("env %s: %v", name, err)
		}
		if _, ok := AsFormulaError(err); ok {
			t.Errorf("env %s: a programming error must not be a FormulaError", name)
		}
	}
}

// TestEnvShadowsFunctions: a field named like a function hides the function
// in that environment, as in expr.
func TestEnvShadowsFunctions(t *testing.T) {
	e := newTestEngine(Options{})
	env := types.Map{"tier": types.String, "count": types.Int}
	p, err := e.Check(`tier == "gold" && count > 1`, env, Bool)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := p.Run(map[string]any{"tier": "gold", "count": 2}); err != nil || v != true {
		t.Errorf("Run = %v, %v", v, err)
	}
	if !reflect.DeepEqual(p.Reads(), []string{"count", "tier"}) {
		t.Errorf("Reads = %v", p.Reads())
	}
	_, err = e.Check(`tier(1, [[0, 1]])`, env, Number)
	if fe, ok := AsFormulaError(err); !ok || fe.Code != CodeType {
		t.Errorf("calling the shadowed function: %v", err)
	}
}

func TestCache(t *testing.T) {
	e := newTestEngine(Options{CacheSize: 2})
	k := Key{Tenant: "demo", Config: "object:deal:commission", Version: 1}
	p1, err := e.Compile(k, `amount * 0.1`, testEnv, Number)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := e.Compile(k, `amount * 0.1`, testEnv, Number)
	if p1 != p2 {
		t.Error("same key and source compiled twice")
	}
	// Another expression under the same key never hits the cached one.
	p3, _ := e.Compile(k, `amount * 0.2`, testEnv, Number)
	if p3 == p1 || p3.Source() != `amount * 0.2` {
		t.Error("different source hit the cache")
	}
	p4, _ := e.Compile(k, `amount * 0.1`, testEnv, Any)
	if p4 == p1 || p4.want != Any {
		t.Error("different result kind hit the cache")
	}
	if n := e.cache.len(); n != 2 {
		t.Errorf("cache holds %d programs, want 2", n)
	}
	// p1 was evicted (least recently used); p4 stays.
	if p, _ := e.Compile(k, `amount * 0.1`, testEnv, Any); p != p4 {
		t.Error("recent program evicted")
	}
	if p, _ := e.Compile(k, `amount * 0.1`, testEnv, Number); p == p1 {
		t.Error("evicted program still cached")
	}
	// Versions are separate entries.
	k2 := k
	k2.Version = 2
	if p, _ := e.Compile(k2, `amount * 0.1`, testEnv, Any); p == p4 {
		t.Error("another version hit the cache")
	}
	// Errors are not cached.
	if _, err := e.Compile(k, `amout`, testEnv, Number); err == nil {
		t.Error("bad formula compiled")
	}
	if _, err := e.Compile(k, `amout`, testEnv, Number); err == nil {
		t.Error("bad formula compiled from the cache")
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newTestEngine(Options{CacheSize: 8})
	srcs := []string{`amount * 0.1`, `sum(items, .qty * .price)`, `name + "!"`, `len(map(1..100, # * 2))`, `map(1..10000000, #)`}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				src := srcs[(g+i)%len(srcs)]
				p, err := e.Compile(Key{Tenant: fmt.Sprint("t", i%3), Config: "c"}, src, testEnv, Any)
				if err != nil {
					errs <- err
					return
				}
				vars := testVars()
				_, err = p.Run(vars)
				if fe, ok := AsFormulaError(err); err != nil && (!ok || fe.Code != CodeLimit) {
					errs <- err
					return
				}
				if len(vars) != len(testVars()) {
					errs <- fmt.Errorf("Run changed the caller's variables: %v", vars)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestResultString(t *testing.T) {
	for r, want := range map[Result]string{Any: "any", Bool: "bool", Number: "float64", String: "string", Time: "time.Time"} {
		if r.String() != want {
			t.Errorf("%d.String() = %s", r, r.String())
		}
	}
}

func TestFunctionsList(t *testing.T) {
	names := New(Options{}).Functions()
	for _, want := range []string{"tier", "marginal", "clamp", "round", "daysBetween", "daysSince", "periodOf", "now", "map", "sum", "string"} {
		if !contains(names, want) {
			t.Errorf("Functions() lacks %s", want)
		}
	}
	for _, hidden := range []string{"__tick", "toJSON", "fromJSON", "toBase64", "fromBase64"} {
		if contains(names, hidden) {
			t.Errorf("Functions() lists %s", hidden)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestSuggest(t *testing.T) {
	known := []string{"amount", "amounts", "name", "stage", "closeDate", "tier", "probability", "客户名称"}
	cases := map[string]string{
		"amout":       "amount",
		"amonut":      "amount", // adjacent swap
		"Amount":      "amount", // case only
		"nmae":        "name",
		"stgae":       "stage",
		"closedate":   "closeDate",
		"closDat":     "closeDate",
		"teir":        "tier",
		"probabilty":  "probability",
		"客户名":         "客户名称",
		"x":           "",
		"amt":         "",
		"customer":    "",
		"":            "",
		"name":        "",
		"probability": "",
	}
	for in, want := range cases {
		if got := Suggest(in, known); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
	// Ties go to the alphabetically first name.
	if got := Suggest("ab", []string{"bb", "aa"}); got != "aa" {
		t.Errorf("tie: %q", got)
	}
}
