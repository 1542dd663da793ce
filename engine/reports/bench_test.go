package reports_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stride/engine/auth"
	"stride/engine/objects"
	"stride/engine/records"
	"stride/engine/reports"
	"stride/engine/setup"
	"stride/engine/store"
	"stride/engine/store/sqlite"
)

// benchEnv is a demo tenant on the embedded store with n deals inserted
// directly (the write path is not what is measured here).
type benchEnv struct {
	a  *setup.App
	db store.DB
	p  *auth.Principal
	n  int
}

var (
	benchMu   sync.Mutex
	benchEnvs = map[int]*benchEnv{}
)

func benchSizes() []int {
	if s := os.Getenv("STRIDE_REPORT_BENCH_N"); s != "" {
		var out []int
		for _, f := range splitComma(s) {
			n, err := strconv.Atoi(f)
			if err == nil {
				out = append(out, n)
			}
		}
		return out
	}
	return []int{100_000}
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

func openBench(b *testing.B, n int) *benchEnv {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if e, ok := benchEnvs[n]; ok {
		return e
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "stride-report-bench-*")
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	a, err := setup.New(ctx, st)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.Bootstrap(ctx, "bench-pass-123"); err != nil {
		b.Fatal(err)
	}
	db, err := a.Tenants.DB(ctx, setup.DemoTenant)
	if err != nil {
		b.Fatal(err)
	}
	users, err := auth.ListUsers(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	p := &auth.Principal{Tenant: setup.DemoTenant, UserID: users[0].ID, Roles: []auth.Role{auth.RoleAdmin}}
	coll := objects.RecordCollection("deal")
	rng := rand.New(rand.NewPCG(1, 2))
	stages := []string{"lead", "qualified", "proposal", "won", "lost"}
	batch := make([]store.Doc, 0, 1000)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		day := base.AddDate(0, 0, rng.IntN(365))
		ts := day.Format("2006-01-02T15:04:05.000Z")
		batch = append(batch, store.Doc{store.KeyID: fmt.Sprintf("b%08d", i), "object": "deal", "objectVersion": int64(1),
			"owner": fmt.Sprintf("u%02d", rng.IntN(50)), "deleted": false, "createdAt": ts, "updatedAt": ts, "createdBy": "bench", "updatedBy": "bench",
			"data": map[string]any{"name": "deal " + strconv.Itoa(i), "customer": "c" + strconv.Itoa(rng.IntN(2000)), "amount": int64(rng.IntN(10_000_000)),
				"stage": stages[rng.IntN(len(stages))], "closeDate": day.Format("2006-01-02")}})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := db.InsertMany(ctx, coll, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	e := &benchEnv{a: a, db: db, p: p, n: n}
	benchEnvs[n] = e
	return e
}

var groupByReport = map[string]any{
	"label":  map[string]any{"en": "owner × month"},
	"source": map[string]any{"kind": "records", "object": "deal"},
	"dimensions": []any{map[string]any{"key": "owner", "field": "owner"},
		map[string]any{"key": "month", "field": "closeDate", "grain": "month"}},
	"measures": []any{map[string]any{"key": "amount", "agg": "sum", "field": "amount"}},
}

// BenchmarkReportGroupBy runs a report grouping n deals by owner × month
// (summing money) against a bare store scan of the same records that
// aggregates the same by hand; the ratio is what the engine adds.
func BenchmarkReportGroupBy(b *testing.B) {
	for _, n := range benchSizes() {
		e := openBench(b, n)
		ctx := context.Background()
		var engine, bare time.Duration
		b.Run(fmt.Sprintf("engine/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				res, err := e.a.Reports.RunDefinition(ctx, e.db, setup.DemoTenant, e.p, groupByReport, reports.Query{})
				if err != nil {
					b.Fatal(err)
				}
				if res.Scanned < int64(n) {
					b.Fatalf("scanned %d of %d", res.Scanned, n)
				}
			}
			engine = time.Since(start) / time.Duration(b.N)
		})
		b.Run(fmt.Sprintf("scan/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				sums := map[string]int64{}
				err := e.db.Scan(ctx, objects.RecordCollection("deal"), store.Query{Where: []store.Cond{{Field: "deleted", Op: store.Eq, Value: false}}},
					func(d store.Doc) error {
						data, _ := d["data"].(map[string]any)
						cd, _ := data["closeDate"].(string)
						owner, _ := d["owner"].(string)
						if len(cd) >= 7 {
							sums[owner+"|"+cd[:7]] += store.Int(data["amount"])
						}
						return nil
					})
				if err != nil {
					b.Fatal(err)
				}
			}
			bare = time.Since(start) / time.Duration(b.N)
		})
		if bare > 0 && engine > 0 {
			b.Logf("n=%d: engine %v, bare scan %v, ratio %.2f", n, engine, bare, float64(engine)/float64(bare))
		}
	}
}

// peakHeap samples the heap while fn runs and returns the peak growth.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak.Load() {
					peak.Store(m.HeapAlloc)
				}
			}
		}
	}()
	fn()
	close(done)
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(b []byte) (int, error) { w.n += int64(len(b)); return len(b), nil }

// BenchmarkExportRecords exports every deal (n of them) as CSV and XLSX and
// reports the peak heap growth during the export (peak-heap-MB) next to the
// size of the file (file-MB): an export holding every record would grow the
// heap by far more than the file; a streamed one stays flat.
func BenchmarkExportRecords(b *testing.B) {
	for _, n := range benchSizes() {
		e := openBench(b, n)
		ctx := context.Background()
		for _, format := range []string{reports.FormatCSV, reports.FormatXLSX} {
			b.Run(fmt.Sprintf("%s/n=%d", format, n), func(b *testing.B) {
				var peak uint64
				var size int64
				for i := 0; i < b.N; i++ {
					w := &countingWriter{}
					p := peakHeap(func() {
						if err := e.a.Reports.ExportRecords(ctx, e.db, setup.DemoTenant, e.p, "deal", records.ListQuery{}, format, w); err != nil {
							b.Fatal(err)
						}
					})
					peak, size = max(peak, p), w.n
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(size)/(1<<20), "file-MB")
			})
		}
	}
}

var _ = io.Discard
