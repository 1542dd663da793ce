package rules

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/expr-lang/expr/types"
)

const memMsg = "memory budget exceeded: the formula builds more data than its budget of 1000000 allows"

// TestHostileFormulas: formulas written to exhaust memory or time fail fast
// with formula_limit_exceeded instead of hurting the process.
func TestHostileFormulas(t *testing.T) {
	// Fewer steps keep the test fast under -race; the wall-clock backstop is
	// raised so a loaded machine (CI runs packages in parallel) cannot make
	// it fire before the deterministic step limit the cases assert.
	e := newTestEngine(Options{MaxSteps: 100_000, Timeout: time.Minute})
	const stepMsg = "step limit exceeded: the formula loops more than 100000 times"
	big := make([]any, 3000)
	for i := range big {
		big[i] = i
	}
	env := types.Map{"s": types.String, "big": types.Array(types.Int)}
	vars := map[string]any{"s": strings.Repeat("x", 1000), "big": big}
	cases := []struct {
		name, src, message string
	}{
		{"huge range", `map(1..100000000, # * 2)`, memMsg},
		{"huge range, length only", `len(map(1..100000000, # * 2))`, memMsg},
		{"almost the budget, twice", `len(1..600000) + len(1..600000)`, memMsg},
		{"many small loops", `len(map(1..1000, map(1..1000, #)))`, stepMsg},
		{"repeat", `len(repeat("x", 10000000))`, memMsg},
		{"repeat, many times", `len(map(1..1000, repeat("x", 100000)))`, memMsg},
		{"string doubling in reduce", `len(reduce(1..40, #acc + #acc, s))`, memMsg},
		{"string doubling with let", `let a = s + s; let b = a + a; let c = b + b; let d = c + c; let e = d + d; let f = e + e; let g = f + f; let h = g + g; let i = h + h; let j = i + i; len(j + j)`, memMsg},
		{"string growth in a long loop", `len(reduce(1..900000, #acc + "xx", ""))`, memMsg},
		{"join of one string many times", `len(join(map(1..5000, s), ","))`, memMsg},
		{"string of a list of copies", `len(string(map(1..5000, s)))`, memMsg},
		{"replace amplifies", `len(replace(s + s, "x", s))`, memMsg},
		{"upper in a loop", `len(map(1..5000, upper(s)))`, memMsg},
		{"split in a loop", `len(map(1..2000, split(s, "")))`, memMsg},
		{"nested loops over data", `count(big, count(big, # > 0) == len(big))`, stepMsg},
		{"sum over pairs", `sum(big, sum(big, # * 2))`, stepMsg},
		{"groupBy in a loop", `len(map(1..2000, len(groupBy(big, # % 7))))`, stepMsg},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := e.Check(c.src, env, Any)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			v, err := p.Run(vars)
			took := time.Since(start)
			fe, ok := AsFormulaError(err)
			if !ok || fe.Code != CodeLimit || fe.Message != c.message {
				t.Fatalf("got %v, %v; want %s %q", v, err, CodeLimit, c.message)
			}
			if fe.Line != 1 || fe.Column < 1 {
				t.Errorf("no position: %d:%d", fe.Line, fe.Column)
			}
			if took > 2*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}

// TestMemoryBudgetIsFast checks the example from the design: the VM's
// budget stops a hundred-million-element map before it allocates it.
func TestMemoryBudgetIsFast(t *testing.T) {
	e := newTestEngine(Options{})
	p, err := e.Check(`map(1..100000000, # * 2)`, nil, Any)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err = p.Run(nil)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if fe, ok := AsFormulaError(err); !ok || fe.Code != CodeLimit {
		t.Fatalf("err = %v", err)
	}
	if took > 50*time.Millisecond {
		t.Errorf("took %v", took)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("allocated %d bytes", grew)
	}
}

func TestTimeout(t *testing.T) {
	e := newTestEngine(Options{Timeout: 50 * time.Millisecond, MaxSteps: 1 << 40})
	big := make([]any, 5000)
	for i := range big {
		big[i] = i
	}
	p, err := e.Check(`sum(big, sum(big, #))`, types.Map{"big": types.Array(types.Int)}, Number)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = p.Run(map[string]any{"big": big})
	took := time.Since(start)
	fe, ok := AsFormulaError(err)
	if !ok || fe.Code != CodeLimit || fe.Message != "time limit exceeded: the formula ran longer than 50ms" {
		t.Fatalf("err = %v", err)
	}
	if took > time.Second {
		t.Errorf("took %v", took)
	}
}

func TestStepLimitOption(t *testing.T) {
	e := newTestEngine(Options{MaxSteps: 10})
	p, err := e.Check(`count(1..10, true)`, nil, Number)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := p.Run(nil); err != nil || v != 10.0 {
		t.Fatalf("10 steps: %v, %v", v, err)
	}
	p, _ = e.Check(`count(1..11, true)`, nil, Number)
	if _, err := p.Run(nil); err == nil || err.Error() != "formula_limit_exceeded: step limit exceeded: the formula loops more than 10 times (1:14)" {
		t.Fatalf("11 steps: %v", err)
	}
}

// TestBudgetIsPerRun: the budget resets between runs and pooled state does
// not leak between them.
func TestBudgetIsPerRun(t *testing.T) {
	e := newTestEngine(Options{MemoryBudget: 1000})
	p, err := e.Check(`len(name + name)`, types.Map{"name": types.String}, Number)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if v, err := p.Run(map[string]any{"name": strings.Repeat("x", 400)}); err != nil || v != 800.0 {
			t.Fatalf("run %d: %v, %v", i, v, err)
		}
	}
	if _, err := p.Run(map[string]any{"name": strings.Repeat("x", 600)}); err == nil {
		t.Fatal("1200 bytes fit a budget of 1000")
	}
	if v, err := p.Run(map[string]any{"name": "ab"}); err != nil || v != 4.0 {
		t.Fatalf("after a failure: %v, %v", v, err)
	}
}

