package api_test

// The authorization matrix: every route the router serves × every kind of
// caller, checked against a reviewed expectation file,
// testdata/authz/matrix.txt. The expectations are written by hand (and
// reviewed like code); they are deliberately NOT derived from the route
// table's own access declarations, so a wrong declaration fails here.
//
// A route without a row fails the test (add one); a row for a route that no
// longer exists fails too (remove it). See docs/security.md.

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"stride/engine/api"
	"stride/engine/commission"
	"stride/engine/scorecard"
	"stride/engine/setup"
)

const matrixFile = "testdata/authz/matrix.txt"

// actors are the matrix's columns, in file order.
var actors = []string{
	"admin",       // tenant administrator
	"mgr",         // manager of the node (team east, which owns the fixture records)
	"mgr_other",   // manager of another node (team west)
	"owner",       // the rep who owns the fixture records (east)
	"rep_other",   // another rep of the same team (east)
	"finance",     // finance
	"viewer",      // viewer, member of east
	"tok",         // integration token holding the row's scope
	"tok_noscope", // integration token holding every other scope
	"anon",        // no token
	"disabled",    // a signed-in user since disabled
	"revoked",     // a session that logged out
}

// expectation classes of the file.
var classes = map[string]string{
	"ok":  "2xx",
	"any": "reached the handler: any status but 401, 403, 404 (and never 5xx)",
	"401": "unauthenticated", "403": "forbidden", "404": "hidden (not found)",
}

type matrixRow struct {
	line   int
	method string
	path   string
	scope  string // the integration scope the tok column carries ("-": none is enough)
	want   map[string]string
}

