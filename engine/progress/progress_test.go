package progress_test

import (
	"context"
	"math"
	"testing"
	"time"

	"stride/engine/auth"
	"stride/engine/period"
	"stride/engine/progress"
	"stride/engine/setup"
	"stride/engine/store"
	"stride/engine/store/sqlite"
)

// world is a bootstrapped engine over the embedded store with one team of
// two reps and the won_revenue metric over the demo deal object (no
// pipeline: a deal counts once its stage is won).
type world struct {
	ctx        context.Context
	app        *setup.App
	db         store.DB
	admin      *auth.Principal
	team       string
	ann, bob   string
	annP, bobP *auth.Principal
}

func newWorld(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := setup.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	a.Tracker.Async = false
	if _, err := a.BootstrapWithoutPipelines(ctx, "admin-pass-123"); err != nil {
		t.Fatal(err)
	}
	db, err := a.Tenants.DB(ctx, setup.DemoTenant)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := auth.UserByName(ctx, db, "admin")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{ctx: ctx, app: a, db: db, admin: &auth.Principal{Tenant: setup.DemoTenant, UserID: admin.ID, Roles: admin.Roles}}
	name := "华东"
	tm, err := auth.SaveTeam(ctx, db, admin.ID, "", auth.TeamInput{Name: &name}, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.team = tm.ID
	rep := func(n string) (string, *auth.Principal) {
		pw, roles := "secret-pass-123", []auth.Role{auth.RoleRep}
		u, err := auth.CreateUser(ctx, db, admin.ID, auth.UserInput{Username: &n, Password: &pw, Roles: &roles})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := auth.AddMember(ctx, db, admin.ID, tm.ID, auth.Membership{UserID: u.ID, From: "2020-01-01"}); err != nil {
			t.Fatal(err)
		}
		return u.ID, &auth.Principal{Tenant: setup.DemoTenant, UserID: u.ID, Roles: u.Roles}
	}
	w.ann, w.annP = rep("ann")
	w.bob, w.bobP = rep("bob")
	def := map[string]any{"label": map[string]any{"en": "Won"}, "object": "deal", "where": "stage == 'won'", "value": "amount",
		"dateField": "closeDate", "ownerField": "owner"}
	if _, err := a.Tracker.Save(ctx, db, setup.DemoTenant, admin.ID, "won_revenue", def, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Tracker.Publish(ctx, db, setup.DemoTenant, admin.ID, "won_revenue"); err != nil {
		t.Fatal(err)
	}
	return w
}

// win writes a won deal through the records service.
func (w *world) win(t testing.TB, p *auth.Principal, amount int64, closeDate string) {
	t.Helper()
	if _, _, err := w.app.Records.Create(w.ctx, w.db, p, "deal", map[string]any{"name": "d", "amount": amount, "stage": "won", "closeDate": closeDate}, ""); err != nil {
		t.Fatal(err)
	}
}

// fakeTargets answers fixed targets by node and level; the expected part is
// half the target.
type fakeTargets struct {
	by   map[string]int64
	seen []progress.TargetQuery
}

func (f *fakeTargets) Target(_ context.Context, _ store.DB, _ string, q progress.TargetQuery) (progress.TargetAnswer, bool, error) {
	f.seen = append(f.seen, q)
	t, ok := f.by[q.Level+" "+q.Node]
	return progress.TargetAnswer{Target: t, Expected: t / 2, Plan: "fy26", Version: 3}, ok, nil
}

// TestTargetsFillAttainmentPacingAndGap: with a Targets hook, every row
// (node and children) gets target, expected, attainment = actual/target,
// pacing = actual/expected and gap = target − actual; a zero target leaves
// them null, a node without one stays null, and without a hook all stay
// null.
func TestTargetsFillAttainmentPacingAndGap(t *testing.T) {
	w := newWorld(t)
	per, err := period.Calendar{}.Parse("2026-03")
	if err != nil {
		t.Fatal(err)
	}
	w.win(t, w.annP, 30000, "2026-03-02")
	w.win(t, w.bobP, 5000, "2026-03-20")
	q := progress.Query{Metric: "won_revenue", Period: per, Node: "team:" + w.team, Now: time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)}

	res, err := w.app.Progress.Query(w.ctx, w.db, setup.DemoTenant, w.admin, q)
	if err != nil {
		t.Fatal(err)
	}
	if res.Node.Target != nil || res.Node.Attainment != nil || res.Metric.Level != "target" {
		t.Fatalf("no hook: %+v", res.Node)
	}
	f := &fakeTargets{by: map[string]int64{
		"target team:" + w.team: 70000, "target user:" + w.ann: 20000, "target user:" + w.bob: 0,
		"stretch team:" + w.team: 140000,
	}}
	w.app.Progress.SetTargets(f)
	res, err = w.app.Progress.Query(w.ctx, w.db, setup.DemoTenant, w.admin, q)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]progress.Row{"team": res.Node}
	for _, c := range res.Children {
		rows[c.Node.ID] = c
	}
	check := func(name string, r progress.Row, actual, target int64, attainment, pacing float64, gap int64) {
		t.Helper()
		if *r.Actual != actual || *r.Target != target || *r.Expected != target/2 || *r.Gap != gap ||
			math.Abs(*r.Attainment-attainment) > 1e-12 || math.Abs(*r.Pacing-pacing) > 1e-12 || r.Plan == nil || r.Plan.Key != "fy26" || r.Plan.Version != 3 {
			t.Errorf("%s: %+v", name, r)
		}
	}
	check("team", rows["team"], 35000, 70000, 0.5, 1, 35000)
	check("ann", rows[w.ann], 30000, 20000, 1.5, 3, -10000)
	if b := rows[w.bob]; b.Target == nil || *b.Target != 0 || b.Attainment != nil || b.Pacing != nil || b.Gap != nil {
		t.Errorf("a zero target leaves attainment, pacing and gap null: %+v", b)
	}
	// The hook saw the metric, the period, the instant and the level.
	if s := f.seen[0]; s.Metric != "won_revenue" || s.Period.Key != "2026-03" || !s.At.Equal(q.Now) || s.Level != "target" || s.Node != "team:"+w.team {
		t.Errorf("query %+v", s)
	}
	// Another level; a node without a target stays null.
	q.Level = progress.LevelStretch
	res, err = w.app.Progress.Query(w.ctx, w.db, setup.DemoTenant, w.admin, q)
	if err != nil {
		t.Fatal(err)
	}
	check("stretch team", res.Node, 35000, 140000, 0.25, 0.5, 105000)
	for _, c := range res.Children {
		if c.Target != nil || c.Attainment != nil {
			t.Errorf("%s has no stretch target: %+v", c.Node.Name, c)
		}
	}
	q.Level = "ceiling"
	if _, err := w.app.Progress.Query(w.ctx, w.db, setup.DemoTenant, w.admin, q); err == nil {
		t.Error("an unknown level is refused")
	}
}
