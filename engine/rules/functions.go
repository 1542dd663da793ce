package rules

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/builtin"

	"stride/engine/period"
)

// disabledBuiltins are expr builtins formulas may not call: they decode or
// encode documents, which no formula over record fields needs, and their
// output is not bounded by the memory budget.
var disabledBuiltins = []string{"toJSON", "fromJSON", "toBase64", "fromBase64"}

// library returns the expr options declaring the function library (with
// their signatures, so calls are type-checked) and the sorted names of
// everything a formula may call.
func (e *Engine) library() ([]expr.Option, []string) {
	fns := []struct {
		name  string
		fn    func(args ...any) (any, error)
		types []any
	}{
		{"tier", tier, []any{new(func(float64, []any) float64)}},
		{"marginal", marginal, []any{new(func(float64, []any) float64)}},
		{"clamp", clamp, []any{new(func(float64, float64, float64) float64)}},
		{"round", roundFn, []any{new(func(float64, ...int) float64)}},
		{"daysBetween", daysBetween, []any{new(func(time.Time, time.Time) int)}},
		{"daysSince", e.daysSince, []any{new(func(time.Time) int)}},
		{"periodOf", periodOf, []any{new(func(time.Time, string) string)}},
		{"now", e.now, []any{new(func() time.Time)}},
	}
	var opts []expr.Option
	names := map[string]bool{}
	for _, f := range fns {
		opts = append(opts, expr.Function(f.name, recovering(f.name, f.fn), f.types...))
		names[f.name] = true
	}
	opts = append(opts, e.guardFunctions()...)
	opts = append(opts, expr.Patch(utcDates{}))
	for _, name := range disabledBuiltins {
		opts = append(opts, expr.DisableBuiltin(name))
	}
	disabled := map[string]bool{}
	for _, name := range disabledBuiltins {
		disabled[name] = true
	}
	for _, b := range builtin.Builtins {
		if !disabled[b.Name] {
			names[b.Name] = true
		}
	}
	for _, name := range []string{"string", "join", "replace"} {
		names[name] = true
	}
	list := make([]string, 0, len(names))
	for n := range names {
		list = append(list, n)
	}
	slices.Sort(list)
	return opts, list
}

// recovering turns a panic in a library function into an error naming it.
func recovering(name string, fn func(args ...any) (any, error)) func(args ...any) (any, error) {
	return func(args ...any) (out any, err error) {
		defer func() {
			if r := recover(); r != nil {
				out, err = nil, fmt.Errorf("%s: internal error: %v", name, r)
			}
		}()
		return fn(args...)
	}
}

// number converts an int or float argument to float64.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float32:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case int16:
		return float64(x), true
	case int8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint8:
		return float64(x), true
	}
	return 0, false
}

func numberArg(fn string, args []any, i int, what string) (float64, error) {
	if i >= len(args) {
		return 0, fmt.Errorf("%s: missing %s", fn, what)
	}
	x, ok := number(args[i])
	if !ok {
		return 0, fmt.Errorf("%s: %s must be a number, not %s", fn, what, runtimeType(args[i]))
	}
	if math.IsNaN(x) {
		return 0, fmt.Errorf("%s: %s is not a number", fn, what)
	}
	return x, nil
}

// tierRow is one [threshold, rate] row of a rate table.
type tierRow struct{ threshold, rate float64 }

// parseTable checks a rate table: at least one row, every row exactly two
// finite numbers, thresholds strictly ascending.
func parseTable(fn string, v any) ([]tierRow, error) {
	rows, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: the table must be a list of [threshold, rate] rows, not %s", fn, runtimeType(v))
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: the table is empty; it needs at least one [threshold, rate] row", fn)
	}
	out := make([]tierRow, len(rows))
	for i, r := range rows {
		pair, err := tablePair(r)
		if err != nil {
			return nil, fmt.Errorf("%s: table row %d %s; each row must be [threshold, rate]", fn, i+1, err)
		}
		out[i] = tierRow{pair[0], pair[1]}
		if i > 0 && !(out[i].threshold > out[i-1].threshold) {
			return nil, fmt.Errorf("%s: table thresholds must be in ascending order, but row %d (%s) does not come after row %d (%s)",
				fn, i+1, fmtNum(out[i].threshold), i, fmtNum(out[i-1].threshold))
		}
	}
	return out, nil
}

