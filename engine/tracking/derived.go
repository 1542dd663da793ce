package tracking

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser/lexer"
	"github.com/expr-lang/expr/types"

	"stride/engine/apperr"
	"stride/engine/period"
	"stride/engine/rules"
	"stride/engine/store"
)

// Units only derived metrics have.
const (
	UnitPercent = "percent" // a ratio (0.25 = 25 %) × 10^precision
	UnitCount   = "count"   // an integer
)

// Shifts of a derived metric's input period.
const (
	ShiftNone     = ""
	ShiftPrev     = "prev"     // the previous period of the same grain
	ShiftLastYear = "lastYear" // the same period a year earlier
)

// maxDerivedDepth bounds how deep derived metrics may build on each other
// when evaluated (saves refuse cycles; this is the backstop).
const maxDerivedDepth = 8

// Derived is the formula of a derived metric. It has no rollups: it is
// computed at read time from its inputs' actuals for the same node.
type Derived struct {
	Formula *rules.Program
	// Inputs are the metric values the formula reads, sorted by name.
	Inputs []Ref
}

// Ref is one input of a derived metric: a metric, possibly in a shifted period.
type Ref struct {
	Metric string
	Shift  string // ShiftNone, ShiftPrev or ShiftLastYear
}

// Name is how the formula writes the input: key, prev(key) or lastYear(key).
func (r Ref) Name() string {
	if r.Shift == ShiftNone {
		return r.Metric
	}
	return r.Shift + "(" + r.Metric + ")"
}

// envName is the identifier the rewritten formula reads the input as. Its
// length equals the written form's, so columns in errors stay right; its
// capital letter keeps it apart from metric keys (lower case).
func (r Ref) envName() string {
	switch r.Shift {
	case ShiftPrev:
		return "Prev__" + r.Metric
	case ShiftLastYear:
		return "LastYear__" + r.Metric
	}
	return r.Metric
}

func (r Ref) period(p period.Period) period.Period {
	switch r.Shift {
	case ShiftPrev:
		return p.Previous()
	case ShiftLastYear:
		return p.YearBefore()
	}
	return p
}

// shiftCall is a prev(x) or lastYear(x) call found in a formula.
type shiftCall struct {
	ref      Ref
	from, to int // rune offsets of the whole call
}

// rewriteShifts replaces each prev(key) and lastYear(key) call by one
// identifier of the same length (padded with spaces), because expr cannot
// pass a metric's name — only its value — to a function. Calls whose
// argument is not a bare name are reported as errors.
func rewriteShifts(src string) (string, []shiftCall, []*rules.FormulaError) {
	toks, err := lexer.Lex(file.NewSource(src))
	if err != nil {
		return src, nil, nil // the engine reports the syntax error
	}
	runes := []rune(src)
	var calls []shiftCall
	var errs []*rules.FormulaError
	for i := 0; i < len(toks); i++ {
		tk := toks[i]
		if !tk.Is(lexer.Identifier, ShiftPrev, ShiftLastYear) || i+1 >= len(toks) || !toks[i+1].Is(lexer.Bracket, "(") {
			continue
		}
		if i > 0 && toks[i-1].Is(lexer.Operator, ".", "?.") {
			continue // a member call, not ours
		}
		if i+3 >= len(toks) || toks[i+2].Kind != lexer.Identifier || !toks[i+3].Is(lexer.Bracket, ")") {
			line, col := lineCol(runes, tk.From)
			errs = append(errs, &rules.FormulaError{Code: rules.CodeType, Line: line, Column: col,
				Message: fmt.Sprintf("%s takes one metric key, e.g. %s(won_revenue)", tk.Value, tk.Value)})
			continue
		}
		c := shiftCall{ref: Ref{Metric: toks[i+2].Value, Shift: tk.Value}, from: tk.From, to: toks[i+3].To}
		calls = append(calls, c)
		i += 3
	}
	for _, c := range calls {
		name := []rune(c.ref.envName())
		for k := c.from; k < c.to && k < len(runes); k++ {
			if j := k - c.from; j < len(name) {
				runes[k] = name[j]
			} else {
				runes[k] = ' '
			}
		}
	}
	return string(runes), calls, errs
}

