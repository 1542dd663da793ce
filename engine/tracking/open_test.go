package tracking

import (
	"context"
	"encoding/json"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"stride/engine/records"
	"stride/engine/store"
)

func TestWeighted(t *testing.T) {
	t.Parallel()
	cases := []struct {
		value   int64
		percent float64
		want    int64
	}{
		{999, 10, 100},                 // 99.9
		{1005, 10, 100},                // 100.5: a tie, to even (not 101 as 1005 × 0.1 in binary would give)
		{1015, 10, 102},                // 101.5 → 102
		{5, 10, 0},                     // 0.5 → 0
		{15, 10, 2},                    // 1.5 → 2
		{1005, 15, 151},                // 150.75
		{1000, 33.3, 333},              // 333.0: 33.3 read as the decimal the admin typed
		{1, 50, 0},                     // 0.5 → 0
		{3, 50, 2},                     // 1.5 → 2
		{-1005, 10, -100},              // symmetric
		{-1015, 10, -102},              //
		{1250000, 100, 1250000},        //
		{1 << 52, 12.5, 1 << 49},       // large values stay exact
		{123456789, 0.01, 12346},       // 12345.6789
		{123456789, 0.001, 1235},       // 1234.56789
		{100, 0, 0},                    //
		{7, 1.0 / 3 * 100, 2},          // 2.333… (the float's shortest decimal)
		{2, 25, 0},                     // 0.5 → 0
		{6, 25, 2},                     // 1.5 → 2
		{10, 25, 2},                    // 2.5 → 2
		{14, 25, 4},                    // 3.5 → 4
		{1 << 40, 100, 1 << 40},        //
		{1000000007, 99.99, 999900007}, // 999900006.9993
	}
	for _, c := range cases {
		got, err := weighted(c.value, c.percent)
		if err != nil || got != c.want {
			t.Errorf("weighted(%d, %v) = %d, %v; want %d", c.value, c.percent, got, err, c.want)
		}
	}
}

// stageWeight is a stand-in for the pipelines' probabilities: an order named
// "skip" (which the revenue metric does not count) is open with its score as
// the probability; others are not open.
func stageWeight(calls *atomic.Int64, scale float64) OpenWeight {
	return func(_ context.Context, _ store.DB, _, object string, rec *records.Record) (float64, bool) {
		if calls != nil {
			calls.Add(1)
		}
		if object != "order" || rec.Data["name"] != "skip" {
			return 0, false
		}
		s, ok := toFloat(rec.Data["score"])
		return s * scale, ok
	}
}

