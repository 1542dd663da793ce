package calc

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"stride/engine/period"
)

func TestCredits(t *testing.T) {
	p := mustCompile(t, `{"name": {"en": "P"}, "quota": {"metric": "won"},
		"credits": {"object": "deal", "when": "stage == 'won'", "base": "amount * (1 - discount)", "dateField": "closeDate", "splitField": "splits"}}`)
	tests := []struct {
		name, data string
		want       []Credit // Record, Owner, Base, RecordBase, SharePct compared; Date as YYYY-MM-DD
		date       string
		code       string
	}{
		{"not credited", `{"stage": "lost", "amount": 100, "closeDate": "2026-03-01", "owner": "u1"}`, nil, "", ""},
		{"owner", `{"stage": "won", "amount": 10000, "discount": 0.1, "closeDate": "2026-03-01", "owner": "u1"}`,
			[]Credit{{Owner: "u1", Base: 9000, RecordBase: 9000, SharePct: 100}}, "2026-03-01", ""},
		{"base rounds half-even once", `{"stage": "won", "amount": 5, "discount": 0.5, "closeDate": "2026-03-01", "owner": "u1"}`,
			[]Credit{{Owner: "u1", Base: 2, RecordBase: 2, SharePct: 100}}, "2026-03-01", ""},
		{"three-way split", `{"stage": "won", "amount": 100, "closeDate": "2026-03-01", "owner": "u1",
			"splits": [{"user": "c", "percent": 33.3333}, {"user": "a", "percent": 33.3333}, {"user": "b", "percent": 33.3334}]}`,
			[]Credit{{Owner: "a", Base: 33, RecordBase: 100, SharePct: 33.3333}, {Owner: "b", Base: 34, RecordBase: 100, SharePct: 33.3334},
				{Owner: "c", Base: 33, RecordBase: 100, SharePct: 33.3333}}, "2026-03-01", ""},
		{"duplicate users merged, zero shares dropped", `{"stage": "won", "amount": 1000, "closeDate": "2026-03-01", "owner": "u1",
			"splits": [{"user": "a", "percent": 40}, {"user": "b", "percent": 0}, {"user": "a", "percent": 60}]}`,
			[]Credit{{Owner: "a", Base: 1000, RecordBase: 1000, SharePct: 100}}, "2026-03-01", ""},
		{"negative base split", `{"stage": "won", "amount": -101, "closeDate": "2026-03-01", "owner": "u1",
			"splits": [{"user": "a", "percent": 50}, {"user": "b", "percent": 50}]}`,
			[]Credit{{Owner: "a", Base: -51, RecordBase: -101, SharePct: 50}, {Owner: "b", Base: -50, RecordBase: -101, SharePct: 50}}, "2026-03-01", ""},
		{"no date", `{"stage": "won", "amount": 100, "owner": "u1"}`, nil, "", ""},
		{"no owner", `{"stage": "won", "amount": 100, "closeDate": "2026-03-01"}`, nil, "", ""},
		{"split not 100", `{"stage": "won", "amount": 100, "closeDate": "2026-03-01", "owner": "u1",
			"splits": [{"user": "a", "percent": 70}, {"user": "b", "percent": 20}]}`, nil, "", "split_percent"},
		{"split without user", `{"stage": "won", "amount": 100, "closeDate": "2026-03-01", "owner": "u1",
			"splits": [{"percent": 100}]}`, nil, "", "split_percent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := p.Credits("D-1", decode(t, tt.data), shanghai)
			if tt.code != "" {
				var re *RecordError
				if !errors.As(err, &re) || re.Code != tt.code || re.Record != "D-1" {
					t.Fatalf("err %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != len(tt.want) {
				t.Fatalf("got %d credits %+v, want %d", len(cs), cs, len(tt.want))
			}
			var sum int64
			for i, c := range cs {
				w := tt.want[i]
				if c.Record != "D-1" || c.Object != "deal" || c.Owner != w.Owner || c.Base != w.Base || c.RecordBase != w.RecordBase || c.SharePct != w.SharePct {
					t.Errorf("credit %d = %+v, want %+v", i, c, w)
				}
				if d := c.Date.In(shanghai).Format(period.DateLayout); d != tt.date || c.Date.In(shanghai).Hour() != 0 {
					t.Errorf("date %s (%v), want midnight of %s in the tenant zone", d, c.Date, tt.date)
				}
				sum += c.Base
			}
			if len(cs) > 0 && sum != cs[0].RecordBase {
				t.Errorf("shares sum to %d, not %d", sum, cs[0].RecordBase)
			}
		})
	}
}

// Credits accepts the record as formulas see it (what engine/commission
// passes) and as stored; both give the same credits.
func TestCreditsDataForms(t *testing.T) {
	p := mustCompile(t, `{"name": {"en": "P"}, "quota": {"metric": "won"},
		"credits": {"object": "deal", "base": "amount", "dateField": "paidAt"}}`)
	stored := decode(t, `{"amount": 123456, "paidAt": "2026-03-31T17:30:00.000Z"}`)
	env := p.obj.Schema.ToEnv(stored)
	env["owner"] = "u1"
	a, err := p.Credits("D-1", RecordData(stored, "u1", "2026-01-01T00:00:00Z"), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Credits("D-1", env, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 1 || len(b) != 1 || a[0].Base != 123456 || b[0].Base != 123456 || !a[0].Date.Equal(b[0].Date) {
		t.Fatalf("stored %+v, env %+v", a, b)
	}
	// 17:30 UTC on Mar 31 is Apr 1 in Shanghai: the credit is April's.
	if got := a[0].Date.In(shanghai).Format(period.DateLayout); got != "2026-04-01" {
		t.Errorf("date %s", got)
	}
	// createdAt as the credit date.
	p2 := mustCompile(t, `{"name": {"en": "P"}, "quota": {"metric": "won"},
		"credits": {"object": "deal", "base": "amount", "dateField": "createdAt"}}`)
	c, err := p2.Credits("D-1", RecordData(stored, "u1", "2026-02-03T04:05:06.000Z"), shanghai)
	if err != nil || len(c) != 1 || !c[0].Date.Equal(time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)) {
		t.Fatalf("createdAt: %+v %v", c, err)
	}
}

func TestReversed(t *testing.T) {
	p := mustCompile(t, briefPlan)
	at, ok, err := p.ReversedIn(decode(t, `{"status": "refunded", "refundedAt": "2026-04-01"}`), shanghai)
	if err != nil || !ok || !at.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, shanghai)) {
		t.Fatalf("ReversedIn: %v %v %v", at, ok, err)
	}
	at, ok, err = p.Reversed(decode(t, `{"status": "refunded", "refundedAt": "2026-04-01"}`))
	if err != nil || !ok || !at.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("Reversed: %v %v %v", at, ok, err)
	}
	if _, ok, _ := p.Reversed(decode(t, `{"status": "open", "refundedAt": "2026-04-01"}`)); ok {
		t.Error("not refunded")
	}
	if _, ok, _ := p.Reversed(decode(t, `{"status": "refunded"}`)); ok {
		t.Error("refunded without a date cannot be placed")
	}
	if _, ok, err := mustCompile(t, planWith("")).Reversed(nil); ok || err != nil {
		t.Error("no clawback")
	}
}