func lineCol(runes []rune, at int) (int, int) {
	line, col := 1, 1
	for i := 0; i < at && i < len(runes); i++ {
		if runes[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// unrewrite puts a formula's written call forms back into a message.
func unrewrite(s string, keys []string) string {
	for _, k := range keys {
		s = strings.ReplaceAll(s, "LastYear__"+k, "lastYear("+k+")")
		s = strings.ReplaceAll(s, "Prev__"+k, "prev("+k+")")
	}
	return s
}

// compileDerived checks a derived metric's formula: every name it reads is
// another metric (published, when saving), the metrics it builds on do not
// lead back to it, and it returns a number.
func (t *Tracker) compileDerived(ctx context.Context, db store.DB, tenant, key string, version int64, def map[string]any, m *Metric) []apperr.FieldError {
	d, _ := def["derived"].(map[string]any)
	src, _ := d["formula"].(string)
	const ptr = "/derived/formula"
	docs, err := t.metrics.List(ctx, db)
	if err != nil {
		return []apperr.FieldError{{Pointer: ptr, Code: "formula_error", Message: err.Error()}}
	}
	var keys []string
	published := map[string]bool{}
	for _, doc := range docs {
		if doc.Key != key {
			keys = append(keys, doc.Key)
		}
	}
	if version == 0 {
		pv, err := t.metrics.PublishedVersions(ctx, db)
		if err != nil {
			return []apperr.FieldError{{Pointer: ptr, Code: "formula_error", Message: err.Error()}}
		}
		for _, v := range pv {
			published[v.Key] = true
		}
	}
	sort.Strings(keys)
	rewritten, calls, cerrs := rewriteShifts(src)
	var fe []apperr.FieldError
	for _, e := range cerrs {
		fe = append(fe, rules.Problem(ptr, e))
	}
	runes := []rune(src)
	env := types.Map{}
	for _, k := range keys {
		for _, s := range []string{ShiftNone, ShiftPrev, ShiftLastYear} {
			env[Ref{Metric: k, Shift: s}.envName()] = types.TypeOf(0.0)
		}
	}
	for _, c := range calls {
		if !slices.Contains(keys, c.ref.Metric) {
			line, col := lineCol(runes, c.from)
			msg := fmt.Sprintf("%q is not a metric", c.ref.Metric)
			if c.ref.Metric == key {
				msg = fmt.Sprintf("%s cannot use itself (that would be a cycle)", key)
			}
			fe = append(fe, apperr.FieldError{Pointer: ptr, Code: rules.CodeUnknownName, Message: msg, Line: line, Column: col,
				Hint: rules.DidYouMean(c.ref.Metric, keys)})
		}
	}
	if len(fe) > 0 {
		return fe
	}
	var p *rules.Program
	if version == 0 {
		p, err = t.objects.Rules().Check(rewritten, env, rules.Number)
	} else {
		p, err = t.objects.Rules().Compile(rules.Key{Tenant: tenant, Config: "metric:" + key + ":derived", Version: version}, rewritten, env, rules.Number)
	}
	if err != nil {
		pr := rules.Problem(ptr, err)
		pr.Message, pr.Hint, pr.Snippet = unrewrite(pr.Message, keys), unrewrite(pr.Hint, keys), unrewrite(pr.Snippet, keys)
		if strings.Contains(pr.Message, fmt.Sprintf("unknown name %s", key)) {
			pr.Message = fmt.Sprintf("%s cannot use itself (that would be a cycle)", key)
		}
		return []apperr.FieldError{pr}
	}
	m.Derived = &Derived{Formula: p, Inputs: inputsOf(p, keys)}
	if version == 0 {
		for _, in := range m.Derived.Inputs {
			if !published[in.Metric] {
				fe = append(fe, apperr.FieldError{Pointer: ptr, Code: "unpublished_metric",
					Message: fmt.Sprintf("metric %s is not published yet: publish it before building on it", in.Metric)})
			}
		}
		if len(fe) > 0 {
			return fe
		}
		if cyc := t.cycle(ctx, db, tenant, key, m.Derived.Inputs); cyc != "" {
			return []apperr.FieldError{{Pointer: ptr, Code: "metric_cycle", Message: "derived metrics would depend on themselves: " + cyc}}
		}
	}
	return nil
}

// inputsOf maps the environment names a program reads back to inputs.
func inputsOf(p *rules.Program, keys []string) []Ref {
	byName := map[string]Ref{}
	for _, k := range keys {
		for _, s := range []string{ShiftNone, ShiftPrev, ShiftLastYear} {
			r := Ref{Metric: k, Shift: s}
			byName[r.envName()] = r
		}
	}
	var out []Ref
	for _, n := range p.Reads() {
		if r, ok := byName[n]; ok && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// cycle follows the published derived metrics that key's new inputs build on
// and returns the path back to key ("a → b → a"), or "".
func (t *Tracker) cycle(ctx context.Context, db store.DB, tenant, key string, inputs []Ref) string {
	var walk func(path []string, ins []Ref) string
	walk = func(path []string, ins []Ref) string {
		for _, in := range ins {
			if in.Metric == key {
				return strings.Join(append(path, key), " → ")
			}
			if slices.Contains(path, in.Metric) || len(path) > 64 {
				continue
			}
			dm, err := t.Metric(ctx, db, tenant, in.Metric)
			if err != nil || dm.Derived == nil {
				continue
			}
			if c := walk(append(slices.Clone(path), in.Metric), dm.Derived.Inputs); c != "" {
				return c
			}
		}
		return ""
	}
	return walk([]string{key}, inputs)
}

// scaleDerived rounds a derived value half-even to the metric's stored unit.
func scaleDerived(x float64, m *Metric) (int64, error) {
	if m.Unit == UnitMoney {
		return scaled(x, m)
	}
	r := rules.RoundHalfEven(x, m.Precision) * float64(m.Scale)
	if math.IsNaN(r) || math.IsInf(r, 0) || math.Abs(r) > 1<<53 {
		return 0, fmt.Errorf("the value %v is out of range", x)
	}
	return int64(math.Round(r)), nil
}

// ActualFunc returns a tracked metric's actual for one node over the days
// from..to (inclusive, "YYYY-MM-DD").
type ActualFunc func(metric, from, to string) (Cell, error)

// Input is one input of a derived value, as the formula saw it.
type Input struct {
	// Name is how the formula writes it: key, prev(key) or lastYear(key).
	Name   string `json:"name"`
	Metric string `json:"metric"`
	Period string `json:"period"`
	Unit   string `json:"unit"`
	// Value is in major units (元 for money, a ratio for percent); null when
	// the input (a derived metric) has no value.
	Value *float64 `json:"value"`
	// Stored is the value in the input metric's stored unit (分 for money).
	Stored *int64 `json:"stored"`
	Reason string `json:"reason,omitempty"`
}

// DerivedValue is a derived metric's value for one node and period.
type DerivedValue struct {
	// Value is in the metric's stored unit (Scale per 1); null when the
	// formula has no value (a division by zero, a null input), with Reason.
	Value  *int64   `json:"value"`
	Float  *float64 `json:"float"`
	Reason string   `json:"reason,omitempty"`
	Inputs []Input  `json:"inputs"`
}

// Evaluate computes derived metric m for one node over period p: each input
// is the actual (via actual, for tracked metrics) or the derived value (for
// derived ones) in the input's period, in major units. A division by zero or
// a null input gives a null value with a reason, not an error.
func (t *Tracker) Evaluate(ctx context.Context, db store.DB, tenant string, m *Metric, p period.Period, actual ActualFunc) (DerivedValue, error) {
	return t.evaluate(ctx, db, tenant, m, p, actual, 0)
}

func (t *Tracker) evaluate(ctx context.Context, db store.DB, tenant string, m *Metric, p period.Period, actual ActualFunc, depth int) (DerivedValue, error) {
	if m.Derived == nil {
		return DerivedValue{}, fmt.Errorf("metric %s is not derived", m.Key)
	}
	out := DerivedValue{Inputs: []Input{}}
	if depth > maxDerivedDepth {
		out.Reason = "derived metrics build on each other too deeply (a cycle?)"
		return out, nil
	}
	vars := map[string]any{}
	var nulls, zeros []string
	for _, in := range m.Derived.Inputs {
		im, err := t.Metric(ctx, db, tenant, in.Metric)
		if err != nil {
			if isNotFound(err) {
				out.Inputs = append(out.Inputs, Input{Name: in.Name(), Metric: in.Metric, Reason: "the metric is not published"})
				nulls = append(nulls, in.Name())
				continue
			}
			return out, err
		}
		ip := in.period(p)
		inp := Input{Name: in.Name(), Metric: in.Metric, Period: ip.Key, Unit: im.Unit}
		var x float64
		if im.Derived != nil {
			dv, err := t.evaluate(ctx, db, tenant, im, ip, actual, depth+1)
			if err != nil {
				return out, err
			}
			if dv.Value == nil {
				inp.Reason = dv.Reason
				out.Inputs = append(out.Inputs, inp)
				nulls = append(nulls, in.Name())
				continue
			}
			inp.Stored, x = dv.Value, *dv.Float
		} else {
			c, err := actual(in.Metric, period.FormatDate(ip.Start), LastDay(ip))
			if err != nil {
				return out, err
			}
			s := c.Sum
			inp.Stored, x = &s, float64(c.Sum)/float64(im.Scale)
		}
		inp.Value = &x
		out.Inputs = append(out.Inputs, inp)
		vars[in.envName()] = x
		if x == 0 {
			zeros = append(zeros, in.Name())
		}
	}
	if len(nulls) > 0 {
		out.Reason = "no value: " + strings.Join(nulls, ", ") + " has none"
		return out, nil
	}
	v, err := m.Derived.Formula.Run(vars)
	if err != nil {
		out.Reason = unrewrite(err.Error(), inputKeys(m.Derived.Inputs))
		if fe, ok := rules.AsFormulaError(err); ok && strings.Contains(fe.Message, "not a finite number") {
			out.Reason = "division by zero"
			if len(zeros) > 0 {
				out.Reason += " (inputs that are 0: " + strings.Join(zeros, ", ") + ")"
			}
		}
		return out, nil
	}
	f := v.(float64)
	s, err := scaleDerived(f, m)
	if err != nil {
		out.Reason = err.Error()
		return out, nil
	}
	// Other derived metrics build on the value as it is kept (rounded).
	kept := float64(s) / float64(m.Scale)
	out.Value, out.Float = &s, &kept
	return out, nil
}

func inputKeys(ins []Ref) []string {
	var out []string
	for _, in := range ins {
		out = append(out, in.Metric)
	}
	return out
}

// LastDay is a period's last day "YYYY-MM-DD" (its End is exclusive).
func LastDay(p period.Period) string {
	return period.FormatDate(p.End.Add(-1))
}