func readMatrix(t *testing.T) []matrixRow {
	t.Helper()
	f, err := os.Open(matrixFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []matrixRow
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 3+len(actors) {
			t.Fatalf("%s:%d: want METHOD PATH SCOPE and %d columns (%s), got %d fields", matrixFile, n, len(actors), strings.Join(actors, " "), len(fs))
		}
		r := matrixRow{line: n, method: fs[0], path: fs[1], scope: fs[2], want: map[string]string{}}
		for i, a := range actors {
			c := fs[3+i]
			if _, ok := classes[c]; !ok {
				t.Fatalf("%s:%d: column %s: unknown class %q (ok, any, 401, 403, 404)", matrixFile, n, a, c)
			}
			r.want[a] = c
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// classOf says whether status satisfies class.
func classOf(status int, class string) bool {
	switch class {
	case "ok":
		return status >= 200 && status < 300
	case "any":
		return status < 500 && status != 401 && status != 403 && status != 404
	}
	return fmt.Sprint(status) == class
}

// observed is the class a status would be written as.
func observed(status int) string {
	switch {
	case status >= 200 && status < 300:
		return "ok"
	case status == 401 || status == 403 || status == 404:
		return fmt.Sprint(status)
	case status >= 500:
		return fmt.Sprint(status)
	}
	return "any"
}

// authzFixture is the org the matrix runs against (tenant demo):
//
//	east: managed by mgr.east; reps rep.e1 (owner of the fixture records) and rep.e2; viewer view.e
//	west: managed by mgr.west; rep rep.w1
//
// with won deals of 2025 (history) and 2026 (progress) for each rep, the
// target plan fy2026 published twice (versions 1 and 2), the commission plan
// std (5 % of won deals, a quota bonus at 100 % of the fy2026 target,
// assigned to reps) run by finance for February 2026 — statements for
// rep.e1 (one line: the fixture record), rep.e2 and rep.w1 — with rep.e1's
// dispute of their line open, the scorecard kpi (attainment of won revenue,
// population: east's reps) with February's titles awarded, integration
// tokens for every scope and its complement, a disabled user's session and
// a logged-out session.
type authzFixture struct {
	e              *env
	ids, pw        map[string]string // username → id, password
	tok            map[string]string // actor → token
	east, west     string
	recE1          string            // a deal owned by rep.e1
	scopeTok       map[string]string // scope → token with only that scope
	noScopeTok     map[string]string // scope → token with every other scope
	allTok         string
	seq            atomic.Int64
	actorUser      map[string]string // actor → username (session actors)
	planDefinition map[string]any

	stmt, stmtOther string // rep.e1's and rep.e2's February statements (std:2026-02:<user>)
	stmtWest        string // rep.w1's
	line            string // the line of rep.e1's statement that credits recE1
	dispute         string // rep.e1's dispute of that line (as raised by the fixture)
	runJob          string // finance's February run
	payable         string // an approved statement of rep.e1 only finance and admins may pay
	statementMonth  int    // the last month of 2026 run for a fresh statement
	runMonth        int    // the last month of 2025 a matrix call ran
}

// Commission and scorecard keys of the fixture.
const (
	fixturePlan      = "std"
	fixtureScorecard = "kpi"
	fixturePeriod    = "2026-02"
)

// newAuthzEnv is newEnv with every optional service wired as cmd/stride
// wires it (the scorecards too), so every served route reaches its handler.
func newAuthzEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	a := open(t, dir)
	e := &env{t: t, srv: httptest.NewServer(api.New(fullDeps(a)).Handler()), dir: dir, st: a.Store, auth: a.Auth}
	t.Cleanup(func() { e.srv.Close(); a.Jobs.Wait(); a.Store.Close() })
	e.admin = e.login("admin", adminPassword)
	return e
}

// fullDeps are deps with the scorecard service.
func fullDeps(a *setup.App) api.Deps {
	sc := scorecard.New(a.Objects, a.Tracker, a.Tenants)
	sc.SetTargets(a.Targets)
	a.Tenants.AddCollections(sc.Collections()...)
	d := deps(a)
	d.Scorecards = sc
	return d
}

var fixtureUsers = []struct{ name, role, actor string }{
	{"mgr.east", "manager", "mgr"}, {"mgr.west", "manager", "mgr_other"},
	{"rep.e1", "rep", "owner"}, {"rep.e2", "rep", "rep_other"}, {"rep.w1", "rep", ""},
	{"fin", "finance", "finance"}, {"view.e", "viewer", "viewer"},
	{"gone", "rep", "disabled"}, {"left", "rep", "revoked"},
}

func newAuthzFixture(t *testing.T, e *env) *authzFixture { return newMarkedFixture(t, e, "") }

// newMarkedFixture puts mark into every name, label and reason it writes
// (team names, display names, record names and customers, the plan's label,
// lock reasons, token names), for the tenant isolation test's scans.
func newMarkedFixture(t *testing.T, e *env, mark string) *authzFixture {
	t.Helper()
	f := &authzFixture{e: e, ids: map[string]string{}, pw: map[string]string{}, tok: map[string]string{"admin": e.admin},
		scopeTok: map[string]string{}, noScopeTok: map[string]string{}, actorUser: map[string]string{"admin": "admin"}}
	f.pw["admin"] = adminPassword
	userTok := map[string]string{}
	for _, u := range fixtureUsers {
		f.ids[u.name], userTok[u.name] = e.user(u.name, u.role)
		f.pw[u.name] = "password-" + u.name
		if mark != "" {
			e.do("PATCH", "/api/v1/users/"+f.ids[u.name], e.admin, map[string]any{"displayName": mark + " " + u.name}).must(t, 200)
		}
		if u.actor != "" {
			f.tok[u.actor] = userTok[u.name]
			f.actorUser[u.actor] = u.name
		}
	}
	f.east = e.do("POST", "/api/v1/teams", e.admin, map[string]any{"name": mark + "华东 east", "managers": []string{f.ids["mgr.east"]}}).must(t, 201).body["id"].(string)
	f.west = e.do("POST", "/api/v1/teams", e.admin, map[string]any{"name": mark + "西部 west", "managers": []string{f.ids["mgr.west"]}}).must(t, 201).body["id"].(string)
	for _, m := range [][2]string{{f.east, "rep.e1"}, {f.east, "rep.e2"}, {f.east, "view.e"}, {f.west, "rep.w1"}, {f.east, "gone"}, {f.east, "left"}} {
		e.do("POST", "/api/v1/teams/"+m[0]+"/members", e.admin, map[string]any{"userId": f.ids[m[1]], "from": "2024-01-01"}).must(t, 201)
	}
	win := func(tok string, name string, amount int, day string) string {
		id := e.do("POST", "/api/v1/records/deal", tok, map[string]any{"name": mark + name, "amount": amount, "customer": "c-" + name + mark, "closeDate": day}).must(t, 201).body["id"].(string)
		for _, to := range []string{"qualified", "proposal", "won"} {
			e.do("POST", "/api/v1/records/deal/"+id+"/transition", tok, map[string]any{"to": to}).must(t, 200)
		}
		return id
	}
	win(userTok["rep.e1"], "e1-2025", 4_000_000, "2025-03-10")
	win(userTok["rep.e2"], "e2-2025", 1_000_000, "2025-05-10")
	win(userTok["rep.w1"], "w1-2025", 5_000_000, "2025-06-30")
	f.recE1 = win(userTok["rep.e1"], "e1-2026", 300_000, "2026-02-10")
	win(userTok["rep.e2"], "e2-2026", 200_000, "2026-02-11")
	win(userTok["rep.w1"], "w1-2026", 700_000, "2026-03-01")

	f.planDefinition = map[string]any{
		"label": map[string]any{"zh-CN": mark + "2026 赢单目标", "en": "2026 won revenue"}, "metric": "won_revenue", "fiscalYear": 2026,
		"amounts":     map[string]any{"floor": 800_000_000, "target": 1_000_000_000, "stretch": 1_200_000_000},
		"granularity": 1_000_000, "attributes": []any{},
		"allocation": map[string]any{"formula": "history.share", "equalSplitOnZero": true},
	}
	base := "/api/v1/target-plans/fy2026"
	e.do("PUT", base, e.admin, f.planDefinition).must(t, 200)
	e.do("POST", base+"/allocate", e.admin, map[string]any{"reason": mark + "v1"}).must(t, 200)
	e.do("POST", base+"/locks", e.admin, map[string]any{"node": "user:" + f.ids["rep.e2"], "amount": 100_000_000, "reason": mark + "v2"}).must(t, 200)

	scopes := []string{"records:read", "records:write", "config:read"}
	mk := func(sc []string) string {
		return e.do("POST", "/api/v1/tokens", e.admin, map[string]any{"name": mark + "matrix " + strings.Join(sc, "+"), "scopes": sc}).must(t, 201).body["token"].(string)
	}
	for _, sc := range scopes {
		f.scopeTok[sc] = mk([]string{sc})
		var rest []string
		for _, o := range scopes {
			if o != sc {
				rest = append(rest, o)
			}
		}
		f.noScopeTok[sc] = mk(rest)
	}
	f.allTok = mk(scopes)

	f.commission(mark)
	f.scorecard(mark)

	// The disabled user's and the logged-out session's tokens.
	e.do("PATCH", "/api/v1/users/"+f.ids["gone"], e.admin, map[string]any{"disabled": true}).must(t, 200)
	e.do("POST", "/api/v1/auth/logout", f.tok["revoked"], nil).must(t, 204)
	return f
}

// commissionPlan pays 5 % of every won deal to its owner, and ¥1,000 when a
// rep reaches their fy2026 target in a month (so the plan needs attainment).
func commissionPlan(mark string) map[string]any {
	return map[string]any{
		"name":    map[string]any{"zh-CN": mark + "标准提成", "en": mark + "Standard"},
		"grain":   "month",
		"quota":   map[string]any{"metric": "won_revenue"},
		"assign":  map[string]any{"roles": []any{"rep"}},
		"credits": map[string]any{"object": "deal", "when": `stage == "won"`, "base": "amount", "dateField": "closeDate"},
		"rules": []any{map[string]any{"key": "base", "name": map[string]any{"zh-CN": mark + "基础提成", "en": "Base"},
			"rate": map[string]any{"kind": "constant", "value": 0.05}}},
		"quotaBonuses": []any{map[string]any{"key": "full", "threshold": 1, "amount": 100_000}},
	}
}

// commission publishes the plan, runs February as finance, and has rep.e1
// dispute the line of their fixture record.
func (f *authzFixture) commission(mark string) {
	e, t := f.e, f.e.t
	base := "/api/v1/commission-plans/" + fixturePlan
	e.do("PUT", base, e.admin, commissionPlan(mark)).must(t, 200)
	e.do("POST", base+"/publish", e.admin, nil).must(t, 200)
	f.runJob = f.run(f.tok["finance"], fixturePeriod)
	f.stmt = statementID(fixturePeriod, f.ids["rep.e1"])
	f.stmtOther = statementID(fixturePeriod, f.ids["rep.e2"])
	f.stmtWest = statementID(fixturePeriod, f.ids["rep.w1"])
	for _, id := range []string{f.stmtOther, f.stmtWest} {
		e.do("GET", "/api/v1/statements/"+id, e.admin, nil).must(t, 200)
	}
	st := e.do("GET", "/api/v1/statements/"+f.stmt, e.admin, nil).must(t, 200)
	for _, l := range st.body["lines"].([]any) {
		if l := l.(map[string]any); l["record"] == f.recE1 && l["kind"] == "rate" {
			f.line = l["id"].(string)
		}
	}
	if f.line == "" {
		t.Fatalf("rep.e1's statement has no line for the fixture record: %s", st.raw)
	}
	f.dispute = f.e.do("POST", f.disputePath(), f.tok["owner"], map[string]any{"comment": mark + "这笔少算了 / too little"}).must(t, 201).body["id"].(string)
}

func statementID(per, user string) string { return fixturePlan + ":" + per + ":" + user }

func (f *authzFixture) disputePath() string {
	return "/api/v1/statements/" + f.stmt + "/lines/" + f.line + "/disputes"
}

// run runs the plan for a period as tok and waits for the job; it returns
// the job's id.
func (f *authzFixture) run(tok, per string) string {
	e, t := f.e, f.e.t
	t.Helper()
	id := e.do("POST", "/api/v1/commission-runs", tok, map[string]any{"plan": fixturePlan, "period": per}).must(t, 202).body["id"].(string)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		switch g := e.do("GET", "/api/v1/commission-runs/"+id, tok, nil).must(t, 200); g.body["status"] {
		case "done":
			return id
		case "failed":
			t.Fatalf("run %s failed: %s", per, g.raw)
		}
	}
	t.Fatalf("run %s did not finish", per)
	return ""
}

// settle waits until no job is queued or running (runs the matrix started
// in the background), so they neither race the next call nor outlive the test.
func (f *authzFixture) settle() {
	e, t := f.e, f.e.t
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		busy := false
		for _, j := range e.do("GET", "/api/v1/jobs?limit=500", e.admin, nil).must(t, 200).body["items"].([]any) {
			if s := j.(map[string]any)["status"]; s == "queued" || s == "running" {
				busy = true
			}
		}
		if !busy {
			return
		}
	}
	t.Fatal("jobs did not finish")
}

