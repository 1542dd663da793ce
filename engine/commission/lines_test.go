package commission

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"stride/engine/commission/calc"
	"stride/engine/store"
	"stride/engine/store/sqlite"
)

// A new field in a line must be placed in the table's templates or rows
// (lineTable, keyOf, template, the row fields) before this passes again.
func TestLineTableCoversEveryField(t *testing.T) {
	for _, c := range []struct {
		v    any
		want int
	}{{calc.Line{}, lineFields}, {calc.Explanation{}, explanationFields}, {calc.Band{}, bandFields}} {
		if n := reflect.TypeOf(c.v).NumField(); n != c.want {
			t.Errorf("%T has %d fields, the line table encodes %d", c.v, n, c.want)
		}
	}
}

// randomLines makes lines using every field, with nil and zero pointers,
// negative zero, shared and distinct templates, and strings that need
// escaping.
func randomLines(r *rand.Rand, n int, negZero bool) []calc.Line {
	strs := []string{"", "r_00000001", "a,b;c", "100%", `q"uote\`, "新记录", "tab\there", "\x00\x7f\xff"}
	pick := func() string { return strs[r.IntN(len(strs))] }
	i64 := func() *int64 {
		if r.IntN(3) == 0 {
			return nil
		}
		v := []int64{0, 1, -1, 1<<53 - 1, -(1<<53 - 1), r.Int64N(1e12) - 5e11}[r.IntN(6)] // money is within ±(2^53−1) minor units
		return &v
	}
	f64 := func() *float64 {
		if r.IntN(3) == 0 {
			return nil
		}
		v := []float64{0, math.Copysign(0, -1), 0.05, 1.0 / 3, 1e-300, 123456.789, -2.5}[r.IntN(7)]
		if !negZero {
			v = math.Abs(v) // stores keep −0 in rows only, not in templates
		}
		return &v
	}
	f := func() float64 {
		v := f64()
		if v == nil {
			return 0
		}
		return *v
	}
	i := func() int64 {
		v := i64()
		if v == nil {
			return 0
		}
		return *v
	}
	bands := []*calc.Band{nil, {Index: -1}, {Index: 0, Threshold: 0, From: 0, To: i64(), Until: f64()}, {Index: 2, Threshold: 1.5, From: 7, Until: f64()}}
	out := make([]calc.Line, n)
	for k := range out {
		l := calc.Line{Rule: []string{"tiers", "spif", "cap:line", "a,b"}[r.IntN(4)], Kind: []string{calc.KindRate, calc.KindSPIF}[r.IntN(2)],
			Record: pick(), Object: []string{"", "sale"}[r.IntN(2)], CreditDate: pick(), Base: i(), Rate: f64(), Band: bands[r.IntN(len(bands))], Amount: i()}
		e := &l.Explain
		e.Formula = []string{"", "marginal(amount, [[0, 0.03]])", "product == \"nova\""}[r.IntN(3)]
		e.Attainment, e.Quota, e.CumBefore, e.SharePct, e.RecordBase = f64(), i64(), i64(), f(), i()
		e.Cap, e.Earned, e.Threshold, e.Team, e.Before = i64(), i64(), f64(), []string{"", "t1"}[r.IntN(2)], f64()
		e.ReversedAt, e.Note, e.Value, e.Paid = pick(), []string{"", "说明 / note"}[r.IntN(2)], f64(), i64()
		if r.IntN(3) == 0 {
			d := r.IntN(100) - 50
			e.Days = &d
		}
		out[k] = l
	}
	return out
}

// throughJSON is what a store does to a value: JSON out and back, numbers
// as float64 (or int64, which the sqlite store gives for integers).
func throughJSON(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLineTableRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	enc := &lineEncoder{}
	for _, n := range []int{0, 1, 2, 17, 500} {
		for range 20 {
			lines := randomLines(r, n, true)
			tab, err := enc.encode(lines)
			if err != nil {
				t.Fatal(err)
			}
			v, err := tab.value()
			if err != nil {
				t.Fatal(err)
			}
			back, err := tableFrom(throughJSON(t, v))
			if err != nil {
				t.Fatal(err)
			}
			if back.hash != tab.hash || back.n != n {
				t.Fatalf("hash %s / %d lines back, %s / %d written", back.hash, back.n, tab.hash, n)
			}
			got, err := back.decode()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, lines) && !(n == 0 && len(got) == 0) {
				for k := range lines {
					if !reflect.DeepEqual(got[k], lines[k]) {
						a, _ := json.Marshal(lines[k])
						b, _ := json.Marshal(got[k])
						t.Fatalf("line %d:\nwrote %s\nread  %s", k, a, b)
					}
				}
				t.Fatalf("%d lines written, %d read", n, len(got))
			}
			for k := range got { // negative zero survives
				if p, q := lines[k].Rate, got[k].Rate; p != nil && math.Signbit(*p) != math.Signbit(*q) {
					t.Fatalf("line %d: rate %v read as %v", k, *p, *q)
				}
			}
			again, err := enc.encode(got)
			if err != nil {
				t.Fatal(err)
			}
			if again.hash != tab.hash || again.rows != tab.rows {
				t.Fatal("the lines read encode differently")
			}
		}
	}
	// Any change to a line changes the hash.
	lines := randomLines(r, 50, true)
	tab, _ := enc.encode(lines)
	lines[20].Amount++
	if other, _ := enc.encode(lines); other.hash == tab.hash {
		t.Fatal("a changed amount kept the hash")
	}
}

// oldDoc is a statement as stored before the line table: every line,
// with its id, in the API's shape under "lines".
func oldDoc(t *testing.T, st *Statement) store.Doc {
	t.Helper()
	d, err := st.doc()
	if err != nil {
		t.Fatal(err)
	}
	ls, err := jsonValue(st.Lines)
	if err != nil {
		t.Fatal(err)
	}
	delete(d, "adjustments")
	d["lines"] = ls
	return d
}

func sampleStatement(t *testing.T, n int) *Statement {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 5))
	src := Source{Period: "2026-01", Rule: "tiers", Record: "r_1"}
	adj := adjustmentLine(src, "r_1", "sale", -120, "调整", "Adjustment")
	att, tgt := 0.75, int64(1_000_000)
	st := &Statement{ID: "p:2026-03:u1", Plan: "p", PlanVersion: 2, Period: "2026-03", PeriodStart: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		PeriodEnd: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), Rep: "u1", RepName: "销售 1", Status: StatusDraft, Currency: "CNY",
		Attainment: &att, Target: &tgt, Computed: true, Fingerprint: "f",
		History: []Event{{At: time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC), By: "admin", Action: "computed", To: StatusDraft}}}
	// What JSON keeps of them (it replaces invalid UTF-8): the old form's
	// lines went through JSON too.
	b, err := json.Marshal(randomLines(r, n, false))
	if err != nil {
		t.Fatal(err)
	}
	var computed []calc.Line
	if err := json.Unmarshal(b, &computed); err != nil {
		t.Fatal(err)
	}
	st.Lines = append(lineIDs(computed), adj)
	st.retotal()
	return st
}

// Statements stored before the line table read the same and count as
// unchanged when a run computes the same lines; rewritten, they read the
// same again — through the embedded store.
func TestStatementsStoredBeforeTheLineTable(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := s.DB(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Declare(ctx, store.Collection{Name: collStatements}); err != nil {
		t.Fatal(err)
	}
	want := sampleStatement(t, 300)
	if _, err := db.Insert(ctx, collStatements, oldDoc(t, want)); err != nil {
		t.Fatal(err)
	}
	d, err := db.Get(ctx, collStatements, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	old, err := statementFrom(d)
	if err != nil {
		t.Fatal(err)
	}
	sameLines(t, "an old statement", old.Lines, want.Lines)
	// A run computing the same lines: unchanged.
	head, err := statementHead(d)
	if err != nil {
		t.Fatal(err)
	}
	var computed []calc.Line
	for _, l := range want.Lines[:len(want.Lines)-1] {
		computed = append(computed, l.Line)
	}
	tab, err := (&lineEncoder{}).encode(computed)
	if err != nil {
		t.Fatal(err)
	}
	next := *want
	next.Lines, next.table, next.adj = nil, tab, head.adjustments()
	if same, err := sameContent(head, &next, nil); err != nil || !same {
		t.Fatalf("same lines in the new form: same %v, %v", same, err)
	}
	next.Total++
	if same, _ := sameContent(head, &next, nil); same {
		t.Fatal("a different total is the same content")
	}
	// Rewritten in the new form (as an approval does), it reads the same.
	old.Status = StatusApproved
	nd, err := old.doc()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := nd["lines"].(map[string]any); !ok {
		t.Fatalf("rewritten lines are %T, not a table", nd["lines"])
	}
	if _, err := db.Replace(ctx, collStatements, nd, old.Version); err != nil {
		t.Fatal(err)
	}
	d, err = db.Get(ctx, collStatements, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	back, err := statementFrom(d)
	if err != nil {
		t.Fatal(err)
	}
	sameLines(t, "the rewritten statement", back.Lines, want.Lines)
	if back.Total != want.Total || back.Status != StatusApproved || len(back.History) != 1 {
		t.Fatalf("read back %+v", back)
	}
	// And its head sees the same table.
	h2, err := statementHead(d)
	if err != nil {
		t.Fatal(err)
	}
	if h2.table.hash != tab.hash || len(h2.adjustments()) != 1 {
		t.Fatalf("head: hash %s (want %s), %d adjustments", h2.table.hash, tab.hash, len(h2.adjustments()))
	}
}

func sameLines(t *testing.T, what string, got, want []Line) {
	t.Helper()
	for k := range max(len(got), len(want)) {
		if k >= len(got) || k >= len(want) {
			t.Fatalf("%s: %d lines read, %d written", what, len(got), len(want))
		}
		a, _ := json.Marshal(want[k])
		b, _ := json.Marshal(got[k])
		if string(a) != string(b) {
			t.Fatalf("%s: line %d:\nwrote %s\nread  %s", what, k, a, b)
		}
	}
}
