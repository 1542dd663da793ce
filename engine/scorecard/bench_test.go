package scorecard_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"stride/engine/auth"
	"stride/engine/ids"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/progress"
	"stride/engine/scorecard"
	"stride/engine/setup"
	"stride/engine/store"
	"stride/engine/store/sqlite"
	"stride/engine/tracking"
)

func res0Period(b *testing.B, a *setup.App, tenant string) period.Period {
	t, err := a.Tenants.Get(context.Background(), tenant)
	if err != nil {
		b.Fatal(err)
	}
	p, err := t.Calendar().Parse("2026-03")
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkScorecard: a leaderboard of 1,000 reps (50 teams of 20) × 3
// items — won-revenue attainment, a manager's attitude rating, and an expr
// item over both — for one month.
//
// What is real: the store (SQLite, as `stride serve` runs it), the org
// (teams and memberships through package auth), the won_revenue metric and
// its rollups, the target plan (1,000 user targets allocated and published
// by the target plan service; attainment reads them through
// progress.Targets), the rating object and its records, the scorecard
// (saved and published through the service).
// Shortcuts: users are inserted in bulk without password hashes; rollups
// are seeded directly (tracking.SeedRollups, three won deals per rep);
// rating records are inserted in bulk in the records service's layout.
//
// Sub-benchmarks: company — Results for the whole company (every read and
// the scoring); team — one team of 20 with titles (which need the whole
// population's ranking); score — the scoring alone over the loaded inputs.
func BenchmarkScorecard(b *testing.B) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "stride-scorecard-bench-*")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	a, err := setup.New(ctx, st)
	if err != nil {
		b.Fatal(err)
	}
	a.Tracker.Async = false
	if _, err := a.Bootstrap(ctx, "admin-pass-123"); err != nil {
		b.Fatal(err)
	}
	const tenant = setup.DemoTenant
	db, err := a.Tenants.DB(ctx, tenant)
	if err != nil {
		b.Fatal(err)
	}
	admin, err := auth.UserByName(ctx, db, "admin")
	if err != nil {
		b.Fatal(err)
	}
	p := &auth.Principal{Tenant: tenant, UserID: admin.ID, Roles: admin.Roles}

	const teams, perTeam = 50, 20
	var users []string
	var docs []store.Doc
	for i := 0; i < teams*perTeam; i++ {
		id := ids.New("u")
		users = append(users, id)
		docs = append(docs, store.Doc{store.KeyID: id, "username": fmt.Sprintf("rep%04d", i), "displayName": fmt.Sprintf("Rep %04d", i),
			"roles": []any{"rep"}, "passwordHash": "", "disabled": false, "createdAt": "2025-01-01T00:00:00.000Z", "updatedAt": "2025-01-01T00:00:00.000Z"})
	}
	if _, err := db.InsertMany(ctx, "users", docs); err != nil {
		b.Fatal(err)
	}
	var teamIDs []string
	for t := 0; t < teams; t++ {
		name := fmt.Sprintf("Team %02d", t)
		tm, err := auth.SaveTeam(ctx, db, admin.ID, "", auth.TeamInput{Name: &name}, 0)
		if err != nil {
			b.Fatal(err)
		}
		teamIDs = append(teamIDs, tm.ID)
		for i := 0; i < perTeam; i++ {
			if _, err := auth.AddMember(ctx, db, admin.ID, tm.ID, auth.Membership{UserID: users[t*perTeam+i], From: "2025-01-01"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Targets: 12,000,000,000 分 for 2026 split equally → 1,000,000 per rep and month.
	plan := map[string]any{"label": map[string]any{"zh-CN": "2026"}, "metric": "won_revenue", "fiscalYear": 2026,
		"amounts": map[string]any{"target": int64(teams * perTeam * 12_000_000)}, "granularity": 100,
		"seasonality": map[string]any{"weights": []any{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}, "attributes": []any{},
		"allocation": map[string]any{"formula": "history.share", "equalSplitOnZero": true, "historyPeriod": "2019"}}
	if _, err := a.Targets.Save(ctx, db, tenant, admin.ID, "fy2026", plan, 0); err != nil {
		b.Fatal(err)
	}
	if _, err := a.Targets.Publish(ctx, db, tenant, admin.ID, "fy2026", "bench"); err != nil {
		b.Fatal(err)
	}
	// Rollups: three won deals per rep in March 2026.
	var cs []tracking.Contribution
	for i, u := range users {
		for d := 0; d < 3; d++ {
			cs = append(cs, tracking.Contribution{Key: tracking.Key{Metric: "won_revenue", Owner: u, Day: fmt.Sprintf("2026-03-%02d", 1+(i+d*9)%28)},
				Cell: tracking.Cell{Sum: int64(200_000 + (i*7919+d*104729)%300_000), Count: 1}})
		}
	}
	if err := a.Tracker.SeedRollups(ctx, db, tenant, cs); err != nil {
		b.Fatal(err)
	}
	// The rating form and one rating per rep.
	obj := map[string]any{"label": map[string]any{"zh-CN": "绩效评分"}, "schema": map[string]any{"type": "object", "properties": map[string]any{
		"user": map[string]any{"type": "string"}, "period": map[string]any{"type": "string"}, "attitude": map[string]any{"type": "integer"}}}}
	if _, err := a.Objects.Save(ctx, db, tenant, admin.ID, "kpi_rating", obj, 0); err != nil {
		b.Fatal(err)
	}
	if _, err := a.Objects.Publish(ctx, db, tenant, admin.ID, "kpi_rating"); err != nil {
		b.Fatal(err)
	}
	docs = nil
	for i, u := range users {
		docs = append(docs, store.Doc{store.KeyID: fmt.Sprintf("kr%05d", i), "object": "kpi_rating", "owner": admin.ID, "createdAt": "2026-04-01T01:00:00.000Z",
			"updatedAt": "2026-04-01T01:00:00.000Z", "createdBy": admin.ID, "deleted": false,
			"data": map[string]any{"user": u, "period": "2026-03", "attitude": int64(1 + i%5)}})
	}
	if _, err := db.InsertMany(ctx, objects.RecordCollection("kpi_rating"), docs); err != nil {
		b.Fatal(err)
	}

	sc := scorecard.New(a.Objects, a.Tracker, a.Tenants)
	sc.SetTargets(a.Targets)
	def := map[string]any{"label": map[string]any{"zh-CN": "月度考核"}, "grain": "month",
		"items": []any{
			map[string]any{"key": "revenue", "label": map[string]any{"zh-CN": "赢单"}, "weight": 60, "cap": 120, "type": "attainment", "metric": "won_revenue"},
			map[string]any{"key": "attitude", "label": map[string]any{"zh-CN": "态度"}, "weight": 30, "type": "rating", "object": "kpi_rating",
				"field": "attitude", "userField": "user", "periodField": "period", "scale": map[string]any{"min": 1, "max": 5}},
			map[string]any{"key": "balance", "label": map[string]any{"zh-CN": "均衡"}, "weight": 10, "type": "expr", "formula": "min(score.revenue, 100) * 0.5 + score.attitude * 0.5"},
		},
		"grades":      []any{map[string]any{"grade": "A", "min": 100}, map[string]any{"grade": "B", "min": 80}},
		"recognition": []any{map[string]any{"key": "star", "title": map[string]any{"zh-CN": "月度之星"}, "top": 3}},
	}
	if _, err := sc.Save(ctx, db, tenant, admin.ID, "kpi", def, 0); err != nil {
		b.Fatal(err)
	}
	if _, err := sc.Publish(ctx, db, tenant, admin.ID, "kpi"); err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)
	results := func(b *testing.B, node string) *scorecard.Results {
		res, err := sc.Results(ctx, db, tenant, p, scorecard.Query{Key: "kpi", Period: "2026-03", Node: node, Now: now})
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	// The batched target read agrees with progress's one-node read.
	mar := res0Period(b, a, tenant)
	var nodes []string
	for _, u := range users {
		nodes = append(nodes, "user:"+u)
	}
	batch, err := a.Targets.TargetsOf(ctx, db, tenant, progress.TargetQuery{Metric: "won_revenue", Period: mar, At: now}, nodes)
	if err != nil || len(batch) != len(users) {
		b.Fatalf("batched targets: %d, %v", len(batch), err)
	}
	for _, n := range nodes[:50] {
		one, ok, err := a.Targets.Target(ctx, db, tenant, progress.TargetQuery{Metric: "won_revenue", Node: n, Period: mar, At: now})
		if err != nil || !ok || one != batch[n] || one.Target != 1_000_000 {
			b.Fatalf("target of %s: %+v vs batched %+v (%v)", n, one, batch[n], err)
		}
	}
	res := results(b, "company")
	if len(res.Rows) != teams*perTeam || res.Rows[0].Score == nil || res.Rows[0].Items[0].Target == nil || res.Rows[0].Items[1].Score == nil {
		b.Fatalf("company: %d rows, first %+v", len(res.Rows), res.Rows[0])
	}
	b.Run("members=1000/items=3/company", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			results(b, "company")
		}
	})
	b.Run("members=20of1000/items=3/team", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if r := results(b, "team:"+teamIDs[7]); len(r.Rows) != perTeam {
				b.Fatalf("%d rows", len(r.Rows))
			}
		}
	})
	b.Run("members=1000/items=3/score-only", func(b *testing.B) {
		c, err := sc.Published(ctx, db, tenant, "kpi")
		if err != nil {
			b.Fatal(err)
		}
		members := make([]scorecard.Member, len(res.Rows))
		for i, r := range res.Rows {
			members[i] = scorecard.Member{ID: r.User.ID, Name: r.User.Name, Inputs: []scorecard.Input{
				{Actual: r.Items[0].Actual, Target: r.Items[0].Target, Attainment: r.Items[0].Attainment},
				{Rating: *r.Items[1].Rating, Ratings: r.Items[1].Ratings}, {}}}
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			scorecard.Score(c, members)
		}
	})
}