// statusOf is a statement's status (as the admin sees it).
func (f *authzFixture) statusOf(id string) string {
	return f.e.do("GET", "/api/v1/statements/"+id, f.e.admin, nil).must(f.e.t, 200).body["status"].(string)
}

// draftStatement puts rep.e1's fixture statement back to draft.
func (f *authzFixture) draftStatement() string {
	if f.statusOf(f.stmt) == "approved" {
		f.e.do("POST", "/api/v1/statements/"+f.stmt+"/reopen", f.e.admin, nil).must(f.e.t, 200)
	}
	return f.stmt
}

// approvedStatement has rep.e1's fixture statement approved.
func (f *authzFixture) approvedStatement() string {
	if f.statusOf(f.stmt) == "draft" {
		f.e.do("POST", "/api/v1/statements/"+f.stmt+"/approve", f.e.admin, nil).must(f.e.t, 200)
	}
	return f.stmt
}

// freshApproved runs the next month of 2026 and approves rep.e1's new
// statement: something to pay (paid is final, so every payment needs one).
func (f *authzFixture) freshApproved() string {
	f.statementMonth++
	if f.statementMonth > 8 {
		f.e.t.Fatal("out of past months for fresh statements")
	}
	per := fmt.Sprintf("2026-%02d", 2+f.statementMonth)
	f.run(f.e.admin, per)
	id := statementID(per, f.ids["rep.e1"])
	f.e.do("POST", "/api/v1/statements/"+id+"/approve", f.e.admin, nil).must(f.e.t, 200)
	return id
}

// openDispute is an open dispute of rep.e1's line (raised anew by rep.e1
// when the last one was resolved).
func (f *authzFixture) openDispute() string {
	if id := f.openDisputeOfLine(); id != "" {
		return id
	}
	return f.e.do("POST", f.disputePath(), f.tok["owner"], map[string]any{"comment": f.unique("matrix ")}).must(f.e.t, 201).body["id"].(string)
}

func (f *authzFixture) openDisputeOfLine() string {
	r := f.e.do("GET", "/api/v1/disputes?status=open&statement="+f.stmt, f.e.admin, nil).must(f.e.t, 200)
	for _, x := range r.body["items"].([]any) {
		if x := x.(map[string]any); x["line"] == f.line {
			return x["id"].(string)
		}
	}
	return ""
}

// lineWithoutDispute resolves the line's open dispute, if any, so a new one
// may be raised.
func (f *authzFixture) lineWithoutDispute() string {
	if id := f.openDisputeOfLine(); id != "" {
		f.e.do("POST", "/api/v1/disputes/"+id+"/resolve", f.e.admin, map[string]any{"decision": "reject", "reason": "matrix"}).must(f.e.t, 200)
	}
	return f.disputePath()
}

// scorecardDef scores east's reps on their attainment of won revenue and
// makes the best one star of the month.
func scorecardDef(mark, east string) map[string]any {
	return map[string]any{
		"label":      map[string]any{"zh-CN": mark + "月度考核", "en": mark + "Monthly KPI"},
		"grain":      "month",
		"population": map[string]any{"roles": []any{"rep"}, "teams": []any{east}},
		"items": []any{map[string]any{"key": "revenue", "label": map[string]any{"zh-CN": "赢单达成", "en": "Won revenue"}, "weight": 100, "cap": 150,
			"type": "attainment", "metric": "won_revenue"}},
		"grades":        []any{map[string]any{"grade": "A", "min": 100}, map[string]any{"grade": "B", "min": 50}},
		"fallbackGrade": "C",
		"recognition":   []any{map[string]any{"key": "star", "title": map[string]any{"zh-CN": mark + "月度之星", "en": "Star of the month"}, "top": 1}},
	}
}

// scorecard publishes the scorecard and awards February.
func (f *authzFixture) scorecard(mark string) {
	e, t := f.e, f.e.t
	base := "/api/v1/scorecards/" + fixtureScorecard
	e.do("PUT", base, e.admin, scorecardDef(mark, f.east)).must(t, 200)
	e.do("POST", base+"/publish", e.admin, nil).must(t, 200)
	aw := e.do("POST", base+"/awards", e.admin, map[string]any{"period": fixturePeriod}).must(t, 201)
	if ws := aw.body["award"].(map[string]any)["winners"].([]any); len(ws) == 0 {
		t.Fatalf("February's award has no winner: %s", aw.raw)
	}
}

// token is what actor sends on a row needing scope.
func (f *authzFixture) token(actor, scope string) string {
	switch actor {
	case "anon":
		return ""
	case "tok":
		if t, ok := f.scopeTok[scope]; ok {
			return t
		}
		return f.allTok
	case "tok_noscope":
		if t, ok := f.noScopeTok[scope]; ok {
			return t
		}
		return f.allTok
	}
	return f.tok[actor]
}

func (f *authzFixture) unique(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, f.seq.Add(1))
}

// freshUser is a throwaway user (for routes that change or remove one).
func (f *authzFixture) freshUser() string {
	name := f.unique("tmp.user")
	return f.e.do("POST", "/api/v1/users", f.e.admin, map[string]any{"username": name, "password": "password-" + name, "roles": []string{"rep"}}).must(f.e.t, 201).body["id"].(string)
}

func (f *authzFixture) freshTeam() string {
	return f.e.do("POST", "/api/v1/teams", f.e.admin, map[string]any{"name": f.unique("tmp team ")}).must(f.e.t, 201).body["id"].(string)
}

// freshDeal is a new open deal owned by rep.e1.
func (f *authzFixture) freshDeal() string {
	return f.e.do("POST", "/api/v1/records/deal", f.tok["owner"], map[string]any{"name": f.unique("tmp deal "), "amount": 1000, "customer": "c", "closeDate": "2026-04-01"}).must(f.e.t, 201).body["id"].(string)
}

func (f *authzFixture) working(path string) map[string]any {
	return f.e.do("GET", path, f.e.admin, nil).must(f.e.t, 200).body["definition"].(map[string]any)
}

// matrixCall is one request of the matrix.
type matrixCall struct {
	path  string
	body  any
	token *string // overrides the actor's token when set
}