func TestOpenContributions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.tr.SetOpenWeight(stageWeight(nil, 1))
	obj, err := e.app.Objects.Published(e.ctx, e.db, "demo", "order")
	if err != nil {
		t.Fatal(err)
	}
	e.publish(t, "revenue", testMetrics["revenue"])
	e.publish(t, "dimrev", `{"label": {"en": "x"}, "object": "order", "where": "name != 'skip'", "value": "amount",
		"dateField": "closeDate", "ownerField": "owner", "dimension": "seller"}`)
	e.publish(t, "paid", testMetrics["paid"])
	metric := func(key string) *Metric {
		m, err := e.tr.Metric(e.ctx, e.db, "demo", key)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	split := []any{map[string]any{"user": "a", "percent": 33.33}, map[string]any{"user": "b", "percent": 33.33}, map[string]any{"user": "c", "percent": 33.34}}
	cases := []struct {
		name   string
		metric string
		data   map[string]any
		want   []Contribution
	}{
		{"counted: the actual only", "revenue", map[string]any{"name": "x", "amount": int64(1005), "score": 10.0, "closeDate": "2026-03-31"},
			[]Contribution{{Key{"revenue", "u1", "2026-03-31"}, Cell{1005, 1}}}},
		{"open: weighted, half-even", "revenue", map[string]any{"name": "skip", "amount": int64(1005), "score": 10.0, "closeDate": "2026-03-31"},
			[]Contribution{{Key{"revenue#open", "u1", "2026-03-31"}, Cell{100, 1}}}},
		{"open at 0 %: nothing", "revenue", map[string]any{"name": "skip", "amount": int64(1005), "score": 0.0, "closeDate": "2026-03-31"}, nil},
		{"open without a date: nothing", "revenue", map[string]any{"name": "skip", "amount": int64(1005), "score": 50.0}, nil},
		{"open and split: the weighted value split exactly", "revenue",
			map[string]any{"name": "skip", "amount": int64(1000), "score": 30.0, "closeDate": "2026-03-31", "splits": split},
			[]Contribution{{Key{"revenue#open", "a", "2026-03-31"}, Cell{100, 1}}, {Key{"revenue#open", "b", "2026-03-31"}, Cell{100, 1}},
				{Key{"revenue#open", "c", "2026-03-31"}, Cell{100, 1}}}},
		{"open with a dimension: its open cells too", "dimrev",
			map[string]any{"name": "skip", "amount": int64(1000), "score": 25.0, "closeDate": "2026-03-31", "seller": "a#b"},
			[]Contribution{{Key{"dimrev#open", "u1", "2026-03-31"}, Cell{250, 1}}, {Key{"dimrev@a%23b#open", "u1", "2026-03-31"}, Cell{250, 1}}}},
		{"no where: no open cells", "paid", map[string]any{"name": "skip", "amount": int64(1000), "score": 25.0, "paidAt": "2026-03-31T02:00:00.000Z", "seller": "s"},
			[]Contribution{{Key{"paid", "s", "2026-03-31"}, Cell{1000, 1}}}},
	}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	for _, c := range cases {
		rec := &records.Record{ID: "r1", Object: "order", Owner: "u1", Data: c.data}
		got, err := Contributions(metric(c.metric), obj, rec, sh)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

// TestOpenCellsFollowWritesAndRebuilds: open-pipeline cells move with every
// write (probability, amount, winning, deleting), equal a recompute, and a
// changed weighting (a republished pipeline) is applied by RebuildObject.
func TestOpenCellsFollowWritesAndRebuilds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	scale := 1.0
	var calls atomic.Int64
	e.tr.SetOpenWeight(func(ctx context.Context, db store.DB, tenant, object string, rec *records.Record) (float64, bool) {
		return stageWeight(&calls, scale)(ctx, db, tenant, object, rec)
	})
	ann := e.users[1]
	mk := func(name string, amount int64, score float64) records.Record {
		t.Helper()
		r, _, err := e.app.Records.Create(e.ctx, e.db, e.admin, "order", map[string]any{"name": name, "owner": ann,
			"amount": json.Number(itoa(amount)), "score": score, "closeDate": "2026-02-10"}, "")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// A deal open before the metric exists is weighed by its publication.
	first := mk("skip", 1005, 10)
	e.publish(t, "revenue", testMetrics["revenue"])
	open := func(want int64) {
		t.Helper()
		c, err := e.tr.Actual(e.ctx, e.db, "demo", OpenKey("revenue"), []string{ann}, "2026-01-01", "2026-03-31")
		if err != nil || c.Sum != want {
			t.Fatalf("open pipeline %+v %v, want %d", c, err, want)
		}
	}
	open(100)
	second := mk("skip", 2500, 30)
	open(100 + 750)
	patch := func(r records.Record, p map[string]any) records.Record {
		t.Helper()
		cur, err := e.app.Records.Get(e.ctx, e.db, e.admin, "order", r.ID)
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.app.Records.Patch(e.ctx, e.db, e.admin, "order", r.ID, p, cur.Version)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	patch(first, map[string]any{"score": 15.0}) // a stage move: 150.75 → 151
	open(151 + 750)
	patch(second, map[string]any{"name": "won"}) // won: leaves the pipeline, enters the actual
	open(151)
	if a, _ := e.tr.Actual(e.ctx, e.db, "demo", "revenue", []string{ann}, "2026-01-01", "2026-03-31"); a.Sum != 2500 {
		t.Fatalf("actual %+v", a)
	}
	e.reconcileClean(t)
	// Probabilities change (a pipeline republished): stale until rebuilt.
	scale = 2
	rep, err := e.tr.Reconcile(e.ctx, e.db, "demo", false)
	if err != nil || len(rep.Drift) != 1 || rep.Drift[0].Metric != "revenue#open" || rep.Drift[0].Expected.Sum != 302 {
		t.Fatalf("drift after a probability change: %+v %v", rep.Drift, err)
	}
	if err := e.tr.RebuildObject(e.ctx, e.db, "demo", "order"); err != nil {
		t.Fatal(err)
	}
	open(302)
	e.reconcileClean(t)
	// The applied state was rewritten too: deleting the record takes out
	// exactly what it holds now.
	if err := e.app.Records.Delete(e.ctx, e.db, e.admin, "order", first.ID, 0); err != nil {
		t.Fatal(err)
	}
	open(0)
	e.reconcileClean(t)
	if calls.Load() == 0 {
		t.Fatal("the open weight was never asked")
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
