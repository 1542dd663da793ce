package demo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"stride/engine/auth"
	"stride/engine/commission"
	"stride/engine/demo"
	"stride/engine/period"
	"stride/engine/pipeline"
	"stride/engine/progress"
	"stride/engine/records"
	"stride/engine/scorecard"
	"stride/engine/setup"
	"stride/engine/store"
	"stride/engine/store/sqlite"
	"stride/engine/templates"
	"stride/engine/tenant"
	"stride/examples"
)

func newApp(t *testing.T) *setup.App {
	t.Helper()
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := setup.New(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func generator(a *setup.App) *demo.Generator {
	return &demo.Generator{Tenants: a.Tenants, Records: a.Records, Pipelines: a.Pipelines, Tracker: a.Tracker, Targets: a.Targets, Templates: a.Templates, Commission: a.Commission}
}

// end pins the simulated history so runs on different days compare.
var end = time.Date(2026, 5, 20, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))

func run(t *testing.T, a *setup.App, name string, seed int64) *demo.Result {
	t.Helper()
	ctx := context.Background()
	if _, err := a.Tenants.Create(ctx, tenant.Tenant{Name: name, DisplayName: name, TimeZone: "Asia/Shanghai"}); err != nil {
		t.Fatal(err)
	}
	b, err := templates.LoadFS(examples.FS, "saas")
	if err != nil {
		t.Fatal(err)
	}
	res, err := generator(a).Run(ctx, demo.Options{Tenant: name, Bundle: b, Reps: 6, Deals: 300, Seed: seed, End: end, Password: "demo-pass-1"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// fingerprint is a deal by content: owner's username, fields, stage and
// stage-history stages with their instants.
func fingerprints(t *testing.T, a *setup.App, name string) []string {
	t.Helper()
	ctx := context.Background()
	db, err := a.Tenants.DB(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	users, err := auth.ListUsers(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]string{}
	for _, u := range users {
		byID[u.ID] = u.Username
	}
	admin, _ := auth.UserByName(ctx, db, "admin")
	p := &auth.Principal{Tenant: name, UserID: admin.ID, Username: "admin", Roles: []auth.Role{auth.RoleAdmin}}
	var out []string
	cursor := ""
	for {
		recs, next, err := a.Records.List(ctx, db, p, "deal", records.ListQuery{Limit: 200, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			var hist []string
			for _, e := range pipeline.History(r.Meta) {
				hist = append(hist, e.Stage+"@"+period.FormatInstant(e.EnteredAt))
			}
			fields, _ := json.Marshal(r.Data)
			out = append(out, fmt.Sprintf("%s|%s|%s|%s|%s", byID[r.Owner], fields, r.Data["stage"], strings.Join(hist, ","), r.CreatedAt))
		}
		if next == "" {
			break
		}
		cursor = next
	}
	slices.Sort(out)
	return out
}

func TestDemoDeterministicAndReconciled(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	r1 := run(t, a, "one", 7)
	r2 := run(t, a, "two", 7)
	if fmt.Sprint(*r1) != fmt.Sprint(*r2) {
		t.Fatalf("same seed, different results:\n%+v\n%+v", *r1, *r2)
	}
	f1, f2 := fingerprints(t, a, "one"), fingerprints(t, a, "two")
	if len(f1) != 300 {
		t.Fatalf("%d deals stored, want 300", len(f1))
	}
	if !slices.Equal(f1, f2) {
		for i := range f1 {
			if f1[i] != f2[i] {
				t.Fatalf("same seed, different deals, first difference:\n%s\n%s", f1[i], f2[i])
			}
		}
	}
	// Progress of the published plan is the same in both tenants.
	prog := func(name string) string {
		db, _ := a.Tenants.DB(ctx, name)
		admin, _ := auth.UserByName(ctx, db, "admin")
		p := &auth.Principal{Tenant: name, UserID: admin.ID, Username: "admin", Roles: []auth.Role{auth.RoleAdmin}}
		tn, _ := a.Tenants.Get(ctx, name)
		per := tn.Calendar().Of(end.AddDate(0, 0, -1), period.Year)
		res, err := a.Progress.Progress(ctx, db, name, p, "new_arr", per, "company", end)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, r := range append([]progress.Row{res.Node}, res.Children...) {
			r.Node.ID = "" // ids are random; names are not
			j, _ := json.Marshal(r)
			b.Write(j)
			b.WriteByte('\n')
		}
		return b.String()
	}
	p1, p2 := prog("one"), prog("two")
	if p1 != p2 {
		t.Fatalf("progress differs:\n%s\n%s", p1, p2)
	}
	if !strings.Contains(p1, `"actual":`) || strings.Contains(p1, `"actual":0,`) {
		t.Fatalf("no progress: %s", p1)
	}
	t.Log(p1)
	for _, name := range []string{"one", "two"} {
		db, _ := a.Tenants.DB(ctx, name)
		rep, err := a.Tracker.Reconcile(ctx, db, name, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Drift) != 0 || rep.Records != 300 {
			t.Fatalf("%s: reconcile found %d drifted cells over %d records: %+v", name, len(rep.Drift), rep.Records, rep.Drift)
		}
	}
	// A different seed gives different data.
	r3 := run(t, a, "three", 8)
	if f3 := fingerprints(t, a, "three"); slices.Equal(f1, f3) || fmt.Sprint(*r3) == fmt.Sprint(*r1) {
		t.Fatal("a different seed produced the same demo")
	}
}

func TestDemoIsPlausible(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	res := run(t, a, "demo", 1)
	t.Logf("%+v", *res)
	if res.Reps != 6 || res.Deals != 300 {
		t.Fatalf("reps %d deals %d", res.Reps, res.Deals)
	}
	if res.Won < 15 || res.Lost < 60 || res.Open < 10 || res.Stuck < 3 || res.Reversed < 1 || res.ByManager < 1 {
		t.Fatalf("implausible mix: %+v", *res)
	}
	if res.Won+res.Lost+res.Open != res.Deals {
		t.Fatalf("outcomes do not add up: %+v", *res)
	}
	db, _ := a.Tenants.DB(ctx, "demo")
	admin, _ := auth.UserByName(ctx, db, "admin")
	p := &auth.Principal{Tenant: "demo", UserID: admin.ID, Username: "admin", Roles: []auth.Role{auth.RoleAdmin}}
	perOwner := map[string]int{}
	stages := map[string]int{}
	var stuck int
	created := map[string]bool{}
	cursor := ""
	for {
		recs, next, err := a.Records.List(ctx, db, p, "deal", records.ListQuery{Limit: 200, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			perOwner[r.Owner]++
			st, _ := r.Data["stage"].(string)
			stages[st]++
			h := pipeline.History(r.Meta)
			if len(h) == 0 || h[0].Stage != "lead" {
				t.Fatalf("deal %s has no history from lead: %+v", r.ID, h)
			}
			c, _ := period.ParseInstant(r.CreatedAt)
			if !c.Before(end) || c.Before(end.AddDate(-1, 0, -1)) {
				t.Fatalf("deal %s created at %s, outside the simulated year", r.ID, r.CreatedAt)
			}
			created[c.Format("2006-01")] = true
			last := h[len(h)-1]
			if st != "won" && st != "lost" && end.Sub(last.EnteredAt) > 21*24*time.Hour {
				stuck++
			}
			if st == "won" {
				if cd, _ := r.Data["closeDate"].(string); cd != period.FormatDate(last.EnteredAt.In(end.Location())) {
					t.Fatalf("won deal %s: closeDate %s, won at %s", r.ID, cd, last.EnteredAt)
				}
			}
			if st == "lost" && r.Data["lossReason"] == nil {
				t.Fatalf("lost deal %s without a loss reason", r.ID)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(perOwner) != 6 {
		t.Fatalf("deals spread over %d owners, want 6 reps: %v", len(perOwner), perOwner)
	}
	if len(created) < 12 {
		t.Fatalf("deals created in %d months, want the whole year", len(created))
	}
	if stuck == 0 || stages["won"] != res.Won || stages["lost"] != res.Lost {
		t.Fatalf("stages %v, stuck %d, result %+v", stages, stuck, *res)
	}
	// The plan is published and allocated over the generated org.
	plan, err := a.Targets.Get(ctx, db, "new_arr_plan")
	if err != nil || plan.PublishedVersion == 0 {
		t.Fatalf("plan not published: %+v %v", plan, err)
	}
	teams, _ := auth.ListTeams(ctx, db)
	if len(teams) != 5 {
		t.Fatalf("%d teams, want the template's 5", len(teams))
	}
	_ = store.ErrNotFound
}

// TestDemoHasStatementsAndLeaderboard: the demo runs the template's
// commission plan over this fiscal year's closed months — paid, approved
// and draft statements whose totals are the sums of their lines — and the
// managers' ratings give the scorecard's leaderboard ranked rows.
func TestDemoHasStatementsAndLeaderboard(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	res := run(t, a, "demo", 1)
	// History ends 2026-05-20: January to April are closed months.
	if res.Runs != 4 || res.Statements["paid"] == 0 || res.Statements["approved"] == 0 || res.Statements["draft"] == 0 || res.Ratings == 0 {
		t.Fatalf("runs %d, statements %v, ratings %d", res.Runs, res.Statements, res.Ratings)
	}
	db, _ := a.Tenants.DB(ctx, "demo")
	fin, _ := auth.UserByName(ctx, db, "finance")
	p := &auth.Principal{Tenant: "demo", UserID: fin.ID, Username: "finance", Roles: []auth.Role{auth.RoleFinance}}
	byStatus := map[string]map[string]int{}
	kinds := map[string]int{}
	cursor := ""
	for {
		sts, next, err := a.Commission.Statements(ctx, db, p, commission.ListQuery{Plan: "saas_ae_plan", Limit: 100, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range sts {
			var sum int64
			for _, l := range st.Lines {
				sum += l.Amount
				kinds[l.Kind]++
				if l.Text["zh-CN"] == "" || l.Text["en"] == "" {
					t.Fatalf("statement %s line %s has no text: %+v", st.ID, l.ID, l)
				}
			}
			if sum != st.Total {
				t.Fatalf("statement %s: total %d, lines sum to %d", st.ID, st.Total, sum)
			}
			if byStatus[st.Period] == nil {
				byStatus[st.Period] = map[string]int{}
			}
			byStatus[st.Period][st.Status]++
		}
		if next == "" {
			break
		}
		cursor = next
	}
	want := map[string]string{"2026-01": "paid", "2026-02": "paid", "2026-03": "approved", "2026-04": "draft"}
	for per, status := range want {
		if len(byStatus[per]) != 1 || byStatus[per][status] == 0 {
			t.Errorf("%s: statements %v, want all %s", per, byStatus[per], status)
		}
	}
	if kinds["rate"] == 0 || kinds["spif"] == 0 {
		t.Errorf("line kinds %v: want rate and spif lines", kinds)
	}
	t.Logf("statements by period %v, line kinds %v", byStatus, kinds)
	lb, err := a.Scorecards.Results(ctx, db, "demo", p, scorecard.Query{Key: "ae_monthly", Period: "2026-04", Node: "company", Now: end})
	if err != nil {
		t.Fatal(err)
	}
	ranked := 0
	for _, r := range lb.Rows {
		if r.Rank != nil {
			ranked++
		}
	}
	if ranked != 6 || len(lb.Rows[0].Titles) == 0 {
		t.Fatalf("leaderboard: %d of %d rows ranked, first %+v", ranked, len(lb.Rows), lb.Rows[0])
	}
}

// TestEveryTemplateHasADemo: each industry's demo writes a year of its own
// main object and statements.
func TestEveryTemplateHasADemo(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	for _, name := range []string{"pharma", "manufacturing", "retail"} {
		t.Run(name, func(t *testing.T) {
			if _, err := a.Tenants.Create(ctx, tenant.Tenant{Name: name, DisplayName: name, TimeZone: "Asia/Shanghai"}); err != nil {
				t.Fatal(err)
			}
			b, err := templates.LoadFS(examples.FS, name)
			if err != nil {
				t.Fatal(err)
			}
			res, err := generator(a).Run(ctx, demo.Options{Tenant: name, Bundle: b, Reps: 6, Deals: 240, Seed: 1, End: end, Password: "demo-pass-1"})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", *res)
			if res.Deals+res.Records < 240 || res.Runs == 0 || res.Statements["paid"] == 0 || res.Statements["draft"] == 0 || res.Ratings == 0 {
				t.Fatalf("%s demo: %+v", name, *res)
			}
			db, _ := a.Tenants.DB(ctx, name)
			rep, err := a.Tracker.Reconcile(ctx, db, name, false)
			if err != nil || len(rep.Drift) != 0 {
				t.Fatalf("reconcile: %v %+v", err, rep.Drift)
			}
		})
	}
}
