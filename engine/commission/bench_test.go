package commission_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"stride/engine/commission"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/setup"
	"stride/engine/store"
	"stride/engine/store/sqlite"
)

// The size of the commission benchmarks: STRIDE_BENCH_COMMISSION_REPS reps
// and STRIDE_BENCH_COMMISSION_LINES credited records (defaults 100 and
// 100,000; the full size is 1,000 × 1,000,000, which `make bench`
// may set).
func benchSize() (reps, lines int) {
	reps, lines = 100, 100_000
	if v, err := strconv.Atoi(os.Getenv("STRIDE_BENCH_COMMISSION_REPS")); err == nil && v > 0 {
		reps = v
	}
	if v, err := strconv.Atoi(os.Getenv("STRIDE_BENCH_COMMISSION_LINES")); err == nil && v > 0 {
		lines = v
	}
	return reps, lines
}

// benchFixture is a tenant with reps and one month of credited sales,
// shared by the benchmarks of one process (building it is not measured).
type benchFixture struct {
	app  *setup.App
	st   *sqlite.Store
	db   store.DB
	plan *commission.Plan
	per  period.Period
	dir  string
}

var (
	fixtureOnce sync.Once
	fixture     *benchFixture
	fixtureErr  error
)

const saleDef = `{"label": {"zh-CN": "销售单", "en": "Sale"}, "titleField": "name",
 "schema": {"type": "object", "properties": {
  "name": {"type": "string"},
  "amount": {"type": "integer", "format": "money", "minimum": 0},
  "soldOn": {"type": "string", "format": "date"},
  "product": {"type": "string"},
  "splits": {"type": "array", "items": {"type": "object",
    "properties": {"user": {"type": "string"}, "percent": {"type": "number"}}, "required": ["user", "percent"]}}},
  "required": ["name"]}}`

// benchPlan: marginal bands on the cumulative amount, a per-line and a
// per-period cap, splits and a SPIF — the benchmark plan.
var benchPlan = map[string]any{
	"name":    map[string]any{"zh-CN": "基准方案"},
	"grain":   "month",
	"quota":   map[string]any{"metric": "sales"},
	"assign":  map[string]any{"roles": []any{"rep"}},
	"credits": map[string]any{"object": "sale", "base": "amount", "dateField": "soldOn", "splitField": "splits"},
	"rules": []any{map[string]any{"key": "tiers", "rate": map[string]any{"kind": "marginal", "basis": "amount",
		"table": []any{[]any{0, 0.03}, []any{50_000, 0.05}, []any{200_000, 0.08}}}}},
	"caps":  map[string]any{"perLine": 500_000, "perPeriod": 5_000_000},
	"spifs": []any{map[string]any{"key": "new_product", "when": `product == "nova"`, "amount": 1_000}},
}