func tablePair(r any) ([2]float64, error) {
	var vals []any
	switch x := r.(type) {
	case []any:
		vals = x
	case []float64:
		vals = make([]any, len(x))
		for i, f := range x {
			vals[i] = f
		}
	case []int:
		vals = make([]any, len(x))
		for i, n := range x {
			vals[i] = n
		}
	default:
		return [2]float64{}, fmt.Errorf("is %s, not a list", runtimeType(r))
	}
	if len(vals) != 2 {
		return [2]float64{}, fmt.Errorf("has %d values", len(vals))
	}
	var pair [2]float64
	for i, v := range vals {
		f, ok := number(v)
		if !ok {
			return pair, fmt.Errorf("has %s where a number belongs", runtimeType(v))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return pair, errors.New("has a number that is not finite")
		}
		pair[i] = f
	}
	return pair, nil
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// tier pays the whole amount at the rate of the highest tier reached:
// x × rate of the last row whose threshold ≤ x, or 0 below the first row.
func tier(args ...any) (any, error) {
	x, err := numberArg("tier", args, 0, "the amount")
	if err != nil {
		return nil, err
	}
	table, err := parseTable("tier", args[1])
	if err != nil {
		return nil, err
	}
	rate := 0.0
	for _, r := range table {
		if r.threshold > x {
			break
		}
		rate = r.rate
	}
	return x * rate, nil
}

// marginal pays each slice of the amount at its own rate, like income tax
// brackets: the part of x between a row's threshold and the next row's
// threshold earns that row's rate, the last row is open-ended, and any part
// below the first threshold earns nothing.
func marginal(args ...any) (any, error) {
	x, err := numberArg("marginal", args, 0, "the amount")
	if err != nil {
		return nil, err
	}
	table, err := parseTable("marginal", args[1])
	if err != nil {
		return nil, err
	}
	total := 0.0
	for i, r := range table {
		if x <= r.threshold {
			break
		}
		upper := x
		if i+1 < len(table) && table[i+1].threshold < x {
			upper = table[i+1].threshold
		}
		total += (upper - r.threshold) * r.rate
	}
	return total, nil
}

// clamp limits x to [lo, hi].
func clamp(args ...any) (any, error) {
	x, err := numberArg("clamp", args, 0, "the value")
	if err != nil {
		return nil, err
	}
	lo, err := numberArg("clamp", args, 1, "the lower bound")
	if err != nil {
		return nil, err
	}
	hi, err := numberArg("clamp", args, 2, "the upper bound")
	if err != nil {
		return nil, err
	}
	if lo > hi {
		return nil, fmt.Errorf("clamp: the lower bound %s is greater than the upper bound %s", fmtNum(lo), fmtNum(hi))
	}
	return min(max(x, lo), hi), nil
}

// maxRoundDigits bounds round's digits argument.
const maxRoundDigits = 15

// roundFn rounds half to even at the given number of decimals (default 0;
// negative rounds to tens, hundreds…).
func roundFn(args ...any) (any, error) {
	x, err := numberArg("round", args, 0, "the value")
	if err != nil {
		return nil, err
	}
	digits := 0
	switch len(args) {
	case 1:
	case 2:
		d, ok := args[1].(int)
		if !ok {
			return nil, fmt.Errorf("round: digits must be a whole number, not %s", runtimeType(args[1]))
		}
		digits = d
	default:
		return nil, fmt.Errorf("round: expected 1 or 2 arguments, got %d", len(args))
	}
	if digits < -maxRoundDigits || digits > maxRoundDigits {
		return nil, fmt.Errorf("round: digits must be between %d and %d, not %d", -maxRoundDigits, maxRoundDigits, digits)
	}
	return RoundHalfEven(x, digits), nil
}

// RoundHalfEven rounds x to the given number of decimal digits, ties to
// even (banker's rounding): RoundHalfEven(2.5, 0) = 2, RoundHalfEven(0.125,
// 2) = 0.12. x is first read as the decimal of 15 significant digits a
// spreadsheet shows (more for very large x), so 1.015 rounds as the decimal
// 1.015 (to 1.02) rather than as its binary approximation 1.01499999…, and
// 3 × 1.005 as 3.015. Infinities and NaN are returned unchanged.
func RoundHalfEven(x float64, digits int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 {
		return x
	}
	prec := 15
	if need := int(math.Floor(math.Log10(math.Abs(x)))) + 2 + digits; need > prec {
		prec = min(need, 17)
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(x, 'e', prec-1, 64))
	if !ok {
		return x
	}
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(digits))), nil))
	if digits >= 0 {
		r.Mul(r, scale)
	} else {
		r.Quo(r, scale)
	}
	n := new(big.Rat).SetInt(halfEven(r))
	if digits >= 0 {
		n.Quo(n, scale)
	} else {
		n.Mul(n, scale)
	}
	f, _ := n.Float64()
	if f == 0 && math.Signbit(x) {
		return math.Copysign(0, -1)
	}
	return f
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// halfEven rounds r to the nearest integer, ties to even.
func halfEven(r *big.Rat) *big.Int {
	num, den := r.Num(), r.Denom()
	q, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	twice := new(big.Int).Lsh(new(big.Int).Abs(rem), 1)
	if c := twice.Cmp(den); c > 0 || (c == 0 && q.Bit(0) == 1) {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

func timeArg(fn string, args []any, i int) (time.Time, error) {
	if i >= len(args) {
		return time.Time{}, fmt.Errorf("%s: missing a date", fn)
	}
	t, ok := args[i].(time.Time)
	if !ok {
		return time.Time{}, fmt.Errorf("%s: expected a date, not %s", fn, runtimeType(args[i]))
	}
	return t, nil
}

// daysBetween counts calendar days from a's date to b's date, each in its
// own time zone; negative when b is before a.
func daysBetween(args ...any) (any, error) {
	a, err := timeArg("daysBetween", args, 0)
	if err != nil {
		return nil, err
	}
	b, err := timeArg("daysBetween", args, 1)
	if err != nil {
		return nil, err
	}
	return period.DaysBetween(a, b), nil
}

// daysSince counts calendar days from t's date to today's date, today being
// the engine's clock read in t's time zone.
func (e *Engine) daysSince(args ...any) (any, error) {
	t, err := timeArg("daysSince", args, 0)
	if err != nil {
		return nil, err
	}
	return period.DaysBetween(t, e.opts.Now().In(t.Location())), nil
}

// periodOf returns the key of the period of the given grain containing t:
// "2026-11-23", "2026-W48", "2026-11", "2026-Q4" or "2026", in t's own time
// zone and calendar years (a January fiscal start).
func periodOf(args ...any) (any, error) {
	t, err := timeArg("periodOf", args, 0)
	if err != nil {
		return nil, err
	}
	s, _ := args[1].(string)
	g, err := period.ParseGrain(s)
	if err != nil {
		return nil, fmt.Errorf("periodOf: %w", err)
	}
	return period.Calendar{Location: t.Location()}.Of(t, g).Key, nil
}

// now returns the engine's clock.
func (e *Engine) now(...any) (any, error) {
	return e.opts.Now(), nil
}
