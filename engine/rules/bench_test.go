package rules

import (
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/types"
)

const benchFormula = `amount * 0.1 + (stage == "won" ? 500 : 0)`

var (
	benchEnv  = types.Map{"amount": types.Float64, "stage": types.String, "name": types.String, "qty": types.Int}
	benchVars = map[string]any{"amount": 12500.0, "stage": "won", "name": "华东医院设备采购", "qty": 3}
	benchSink any
)

// BenchmarkEngineRun measures the engine's hot path: a cached program looked
// up by key and run on a record's variables.
func BenchmarkEngineRun(b *testing.B) {
	e := New(Options{})
	key := Key{Tenant: "demo", Config: "object:deal:commission", Version: 3}
	if _, err := e.Compile(key, benchFormula, benchEnv, Number); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := e.Compile(key, benchFormula, benchEnv, Number)
		if err != nil {
			b.Fatal(err)
		}
		out, err := p.Run(benchVars)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = out
	}
}

// BenchmarkProgramRun measures Program.Run alone, the program held by the
// caller.
func BenchmarkProgramRun(b *testing.B) {
	e := New(Options{})
	p, err := e.Check(benchFormula, benchEnv, Number)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := p.Run(benchVars)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = out
	}
}

// BenchmarkBareExprRun is the baseline: expr compiled once against the same
// environment and run with expr.Run.
func BenchmarkBareExprRun(b *testing.B) {
	p, err := expr.Compile(benchFormula, expr.Env(benchEnv), expr.AsFloat64())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := expr.Run(p, benchVars)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = out
	}
}

// BenchmarkEngineRunGuarded is a formula that loops and builds text, so it
// runs with the limit bookkeeping.
func BenchmarkEngineRunGuarded(b *testing.B) {
	e := New(Options{})
	env := types.Map{"name": types.String, "items": types.Array(types.Map{"qty": types.Int, "price": types.Float64})}
	items := make([]any, 20)
	for i := range items {
		items[i] = map[string]any{"qty": i, "price": 9.5}
	}
	vars := map[string]any{"name": "华东", "items": items}
	p, err := e.Compile(Key{Tenant: "demo", Config: "x"}, `name + ": " + string(sum(items, .qty * .price))`, env, String)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := p.Run(vars)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = out
	}
}

// BenchmarkCompile measures compiling (what a cache miss costs).
func BenchmarkCompile(b *testing.B) {
	e := New(Options{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := e.Check(benchFormula, benchEnv, Number); err != nil {
			b.Fatal(err)
		}
	}
}