// builders supply plausible path parameters and bodies, so that allowed
// calls get past validation to the handler's row checks. Routes without a
// builder get the default: :object=deal, :key by resource, :id the fixture
// record, no body.
func (f *authzFixture) build(method, path, actor string) matrixCall {
	u := f.ids
	sub := func(p string, kv ...string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			p = strings.Replace(p, kv[i], kv[i+1], 1)
		}
		return p
	}
	key := "deal"
	switch {
	case strings.HasPrefix(path, "/api/v1/pipelines/"):
		key = "deal_sales"
	case strings.HasPrefix(path, "/api/v1/metrics/"):
		key = "won_revenue"
	case strings.HasPrefix(path, "/api/v1/target-plans/"):
		key = "fy2026"
	case strings.HasPrefix(path, "/api/v1/commission-plans/"):
		key = fixturePlan
	case strings.HasPrefix(path, "/api/v1/scorecards/"):
		key = fixtureScorecard
	case strings.HasPrefix(path, "/api/v1/reports/"):
		key = f.matrixReport()
	}
	for _, p := range []string{"/api/v1/commission", "/api/v1/statements", "/api/v1/disputes", "/api/v1/jobs"} {
		if strings.HasPrefix(path, p) {
			f.settle() // the runs earlier calls started
		}
	}
	c := matrixCall{path: sub(path, ":object", "deal", ":key", key, ":name", "saas")}
	if ac, ok := f.buildAlerts(method, path, actor); ok {
		return ac
	}
	plan := "/api/v1/target-plans/fy2026"
	switch method + " " + path {
	case "POST /api/v1/auth/login":
		c.body = map[string]any{"tenant": "demo", "username": "nobody"} // 422 before any password check
	case "POST /api/v1/auth/logout":
		if un, ok := f.actorUser[actor]; ok && actor != "disabled" && actor != "revoked" {
			tok := f.e.login(un, f.pw[un]) // logging out the actor's fixture session would end it
			c.token = &tok
		}
	case "POST /api/v1/users":
		n := f.unique("new.user")
		c.body = map[string]any{"username": n, "password": "password-" + n, "roles": []string{"rep"}}
	case "GET /api/v1/users/:id":
		c.path = sub(path, ":id", u["rep.e1"])
	case "PATCH /api/v1/users/:id":
		c.path, c.body = sub(path, ":id", f.freshUser()), map[string]any{"displayName": "改名 renamed"}
	case "DELETE /api/v1/users/:id":
		c.path = sub(path, ":id", f.freshUser())
	case "POST /api/v1/teams":
		c.body = map[string]any{"name": f.unique("new team ")}
	case "GET /api/v1/teams/:id", "GET /api/v1/teams/:id/members":
		c.path = sub(path, ":id", f.east)
	case "PATCH /api/v1/teams/:id":
		c.path, c.body = sub(path, ":id", f.freshTeam()), map[string]any{"name": f.unique("renamed ")}
	case "DELETE /api/v1/teams/:id":
		c.path = sub(path, ":id", f.freshTeam())
	case "POST /api/v1/teams/:id/members":
		c.path, c.body = sub(path, ":id", f.freshTeam()), map[string]any{"userId": f.freshUser(), "from": "2024-01-01"}
	case "POST /api/v1/tokens":
		c.body = map[string]any{"name": f.unique("tok "), "scopes": []string{"records:read"}}
	case "DELETE /api/v1/tokens/:id":
		id := f.e.do("POST", "/api/v1/tokens", f.e.admin, map[string]any{"name": f.unique("doomed "), "scopes": []string{"records:read"}}).must(f.e.t, 201).body["id"].(string)
		c.path = sub(path, ":id", id)
	case "POST /api/v1/records/:object":
		c.body = map[string]any{"name": f.unique("new deal "), "amount": 1000, "customer": "c", "closeDate": "2026-04-01"}
	case "GET /api/v1/records/:object/:id":
		c.path = sub(c.path, ":id", f.recE1)
	case "PATCH /api/v1/records/:object/:id":
		c.path, c.body = sub(c.path, ":id", f.recE1), map[string]any{"customer": f.unique("patched ")}
	case "DELETE /api/v1/records/:object/:id":
		c.path = sub(c.path, ":id", f.freshDeal())
	case "POST /api/v1/records/:object/:id/transition":
		c.path, c.body = sub(c.path, ":id", f.freshDeal()), map[string]any{"to": "qualified"}
	case "POST /api/v1/rules/check":
		c.body = map[string]any{"kind": "computed", "expression": "amount * 2", "object": "deal"}
	case "PUT /api/v1/objects/:key":
		c.body = f.working("/api/v1/objects/deal")
	case "PUT /api/v1/pipelines/:key":
		c.body = f.working("/api/v1/pipelines/deal_sales")
	case "PUT /api/v1/metrics/:key":
		c.body = f.working("/api/v1/metrics/won_revenue")
	case "GET /api/v1/pipelines/:key/funnel":
		c.path += "?period=2026"
	case "GET /api/v1/progress":
		c.path += "?metric=won_revenue&period=2026&node=team:" + f.east
	case "GET /api/v1/progress/records":
		c.path += "?metric=won_revenue&period=2026&node=user:" + u["rep.e1"]
	case "POST /api/v1/reconcile":
		c.body = map[string]any{}
	case "PUT /api/v1/target-plans/:key":
		c.body = f.working(plan)
	case "POST /api/v1/target-plans/:key/allocate":
		c.body = map[string]any{"reason": f.unique("matrix ")}
	case "GET /api/v1/target-plans/:key/tree":
		c.path += "?node=team:" + f.east
	case "GET /api/v1/target-plans/:key/diff":
		c.path += "?from=1&to=2"
	case "POST /api/v1/target-plans/:key/locks":
		c.body = map[string]any{"node": "user:" + u["rep.e1"], "amount": 300_000_000, "reason": "matrix", "dryRun": true}
	case "POST /api/v1/target-plans/:key/proposals":
		c.body = map[string]any{"node": "user:" + u["rep.e1"], "amounts": map[string]any{"target": 300_000_000}, "note": "matrix"}
	case "POST /api/v1/target-plans/:key/proposals/accept":
		c.body = map[string]any{"nodes": []string{"user:" + u["rep.e1"]}, "reason": "matrix", "dryRun": true}
	case "POST /api/v1/target-plans/:key/respread":
		c.body = map[string]any{"fromMonth": "2026-07", "reason": "matrix", "dryRun": true}
	case "GET /api/v1/target-suggestion":
		c.path += "?metric=won_revenue&fiscalYear=2027&marketGrowth=0.1"
	case "POST /api/v1/templates/apply":
		c.body = map[string]any{"name": "saas", "dryRun": true}
	case "POST /api/v1/templates/diff":
		c.body = map[string]any{"name": "saas"}

	// Commission: rep.e1's February statement, its line, its dispute,
	// finance's run.
	case "PUT /api/v1/commission-plans/:key", "POST /api/v1/commission-plans/:key/check":
		c.body = f.working("/api/v1/commission-plans/" + fixturePlan)
	case "POST /api/v1/commission-plans/:key/simulate":
		c.body = map[string]any{"period": fixturePeriod}
	case "POST /api/v1/commission-runs":
		// A month of its own for every call: the same plan and month
		// twice at once is a 409 (2025 has no targets: the run reports
		// every rep's missing quota and writes nothing).
		f.runMonth++
		c.body = map[string]any{"plan": fixturePlan, "period": fmt.Sprintf("2025-%02d", 1+(f.runMonth-1)%12)}
	case "GET /api/v1/commission-runs/:id", "GET /api/v1/jobs/:id":
		c.path = sub(path, ":id", f.runJob)
	case "GET /api/v1/statements/:id", "GET /api/v1/statements/:id/export":
		c.path = sub(path, ":id", f.stmt)
	case "GET /api/v1/statements/export":
		c.path += "?format=xlsx&period=" + fixturePeriod
	case "POST /api/v1/statements/:id/approve":
		c.path, c.body = sub(path, ":id", f.draftStatement()), map[string]any{"note": "matrix"}
	case "POST /api/v1/statements/:id/reopen":
		c.path = sub(path, ":id", f.approvedStatement())
	case "POST /api/v1/statements/:id/pay":
		// Only a successful payment uses a statement up.
		if actor == "admin" || actor == "finance" || f.payable == "" {
			id := f.freshApproved()
			if actor != "admin" && actor != "finance" {
				f.payable = id
			}
			c.path = sub(path, ":id", id)
		} else {
			c.path = sub(path, ":id", f.payable)
		}
	case "POST /api/v1/statements/:id/lines/:lineId/disputes":
		c.path, c.body = f.lineWithoutDispute(), map[string]any{"comment": f.unique("matrix ")}
	case "POST /api/v1/disputes/:id/resolve":
		c.path, c.body = sub(path, ":id", f.openDispute()), map[string]any{"decision": "reject", "reason": "matrix"}

	// Scorecards: east's leaderboard of February (awarded).
	case "PUT /api/v1/scorecards/:key":
		c.body = f.working("/api/v1/scorecards/" + fixtureScorecard)
	case "GET /api/v1/scorecards/:key/results":
		c.path += "?period=" + fixturePeriod + "&node=team:" + f.east
	case "POST /api/v1/scorecards/:key/awards":
		c.body = map[string]any{"period": fixturePeriod}
	default:
		f.buildReportCall(method, path, &c)
	}
	return c
}

