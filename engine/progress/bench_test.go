package progress_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"stride/engine/auth"
	"stride/engine/ids"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/progress"
	"stride/engine/records"
	"stride/engine/setup"
	"stride/engine/store"
	"stride/engine/store/sqlite"
	"stride/engine/tracking"
)

// The progress benchmark (issue 3): an org of 1,000 reps in 50 teams of 20,
// one quarter, a money metric (payments received, 回款, by payment date) with
// records spread evenly over reps and days; a pipeline governs the payments
// (expected → received) and the metric counts received ones, so one record
// in ten is open pipeline and the weighted forecast has something to weigh
// (at 50 %). It measures GET-progress's
// service call for the company node (its row plus 50 team rows) and for one
// team node (its row plus 20 member rows) at 10k and at 1M records — the
// goal is flat: the cost depends on the org's size, not on the record count
// — and, at 10k, computing the same company answer by scanning the records
// (the drill-down path: every record's contributions, summed).
//
// What is real and what is shortcut:
//   - Real: the store (SQLite, as `stride serve` runs it), the org (teams and
//     effective-dated memberships written through package auth), the object
//     and metric (published through their services), the progress service
//     and the rollup layout it reads.
//   - Shortcut, users: the 1,000 user documents are inserted in bulk without
//     password hashes (argon2 for each would take a minute and is not read).
//   - Shortcut, 10k: records are inserted in bulk (InsertMany, the records
//     service's document layout) and rolled up by one tracking Rebuild — the
//     projector's own recompute path — instead of 10k HTTP writes.
//   - Shortcut, 1M: records are not stored; each one's contributions are
//     computed in memory by tracking.Contributions (the projector's code)
//     and the resulting buckets written once by tracking.SeedRollups. The
//     rollup state is what the projector would have built; only the scan
//     baseline, which needs stored records, is left out at 1M (it is linear
//     in the records: extrapolate from 10k).
//   - The weighted forecast reads the open pipeline's rollup cells
//     (tracking.OpenKey) like the actual; the scan baseline computes only
//     the actual (a scan for the forecast would cost the same again).
//
// Setup runs once per size per process (sub-benchmarks share it). With
// BENCH_QUICK set, the large size is 100k instead of 1M.

const (
	benchTeams   = 50
	benchPerTeam = 20
)

type benchWorld struct {
	app    *setup.App
	db     store.DB
	admin  *auth.Principal
	teams  []string
	users  []string
	per    period.Period
	now    time.Time
	stored bool
}

var (
	benchMu     sync.Mutex
	benchWorlds = map[int]*benchWorld{}
)

func bigSize() (int, string) {
	if os.Getenv("BENCH_QUICK") != "" {
		return 100_000, "100k"
	}
	return 1_000_000, "1M"
}

