package rules

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	`amount * 0.1 + (stage == "won" ? 500 : 0)`,
	`tier(amount, [[0, 0.05], [100000, 0.08]])`,
	`marginal(amount, rates) + clamp(probability, 0, 100)`,
	`sum(items, .qty * .price) > 10 && "vip" in tags`,
	`let x = amount; x > 1 ? upper(name) : lower(name)`,
	`daysBetween(closeDate, now()) + daysSince(closeDate)`,
	`periodOf(closeDate, "quarter") + customer.region`,
	`map(1..100000000, # * 2)`,
	`reduce(1..40, #acc + #acc, name)`,
	`join(map(tags, upper(#)), ",") + string(items)`,
	`replace(name, "a", repeat("b", 100))`,
	`round(amount / 3, 2)`,
	`items[0].qty ?? 0`,
	`filter(items, .price > 1) | map(.qty) | sum()`,
	`$env.amount`,
	`amout`,
	`(((((1`,
	`"\u00e9" + 'x'`,
	"amount\n+\tname",
}

// FuzzCompile: no source text makes Compile panic, and every failure is a
// FormulaError with one of the stable codes and a sane position.
func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	e := newTestEngine(Options{})
	codes := map[string]bool{CodeSyntax: true, CodeUnknownName: true, CodeType: true, CodeResultType: true, CodeTooComplex: true, CodeRuntime: true}
	f.Fuzz(func(t *testing.T, src string) {
		for _, want := range []Result{Any, Number, Bool} {
			p, err := e.Check(src, testEnv, want)
			if err == nil {
				if p.Type() == "" || p.Source() != src {
					t.Fatalf("program %q: type %q", src, p.Type())
				}
				continue
			}
			fe, ok := AsFormulaError(err)
			if !ok {
				t.Fatalf("%q: not a FormulaError: %T %v", src, err, err)
			}
			if !codes[fe.Code] || fe.Message == "" {
				t.Fatalf("%q: code %q message %q", src, fe.Code, fe.Message)
			}
			if fe.Line < 0 || fe.Column < 0 || (fe.Line > 0 && fe.Column < 1) {
				t.Fatalf("%q: position %d:%d", src, fe.Line, fe.Column)
			}
			if fe.Line > strings.Count(src, "\n")+1 {
				t.Fatalf("%q: line %d past the end", src, fe.Line)
			}
			if fe.Code == CodeUnknownName && fe.Name == "" {
				t.Fatalf("%q: unknown name without a name", src)
			}
		}
	})
}

// FuzzRun: whatever compiles runs to a value or a FormulaError, within the
// limits, without panicking.
func FuzzRun(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	e := newTestEngine(Options{MaxSteps: 20_000, MemoryBudget: 100_000, Timeout: 200 * time.Millisecond})
	f.Fuzz(func(t *testing.T, src string) {
		if !utf8.ValidString(src) {
			return
		}
		p, err := e.Check(src, testEnv, Any)
		if err != nil {
			return
		}
		start := time.Now()
		_, err = p.Run(testVars())
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("%q ran for %v", src, d)
		}
		if err != nil {
			if _, ok := AsFormulaError(err); !ok {
				t.Fatalf("%q: not a FormulaError: %T %v", src, err, err)
			}
		}
	})
}