// TestMain removes the benchmark fixture's database (hundreds of MB at the
// full size) when the benchmarks are done.
func TestMain(m *testing.M) {
	code := m.Run()
	if fixture != nil {
		_ = fixture.st.Close()
		_ = os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

func loadFixture(b *testing.B) *benchFixture {
	fixtureOnce.Do(func() { fixture, fixtureErr = buildFixture(benchSize()) })
	if fixtureErr != nil {
		b.Fatal(fixtureErr)
	}
	return fixture
}

func buildFixture(reps, lines int) (*benchFixture, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "stride-commission-bench-*")
	if err != nil {
		return nil, err
	}
	st, err := sqlite.Open(dir)
	if err != nil {
		return nil, err
	}
	a, err := setup.New(ctx, st)
	if err != nil {
		return nil, err
	}
	if _, err := a.BootstrapBare(ctx, "bench-password-1"); err != nil {
		return nil, err
	}
	db, err := a.Tenants.DB(ctx, setup.DemoTenant)
	if err != nil {
		return nil, err
	}
	var def map[string]any
	if err := jsonUnmarshal(saleDef, &def); err != nil {
		return nil, err
	}
	if _, err := a.Objects.Save(ctx, db, setup.DemoTenant, "bench", "sale", def, 0); err != nil {
		return nil, err
	}
	if _, err := a.Objects.Publish(ctx, db, setup.DemoTenant, "bench", "sale"); err != nil {
		return nil, err
	}
	metric := map[string]any{"label": map[string]any{"en": "Sales"}, "object": "sale", "value": "amount", "dateField": "soldOn", "ownerField": "owner"}
	if _, err := a.Tracker.Save(ctx, db, setup.DemoTenant, "bench", "sales", metric, 0); err != nil {
		return nil, err
	}
	if _, err := a.Tracker.Publish(ctx, db, setup.DemoTenant, "bench", "sales"); err != nil {
		return nil, err
	}
	// Reps, written straight to the store (password hashing is not the point).
	users := make([]store.Doc, reps)
	for i := range users {
		users[i] = store.Doc{store.KeyID: fmt.Sprintf("u_rep%05d", i), "username": fmt.Sprintf("rep%05d", i), "displayName": fmt.Sprintf("销售 %d", i),
			"roles": []any{"rep"}, "disabled": false}
	}
	if _, err := db.InsertMany(ctx, "users", users); err != nil {
		return nil, err
	}
	coll := objects.RecordCollection("sale")
	if err := db.Declare(ctx, store.Collection{Name: coll, Indexes: []store.Index{
		{Name: "owner", Fields: []string{"deleted", "owner"}}, {Name: "updated", Fields: []string{"deleted", "updatedAt"}}}}); err != nil {
		return nil, err
	}
	now := "2026-03-31T12:00:00.000Z"
	batch := make([]store.Doc, 0, 1000)
	for i := 0; i < lines; i++ {
		owner := fmt.Sprintf("u_rep%05d", i%reps)
		data := map[string]any{"name": "s", "amount": int64(10_000 + (i*7919)%2_000_000), "soldOn": fmt.Sprintf("2026-03-%02d", 1+i%31),
			"product": []string{"nova", "core", "plus"}[i%3]}
		if i%10 == 0 { // a 70/30 split with the next rep
			data["splits"] = []any{map[string]any{"user": owner, "percent": 70.0}, map[string]any{"user": fmt.Sprintf("u_rep%05d", (i+1)%reps), "percent": 30.0}}
		}
		batch = append(batch, store.Doc{store.KeyID: fmt.Sprintf("r_%08d", i), "object": "sale", "objectVersion": int64(1), "owner": owner,
			"data": data, "deleted": false, "createdAt": now, "updatedAt": now, "createdBy": owner, "updatedBy": owner})
		if len(batch) == cap(batch) || i == lines-1 {
			if _, err := db.InsertMany(ctx, coll, batch); err != nil {
				return nil, err
			}
			batch = batch[:0]
		}
	}
	if _, err := a.Commission.Save(ctx, db, setup.DemoTenant, "bench", "bench", benchPlan, 0); err != nil {
		return nil, err
	}
	if _, err := a.Commission.Publish(ctx, db, setup.DemoTenant, "bench", "bench"); err != nil {
		return nil, err
	}
	pl, per, err := a.Commission.PlanFor(ctx, db, setup.DemoTenant, "bench", "2026-03")
	if err != nil {
		return nil, err
	}
	return &benchFixture{app: a, st: st, db: db, plan: pl, per: per, dir: dir}, nil
}

// BenchmarkCommissionRun is a whole run on the embedded store: read and
// credit every record of the month, gather targets and actuals, calculate
// each rep's statement and write it (the statements are deleted between
// iterations, so every iteration writes them all).
func BenchmarkCommissionRun(b *testing.B) {
	f := loadFixture(b)
	ctx := context.Background()
	reps, lines := benchSize()
	var peak, peakOver uint64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var ids []string
		_ = f.db.Scan(ctx, "cm_statements", store.Query{}, func(d store.Doc) error { ids = append(ids, store.ID(d)); return nil })
		for _, id := range ids {
			if err := f.db.Delete(ctx, "cm_statements", id, 0); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		base := heapBytes()
		stop := watchPeak(&peak)
		b.StartTimer()
		rep, err := f.app.Commission.Execute(ctx, f.db, setup.DemoTenant, "bench", f.plan, f.per, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		stop()
		peakOver = max(peakOver, peak-base)
		b.StartTimer()
		if rep.Written != reps || len(rep.Errors) != 0 || rep.Records != lines {
			b.Fatalf("run report %+v", rep)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	// The most live heap a run added (sampled): what a run holds, which
	// must not grow with the records' data.
	b.ReportMetric(float64(peakOver)/(1<<20), "peak-heap-MB")
}

// BenchmarkCommissionRerun runs the period again with nothing changed:
// every statement is found unchanged (by the hash of its stored lines)
// and nothing is written.
func BenchmarkCommissionRerun(b *testing.B) {
	f := loadFixture(b)
	ctx := context.Background()
	reps, lines := benchSize()
	if _, err := f.app.Commission.Execute(ctx, f.db, setup.DemoTenant, "bench", f.plan, f.per, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := f.app.Commission.Execute(ctx, f.db, setup.DemoTenant, "bench", f.plan, f.per, nil)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Unchanged != reps || rep.Written != 0 || len(rep.Errors) != 0 {
			b.Fatalf("run report %+v", rep)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkReadCredited merely reads the same records from the store (the
// same query, each document decoded): the floor a run is compared with
// (goal: a run ≤ 2× this).
func BenchmarkReadCredited(b *testing.B) {
	f := loadFixture(b)
	ctx := context.Background()
	_, lines := benchSize()
	where := []store.Cond{{Field: "deleted", Op: store.Ne, Value: true},
		{Field: "data.soldOn", Op: store.Gte, Value: "2026-02-28"}, {Field: "data.soldOn", Op: store.Lt, Value: "2026-04-02"}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		err := f.db.Scan(ctx, objects.RecordCollection("sale"), store.Query{Where: where}, func(d store.Doc) error {
			if _, ok := d["data"].(map[string]any); ok {
				n++
			}
			return nil
		})
		if err != nil || n != lines {
			b.Fatalf("read %d of %d: %v", n, lines, err)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// heapBytes is the heap's live and not yet swept objects now.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// watchPeak samples heapBytes into *peak every 5 ms until stopped.
func watchPeak(peak *uint64) (stop func()) {
	*peak = heapBytes()
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				*peak = max(*peak, heapBytes())
			}
		}
	}()
	return func() { close(quit); <-done }
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