func benchWorldOf(b *testing.B, n int) *benchWorld {
	benchMu.Lock()
	defer benchMu.Unlock()
	if w := benchWorlds[n]; w != nil {
		return w
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "stride-progress-bench-*")
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
	a.Tracker.Async = false
	if _, err := a.BootstrapWithoutPipelines(ctx, "admin-pass-123"); err != nil {
		b.Fatal(err)
	}
	db, err := a.Tenants.DB(ctx, setup.DemoTenant)
	if err != nil {
		b.Fatal(err)
	}
	admin, err := auth.UserByName(ctx, db, "admin")
	if err != nil {
		b.Fatal(err)
	}
	per, err := period.Calendar{}.Parse("2026-Q1")
	if err != nil {
		b.Fatal(err)
	}
	w := &benchWorld{app: a, db: db, admin: &auth.Principal{Tenant: setup.DemoTenant, UserID: admin.ID, Roles: admin.Roles},
		per: per, now: time.Date(2026, 2, 14, 12, 0, 0, 0, time.UTC), stored: n <= 10_000}

	// The org: users in bulk, teams and memberships through package auth.
	var users []store.Doc
	for i := 0; i < benchTeams*benchPerTeam; i++ {
		id := ids.New("u")
		w.users = append(w.users, id)
		users = append(users, store.Doc{store.KeyID: id, "username": fmt.Sprintf("rep%04d", i), "displayName": fmt.Sprintf("Rep %04d", i),
			"roles": []any{"rep"}, "passwordHash": "", "disabled": false, "createdAt": "2025-01-01T00:00:00.000Z", "updatedAt": "2025-01-01T00:00:00.000Z"})
	}
	if _, err := db.InsertMany(ctx, "users", users); err != nil {
		b.Fatal(err)
	}
	for t := 0; t < benchTeams; t++ {
		name := fmt.Sprintf("Team %02d", t)
		tm, err := auth.SaveTeam(ctx, db, admin.ID, "", auth.TeamInput{Name: &name}, 0)
		if err != nil {
			b.Fatal(err)
		}
		w.teams = append(w.teams, tm.ID)
		for i := 0; i < benchPerTeam; i++ {
			if _, err := auth.AddMember(ctx, db, admin.ID, tm.ID, auth.Membership{UserID: w.users[t*benchPerTeam+i], From: "2025-01-01"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	// The object and the metric.
	obj := map[string]any{"label": map[string]any{"zh-CN": "回款"}, "schema": map[string]any{"type": "object", "properties": map[string]any{
		"amount": map[string]any{"type": "integer", "format": "money"}, "paidOn": map[string]any{"type": "string", "format": "date"},
		"stage": map[string]any{"type": "string"}}}}
	if _, err := a.Objects.Save(ctx, db, setup.DemoTenant, admin.ID, "payment", obj, 0); err != nil {
		b.Fatal(err)
	}
	if _, err := a.Objects.Publish(ctx, db, setup.DemoTenant, admin.ID, "payment"); err != nil {
		b.Fatal(err)
	}
	pipe := map[string]any{"label": map[string]any{"zh-CN": "回款"}, "object": "payment", "stageField": "stage", "stages": []any{
		map[string]any{"key": "expected", "label": map[string]any{"zh-CN": "待回款"}, "probability": 50},
		map[string]any{"key": "received", "label": map[string]any{"zh-CN": "已回款"}, "probability": 100, "terminal": "won"}}}
	if _, err := a.Pipelines.Save(ctx, db, setup.DemoTenant, admin.ID, "collection", pipe, 0); err != nil {
		b.Fatal(err)
	}
	if _, err := a.Pipelines.Publish(ctx, db, setup.DemoTenant, admin.ID, "collection"); err != nil {
		b.Fatal(err)
	}
	def := map[string]any{"label": map[string]any{"zh-CN": "回款"}, "object": "payment", "where": "stage == 'received'",
		"value": "amount", "dateField": "paidOn", "ownerField": "owner"}
	if _, err := a.Tracker.Save(ctx, db, setup.DemoTenant, admin.ID, "payments", def, 0); err != nil {
		b.Fatal(err)
	}
	if _, err := a.Tracker.Publish(ctx, db, setup.DemoTenant, admin.ID, "payments"); err != nil {
		b.Fatal(err)
	}
	// The records: rep i%1000, day i%90 of the quarter, amount 1–1000 元;
	// every tenth still expected.
	record := func(i int) records.Record {
		day := period.FormatDate(per.Start.AddDate(0, 0, i%90))
		stage := "received"
		if i%10 == 3 {
			stage = "expected"
		}
		return records.Record{ID: fmt.Sprintf("r%08d", i), Object: "payment", Owner: w.users[i%len(w.users)],
			CreatedAt: day + "T01:00:00.000Z", Data: map[string]any{"amount": int64(100 + i%1000*100), "paidOn": day, "stage": stage}}
	}
	if w.stored {
		var docs []store.Doc
		for i := 0; i < n; i++ {
			r := record(i)
			docs = append(docs, store.Doc{store.KeyID: r.ID, "object": r.Object, "owner": r.Owner, "createdAt": r.CreatedAt,
				"updatedAt": r.CreatedAt, "createdBy": r.Owner, "data": r.Data, "deleted": false})
		}
		if _, err := db.InsertMany(ctx, objects.RecordCollection("payment"), docs); err != nil {
			b.Fatal(err)
		}
		if err := a.Tracker.Rebuild(ctx, db, setup.DemoTenant, "payments"); err != nil {
			b.Fatal(err)
		}
	} else {
		m, err := a.Tracker.Metric(ctx, db, setup.DemoTenant, "payments")
		if err != nil {
			b.Fatal(err)
		}
		comp, err := a.Objects.Published(ctx, db, setup.DemoTenant, "payment")
		if err != nil {
			b.Fatal(err)
		}
		var cs []tracking.Contribution
		for i := 0; i < n; i++ {
			r := record(i)
			c, err := tracking.Contributions(m, comp, &r, time.UTC)
			if err != nil {
				b.Fatal(err)
			}
			cs = append(cs, c...)
		}
		if err := a.Tracker.SeedRollups(ctx, db, setup.DemoTenant, cs); err != nil {
			b.Fatal(err)
		}
	}
	benchWorlds[n] = w
	return w
}

func (w *benchWorld) progress(b *testing.B, node string) *progress.Result {
	res, err := w.app.Progress.Query(context.Background(), w.db, setup.DemoTenant, w.admin,
		progress.Query{Metric: "payments", Period: w.per, Node: node, Now: w.now})
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// BenchmarkProgress: progress for the company node and for a team node at
// 10k records and at 1M (see the comment above for what is real).
func BenchmarkProgress(b *testing.B) {
	big, bigName := bigSize()
	for _, size := range []struct {
		n    int
		name string
	}{{10_000, "10k"}, {big, bigName}} {
		for _, node := range []string{"company", "team"} {
			b.Run("records="+size.name+"/"+node, func(b *testing.B) {
				w := benchWorldOf(b, size.n)
				key := "company"
				if node == "team" {
					key = "team:" + w.teams[7]
				}
				res := w.progress(b, key)
				if node == "company" && (len(res.Children) != benchTeams || *res.Node.Actual == 0) {
					b.Fatalf("company: %d children, actual %v", len(res.Children), *res.Node.Actual)
				}
				if *res.Node.Forecast.Weighted <= *res.Node.Actual {
					b.Fatalf("%s: weighted forecast %v, actual %v: no open pipeline", node, *res.Node.Forecast.Weighted, *res.Node.Actual)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					w.progress(b, key)
				}
			})
		}
	}
}

// BenchmarkProgressScan computes the company's answer at 10k records by
// scanning them instead (every record's contributions, summed, as the
// drill-down does), and checks it equals the rollup answer (the actual, and
// once, untimed, the weighted forecast).
func BenchmarkProgressScan(b *testing.B) {
	b.Run("records=10k/company", func(b *testing.B) {
		w := benchWorldOf(b, 10_000)
		res := w.progress(b, "company")
		want := *res.Node.Actual
		ctx := context.Background()
		from, to := period.FormatDate(w.per.Start), tracking.LastDay(w.per)
		owners := append([]string{w.admin.UserID}, w.users...)
		// The forecast from rollups equals one from the records, too.
		open, err := w.app.Tracker.Records(ctx, w.db, setup.DemoTenant, tracking.OpenKey("payments"), owners, from, to)
		if err != nil {
			b.Fatal(err)
		}
		weighted := want
		for _, s := range open {
			weighted += s.Sum
		}
		if len(open) != 1000 || weighted != *res.Node.Forecast.Weighted {
			b.Fatalf("scan: %d open records, weighted %d; rollups %d", len(open), weighted, *res.Node.Forecast.Weighted)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			shares, err := w.app.Tracker.Records(ctx, w.db, setup.DemoTenant, "payments", owners, from, to)
			if err != nil {
				b.Fatal(err)
			}
			var sum int64
			for _, s := range shares {
				sum += s.Sum
			}
			if sum != want {
				b.Fatalf("scan %d, rollups %d", sum, want)
			}
		}
	})
}
