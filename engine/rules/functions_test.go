package rules

import (
	"math"
	"testing"
	"time"

	"github.com/expr-lang/expr/types"
)

// evalCase is a formula, its environment values and the value or error it
// must produce.
type evalCase struct {
	src  string
	vars map[string]any
	want any
	err  string
}

var fnEnv = types.Map{
	"x":     types.Float64,
	"n":     types.Int,
	"t":     timeT,
	"u":     timeT,
	"table": types.Array(types.Array(types.Float64)),
	"rows":  types.Any,
	"grain": types.String,
}

func runCases(t *testing.T, e *Engine, cases []evalCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			p, err := e.Check(c.src, fnEnv, Any)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Run(c.vars)
			if c.err != "" {
				fe, ok := AsFormulaError(err)
				if !ok || fe.Message != c.err {
					t.Fatalf("got %v, %v; want error %q", got, err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("got %#v, want %#v", got, c.want)
			}
		})
	}
}

func vx(x float64) map[string]any { return map[string]any{"x": x} }

func TestTier(t *testing.T) {
	const table = `[[0, 0.05], [100000, 0.08], [200000, 0.1]]`
	runCases(t, newTestEngine(Options{}), []evalCase{
		{`tier(x, ` + table + `)`, vx(50000), 2500.0, ""},
		{`tier(x, ` + table + `)`, vx(0), 0.0, ""},
		{`tier(x, [[0, 0.25], [100, 0.5]])`, vx(99.5), 24.875, ""},
		// At a threshold the whole amount moves to the new rate.
		{`tier(x, ` + table + `)`, vx(100000), 8000.0, ""},
		{`tier(x, ` + table + `)`, vx(250000), 25000.0, ""},
		// Below the first threshold nothing is paid.
		{`tier(x, [[1000, 0.1]])`, vx(999), 0.0, ""},
		{`tier(x, ` + table + `)`, vx(-10), 0.0, ""},
		{`tier(x, [[-100, 0.5]])`, vx(-10), -5.0, ""},
		{`tier(n, [[0, 1], [10, 2]])`, map[string]any{"n": 12}, 24.0, ""},
		{`tier(1.5, [[0, 2]])`, nil, 3.0, ""},
		// Tables from the environment, as lists or as float slices.
		{`tier(x, table)`, map[string]any{"x": 150.0, "table": []any{[]any{0.0, 0.1}, []any{100.0, 0.2}}}, 30.0, ""},
		{`tier(x, rows)`, map[string]any{"x": 150.0, "rows": []any{[]float64{0, 0.1}, []float64{100, 0.2}}}, 30.0, ""},
		{`tier(x, rows)`, map[string]any{"x": 150.0, "rows": []any{[]int{0, 1}}}, 150.0, ""},
		{`tier(x, [])`, vx(1), nil, "tier: the table is empty; it needs at least one [threshold, rate] row"},
		{`tier(x, [[0, 0.1], [100]])`, vx(1), nil, "tier: table row 2 has 1 values; each row must be [threshold, rate]"},
		{`tier(x, [[0, 0.1, 3]])`, vx(1), nil, "tier: table row 1 has 3 values; each row must be [threshold, rate]"},
		{`tier(x, [0.1])`, vx(1), nil, "tier: table row 1 is float64, not a list; each row must be [threshold, rate]"},
		{`tier(x, [[0, "a"]])`, vx(1), nil, "tier: table row 1 has string where a number belongs; each row must be [threshold, rate]"},
		{`tier(x, [[100, 0.1], [0, 0.2]])`, vx(1), nil, "tier: table thresholds must be in ascending order, but row 2 (0) does not come after row 1 (100)"},
		{`tier(x, [[0, 0.1], [0, 0.2]])`, vx(1), nil, "tier: table thresholds must be in ascending order, but row 2 (0) does not come after row 1 (0)"},
		{`tier(x, rows)`, map[string]any{"x": 1.0, "rows": "nope"}, nil, "tier: the table must be a list of [threshold, rate] rows, not string"},
		{`tier(x, rows)`, map[string]any{"x": 1.0, "rows": []any{[]any{0.0, math.Inf(1)}}}, nil, "tier: table row 1 has a number that is not finite; each row must be [threshold, rate]"},
	})
}

