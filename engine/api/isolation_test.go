package api_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"stride/engine/api"
	"stride/engine/auth"
	"stride/engine/objects"
	"stride/engine/store"
	"stride/engine/tenant"
)

// TestTenantIsolation: two tenants with the same configuration keys, user
// names, passwords, team layout, plan key, idempotency keys — and one record
// id in common — each seeded with its own marker. Every route, driven by
// tenant A's admin, manager and rep, must never return anything of tenant B
// (its marker or any of its ids); B's ids with A's tokens are 404s; the
// tenant comes from the token alone, and each tenant has its own database.
func TestTenantIsolation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := open(t, dir) // tenant demo (A), bootstrapped with the classic demo
	bdb, err := a.Tenants.Create(ctx, tenant.Tenant{Name: "acme", DisplayName: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	un, pw, roles := "admin", adminPassword, []auth.Role{auth.RoleAdmin}
	if _, err := auth.CreateUser(ctx, bdb, "system", auth.UserInput{Username: &un, Password: &pw, Roles: &roles}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(fullDeps(a)).Handler())
	t.Cleanup(func() { srv.Close(); a.Jobs.Wait(); a.Store.Close() })
	eA := &env{t: t, srv: srv, dir: dir, st: a.Store, auth: a.Auth}
	eA.admin = eA.login("admin", adminPassword)
	eB := &env{t: t, srv: srv, dir: dir, st: a.Store, auth: a.Auth, tenant: "acme"}
	eB.admin = eB.login("admin", adminPassword)

	// B gets A's configuration through export and apply: the same keys.
	bundle := eA.do("GET", "/api/v1/templates-export?name=copy&version=1.0.0", eA.admin, nil).must(t, 200).raw
	eB.do("POST", "/api/v1/templates/apply", eB.admin, `{"bundle":`+bundle+`}`).must(t, 200)

	const markA, markB = "TENANT-A-MARK ", "TENANT-B-MARK "
	fA := newMarkedFixture(t, eA, markA)
	fB := newMarkedFixture(t, eB, markB)

	// The same Idempotency-Key in both tenants makes two records, not a replay.
	deal := func(e *env, mark string) resp {
		return e.do("POST", "/api/v1/records/deal", e.admin, map[string]any{"name": mark + "idem", "amount": 5, "customer": "c", "closeDate": "2026-04-01"}, "Idempotency-Key", "same-key-in-both")
	}
	ra, rb := deal(eA, markA).must(t, 201), deal(eB, markB).must(t, 201)
	if ra.body["id"] == rb.body["id"] || rb.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("an idempotency key crossed tenants: %s / %s", ra.raw, rb.raw)
	}

	// One record id in both tenants: B gets a copy of A's fixture record,
	// stored under the same id with B's marker.
	adb, err := a.Tenants.DB(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := adb.Get(ctx, objects.RecordCollection("deal"), fA.recE1)
	if err != nil {
		t.Fatal(err)
	}
	data := doc["data"].(map[string]any)
	data["name"], data["customer"] = markB+"same id", markB+"same id"
	doc["owner"] = fB.ids["rep.e1"]
	delete(doc, store.KeyVersion)
	if _, err := bdb.Insert(ctx, objects.RecordCollection("deal"), doc); err != nil {
		t.Fatal(err)
	}
	if r := eB.do("GET", "/api/v1/records/deal/"+fA.recE1, eB.admin, nil).must(t, 200); !strings.Contains(r.raw, markB) {
		t.Fatalf("B's copy: %s", r.raw)
	}

	// B's markers: its marker string and every id it has that A has not.
	bIDs := []string{fB.east, fB.west}
	for _, id := range fB.ids {
		bIDs = append(bIDs, id)
	}
	for _, it := range eB.do("GET", "/api/v1/records/deal?limit=500", eB.admin, nil).must(t, 200).body["items"].([]any) {
		if id := it.(map[string]any)["id"].(string); id != fA.recE1 {
			bIDs = append(bIDs, id)
		}
	}
	var bTokens []string
	for _, it := range eB.do("GET", "/api/v1/tokens", eB.admin, nil).must(t, 200).body["items"].([]any) {
		bTokens = append(bTokens, it.(map[string]any)["id"].(string))
	}
	bIDs = append(bIDs, bTokens...)
	// B's commission: its jobs and disputes (its statements' ids carry B's
	// user ids, their lines B's record ids; its plan, scorecard, titles and
	// dispute comments carry B's marker).
	for _, list := range []string{"/api/v1/jobs?limit=500", "/api/v1/disputes"} {
		for _, it := range eB.do("GET", list, eB.admin, nil).must(t, 200).body["items"].([]any) {
			bIDs = append(bIDs, it.(map[string]any)["id"].(string))
		}
	}
	bAward := eB.do("GET", "/api/v1/scorecards/"+fixtureScorecard+"/awards", eB.admin, nil).must(t, 200)
	if !strings.Contains(bAward.raw, strings.TrimSpace(markB)) || !strings.Contains(eB.do("GET", "/api/v1/statements/"+fB.stmt, eB.admin, nil).must(t, 200).raw, fB.recE1) {
		t.Fatalf("B's award and statement should carry its marker and record: %s", bAward.raw)
	}
	scan := func(what string, r resp) {
		t.Helper()
		if strings.Contains(r.raw, strings.TrimSpace(markB)) {
			t.Errorf("%s shows tenant B's marker: %s", what, trim(r.raw))
		}
		for _, id := range bIDs {
			if strings.Contains(r.raw, id) {
				t.Errorf("%s shows tenant B's id %s: %s", what, id, trim(r.raw))
			}
		}
	}

	// Every route, as A's admin, east manager and owning rep.
	rows := readMatrix(t)
	for _, row := range rows {
		for _, actor := range []string{"admin", "mgr", "owner", "tok"} {
			c := fA.build(row.method, row.path, actor)
			tok := fA.token(actor, row.scope)
			if c.token != nil {
				tok = *c.token
			}
			scan(actor+" "+row.method+" "+c.path, eA.do(row.method, c.path, tok, c.body))
		}
	}
	// The wide reads, once more with everything in them.
	plan := "/api/v1/target-plans/fy2026"
	for _, p := range []string{"/api/v1/audit?limit=500", "/api/v1/users", "/api/v1/teams", "/api/v1/tokens",
		"/api/v1/records/deal?limit=500", "/api/v1/records/deal/" + fA.recE1, "/api/v1/records/customer?limit=500",
		"/api/v1/progress?metric=won_revenue&period=2026&node=company", "/api/v1/progress/records?metric=won_revenue&period=2026&node=company",
		"/api/v1/progress?metric=won_revenue&period=2025&node=company", "/api/v1/pipelines/deal_sales/stuck",
		plan, plan + "/tree", plan + "/tree?actuals=true&period=2026-Q1", plan + "/history", plan + "/diff?from=1&to=2", plan + "/proposals",
		"/api/v1/templates-export", "/api/v1/target-suggestion?metric=won_revenue&fiscalYear=2026", "/metrics",
		"/api/v1/commission-plans", "/api/v1/commission-plans/" + fixturePlan, "/api/v1/commission-plans/" + fixturePlan + "/versions",
		"/api/v1/statements?limit=500", "/api/v1/statements/" + fA.stmt, "/api/v1/statements/export?format=csv", "/api/v1/statements/" + fA.stmt + "/export",
		"/api/v1/disputes", "/api/v1/jobs?limit=500", "/api/v1/commission-runs/" + fA.runJob, "/api/v1/jobs/" + fA.runJob,
		"/api/v1/scorecards", "/api/v1/scorecards/" + fixtureScorecard, "/api/v1/scorecards/" + fixtureScorecard + "/awards",
		"/api/v1/scorecards/" + fixtureScorecard + "/results?period=" + fixturePeriod + "&node=company",
		"/api/v1/scorecards/" + fixtureScorecard + "/results?period=" + fixturePeriod + "&node=team:" + fA.east} {
		scan("admin GET "+p, eA.do("GET", p, eA.admin, nil))
	}
	for _, p := range []string{"/api/v1/statements?limit=500", "/api/v1/statements/export?format=csv", "/api/v1/disputes", "/api/v1/jobs?limit=500"} {
		scan("finance GET "+p, eA.do("GET", p, fA.tok["finance"], nil).must(t, 200))
	}
	scan("simulate", eA.do("POST", "/api/v1/commission-plans/"+fixturePlan+"/simulate", eA.admin, map[string]any{"period": fixturePeriod}).must(t, 200))
	// A's run of the same plan key and month as B's: A's statements only.
	fA.settle()
	run := fA.run(eA.admin, fixturePeriod)
	scan("run", eA.do("GET", "/api/v1/commission-runs/"+run, eA.admin, nil).must(t, 200))
	scan("statements after a run", eA.do("GET", "/api/v1/statements?limit=500&period="+fixturePeriod, eA.admin, nil).must(t, 200))
	scan("reconcile", eA.do("POST", "/api/v1/reconcile", eA.admin, map[string]any{"repair": true}).must(t, 200))
	scan("template diff", eA.do("POST", "/api/v1/templates/diff", eA.admin, `{"bundle":`+bundle+`}`).must(t, 200))
	scan("template apply", eA.do("POST", "/api/v1/templates/apply", eA.admin, `{"bundle":`+bundle+`}`).must(t, 200))
	if r := eA.do("GET", "/api/v1/records/deal/"+fA.recE1, eA.admin, nil).must(t, 200); !strings.Contains(r.raw, strings.TrimSpace(markA)) {
		t.Fatalf("A's record under the shared id: %s", r.raw)
	}

	// B's ids with A's tokens: not found, for reads and writes alike.
	bRec := rb.body["id"].(string)
	notFound := []struct{ method, path string }{
		{"GET", "/api/v1/users/" + fB.ids["rep.e1"]}, {"PATCH", "/api/v1/users/" + fB.ids["rep.e1"]},
		{"DELETE", "/api/v1/users/" + fB.ids["rep.e1"]},
		{"GET", "/api/v1/teams/" + fB.east}, {"PATCH", "/api/v1/teams/" + fB.east}, {"DELETE", "/api/v1/teams/" + fB.east},
		{"GET", "/api/v1/teams/" + fB.east + "/members"}, {"POST", "/api/v1/teams/" + fB.east + "/members"},
		{"DELETE", "/api/v1/tokens/" + bTokens[0]},
		{"GET", "/api/v1/records/deal/" + bRec}, {"PATCH", "/api/v1/records/deal/" + bRec}, {"DELETE", "/api/v1/records/deal/" + bRec},
		{"POST", "/api/v1/records/deal/" + bRec + "/transition"},
		{"GET", "/api/v1/progress?metric=won_revenue&period=2026&node=team:" + fB.east},
		{"GET", "/api/v1/progress?metric=won_revenue&period=2026&node=user:" + fB.ids["rep.e1"]},
		{"GET", "/api/v1/progress/records?metric=won_revenue&period=2026&node=user:" + fB.ids["rep.e1"]},
		{"GET", plan + "/tree?node=team:" + fB.east},
		{"GET", "/api/v1/statements/" + fB.stmt}, {"GET", "/api/v1/statements/" + fB.stmt + "/export"},
		{"POST", "/api/v1/statements/" + fB.stmt + "/approve"}, {"POST", "/api/v1/statements/" + fB.stmt + "/pay"},
		{"POST", "/api/v1/statements/" + fB.stmt + "/reopen"}, {"POST", "/api/v1/disputes/" + fB.dispute + "/resolve"},
		{"GET", "/api/v1/commission-runs/" + fB.runJob}, {"GET", "/api/v1/jobs/" + fB.runJob},
		{"GET", "/api/v1/scorecards/" + fixtureScorecard + "/results?period=" + fixturePeriod + "&node=team:" + fB.east},
		{"GET", "/api/v1/scorecards/" + fixtureScorecard + "/results?period=" + fixturePeriod + "&node=user:" + fB.ids["rep.e1"]},
	}
	bodies := map[string]any{
		"PATCH /api/v1/users/":    map[string]any{"displayName": "x"},
		"PATCH /api/v1/teams/":    map[string]any{"name": "x"},
		"POST /api/v1/teams/":     map[string]any{"userId": fA.ids["rep.e1"], "from": "2024-01-01"},
		"PATCH /api/v1/records/":  map[string]any{"name": "x"},
		"POST /api/v1/records/de": map[string]any{"to": "qualified"},
		"POST /api/v1/disputes/":  map[string]any{"decision": "reject", "reason": "x"},
	}
	for _, nf := range notFound {
		var body any
		for prefix, b := range bodies {
			if strings.HasPrefix(nf.method+" "+nf.path, prefix) {
				body = b
			}
		}
		for _, tok := range []string{eA.admin, fA.allTok} {
			r := eA.do(nf.method, nf.path, tok, body)
			if r.status != 404 && !(tok == fA.allTok && r.status == 403) {
				t.Errorf("%s %s with A's token: %d, want 404: %s", nf.method, nf.path, r.status, trim(r.raw))
			}
		}
	}
	// B's statement line, disputed by A's rep (the same username as B's owner).
	eA.do("POST", "/api/v1/statements/"+fB.stmt+"/lines/"+fB.line+"/disputes", fA.tok["owner"], map[string]any{"comment": "x"}).must(t, 404)
	// Nothing of A's changed in B: B's copy of the shared id is intact.
	if r := eB.do("GET", "/api/v1/records/deal/"+fA.recE1, eB.admin, nil).must(t, 200); strings.Contains(r.raw, strings.TrimSpace(markA)) {
		t.Fatalf("A's writes reached B: %s", r.raw)
	}

	// The tenant comes from the token: each /me says its own tenant, and the
	// same username and password sign in to each tenant separately.
	for _, c := range []struct {
		e      *env
		tok    string
		tenant string
	}{{eA, eA.admin, "demo"}, {eB, eB.admin, "acme"}, {eA, fA.tok["owner"], "demo"}, {eB, fB.tok["owner"], "acme"}} {
		if me := c.e.do("GET", "/api/v1/me", c.tok, nil).must(t, 200); me.body["tenant"] != c.tenant {
			t.Errorf("a %s token says tenant %v", c.tenant, me.body["tenant"])
		}
	}
	eA.do("POST", "/api/v1/auth/login", "", map[string]any{"tenant": "nope", "username": "admin", "password": adminPassword}).must(t, 401)
	// No request header or parameter chooses the tenant.
	r := eA.do("GET", "/api/v1/records/deal?limit=500", eA.admin, nil, "X-Tenant", "acme", "X-Stride-Tenant", "acme")
	scan("tenant header", r.must(t, 200))
	if me := eA.do("GET", "/api/v1/me?tenant=acme", eA.admin, nil, "X-Tenant", "acme").must(t, 200); me.body["tenant"] != "demo" {
		t.Errorf("a header or parameter moved the caller to tenant %v", me.body["tenant"])
	}

	// One database per tenant.
	names, err := a.Store.DBs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, "t_demo") || !slices.Contains(names, "t_acme") {
		t.Fatalf("databases %v", names)
	}
	n := 0
	err = adb.Scan(ctx, objects.RecordCollection("deal"), store.Query{}, func(d store.Doc) error {
		n++
		if strings.Contains(d["data"].(map[string]any)["name"].(string), strings.TrimSpace(markB)) {
			t.Errorf("A's database holds B's record %v", d)
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("scan A: %d, %v", n, err)
	}
}
