package calc

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"stride/engine/period"
)

// The benchmark of the issue: 1,000 reps, 1,000 credited lines each (1M
// lines), a three-band marginal table on quota, a per-line and a
// per-period cap, credits already split two ways, and a SPIF with a `when`
// formula. BenchmarkHandWritten pays the same plan over the same in-memory
// credits with Go written for this one plan (no expr, no generality), and
// TestHandWrittenMatches checks both produce the same lines and totals, so
// the comparison is honest.

const benchPlan = `{"name": {"zh-CN": "基准", "en": "Benchmark"},
	"quota": {"metric": "won"},
	"credits": {"object": "deal", "base": "amount", "dateField": "closeDate", "splitField": "splits"},
	"rules": [{"key": "base", "rate": {"kind": "marginal", "table": [[0, 0.04], [1.0, 0.06], [1.5, 0.08]]}}],
	"caps": {"perLine": 300000, "perPeriod": 8000000},
	"spifs": [{"key": "big", "when": "amount >= 50000 && stage == 'won'", "amount": 50000}]}`

const benchObject = `{"label": {"en": "Deal"}, "schema": {"type": "object", "properties": {
	"amount": {"type": "integer", "format": "money"}, "stage": {"type": "string"},
	"closeDate": {"type": "string", "format": "date"},
	"splits": {"type": "array", "items": {"type": "object", "properties": {"user": {"type": "string"}, "percent": {"type": "number"}}}}}}}`

// benchData builds the inputs of reps reps with perRep credits each: every
// record is split 70/30 between two neighbouring reps and credited through
// Plan.Credits, so the credits are exactly what a run would pass.
func benchData(tb testing.TB, reps, perRep int) (*Plan, []Input) {
	tb.Helper()
	obj := compileObject(tb, "deal", benchObject)
	p, fe := Compile(testEngine, "t", "bench", 1, decode(tb, benchPlan), obj)
	if len(fe) > 0 {
		tb.Fatal(fe)
	}
	r := rand.New(rand.NewPCG(7, 8))
	month := window(tb, "2026-03")
	ins := make([]Input, reps)
	for i := range ins {
		ins[i] = Input{Rep: Rep{ID: fmt.Sprintf("u%04d", i)}, Period: month, Quota: month, HasTarget: true,
			Credits: make([]Credit, 0, perRep)}
	}
	// Each record credits rep i (70 %) and rep i+1 (30 %): perRep/2
	// records per rep give it perRep credits.
	for i := range reps {
		for k := range perRep / 2 {
			amount := 100_000 + r.Int64N(8_000_000) // ¥1,000 – ¥81,000
			day := 1 + k*28/(perRep/2)
			data := map[string]any{"amount": amount, "stage": "won", "closeDate": fmt.Sprintf("2026-03-%02d", day),
				"splits": []any{map[string]any{"user": ins[i].Rep.ID, "percent": 70}, map[string]any{"user": ins[(i+1)%reps].Rep.ID, "percent": 30}}}
			cs, err := p.Credits(fmt.Sprintf("D-%04d-%04d", i, k), data, shanghai)
			if err != nil {
				tb.Fatal(err)
			}
			for _, c := range cs {
				j := i
				if c.Owner != ins[i].Rep.ID {
					j = (i + 1) % reps
				}
				ins[j].Credits = append(ins[j].Credits, c)
			}
		}
	}
	for i := range ins {
		in := &ins[i]
		slices.SortFunc(in.Credits, func(a, b Credit) int { return compareCredits(&a, &b) })
		var sum int64
		for _, c := range in.Credits {
			sum += c.Base
		}
		// Attainment between 80 % and 180 %: every band is used.
		in.Target = sum * 100 / (80 + r.Int64N(100))
		in.ActualInPeriod = sum
	}
	return p, ins
}