func TestMarginal(t *testing.T) {
	const table = `[[0, 0.05], [100000, 0.08], [200000, 0.1]]`
	runCases(t, newTestEngine(Options{}), []evalCase{
		{`marginal(x, ` + table + `)`, vx(50000), 2500.0, ""},
		{`marginal(x, ` + table + `)`, vx(100000), 5000.0, ""},
		// 100000×5% + 50000×8%
		{`marginal(x, ` + table + `)`, vx(150000), 9000.0, ""},
		// 100000×5% + 100000×8% + 50000×10%
		{`marginal(x, ` + table + `)`, vx(250000), 18000.0, ""},
		{`marginal(x, ` + table + `)`, vx(0), 0.0, ""},
		{`marginal(x, ` + table + `)`, vx(-500), 0.0, ""},
		// The part below the first threshold earns nothing.
		{`marginal(x, [[1000, 0.1], [2000, 0.2]])`, vx(2500), 200.0, ""},
		{`marginal(x, [[1000, 0.1]])`, vx(500), 0.0, ""},
		{`marginal(x, [[1000, 0.1]])`, vx(1500), 50.0, ""},
		{`marginal(x, [[0, 0.1], [10, 0.2]])`, vx(10), 1.0, ""},
		{`marginal(x, [[0, 0.1], [0, 0.2]])`, vx(1), nil, "marginal: table thresholds must be in ascending order, but row 2 (0) does not come after row 1 (0)"},
		{`marginal(x, [[0, 0.1], [5, 0.2, 1]])`, vx(1), nil, "marginal: table row 2 has 3 values; each row must be [threshold, rate]"},
	})
}

func TestClamp(t *testing.T) {
	runCases(t, newTestEngine(Options{}), []evalCase{
		{`clamp(x, 0, 1)`, vx(0.5), 0.5, ""},
		{`clamp(x, 0, 1)`, vx(-3), 0.0, ""},
		{`clamp(x, 0, 1)`, vx(7), 1.0, ""},
		{`clamp(x, 2, 2)`, vx(7), 2.0, ""},
		{`clamp(n, 0, 10)`, map[string]any{"n": 12}, 10.0, ""},
		{`clamp(x, 5, 1)`, vx(3), nil, "clamp: the lower bound 5 is greater than the upper bound 1"},
	})
}

func TestRound(t *testing.T) {
	runCases(t, newTestEngine(Options{}), []evalCase{
		{`round(x)`, vx(2.5), 2.0, ""},
		{`round(x)`, vx(3.5), 4.0, ""},
		{`round(x)`, vx(-2.5), -2.0, ""},
		{`round(x)`, vx(2.51), 3.0, ""},
		{`round(x, 2)`, vx(0.125), 0.12, ""},
		{`round(x, 2)`, vx(0.135), 0.14, ""},
		// Decimal, not binary, halves: 1.015 is a tie, 1.005 too.
		{`round(x, 2)`, vx(1.015), 1.02, ""},
		{`round(x, 2)`, vx(1.005), 1.0, ""},
		{`round(x, 2)`, vx(3.333333), 3.33, ""},
		{`round(x * 3, 2)`, vx(1.005), 3.02, ""}, // 3.0149999999999997 in binary, 3.015 in decimal
		{`round(x, 2)`, vx(90071992547409.91), 90071992547409.91, ""},
		{`round(x, 0)`, vx(1e20 + 0.5), 1e20, ""},
		{`round(x, -1)`, vx(1234.5), 1230.0, ""},
		{`round(x, -2)`, vx(1250), 1200.0, ""},
		{`round(x, -2)`, vx(1350), 1400.0, ""},
		{`round(n, 2)`, map[string]any{"n": 7}, 7.0, ""},
		{`round(x, 16)`, vx(1), nil, "round: digits must be between -15 and 15, not 16"},
		{`round(x, 1, 2)`, vx(1), nil, "round: expected 1 or 2 arguments, got 3"},
	})
	// Signs, zeros and non-finite values pass through.
	for _, c := range []struct{ x, want float64 }{{0, 0}, {math.Inf(1), math.Inf(1)}, {-0.4, math.Copysign(0, -1)}} {
		if got := RoundHalfEven(c.x, 0); got != c.want || math.Signbit(got) != math.Signbit(c.want) {
			t.Errorf("RoundHalfEven(%v) = %v", c.x, got)
		}
	}
	if got := RoundHalfEven(math.NaN(), 2); !math.IsNaN(got) {
		t.Errorf("RoundHalfEven(NaN) = %v", got)
	}
}