// TestPlainFormulasAreNotRewritten: only formulas that loop or build text
// pay for the bookkeeping.
func TestPlainFormulasAreNotRewritten(t *testing.T) {
	e := newTestEngine(Options{})
	cases := map[string]bool{
		`amount * 0.1 + (stage == "won" ? 500 : 0)`: false,
		`tier(amount, [[0, 0.05], [10000, 0.08]])`:  false,
		`daysSince(closeDate) > 30`:                 false,
		`len(tags) > 0 && "vip" in tags`:            false,
		`sum(items, .qty)`:                          true,
		`name + "!"`:                                true,
		`string(amount)`:                            true,
		`upper(name)`:                               true,
	}
	for src, want := range cases {
		p, err := e.Check(src, testEnv, Any)
		if err != nil {
			t.Fatal(err)
		}
		if p.metered != want {
			t.Errorf("%s: metered = %v", src, p.metered)
		}
	}
}

// TestHostileInParallel: limit failures under concurrency leave the engine
// healthy.
func TestHostileInParallel(t *testing.T) {
	e := newTestEngine(Options{})
	env := types.Map{"s": types.String}
	srcs := []string{`len(reduce(1..40, #acc + #acc, s))`, `map(1..100000000, #)`, `len(repeat(s, 10000000))`, `s + "!"`}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				for _, src := range srcs {
					p, err := e.Compile(Key{Tenant: "t", Config: src}, src, env, Any)
					if err != nil {
						t.Error(err)
						return
					}
					v, err := p.Run(map[string]any{"s": "ab"})
					if src == `s + "!"` && (err != nil || v != "ab!") {
						t.Errorf("%s = %v, %v", src, v, err)
					}
				}
			}
		}()
	}
	wg.Wait()
}