func BenchmarkCalculate(b *testing.B) {
	p, ins := benchData(b, 1000, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	var total int64
	for b.Loop() {
		total = 0
		for i := range ins {
			res, err := p.Calculate(ins[i])
			if err != nil {
				b.Fatal(err)
			}
			total += res.Total
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ns/line")
	_ = total
}

func BenchmarkHandWritten(b *testing.B) {
	_, ins := benchData(b, 1000, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	var total int64
	for b.Loop() {
		total = 0
		for i := range ins {
			res := handWritten(&ins[i])
			total += res.Total
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ns/line")
	_ = total
}

// BenchmarkHandWrittenTotals is the floor: the same plan computing only
// each rep's total, no statement lines (what a spreadsheet macro would do).
// It is not the comparison the goal is stated against — a statement is its
// lines — but it shows what producing explained lines costs.
func BenchmarkHandWrittenTotals(b *testing.B) {
	_, ins := benchData(b, 1000, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	var total int64
	for b.Loop() {
		total = 0
		for i := range ins {
			total += handWrittenTotal(&ins[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ns/line")
	_ = total
}

func TestHandWrittenMatches(t *testing.T) {
	p, ins := benchData(t, 30, 400)
	for i := range ins {
		got, err := p.Calculate(ins[i])
		if err != nil {
			t.Fatal(err)
		}
		want := handWritten(&ins[i])
		if tot := handWrittenTotal(&ins[i]); tot != want.Total {
			t.Fatalf("rep %d: totals-only %d, with lines %d", i, tot, want.Total)
		}
		if got.Total != want.Total || len(got.Lines) != len(want.Lines) {
			t.Fatalf("rep %d: calc %d in %d lines, hand-written %d in %d lines", i, got.Total, len(got.Lines), want.Total, len(want.Lines))
		}
		for j, l := range got.Lines {
			w := want.Lines[j]
			if l.Rule != w.Rule || l.Kind != w.Kind || l.Record != w.Record || l.CreditDate != w.CreditDate || l.Base != w.Base || l.Amount != w.Amount ||
				(l.Rate == nil) != (w.Rate == nil) || (l.Rate != nil && *l.Rate != *w.Rate) {
				t.Fatalf("rep %d line %d: calc %+v, hand-written %+v", i, j, l, w)
			}
		}
	}
}

// handWritten is the benchmark plan in plain Go: rates in basis points,
// thresholds as percentages, the SPIF condition as a comparison. It
// produces the same lines (without the explanations) and total.
func handWritten(in *Input) Result {
	const (
		perLine   = 300000
		perPeriod = 8000000
		spif      = 50000
	)
	bp := [3]int64{400, 600, 800}
	rates := [3]float64{0.04, 0.06, 0.08}
	// band starts: 0, 100 % and 150 % of the target, rounded half-even
	b := [3]int64{0, halfEvenDiv(in.Target*100, 100), halfEvenDiv(in.Target*150, 100)}
	f := func(x int64) int64 { // commission on cumulative x, exact then rounded
		var num int64
		for i := 2; i >= 0; i-- {
			if x > b[i] {
				num += (x - b[i]) * bp[i]
				x = b[i]
			}
		}
		return halfEvenDiv(num, 10000)
	}
	res := Result{Rep: in.Rep.ID, Period: in.Period.Key, Target: in.Target}
	// The same buffer reuse as Calculate, so both allocate the lines once.
	buf := handPool.Get().(*[]Line)
	res.Lines = (*buf)[:0]
	loc := in.Period.Start.Location()
	var dayStart, dayEnd time.Time
	var day string
	var cum, earnedPeriod int64
	for ci := range in.Credits {
		c := &in.Credits[ci]
		if c.Date.Before(dayStart) || !c.Date.Before(dayEnd) {
			lt := c.Date.In(loc)
			y, m, d := lt.Date()
			dayStart = time.Date(y, m, d, 0, 0, 0, 0, loc)
			dayEnd = dayStart.AddDate(0, 0, 1)
			day = lt.Format(period.DateLayout)
		}
		var earned int64
		for x, end := cum, cum+c.Base; x < end; {
			i := 0
			for i < 2 && b[i+1] <= x {
				i++
			}
			to := end
			if i < 2 && b[i+1] < end {
				to = b[i+1]
			}
			amt := f(to) - f(x)
			res.Lines = append(res.Lines, Line{Rule: "base", Kind: KindRate, Record: c.Record, Object: c.Object, CreditDate: day,
				Base: to - x, Rate: &rates[i], Amount: amt})
			earned += amt
			x = to
		}
		cum += c.Base
		if earned > perLine {
			res.Lines = append(res.Lines, Line{Rule: RuleCapLine, Kind: KindCapLine, Record: c.Record, Object: c.Object, CreditDate: day,
				Base: earned, Amount: perLine - earned})
			earned = perLine
		}
		earnedPeriod += earned
		if amount, _ := c.Data["amount"].(float64); amount >= 50000 && c.Data["stage"] == "won" {
			res.Lines = append(res.Lines, Line{Rule: "big", Kind: KindSPIF, Record: c.Record, Object: c.Object, CreditDate: day,
				Base: c.Base, Amount: spif})
			earnedPeriod += spif
		}
	}
	if earnedPeriod > perPeriod {
		res.Lines = append(res.Lines, Line{Rule: RuleCapPeriod, Kind: KindCapPeriod, Base: earnedPeriod, Amount: perPeriod - earnedPeriod})
	}
	for _, l := range res.Lines {
		res.Total += l.Amount
	}
	lines := res.Lines
	res.Lines = slices.Clone(lines)
	clear(lines)
	*buf = lines[:0]
	handPool.Put(buf)
	return res
}

var handPool = sync.Pool{New: func() any { b := make([]Line, 0, 1024); return &b }}

// handWrittenTotal is handWritten without lines.
func handWrittenTotal(in *Input) int64 {
	const (
		perLine   = 300000
		perPeriod = 8000000
		spif      = 50000
	)
	bp := [3]int64{400, 600, 800}
	b := [3]int64{0, halfEvenDiv(in.Target*100, 100), halfEvenDiv(in.Target*150, 100)}
	f := func(x int64) int64 {
		var num int64
		for i := 2; i >= 0; i-- {
			if x > b[i] {
				num += (x - b[i]) * bp[i]
				x = b[i]
			}
		}
		return halfEvenDiv(num, 10000)
	}
	var cum, total int64
	for ci := range in.Credits {
		c := &in.Credits[ci]
		var earned int64
		for x, end := cum, cum+c.Base; x < end; {
			i := 0
			for i < 2 && b[i+1] <= x {
				i++
			}
			to := end
			if i < 2 && b[i+1] < end {
				to = b[i+1]
			}
			earned += f(to) - f(x)
			x = to
		}
		cum += c.Base
		total += min(earned, perLine)
		if amount, _ := c.Data["amount"].(float64); amount >= 50000 && c.Data["stage"] == "won" {
			total += spif
		}
	}
	return min(total, perPeriod)
}

// halfEvenDiv is n / d rounded half to even, for n ≥ 0 and d > 0.
func halfEvenDiv(n, d int64) int64 {
	q, r := n/d, n%d
	if 2*r > d || (2*r == d && q%2 == 1) {
		q++
	}
	return q
}