func TestDates(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tu := func(a, b time.Time) map[string]any { return map[string]any{"t": a, "u": b} }
	e := newTestEngine(Options{Now: func() time.Time { return time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC) }})
	runCases(t, e, []evalCase{
		{`daysBetween(t, u)`, tu(day(2026, 11, 1), day(2026, 11, 23)), 22, ""},
		{`daysBetween(t, u)`, tu(day(2026, 11, 23), day(2026, 11, 1)), -22, ""},
		{`daysBetween(t, u)`, tu(day(2026, 2, 28), day(2026, 3, 1)), 1, ""},
		{`daysBetween(t, u)`, tu(day(2028, 2, 28), day(2028, 3, 1)), 2, ""},
		{`daysBetween(t, u)`, tu(time.Date(2026, 11, 1, 23, 59, 0, 0, time.UTC), time.Date(2026, 11, 2, 0, 1, 0, 0, time.UTC)), 1, ""},
		// Each date is read in its own zone.
		{`daysBetween(t, u)`, tu(time.Date(2026, 11, 2, 7, 0, 0, 0, shanghai), day(2026, 11, 2)), 0, ""},
		{`daysBetween(t, date("2027-01-01"))`, tu(day(2026, 1, 1), time.Time{}), 365, ""},
		// Now is 2026-11-23 17:00 UTC, already 2026-11-24 in Shanghai.
		{`daysSince(t)`, tu(day(2026, 11, 20), time.Time{}), 3, ""},
		{`daysSince(t)`, tu(time.Date(2026, 11, 20, 0, 0, 0, 0, shanghai), time.Time{}), 4, ""},
		{`daysSince(t)`, tu(day(2026, 12, 1), time.Time{}), -8, ""},
		{`periodOf(t, "day")`, tu(day(2026, 11, 23), time.Time{}), "2026-11-23", ""},
		{`periodOf(t, "week")`, tu(day(2026, 11, 23), time.Time{}), "2026-W48", ""},
		{`periodOf(t, "week")`, tu(day(2027, 1, 3), time.Time{}), "2026-W53", ""},
		{`periodOf(t, "month")`, tu(day(2026, 11, 23), time.Time{}), "2026-11", ""},
		{`periodOf(t, "quarter")`, tu(day(2026, 11, 23), time.Time{}), "2026-Q4", ""},
		{`periodOf(t, "year")`, tu(day(2026, 11, 23), time.Time{}), "2026", ""},
		{`periodOf(t, "month")`, tu(time.Date(2026, 12, 1, 7, 0, 0, 0, shanghai), time.Time{}), "2026-12", ""},
		{`periodOf(t, grain)`, map[string]any{"t": day(2026, 1, 1), "grain": "Month"}, nil, `periodOf: unknown period grain "Month" (want day, week, month, quarter or year)`},
		{`now()`, nil, time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC), ""},
		{`now() > date("2026-11-23")`, nil, true, ""},
	})
}

// TestLibraryDirectly covers argument checks the type checker makes
// unreachable from formulas.
func TestLibraryDirectly(t *testing.T) {
	cases := []struct {
		name string
		fn   func(...any) (any, error)
		args []any
		err  string
	}{
		{"tier", tier, []any{"x", []any{}}, "tier: the amount must be a number, not string"},
		{"tier", tier, []any{math.NaN(), []any{}}, "tier: the amount is not a number"},
		{"marginal", marginal, []any{}, "marginal: missing the amount"},
		{"clamp", clamp, []any{1.0, 0.0}, "clamp: missing the upper bound"},
		{"round", roundFn, []any{1.0, 2.5}, "round: digits must be a whole number, not float64"},
		{"daysBetween", daysBetween, []any{time.Time{}, "2026"}, "daysBetween: expected a date, not string"},
		{"periodOf", periodOf, []any{1}, "periodOf: expected a date, not int"},
	}
	for _, c := range cases {
		if _, err := c.fn(c.args...); err == nil || err.Error() != c.err {
			t.Errorf("%s(%v) = %v, want %q", c.name, c.args, err, c.err)
		}
	}
	panicky := recovering("boom", func(...any) (any, error) { panic("kaboom") })
	if _, err := panicky(); err == nil || err.Error() != "boom: internal error: kaboom" {
		t.Errorf("recovering: %v", err)
	}
}