// input builds a one-period input from credits of rep u1 in March 2026.
func input(t testing.TB, target int64, credits ...Credit) Input {
	in := Input{Rep: Rep{ID: "u1", Name: "Li", Teams: []string{"t1"}}, Period: window(t, "2026-03"), Quota: window(t, "2026-03"),
		Target: target, HasTarget: target > 0, Credits: credits}
	for _, c := range credits {
		in.ActualInPeriod += c.Base
	}
	return in
}

func credit(id string, dayOfMarch int, base int64, data map[string]any) Credit {
	return Credit{Record: id, Object: "deal", Owner: "u1", Date: time.Date(2026, 3, dayOfMarch, 0, 0, 0, 0, shanghai).UTC(),
		Base: base, RecordBase: base, SharePct: 100, Data: data}
}

func TestCalculateFormulas(t *testing.T) {
	p := mustCompile(t, planWith(`"rules": [
		{"key": "ctx", "when": "rep.id == 'u1' && 't1' in rep.teams && period.key == '2026-03' && attainment >= 1 && quota == 1000", "rate": {"kind": "constant", "value": 0.01}},
		{"key": "share", "when": "credit.share == 100 && credit.base > 100 && credit.date.Day() == 2 && stage == 'won'", "rate": {"kind": "constant", "value": 0.02}},
		{"key": "on", "rate": {"kind": "tier", "on": "amount", "table": [[0, 0.03], [500, 0.04]]}}]`))
	env := p.obj.Schema.ToEnv(decode(t, `{"amount": 60000, "stage": "won"}`))
	in := input(t, 100000, credit("D-1", 2, 60000, env), credit("D-2", 3, 60000, nil))
	res, err := p.Calculate(in)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range res.Lines {
		got = append(got, fmt.Sprintf("%s %s %d", l.Record, l.Rule, l.Amount))
	}
	// D-2 has no data: its fields read as zero values (amount 0 → tier row 1).
	want := []string{"D-1 ctx 600", "D-1 share 1200", "D-1 on 2400", "D-2 ctx 600", "D-2 on 1800"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestCalculateRuntimeErrors(t *testing.T) {
	tests := []struct{ expr, code string }{
		{"discount / 0", "formula_runtime"},              // +Inf
		{"(discount - discount) / 0", "formula_runtime"}, // NaN
		{"discount - 1", "invalid_rate"},
		{"1e300", "invalid_rate"},
	}
	for _, tt := range tests {
		p := mustCompile(t, planWith(`"rules": [{"key": "x", "rate": {"kind": "expr", "expr": "`+tt.expr+`"}}]`))
		env := p.obj.Schema.ToEnv(decode(t, `{"amount": 100, "discount": 0.5}`))
		_, err := p.Calculate(input(t, 0, credit("D-1", 2, 10000, env)))
		var re *RepError
		if !errors.As(err, &re) || re.Code != tt.code || re.Rep != "u1" || re.Message == "" {
			t.Errorf("%s: got %v, want %s", tt.expr, err, tt.code)
		}
	}
}

// A rate formula's binary noise is dropped: 0.05 * 1.1 pays 5.5 %.
func TestRateDecimal(t *testing.T) {
	p := mustCompile(t, planWith(`"rules": [{"key": "x", "rate": {"kind": "expr", "expr": "0.05 * 1.1"}}]`))
	res, err := p.Calculate(input(t, 0, credit("D-1", 2, 1000, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// 1000 × 0.055 = 55 exactly (0.05500000000000001 would still round to 55,
	// but the rate shown must be 0.055).
	if l := res.Lines[0]; l.Amount != 55 || *l.Rate != 0.055 {
		t.Fatalf("%+v rate %v", l, *l.Rate)
	}
}

func TestMarginalBases(t *testing.T) {
	// line: each line sliced alone at ¥1,000; amount: cumulative at ¥1,000.
	p := mustCompile(t, planWith(`"rules": [
		{"key": "line", "rate": {"kind": "marginal", "basis": "line", "table": [[0, 0.01], [1000, 0.1]]}},
		{"key": "amt", "rate": {"kind": "marginal", "basis": "amount", "table": [[0, 0.01], [1000, 0.1]]}}]`))
	in := input(t, 0, credit("D-1", 2, 80000, nil), credit("D-2", 3, 80000, nil), credit("D-3", 4, -30000, nil))
	in.CreditedBefore = map[string]int64{"amt": 10000, "line": 999999}
	res, err := p.Calculate(in)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range res.Lines {
		got = append(got, fmt.Sprintf("%s %s %d %d", l.Record, l.Rule, l.Base, l.Amount))
	}
	want := []string{
		"D-1 line 80000 800", "D-1 amt 80000 800", // amt: 10000 → 90000 all below 100000
		"D-2 line 80000 800", "D-2 amt 10000 100", "D-2 amt 70000 7000", // 90000 → 170000
		"D-3 line -30000 -300", "D-3 amt -30000 -3000", // a credit note walks down from 170000 to 140000
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if res.Credited["amt"] != 130000 || len(res.Credited) != 1 {
		t.Errorf("credited %v", res.Credited)
	}
}

// Below a tier table's first threshold the line is paid nothing, with a
// line saying so.
func TestBelowFirstTier(t *testing.T) {
	p := mustCompile(t, planWith(`"rules": [{"key": "t", "rate": {"kind": "tier", "table": [[0.5, 0.1]]}},
		{"key": "m", "rate": {"kind": "marginal", "table": [[0.5, 0.1]]}}]`))
	res, err := p.Calculate(input(t, 100000, credit("D-1", 2, 40000, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Lines) != 2 || res.Total != 0 || res.Lines[0].Band.Index != -1 || res.Lines[1].Band.Index != -1 || *res.Lines[1].Band.To != 50000 {
		t.Fatalf("%+v", res.Lines)
	}
	for _, l := range res.Lines {
		for _, lang := range []string{"zh-CN", "en"} {
			if s := Text(l, lang); s == "" {
				t.Error("no text")
			}
		}
	}
	if got := Text(res.Lines[0], "zh-CN"); got != "D-1：计提基数 ¥400.00，本期达成 40%，未达到第 1 档（达成 < 50%），不计提成 → ¥0.00" {
		t.Errorf("text %q", got)
	}
}

func TestCalculateDoesNotChangeInput(t *testing.T) {
	p := mustCompile(t, briefPlan)
	in := input(t, 100000, credit("D-2", 9, 5000, nil), credit("D-1", 2, 7000, nil))
	in.Reversals = []Reversal{{Record: "D-0", CreditDate: in.Period.Start.AddDate(0, -1, 0), ReversedAt: in.Period.Start, Paid: 10}}
	before, _ := json.Marshal(in)
	if _, err := p.Calculate(in); err != nil {
		t.Fatal(err)
	}
	after, _ := json.Marshal(in)
	if string(before) != string(after) {
		t.Fatalf("input changed:\n%s\n%s", before, after)
	}
}

func TestMoney(t *testing.T) {
	for v, want := range map[int64]string{0: "¥0.00", 5: "¥0.05", 123456789: "¥1,234,567.89", -100000: "-¥1,000.00", 99999: "¥999.99"} {
		if got := Money(v, "¥"); got != want {
			t.Errorf("Money(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestMulDec(t *testing.T) {
	tests := []struct {
		base int64
		rate float64
		want int64
	}{
		{864197, 0.06, 51852},                      // 51851.82
		{25, 0.1, 2}, {35, 0.1, 4}, {-25, 0.1, -2}, // half-even both ways
		{1, 0.5, 0}, {3, 0.5, 2},
		{maxMinor, 1, maxMinor},
		{1 << 52, 0.000000000001, 4504}, // 4503.599…
		{123, 1000, 123000},
	}
	for _, tt := range tests {
		d, err := decOf(tt.rate)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := mulDec(tt.base, d); err != nil || got != tt.want {
			t.Errorf("%d × %v = %d (%v), want %d", tt.base, tt.rate, got, err, tt.want)
		}
	}
	d, _ := decOf(1000)
	if _, err := mulDec(maxMinor, d); !errors.Is(err, errAmount) {
		t.Errorf("overflow: %v", err)
	}
	// Rates with many decimals (from formulas) go through big.Int.
	d, _ = decOf(1.2345678901234e-7)
	if got, _ := mulDec(1e15, d); got != 123456789 {
		t.Errorf("small rate: %d", got)
	}
}

// ---- properties ----

// Split shares always sum to the base, each within one minor unit of its
// exact share.
func TestPropertySplitSums(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		n := 1 + r.IntN(6)
		shares := make([]share, n)
		left := int64(100 * percentUnits)
		for i := range shares {
			p := left
			if i < n-1 {
				p = r.Int64N(left + 1)
			}
			shares[i] = share{fmt.Sprintf("u%d", i), p}
			left -= p
		}
		base := r.Int64N(2_000_000_000) - 1_000_000_000
		out := allocate(base, shares)
		var sum int64
		for i, a := range out {
			sum += a
			exact := float64(base) * float64(shares[i].percent) / (100 * percentUnits)
			if d := float64(a) - exact; d > 1 || d < -1 {
				t.Fatalf("share %d of %d at %d: %d, exact %f", i, base, shares[i].percent, a, exact)
			}
		}
		if sum != base {
			t.Fatalf("shares of %d sum to %d", base, sum)
		}
	}
}

// However the same credits are ordered, dated and split between periods of
// the quota window, a marginal rule pays in total exactly what one line of
// their whole base pays.
func TestPropertyMarginalOrderFree(t *testing.T) {
	p := mustCompile(t, planWith(`"quotaGrain": "quarter", "rules": [{"key": "m", "rate": {"kind": "marginal", "table": [[0, 0.0325], [0.8, 0.047], [1.0, 0.0615], [1.5, 0.083]]}}]`))
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 300 {
		target := 1 + r.Int64N(50_000_000)
		n := 1 + r.IntN(40)
		bases := make([]int64, n)
		var whole int64
		for i := range bases {
			bases[i] = r.Int64N(target) - target/20 // some credit notes
			whole += bases[i]
		}
		one, err := p.Calculate(quarterInput(t, target, 0, nil, "2026-01", credit("W", 2, whole, nil)))
		if err != nil {
			t.Fatal(err)
		}
		// Shuffle, then spread over January–March, carrying Credited.
		r.Shuffle(n, func(i, j int) { bases[i], bases[j] = bases[j], bases[i] })
		var total, before int64
		credited := map[string]int64{}
		cut1, cut2 := r.IntN(n+1), r.IntN(n+1)
		cut1, cut2 = min(cut1, cut2), max(cut1, cut2)
		for mi, part := range [][]int64{bases[:cut1], bases[cut1:cut2], bases[cut2:]} {
			var cs []Credit
			var inPeriod int64
			for i, b := range part {
				cs = append(cs, credit(fmt.Sprintf("D-%03d", i), 1+i%28, b, nil))
				inPeriod += b
			}
			res, err := p.Calculate(quarterInput(t, target, before, credited, fmt.Sprintf("2026-%02d", mi+1), cs...))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range res.Credited {
				credited[k] += v
			}
			before += inPeriod
			total += res.Total
		}
		if total != one.Total {
			t.Fatalf("trial %d: split over lines and months %d, one line %d (target %d, bases %v)", trial, total, one.Total, target, bases)
		}
	}
}

func quarterInput(t testing.TB, target, before int64, credited map[string]int64, month string, cs ...Credit) Input {
	w := window(t, month)
	for i := range cs {
		cs[i].Date = w.Start.AddDate(0, 0, cs[i].Date.Day()-1).UTC()
	}
	in := Input{Rep: Rep{ID: "u1"}, Period: w, Quota: window(t, "2026-Q1"), Target: target, HasTarget: true,
		ActualBefore: before, CreditedBefore: cloneMap(credited), Credits: cs}
	for _, c := range cs {
		in.ActualInPeriod += c.Base
	}
	return in
}

func cloneMap(m map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Calculate is deterministic: the same credits in any order give the same
// statement, and every total is the sum of its lines.
func TestPropertyDeterministic(t *testing.T) {
	p := mustCompile(t, briefPlan)
	r := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		n := 1 + r.IntN(30)
		var cs []Credit
		for i := range n {
			data := p.obj.Schema.ToEnv(map[string]any{"amount": r.Int64N(3_000_000), "newLogo": r.IntN(2) == 0})
			c := credit(fmt.Sprintf("D-%d", r.IntN(10)), 1+r.IntN(28), r.Int64N(3_000_000), data)
			c.Object = []string{"deal", "order"}[i%2]
			cs = append(cs, c)
		}
		in := input(t, 1+r.Int64N(20_000_000), cs...)
		in.Quota = window(t, "2026-Q1")
		in.ActualBefore = r.Int64N(10_000_000)
		in.Teams = []TeamAttainment{{Team: "t2", Before: 0.9, Now: 1.1}, {Team: "t1", Before: 0.5, Now: 1.0}}
		a, err := p.Calculate(in)
		if err != nil {
			t.Fatal(err)
		}
		shuffled := in
		shuffled.Credits = slices.Clone(cs)
		r.Shuffle(n, func(i, j int) { shuffled.Credits[i], shuffled.Credits[j] = shuffled.Credits[j], shuffled.Credits[i] })
		slices.Reverse(shuffled.Teams)
		b, err := p.Calculate(shuffled)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			t.Fatalf("order changed the result:\n%s\n%s", ja, jb)
		}
		var sum int64
		for _, l := range a.Lines {
			sum += l.Amount
		}
		if sum != a.Total {
			t.Fatalf("total %d, lines %d", a.Total, sum)
		}
	}
}

func TestRuleBases(t *testing.T) {
	p := mustCompile(t, planWith(`"rules": [
		{"key": "m", "when": "newLogo", "rate": {"kind": "marginal", "basis": "amount", "table": [[0, 0.01]]}},
		{"key": "all", "rate": {"kind": "marginal", "table": [[0, 0.01]]}},
		{"key": "c", "rate": {"kind": "constant", "value": 0.01}}]`))
	yes := p.obj.Schema.ToEnv(map[string]any{"newLogo": true})
	no := p.obj.Schema.ToEnv(map[string]any{"newLogo": false})
	got, err := p.RuleBases([]Credit{credit("D-1", 1, 100, yes), credit("D-2", 1, 50, no), credit("D-3", 1, 7, yes)})
	if err != nil || !reflect.DeepEqual(got, map[string]int64{"m": 107, "all": 157}) {
		t.Fatalf("%v %v", got, err)
	}
	p2 := mustCompile(t, planWith(`"rules": [{"key": "m", "when": "attainment > 1", "rate": {"kind": "marginal", "table": [[0, 0.01]]}}]`))
	if _, err := p2.RuleBases(nil); !errors.Is(err, ErrNeedsPeriod) {
		t.Fatalf("%v", err)
	}
}