// TestAuthzMatrix runs every served route as every actor and compares the
// outcome with testdata/authz/matrix.txt. STRIDE_AUTHZ_PRINT=1 prints what
// was observed in the file's format (to help write a new row: review it,
// do not paste it blindly).
func TestAuthzMatrix(t *testing.T) {
	e := newAuthzEnv(t)
	a := open(t, t.TempDir())
	defer a.Store.Close()
	served := api.New(deps(a)).Routes()
	rows := readMatrix(t)
	f := newAuthzFixture(t, e)

	have := map[string]matrixRow{}
	for _, r := range rows {
		k := r.method + " " + r.path
		if _, dup := have[k]; dup {
			t.Errorf("%s:%d: second row for %s", matrixFile, r.line, k)
		}
		have[k] = r
	}
	isServed := map[string]bool{}
	var missing []string
	for _, r := range served {
		k := r.Method + " " + r.Path
		isServed[k] = true
		if _, ok := have[k]; !ok {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	for _, k := range missing {
		t.Errorf("route %s has no row in engine/api/%s: add one saying, for each of %s, whether the call is allowed (ok/any) "+
			"or denied (401/403/404) — see docs/security.md, \"Adding a route\"", k, matrixFile, strings.Join(actors, ", "))
	}
	for _, r := range rows {
		if !isServed[r.method+" "+r.path] {
			t.Errorf("%s:%d: %s %s is not served any more: remove its row", matrixFile, r.line, r.method, r.path)
		}
	}

	print := os.Getenv("STRIDE_AUTHZ_PRINT") != ""
	var printed []string
	check := func(method, path, scope string, want map[string]string) {
		got := make([]string, len(actors))
		for i, actor := range actors {
			c := f.build(method, path, actor)
			tok := f.token(actor, scope)
			if c.token != nil {
				tok = *c.token
			}
			res := e.do(method, c.path, tok, c.body)
			got[i] = observed(res.status)
			leaks(t, method, path, res)
			if want != nil && !classOf(res.status, want[actor]) {
				t.Errorf("%s %s as %s: got %d, the matrix says %s (%s): %s", method, c.path, actor, res.status, want[actor], classes[want[actor]], trim(res.raw))
			}
		}
		if print {
			printed = append(printed, fmt.Sprintf("%-7s %-48s %-14s %s", method, path, scope, strings.Join(got, " ")))
		}
	}
	for _, r := range rows {
		if isServed[r.method+" "+r.path] {
			check(r.method, r.path, r.scope, r.want)
		}
	}
	for _, k := range missing {
		m, p, _ := strings.Cut(k, " ")
		check(m, p, "-", nil)
	}
	if print {
		fmt.Println(strings.Join(printed, "\n"))
	}
}

// leaks fails a response that carries what no response may: a password
// hash, a cookie (the API is Bearer-only, so there is nothing for CSRF to
// ride on), or a token secret outside the two responses that hand one out.
func leaks(t *testing.T, method, path string, r resp) {
	t.Helper()
	if strings.Contains(r.raw, "$argon2id$") || strings.Contains(r.raw, "passwordHash") {
		t.Errorf("%s %s returns a password hash: %s", method, path, trim(r.raw))
	}
	if c := r.header.Get("Set-Cookie"); c != "" {
		t.Errorf("%s %s sets a cookie (%s): the API authenticates by bearer token only", method, path, c)
	}
	issues := method == "POST" && (path == "/api/v1/auth/login" || path == "/api/v1/tokens")
	if !issues && (strings.Contains(r.raw, `"sts_`) || strings.Contains(r.raw, `"sti_`)) {
		t.Errorf("%s %s returns a token secret: %s", method, path, trim(r.raw))
	}
}

func trim(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// TestAuthzMatrixFileIsSorted keeps the file reviewable: one block per
// resource, no stray columns. (Format only; the behaviour is TestAuthzMatrix.)
func TestAuthzMatrixFile(t *testing.T) {
	rows := readMatrix(t)
	if len(rows) == 0 {
		t.Fatal("empty matrix")
	}
	for _, r := range rows {
		if !strings.HasPrefix(r.path, "/") {
			t.Errorf("%s:%d: path %q", matrixFile, r.line, r.path)
		}
		// Unauthenticated callers are never let into a non-public route.
		public := r.want["anon"] != "401"
		for _, a := range []string{"disabled", "revoked"} {
			if public != (r.want[a] != "401") {
				t.Errorf("%s:%d: %s: %s is %s but anon is %s: a dead token must be treated like no token", matrixFile, r.line, r.path, a, r.want[a], r.want["anon"])
			}
		}
	}
	if _, err := os.Stat(filepath.Dir(matrixFile)); err != nil {
		t.Fatal(err)
	}
}

// TestAuthzRowVisibility: row visibility on every read path that returns
// many rows — record lists (also when filtered or sorted), funnels, stuck
// lists, progress children and drill-downs, target trees, diffs, proposals
// and the plan's per-node settings — not only on get-by-id.
func TestAuthzRowVisibility(t *testing.T) {
	e := newAuthzEnv(t)
	f := newAuthzFixture(t, e)
	id := f.ids
	east := []string{id["rep.e1"], id["rep.e2"], id["view.e"], id["gone"], id["left"], id["mgr.east"]}
	west := []string{id["rep.w1"], id["mgr.west"]}
	// who → the owners they may see (nil: everyone).
	sees := map[string][]string{
		"admin": nil, "finance": nil, "tok": nil,
		"mgr": east, "mgr_other": west, "viewer": append(slices.Clone(east), id["view.e"]),
		"owner": {id["rep.e1"]}, "rep_other": {id["rep.e2"]},
	}
	// Every actor creates a stuck-able open deal so each has rows of their own.
	for _, a := range []string{"mgr", "mgr_other", "owner", "rep_other"} {
		e.do("POST", "/api/v1/records/deal", f.tok[a], map[string]any{"name": "own " + a, "amount": 10, "customer": "c", "closeDate": "2026-05-01"}).must(t, 201)
	}
	visible := func(actor, owner string) bool {
		s, ok := sees[actor]
		return ok && (s == nil || slices.Contains(s, owner))
	}
	for actor := range sees {
		tok := f.token(actor, "records:read")
		// Lists, plain and with filters that name someone else's rows.
		for _, q := range []string{"", "?sort=-amount", "?customer=c-w1-2026", "?customer[in]=c-e1-2026,c-w1-2026", "?amount[gte]=1&sort=customer&limit=1"} {
			r := e.do("GET", "/api/v1/records/deal"+q, tok, nil).must(t, 200)
			for _, it := range r.body["items"].([]any) {
				if o := it.(map[string]any)["owner"].(string); !visible(actor, o) {
					t.Errorf("%s lists %s a record of %s", actor, q, o)
				}
			}
		}
		all := e.do("GET", "/api/v1/records/deal?limit=500", tok, nil).must(t, 200).body["items"].([]any)
		owners := map[string]bool{}
		for _, it := range all {
			owners[it.(map[string]any)["owner"].(string)] = true
		}
		for _, must := range map[string][]string{"mgr": {id["rep.e1"], id["rep.e2"]}, "mgr_other": {id["rep.w1"]}, "owner": {id["rep.e1"]},
			"viewer": {id["rep.e1"], id["rep.e2"]}, "admin": {id["rep.e1"], id["rep.w1"]}, "finance": {id["rep.w1"]}}[actor] {
			if !owners[must] {
				t.Errorf("%s does not see the records of %s in the list", actor, must)
			}
		}
		// Stuck records and funnels count only visible records.
		st := e.do("GET", "/api/v1/pipelines/deal_sales/stuck", tok, nil).must(t, 200)
		for _, it := range st.body["items"].([]any) {
			if o := it.(map[string]any)["owner"].(string); !visible(actor, o) {
				t.Errorf("%s: stuck list shows a record of %s", actor, o)
			}
		}
		// Every win happened during this test, so this quarter's funnel
		// (the default period) counts exactly the won deals the actor lists.
		fn := e.do("GET", "/api/v1/pipelines/deal_sales/funnel", tok, nil).must(t, 200)
		won, wantWon := -1, 0
		for _, s := range fn.body["stages"].([]any) {
			if s := s.(map[string]any); s["stage"] == "won" {
				won = int(s["entered"].(float64))
			}
		}
		for _, it := range all {
			if it.(map[string]any)["data"].(map[string]any)["stage"] == "won" {
				wantWon++
			}
		}
		if won != wantWon {
			t.Errorf("%s: the funnel counts %d won deals, the actor sees %d", actor, won, wantWon)
		}
		// Progress (own default node) and its drill-down.
		pg := e.do("GET", "/api/v1/progress?metric=won_revenue&period=2026", tok, nil).must(t, 200)
		for _, c := range pg.body["children"].([]any) {
			n := c.(map[string]any)["node"].(map[string]any)
			if n["kind"] == "user" && !visible(actor, n["id"].(string)) {
				t.Errorf("%s: progress children include %v", actor, n)
			}
			if n["kind"] == "team" && actor == "mgr_other" && n["id"] == f.east {
				t.Errorf("west's manager sees east in progress children")
			}
		}
		dr := e.do("GET", "/api/v1/progress/records?metric=won_revenue&period=2026", tok, nil).must(t, 200)
		for _, it := range dr.body["items"].([]any) {
			if o := it.(map[string]any)["owner"].(string); !visible(actor, o) {
				t.Errorf("%s: progress drill-down shows a record of %s", actor, o)
			}
		}
		// Target tree (default node), diff, proposals and the plan's node settings.
		plan := "/api/v1/target-plans/fy2026"
		tr := e.do("GET", plan+"/tree", tok, nil).must(t, 200)
		for _, c := range tr.body["children"].([]any) {
			if k := c.(map[string]any)["key"].(string); !nodeVisible(f, actor, k, visible) {
				t.Errorf("%s: target tree shows %s", actor, k)
			}
		}
		df := e.do("GET", plan+"/diff?from=1&to=2", tok, nil).must(t, 200)
		for _, cs := range df.body["nodes"].(map[string]any) {
			for _, c := range cs.([]any) {
				if k := c.(map[string]any)["key"].(string); !nodeVisible(f, actor, k, visible) {
					t.Errorf("%s: target diff shows node %s", actor, k)
				}
			}
		}
		for _, c := range df.body["definition"].([]any) {
			p := c.(map[string]any)["path"].(string)
			if k, ok := strings.CutPrefix(p, "/nodes/"); ok {
				k, _, _ = strings.Cut(k, "/")
				if !nodeVisible(f, actor, k, visible) {
					t.Errorf("%s: target diff shows a change of %s (%s)", actor, k, p)
				}
			}
		}
		pd := e.do("GET", plan, tok, nil).must(t, 200)
		if ns, ok := pd.body["definition"].(map[string]any)["nodes"].(map[string]any); ok {
			for k := range ns {
				if !nodeVisible(f, actor, k, visible) {
					t.Errorf("%s: the plan's working copy shows the settings of %s", actor, k)
				}
			}
		}
	}
	// Proposals: east's manager proposes for rep.e1; west's manager and the
	// other rep do not see it, the owner does.
	plan := "/api/v1/target-plans/fy2026"
	e.do("POST", plan+"/proposals", f.tok["mgr"], map[string]any{"node": "user:" + id["rep.e1"], "amounts": map[string]any{"target": 123_000_000}}).must(t, 200)
	for actor, n := range map[string]int{"admin": 1, "mgr": 1, "owner": 1, "mgr_other": 0, "rep_other": 0, "finance": 1, "viewer": 1} {
		ps := e.do("GET", plan+"/proposals", f.tok[actor], nil).must(t, 200).body["items"].([]any)
		if len(ps) != n {
			t.Errorf("%s sees %d proposals, want %d", actor, len(ps), n)
		}
	}
	// A manager never reaches another team's node, whatever the path.
	for _, p := range []string{"/api/v1/progress?metric=won_revenue&period=2026&node=team:" + f.east,
		"/api/v1/progress/records?metric=won_revenue&period=2026&node=user:" + id["rep.e1"],
		plan + "/tree?node=user:" + id["rep.e1"], plan + "/tree?node=team:" + f.east} {
		e.do("GET", p, f.tok["mgr_other"], nil).must(t, 404)
	}
	e.do("GET", "/api/v1/progress?metric=won_revenue&period=2026&node=company", f.tok["mgr"], nil).must(t, 403)

	// Ownership cannot be used to push rows across the tree: a rep cannot
	// give a record to a peer, a manager only to someone they see.
	deal := func(owner string) map[string]any {
		return map[string]any{"name": "assign", "amount": 1, "customer": "c", "closeDate": "2026-05-01", "owner": owner}
	}
	e.do("POST", "/api/v1/records/deal", f.tok["owner"], deal(id["rep.e2"])).must(t, 403)
	e.do("POST", "/api/v1/records/deal", f.tok["mgr"], deal(id["rep.w1"])).must(t, 403)
	e.do("POST", "/api/v1/records/deal", f.tok["mgr"], deal(id["rep.e2"])).must(t, 201)
	e.do("PATCH", "/api/v1/records/deal/"+f.recE1, f.tok["owner"], map[string]any{"owner": id["rep.w1"]}).must(t, 403)
	e.do("PATCH", "/api/v1/records/deal/"+f.recE1, f.tok["mgr"], map[string]any{"owner": id["rep.w1"]}).must(t, 403)

	scorecardVisibility(t, f, visible)
	statementVisibility(t, f, visible) // last: it adds users to east
}

// statementVisibility: statements, their exports (CSV and XLSX), disputes
// and run jobs show only the rows each actor may see — a rep their own, a
// manager their subtree's, finance and admins everyone's — whatever the
// filters ask for.
func statementVisibility(t *testing.T, f *authzFixture, visible func(actor, owner string) bool) {
	e, id := f.e, f.ids
	// Who must appear for whom (February: rep.e1, rep.e2 and rep.w1 have statements).
	must := map[string][]string{"admin": {id["rep.e1"], id["rep.e2"], id["rep.w1"]}, "finance": {id["rep.e1"], id["rep.e2"], id["rep.w1"]},
		"mgr": {id["rep.e1"], id["rep.e2"]}, "mgr_other": {id["rep.w1"]}, "owner": {id["rep.e1"]}, "rep_other": {id["rep.e2"]}}
	check := func(actor, what string, reps []string) {
		t.Helper()
		seen := map[string]bool{}
		for _, r := range reps {
			seen[r] = true
			if !visible(actor, r) {
				t.Errorf("%s: %s shows a statement of %s", actor, what, r)
			}
		}
		if !strings.Contains(what, "user=") {
			for _, r := range must[actor] {
				if !seen[r] {
					t.Errorf("%s: %s lacks the statement of %s", actor, what, r)
				}
			}
		}
	}
	for actor := range must {
		tok := f.tok[actor]
		for _, q := range []string{"limit=500", "period=" + fixturePeriod, "plan=" + fixturePlan + "&status=draft",
			"user=" + id["rep.e1"], "user=" + id["rep.w1"], "limit=1"} {
			var reps []string
			for _, it := range e.do("GET", "/api/v1/statements?"+q, tok, nil).must(t, 200).body["items"].([]any) {
				reps = append(reps, it.(map[string]any)["rep"].(string))
			}
			if q != "limit=1" {
				check(actor, "GET /api/v1/statements?"+q, reps)
			} else if len(reps) > 0 && !visible(actor, reps[0]) {
				t.Errorf("%s: the first page shows %s", actor, reps[0])
			}
			// The exports: one row per line, the rep's id in column 销售ID.
			for _, format := range []string{"csv", "xlsx"} {
				if q == "limit=1" {
					continue
				}
				check(actor, "export "+format+" ?"+q, exportReps(t, e.raw("GET", "/api/v1/statements/export?format="+format+"&"+q, tok), format))
			}
		}
		for _, other := range []string{f.stmt, f.stmtOther, f.stmtWest} {
			rep := strings.TrimPrefix(other, fixturePlan+":"+fixturePeriod+":")
			want := 404
			if visible(actor, rep) {
				want = 200
			}
			e.do("GET", "/api/v1/statements/"+other, tok, nil).must(t, want)
			e.do("GET", "/api/v1/statements/"+other+"/export?format=xlsx", tok, nil).must(t, want)
		}
		// Disputes: rep.e1's (open) dispute, whatever the filter.
		for _, q := range []string{"", "?status=open", "?user=" + id["rep.e1"], "?statement=" + f.stmt} {
			xs := e.do("GET", "/api/v1/disputes"+q, tok, nil).must(t, 200).body["items"].([]any)
			found := false
			for _, x := range xs {
				x := x.(map[string]any)
				if !visible(actor, x["rep"].(string)) {
					t.Errorf("%s: disputes%s show one of %s", actor, q, x["rep"])
				}
				found = found || x["id"] == f.dispute
			}
			if found != visible(actor, id["rep.e1"]) {
				t.Errorf("%s: disputes%s: rep.e1's dispute listed %v", actor, q, found)
			}
		}
	}
	for _, actor := range []string{"viewer", "tok"} {
		e.do("GET", "/api/v1/statements", f.token(actor, "records:read"), nil).must(t, 403)
		e.do("GET", "/api/v1/statements/export", f.token(actor, "records:read"), nil).must(t, 403)
		e.do("GET", "/api/v1/disputes", f.token(actor, "records:read"), nil).must(t, 403)
	}

	// Run jobs name every rep: admins and finance see them, nobody else —
	// not even their creator once demoted.
	for actor, n := range map[string]int{"admin": 1, "finance": 1, "mgr": 0, "mgr_other": 0, "owner": 0, "rep_other": 0, "viewer": 0} {
		got := 0
		for _, j := range e.do("GET", "/api/v1/jobs?limit=500", f.tok[actor], nil).must(t, 200).body["items"].([]any) {
			if j.(map[string]any)["kind"] == "commission_run" {
				got++
			}
		}
		if got != n {
			t.Errorf("%s lists %d run jobs, want %d", actor, got, n)
		}
	}
	finID, finTok := e.user("fin.demoted", "finance")
	job := f.run(finTok, "2026-06")
	e.do("PATCH", "/api/v1/users/"+finID, e.admin, map[string]any{"roles": []string{"rep"}}).must(t, 200)
	if js := e.do("GET", "/api/v1/jobs", finTok, nil).must(t, 200).body["items"].([]any); len(js) != 0 {
		t.Errorf("a demoted finance user still lists their run: %v", js)
	}
	e.do("GET", "/api/v1/jobs/"+job, finTok, nil).must(t, 404)
	e.do("GET", "/api/v1/commission-runs/"+job, finTok, nil).must(t, 403)

	// Holding the viewer role beside another does not open anyone's pay:
	// a rep who is also a viewer of east reads their own statements only,
	// and a manager of no team who is also a viewer of east approves and
	// resolves nothing there.
	both := func(name string, roles ...string) string {
		uid := e.do("POST", "/api/v1/users", e.admin, map[string]any{"username": name, "password": "password-" + name, "roles": roles}).must(t, 201).body["id"].(string)
		e.do("POST", "/api/v1/teams/"+f.east+"/members", e.admin, map[string]any{"userId": uid, "from": "2024-01-01"}).must(t, 201)
		return e.login(name, "password-"+name)
	}
	repViewer, mgrViewer := both("rep.viewer", "rep", "viewer"), both("mgr.viewer", "manager", "viewer")
	for _, tok := range []string{repViewer, mgrViewer} {
		if xs := e.do("GET", "/api/v1/statements?limit=500", tok, nil).must(t, 200).body["items"].([]any); len(xs) != 0 {
			t.Errorf("a viewer of east with another role lists %d statements of others", len(xs))
		}
		if n := len(exportReps(t, e.raw("GET", "/api/v1/statements/export", tok), "csv")); n != 0 {
			t.Errorf("a viewer of east with another role exports %d rows of others", n)
		}
		e.do("GET", "/api/v1/statements/"+f.stmt, tok, nil).must(t, 404)
		if xs := e.do("GET", "/api/v1/disputes", tok, nil).must(t, 200).body["items"].([]any); len(xs) != 0 {
			t.Errorf("a viewer of east with another role lists %d disputes", len(xs))
		}
	}
	e.do("POST", "/api/v1/statements/"+f.draftStatement()+"/approve", mgrViewer, nil).must(t, 404)
	e.do("POST", "/api/v1/disputes/"+f.openDispute()+"/resolve", mgrViewer, map[string]any{"decision": "reject", "reason": "x"}).must(t, 404)

	// A dispute is the rep's: their manager resolves it but does not raise it.
	e.do("POST", f.lineWithoutDispute(), f.tok["mgr"], map[string]any{"comment": "x"}).must(t, 403)
	e.do("POST", f.disputePath(), f.tok["owner"], map[string]any{"comment": "x"}).must(t, 201)
}

// exportReps reads a statement export and returns the 销售ID of each row.
func exportReps(t *testing.T, b []byte, format string) []string {
	t.Helper()
	var rows [][]string
	var err error
	if format == "xlsx" {
		x, err := excelize.OpenReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		rows, err = x.GetRows(commission.ExportSheet)
		if err != nil {
			t.Fatal(err)
		}
	} else if rows, err = csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF")))).ReadAll(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || len(rows[0]) < 6 || rows[0][5] != "销售ID" {
		t.Fatalf("export header %q", rows)
	}
	var out []string
	for _, r := range rows[1:] {
		out = append(out, r[5])
	}
	return out
}

// scorecardVisibility: a leaderboard shows the breakdown (items, explain)
// of exactly the rows the caller may see records of; boards of teams the
// caller may not open, and the company's for anyone but admins, finance and
// tokens, are refused; a manager awards only titles within their teams.
func scorecardVisibility(t *testing.T, f *authzFixture, visible func(actor, owner string) bool) {
	e, id := f.e, f.ids
	base := "/api/v1/scorecards/" + fixtureScorecard
	board := base + "/results?period=" + fixturePeriod + "&node=team:" + f.east
	for _, actor := range []string{"admin", "finance", "mgr", "owner", "rep_other", "viewer", "tok"} {
		r := e.do("GET", board, f.token(actor, "records:read"), nil).must(t, 200)
		rows := r.body["rows"].([]any)
		if len(rows) < 2 {
			t.Fatalf("east's board has %d rows: %s", len(rows), r.raw)
		}
		explained := false
		for _, row := range rows {
			row := row.(map[string]any)
			u := row["user"].(map[string]any)["id"].(string)
			want := visible(actor, u)
			// (explain is left out of a row without a score)
			if row["detail"] != want || (row["items"] != nil) != want || (row["explain"] != nil && !want) {
				t.Errorf("%s: the row of %s shows detail %v, items %v, explain %v; want the breakdown %v", actor, u, row["detail"], row["items"] != nil, row["explain"] != nil, want)
			}
			if row["explain"] != nil {
				explained = true
			}
		}
		if !explained {
			t.Errorf("%s: no row of east's board is explained: %s", actor, trim(r.raw))
		}
	}
	e.do("GET", board, f.tok["mgr_other"], nil).must(t, 404)
	for actor, want := range map[string]int{"mgr": 403, "mgr_other": 403, "owner": 403, "viewer": 403, "admin": 200, "finance": 200} {
		e.do("GET", base+"/results?period="+fixturePeriod+"&node=company", f.tok[actor], nil).must(t, want)
	}
	for _, p := range []string{"&node=user:" + id["rep.e2"], "&node=team:" + f.west} {
		e.do("GET", base+"/results?period="+fixturePeriod+p, f.tok["owner"], nil).must(t, 404)
	}
	e.do("GET", base+"/results?period="+fixturePeriod+"&node=user:"+id["rep.e1"], f.tok["mgr_other"], nil).must(t, 404)

	// A company-wide scorecard: no manager awards its titles.
	all := scorecardDef("", f.east)
	delete(all, "population")
	all["population"] = map[string]any{"roles": []any{"rep"}}
	e.do("PUT", "/api/v1/scorecards/kpi_all", e.admin, all).must(t, 200)
	e.do("POST", "/api/v1/scorecards/kpi_all/publish", e.admin, nil).must(t, 200)
	for _, actor := range []string{"mgr", "mgr_other"} {
		e.do("POST", "/api/v1/scorecards/kpi_all/awards", f.tok[actor], map[string]any{"period": fixturePeriod}).must(t, 403)
	}
	e.do("POST", "/api/v1/scorecards/kpi_all/awards", e.admin, map[string]any{"period": fixturePeriod}).must(t, 201)
	// Asking again is refused too, not answered with the stored award.
	e.do("POST", "/api/v1/scorecards/kpi_all/awards", f.tok["mgr"], map[string]any{"period": fixturePeriod}).must(t, 403)
	e.do("POST", base+"/awards", f.tok["mgr"], map[string]any{"period": fixturePeriod}).must(t, 200)
}

// nodeVisible says whether a target node key is one actor may see.
func nodeVisible(f *authzFixture, actor, key string, owner func(actor, owner string) bool) bool {
	kind, id, _ := strings.Cut(key, ":")
	switch kind {
	case "user":
		return owner(actor, id)
	case "team":
		switch actor {
		case "admin", "finance", "tok":
			return true
		case "mgr", "viewer":
			return id == f.east
		case "mgr_other":
			return id == f.west
		}
	case "company":
		return slices.Contains([]string{"admin", "finance", "tok"}, actor)
	}
	return false
}

const (
	securityDoc = "../../docs/security.md"
	docBegin    = "<!-- authz-matrix:begin (generated from engine/api/testdata/authz/matrix.txt by TestAuthzMatrixDoc; STRIDE_AUTHZ_WRITE_DOCS=1 rewrites it) -->"
	docEnd      = "<!-- authz-matrix:end -->"
)

// renderMatrix is the matrix as a Markdown table for docs/security.md.
func renderMatrix(rows []matrixRow) string {
	sym := map[string]string{"ok": "✓", "any": "✓", "403": "✗", "404": "hidden", "401": "401"}
	var b strings.Builder
	b.WriteString("| route | token scope | admin | manager (own team) | manager (other team) | rep (owner) | rep (other) | finance | viewer | token with scope | token without | signed out |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		cells := []string{"`" + r.method + " " + r.path + "`", r.scope}
		for _, a := range actors[:9] {
			cells = append(cells, sym[r.want[a]])
		}
		out := "401"
		if r.want["anon"] != "401" {
			out = "✓"
		}
		cells = append(cells, out)
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return b.String()
}

// TestAuthzMatrixDoc keeps the role table of docs/security.md equal to the matrix.
func TestAuthzMatrixDoc(t *testing.T) {
	doc, err := os.ReadFile(securityDoc)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, docBegin), strings.Index(s, docEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no generated matrix section (%s … %s)", securityDoc, docBegin, docEnd)
	}
	want := s[:i+len(docBegin)] + "\n" + renderMatrix(readMatrix(t)) + s[j:]
	if want == s {
		return
	}
	if os.Getenv("STRIDE_AUTHZ_WRITE_DOCS") != "" {
		if err := os.WriteFile(securityDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the role table of docs/security.md differs from %s: run STRIDE_AUTHZ_WRITE_DOCS=1 go test ./engine/api -run TestAuthzMatrixDoc", matrixFile)
}
