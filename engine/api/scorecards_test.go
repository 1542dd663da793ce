package api_test

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"stride/engine/api"
	"stride/engine/scorecard"
)

// newScoreEnv is newEnv with the scorecard service wired (as cmd/stride
// wires it: targets from the target plans).
func newScoreEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	a := open(t, dir)
	sc := scorecard.New(a.Objects, a.Tracker, a.Tenants)
	sc.SetTargets(a.Targets)
	d := deps(a)
	d.Scorecards = sc
	e := &env{t: t, srv: httptest.NewServer(api.New(d).Handler()), dir: dir, st: a.Store, auth: a.Auth}
	t.Cleanup(func() { e.srv.Close(); a.Store.Close() })
	e.admin = e.login("admin", adminPassword)
	return e
}

// scoreOrg is the worked example's org: 华东 (managed by mgr) with a, b, c
// and — joined after the target plan — e; 华西 with d and g. Every planned
// rep's March 2026 target of won revenue is 1,000,000 分.
type scoreOrg struct {
	east, west            string
	mgr, a, b, c, d, e, g string
	mgrTok, bTok, dTok    string
}

func setupScoreOrg(t *testing.T, e *env) scoreOrg {
	t.Helper()
	var o scoreOrg
	toks := map[string]string{}
	o.mgr, o.mgrTok = e.user("mgr.east", "manager")
	for _, n := range []string{"a", "b", "c", "d", "g"} {
		id, tok := e.user("rep."+n, "rep")
		toks[n] = tok
		switch n {
		case "a":
			o.a = id
		case "b":
			o.b, o.bTok = id, tok
		case "c":
			o.c = id
		case "d":
			o.d, o.dTok = id, tok
		case "g":
			o.g = id
		}
	}
	o.east = e.do("POST", "/api/v1/teams", e.admin, map[string]any{"name": "华东", "managers": []string{o.mgr}}).must(t, 201).body["id"].(string)
	o.west = e.do("POST", "/api/v1/teams", e.admin, map[string]any{"name": "华西"}).must(t, 201).body["id"].(string)
	for _, m := range [][2]string{{o.east, o.a}, {o.east, o.b}, {o.east, o.c}, {o.west, o.d}, {o.west, o.g}} {
		e.do("POST", "/api/v1/teams/"+m[0]+"/members", e.admin, map[string]any{"userId": m[1], "from": "2024-01-01"}).must(t, 201)
	}
	// Targets: 60,000,000 a year shared by potential: 华东 3, 华西 2, each rep
	// 1 → 12,000,000 a year, 1,000,000 a month (equal seasonality).
	nodes := map[string]any{"team:" + o.east: map[string]any{"inputs": map[string]any{"potential": 3}},
		"team:" + o.west: map[string]any{"inputs": map[string]any{"potential": 2}}}
	for _, u := range []string{o.a, o.b, o.c, o.d, o.g} {
		nodes["user:"+u] = map[string]any{"inputs": map[string]any{"potential": 1}}
	}
	plan := map[string]any{
		"label": map[string]any{"zh-CN": "2026 赢单目标"}, "metric": "won_revenue", "fiscalYear": 2026,
		"amounts": map[string]any{"target": 60_000_000}, "granularity": 100,
		"seasonality": map[string]any{"weights": []any{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		"attributes":  []any{}, "allocation": map[string]any{"formula": "potential.share"}, "nodes": nodes,
	}
	e.do("PUT", "/api/v1/target-plans/fy2026", e.admin, plan).must(t, 200)
	e.do("POST", "/api/v1/target-plans/fy2026/allocate", e.admin, map[string]any{"reason": "test"}).must(t, 200)
	// e joins 华东 after the plan: no target.
	var eTok string
	o.e, eTok = e.user("rep.e", "rep")
	e.do("POST", "/api/v1/teams/"+o.east+"/members", e.admin, map[string]any{"userId": o.e, "from": "2024-01-01"}).must(t, 201)
	toks["e"] = eTok

	win := func(tok string, amount int, day string) {
		id := e.do("POST", "/api/v1/records/deal", tok, map[string]any{"name": "d", "amount": amount, "customer": "c", "closeDate": day}).must(t, 201).body["id"].(string)
		for _, to := range []string{"qualified", "proposal", "won"} {
			e.do("POST", "/api/v1/records/deal/"+id+"/transition", tok, map[string]any{"to": to}).must(t, 200)
		}
	}
	win(toks["a"], 1_000_000, "2026-03-05")
	win(toks["a"], 300_000, "2026-03-28")
	win(toks["a"], 9_999_999, "2026-04-01") // April: not in March
	win(toks["b"], 800_000, "2026-03-10")
	win(toks["c"], 1_000_000, "2026-03-31")
	win(toks["d"], 1_100_000, "2026-03-15")
	win(toks["g"], 1_100_000, "2026-03-16")
	win(toks["e"], 500_000, "2026-03-20")

	// The rating form: a manager rates attitude 1–5 per rep and month.
	e.do("PUT", "/api/v1/objects/kpi_rating", e.admin, map[string]any{
		"label": map[string]any{"zh-CN": "绩效评分", "en": "KPI rating"},
		"schema": map[string]any{"type": "object", "required": []string{"user", "period", "attitude"}, "properties": map[string]any{
			"user":     map[string]any{"type": "string", "minLength": 1},
			"period":   map[string]any{"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
			"attitude": map[string]any{"type": "integer", "minimum": 1, "maximum": 5},
			"comment":  map[string]any{"type": "string"},
		}},
	}).must(t, 200)
	e.do("POST", "/api/v1/objects/kpi_rating/publish", e.admin, nil).must(t, 200)
	for _, r := range []struct {
		user, period string
		v            int
	}{{o.a, "2026-03", 5}, {o.a, "2026-03", 4}, {o.b, "2026-03", 3}, {o.d, "2026-03", 5}, {o.g, "2026-03", 5}, {o.e, "2026-03", 4},
		{o.c, "2026-02", 1}} { // February's rating of c does not count in March
		e.do("POST", "/api/v1/records/kpi_rating", o.mgrTok, map[string]any{"user": r.user, "period": r.period, "attitude": r.v}).must(t, 201)
	}
	return o
}

func kpiDef() map[string]any {
	return map[string]any{
		"label":      map[string]any{"zh-CN": "月度销售考核", "en": "Monthly sales KPI"},
		"grain":      "month",
		"population": map[string]any{"roles": []any{"rep"}},
		"items": []any{
			map[string]any{"key": "revenue", "label": map[string]any{"zh-CN": "赢单达成", "en": "Won revenue"}, "weight": 70, "cap": 120,
				"type": "attainment", "metric": "won_revenue"},
			map[string]any{"key": "attitude", "label": map[string]any{"zh-CN": "工作态度", "en": "Attitude"}, "weight": 20, "type": "rating",
				"object": "kpi_rating", "field": "attitude", "userField": "user", "periodField": "period", "scale": map[string]any{"min": 1, "max": 5}},
			map[string]any{"key": "balance", "label": map[string]any{"zh-CN": "均衡", "en": "Balance"}, "weight": 10, "type": "expr",
				"formula": "min(score.revenue, 100) * 0.5 + score.attitude * 0.5"},
		},
		"grades": []any{map[string]any{"grade": "S", "min": 110}, map[string]any{"grade": "A", "min": 100},
			map[string]any{"grade": "B", "min": 80}, map[string]any{"grade": "C", "min": 60}},
		"fallbackGrade": "D",
		"recognition": []any{
			map[string]any{"key": "star", "title": map[string]any{"zh-CN": "月度之星", "en": "Star of the month"}, "top": 1},
			map[string]any{"key": "excellence", "title": map[string]any{"zh-CN": "卓越奖", "en": "Excellence"}, "top": 3, "minScore": 100},
		},
	}
}

type lbRow struct {
	name, grade string
	rank        int // 0: none
	score       float64
	titles      []string
	detail      bool
	raw         map[string]any
}

func lbRows(t *testing.T, r resp) []lbRow {
	t.Helper()
	var out []lbRow
	for _, x := range r.body["rows"].([]any) {
		m := x.(map[string]any)
		row := lbRow{name: m["user"].(map[string]any)["name"].(string), detail: m["detail"].(bool), raw: m}
		if m["rank"] != nil {
			row.rank = int(m["rank"].(float64))
			row.score = m["score"].(float64)
			row.grade = m["grade"].(string)
		}
		for _, tt := range m["titles"].([]any) {
			row.titles = append(row.titles, tt.(map[string]any)["key"].(string))
		}
		out = append(out, row)
	}
	return out
}

func item(row lbRow, key string) map[string]any {
	for _, it := range row.raw["items"].([]any) {
		if m := it.(map[string]any); m["key"] == key {
			return m
		}
	}
	return nil
}

// TestScorecardLeaderboard is the worked example (scores by hand):
//
//	a: won 1,300,000 of 1,000,000 → 130 % → capped 120; attitude (5+4)/2 = 4.5 → 87.5;
//	   balance = min(120, 100) × 0.5 + 87.5 × 0.5 = 93.75;
//	   (70 × 120 + 20 × 87.5 + 10 × 93.75) ÷ 100 = 110.875 → 110.88 (half-even) → S
//	d, g: 110 % → 110; attitude 5 → 100; balance 100; (7700 + 2000 + 1000) ÷ 100 = 107 → A (tied)
//	c: 100 %; no March rating (February's does not count) → attitude and balance
//	   (which reads it) have no score; 70 × 100 ÷ 70 = 100 → A
//	e: joined after the plan → no target: revenue and balance have no score;
//	   attitude 4 → 75; 20 × 75 ÷ 20 = 75 → C
//	b: 80 %; attitude 3 → 50; balance 65; (5600 + 1000 + 650) ÷ 100 = 72.5 → C
//
// Company ranking (competition): a 1, d 2, g 2, c 4, e 5, b 6. Titles: star
// (top 1) → a; excellence (top 3, ≥ 100) → a, d, g.
func TestScorecardLeaderboard(t *testing.T) {
	e := newScoreEnv(t)
	o := setupScoreOrg(t, e)
	base := "/api/v1/scorecards/sales_kpi"
	e.do("PUT", base, e.admin, kpiDef()).must(t, 200)
	// A draft has no leaderboard.
	e.do("GET", base+"/results?period=2026-03", e.admin, nil).must(t, 422)
	e.do("POST", base+"/publish", e.admin, nil).must(t, 200)

	r := e.do("GET", base+"/results?period=2026-03&node=company", e.admin, nil).must(t, 200)
	rows := lbRows(t, r)
	type want struct {
		name   string
		rank   int
		score  float64
		grade  string
		titles []string
	}
	wants := []want{
		{"rep.a", 1, 110.88, "S", []string{"star", "excellence"}},
		{"rep.d", 2, 107, "A", []string{"excellence"}},
		{"rep.g", 2, 107, "A", []string{"excellence"}},
		{"rep.c", 4, 100, "A", nil},
		{"rep.e", 5, 75, "C", nil},
		{"rep.b", 6, 72.5, "C", nil},
	}
	if len(rows) != len(wants) {
		t.Fatalf("%d rows (the manager and admin are not in the population): %s", len(rows), r.raw)
	}
	for i, w := range wants {
		g := rows[i]
		if g.name != w.name || g.rank != w.rank || g.score != w.score || g.grade != w.grade || !slices.Equal(g.titles, w.titles) || !g.detail {
			t.Fatalf("row %d: %+v, want %+v", i, g, w)
		}
	}
	if r.body["ranking"] != "competition" || r.body["provisionalTitles"] != true || r.body["awarded"] != nil {
		t.Fatalf("header: %s", r.raw)
	}
	a := rows[0]
	if rev := item(a, "revenue"); num(rev["actual"]) != 1_300_000 || num(rev["target"]) != 1_000_000 || rev["attainment"].(float64) != 1.3 ||
		rev["raw"].(float64) != 130 || rev["score"].(float64) != 120 || rev["capped"] != true || rev["share"].(float64) != 0.7 {
		t.Fatalf("a's revenue: %v", rev)
	}
	if at := item(a, "attitude"); at["rating"].(float64) != 4.5 || num(at["ratings"]) != 2 || at["score"].(float64) != 87.5 {
		t.Fatalf("a's attitude: %v", at)
	}
	if bal := item(a, "balance"); bal["score"].(float64) != 93.75 || bal["inputs"].(map[string]any)["score.attitude"].(float64) != 87.5 {
		t.Fatalf("a's balance: %v", bal)
	}
	if a.raw["explain"] != "(70 × 120 + 20 × 87.5 + 10 × 93.75) ÷ 100 = 110.88" {
		t.Fatalf("explain %v", a.raw["explain"])
	}
	c := rows[3]
	if at := item(c, "attitude"); at["score"] != nil || at["reason"] != "no_rating" || at["share"] != nil {
		t.Fatalf("c's attitude: %v", at)
	}
	if bal := item(c, "balance"); bal["score"] != nil || bal["reason"] != "input_missing" {
		t.Fatalf("c's balance: %v", bal)
	}
	if rev := item(rows[4], "revenue"); rev["score"] != nil || rev["reason"] != "no_target" || num(rev["actual"]) != 500_000 {
		t.Fatalf("e's revenue: %v", rev)
	}

	// A team's leaderboard ranks within the team; titles follow the company's.
	r = e.do("GET", base+"/results?period=2026-03&node=team:"+o.east, o.mgrTok, nil).must(t, 200)
	rows = lbRows(t, r)
	var got []string
	for _, g := range rows {
		got = append(got, g.name)
		if !g.detail {
			t.Fatalf("the manager sees the breakdown of the team: %+v", g)
		}
		if g.rank == 0 {
			t.Fatalf("unranked: %+v", g)
		}
	}
	if !slices.Equal(got, []string{"rep.a", "rep.c", "rep.e", "rep.b"}) || rows[1].rank != 2 || num(rows[1].raw["overallRank"]) != 4 {
		t.Fatalf("east: %s", r.raw)
	}
	e.do("GET", base+"/results?period=2026-03&node=team:"+o.west, o.mgrTok, nil).must(t, 404)

	// A rep sees their team's leaderboard (by default) with everyone's rank,
	// score and grade but only their own breakdown; not another team, not
	// the company.
	r = e.do("GET", base+"/results?period=2026-03", o.bTok, nil).must(t, 200)
	if n := r.body["node"].(map[string]any); n["id"] != o.east {
		t.Fatalf("a rep's default node is their team: %v", n)
	}
	for _, g := range lbRows(t, r) {
		if g.detail != (g.name == "rep.b") || (g.raw["items"] != nil) != g.detail || (g.raw["explain"] != nil) != g.detail {
			t.Fatalf("breakdown visibility for rep.b: %+v", g)
		}
		if g.rank == 0 {
			t.Fatalf("others' ranks are visible: %+v", g)
		}
	}
	e.do("GET", base+"/results?period=2026-03&node=team:"+o.west, o.bTok, nil).must(t, 404)
	e.do("GET", base+"/results?period=2026-03&node=company", o.bTok, nil).must(t, 403)
	e.do("GET", base+"/results?period=2026-03&node=user:"+o.a, o.bTok, nil).must(t, 404)
	e.do("GET", base+"/results?period=2026-03&node=team:"+o.west, o.dTok, nil).must(t, 200)

	// Periods: another grain or a malformed key is a 400 with a pointer.
	for _, p := range []string{"2026-Q1", "2026", "march"} {
		bad := e.do("GET", base+"/results?period="+p, e.admin, nil).must(t, 400)
		if !slices.Equal(bad.pointers(), []string{"/query/period"}) {
			t.Fatalf("period %s: %s", p, bad.raw)
		}
	}
	e.do("GET", base+"/results?period=2026-03&node=nowhere", e.admin, nil).must(t, 400)
	e.do("GET", "/api/v1/scorecards/nope/results?period=2026-03", e.admin, nil).must(t, 404)
	// Another month: no won deals in February, c's February rating.
	feb := lbRows(t, e.do("GET", base+"/results?period=2026-02&node=company", e.admin, nil).must(t, 200))
	for _, g := range feb {
		if g.name == "rep.c" && (g.score != 0 || g.grade != "D" || g.rank != 1) {
			// c: revenue 0 % → 0; attitude 1 → 0; balance 0 → 0 → D; everyone else ties at 0 too.
			t.Fatalf("february c: %+v", g)
		}
	}
}

// TestScorecardAwards: titles of a closed period are awarded once by an
// admin (or a manager whose teams hold the whole population), listed, and
// shown on the leaderboard from then on.
func TestScorecardAwards(t *testing.T) {
	e := newScoreEnv(t)
	o := setupScoreOrg(t, e)
	base := "/api/v1/scorecards/sales_kpi"
	e.do("PUT", base, e.admin, kpiDef()).must(t, 200)
	e.do("POST", base+"/publish", e.admin, nil).must(t, 200)

	e.do("POST", base+"/awards", o.bTok, map[string]any{"period": "2026-03"}).must(t, 403)
	bad := e.do("POST", base+"/awards", e.admin, map[string]any{}).must(t, 422)
	if !slices.Equal(bad.pointers(), []string{"/period"}) {
		t.Fatalf("missing period: %s", bad.raw)
	}
	e.do("POST", base+"/awards", e.admin, map[string]any{"period": "2026-Q1"}).must(t, 400)
	// The current month has not ended.
	sh, _ := time.LoadLocation("Asia/Shanghai")
	open := e.do("POST", base+"/awards", e.admin, map[string]any{"period": time.Now().In(sh).Format("2006-01")}).must(t, 409)
	if open.body["code"] != "period_open" {
		t.Fatalf("open period: %s", open.raw)
	}

	// The population is company-wide (east and west): not east's manager's to award.
	e.do("POST", base+"/awards", o.mgrTok, map[string]any{"period": "2026-03"}).must(t, 403)
	first := e.do("POST", base+"/awards", e.admin, map[string]any{"period": "2026-03"}).must(t, 201)
	aw := first.body["award"].(map[string]any)
	var winners []string
	for _, w := range aw["winners"].([]any) {
		w := w.(map[string]any)
		var ts []string
		for _, tt := range w["titles"].([]any) {
			ts = append(ts, tt.(map[string]any)["key"].(string))
		}
		winners = append(winners, w["user"].(map[string]any)["name"].(string)+":"+strings.Join(ts, "+"))
	}
	if !slices.Equal(winners, []string{"rep.a:star+excellence", "rep.d:excellence", "rep.g:excellence"}) || first.body["created"] != true {
		t.Fatalf("winners %v: %s", winners, first.raw)
	}
	// Idempotent: the same award, not a new one — even after the data changes.
	e.do("POST", "/api/v1/records/kpi_rating", o.mgrTok, map[string]any{"user": o.c, "period": "2026-03", "attitude": 5}).must(t, 201)
	again := e.do("POST", base+"/awards", e.admin, map[string]any{"period": "2026-03"}).must(t, 200)
	if again.body["created"] != false || again.body["award"].(map[string]any)["at"] != aw["at"] || len(again.body["award"].(map[string]any)["winners"].([]any)) != 3 {
		t.Fatalf("second award: %s", again.raw)
	}
	list := e.do("GET", base+"/awards", o.bTok, nil).must(t, 200)
	if items := list.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["period"] != "2026-03" {
		t.Fatalf("awards: %s", list.raw)
	}
	// The leaderboard now shows the stored titles; c's late rating moves the
	// live scores (c: attitude 100, balance 100 → 100) but not the titles.
	r := e.do("GET", base+"/results?period=2026-03&node=company", e.admin, nil).must(t, 200)
	if r.body["awarded"] == nil || r.body["provisionalTitles"] != false {
		t.Fatalf("awarded header: %s", r.raw)
	}
	for _, g := range lbRows(t, r) {
		switch g.name {
		case "rep.a":
			if !slices.Equal(g.titles, []string{"star", "excellence"}) {
				t.Fatalf("a: %+v", g)
			}
		case "rep.c":
			if len(g.titles) != 0 || g.score != 100 {
				t.Fatalf("c keeps no title: %+v", g)
			}
		}
	}
	// The audit log has it.
	au := e.do("GET", "/api/v1/audit", e.admin, nil).must(t, 200)
	if !strings.Contains(au.raw, "scorecard.award") {
		t.Fatalf("audit: %s", au.raw)
	}
}

// TestScorecardBadDefinitions: every mistake is a 422 with a pointer (and
// nothing is saved).
func TestScorecardBadDefinitions(t *testing.T) {
	e := newScoreEnv(t)
	setupScoreOrg(t, e)
	base := "/api/v1/scorecards/sales_kpi"
	items := func(d map[string]any) []any { return d["items"].([]any) }
	it := func(d map[string]any, i int) map[string]any { return items(d)[i].(map[string]any) }
	for _, tc := range []struct {
		name    string
		mut     func(map[string]any)
		pointer string
		code    string
		hint    string
	}{
		{"unknown metric", func(d map[string]any) { it(d, 0)["metric"] = "won_revenu" }, "/items/0/metric", "unknown_metric", "did you mean won_revenue?"},
		{"unsorted grades", func(d map[string]any) {
			d["grades"] = []any{map[string]any{"grade": "B", "min": 80}, map[string]any{"grade": "A", "min": 100}}
		}, "/grades/1/min", "grades_order", ""},
		{"negative weight", func(d map[string]any) { it(d, 1)["weight"] = -5 }, "/items/1/weight", "minimum", ""},
		{"formula type error", func(d map[string]any) { it(d, 2)["formula"] = `score.revenue + "points"` }, "/items/2/formula", "formula_type_error", ""},
		{"formula unknown item", func(d map[string]any) { it(d, 2)["formula"] = `score.revnue` }, "/items/2/formula", "formula_unknown_name", ""},
		{"unknown object", func(d map[string]any) { it(d, 1)["object"] = "rating_form" }, "/items/1/object", "unknown_object", ""},
		{"rating field not a number", func(d map[string]any) { it(d, 1)["field"] = "comment" }, "/items/1/field", "wrong_field_type", ""},
		{"unknown user field", func(d map[string]any) { it(d, 1)["userField"] = "usr" }, "/items/1/userField", "unknown_field", "did you mean user?"},
		{"scale upside down", func(d map[string]any) { it(d, 1)["scale"] = map[string]any{"min": 5, "max": 1} }, "/items/1/scale/max", "scale_order", ""},
		{"unknown team", func(d map[string]any) { d["population"] = map[string]any{"teams": []any{"t_nope"}} }, "/population/teams/0", "unknown_team", ""},
		{"unknown property", func(d map[string]any) { d["weights"] = 1 }, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := kpiDef()
			tc.mut(d)
			r := e.do("PUT", base, e.admin, d).must(t, 422)
			if tc.pointer == "" {
				return
			}
			for _, x := range r.body["errors"].([]any) {
				fe := x.(map[string]any)
				if fe["pointer"] == tc.pointer && fe["code"] == tc.code {
					if tc.hint != "" && fe["hint"] != tc.hint {
						t.Fatalf("hint %v, want %s", fe["hint"], tc.hint)
					}
					return
				}
			}
			t.Fatalf("want %s at %s: %s", tc.code, tc.pointer, r.raw)
		})
	}
	e.do("GET", base, e.admin, nil).must(t, 404)
	// A rep cannot save one; anyone signed in can list them.
	_, repTok := e.user("rep.x", "rep")
	e.do("PUT", base, repTok, kpiDef()).must(t, 403)
	e.do("PUT", base, e.admin, kpiDef()).must(t, 200)
	if l := e.do("GET", "/api/v1/scorecards", repTok, nil).must(t, 200); len(l.body["items"].([]any)) != 1 {
		t.Fatalf("list: %s", l.raw)
	}
}
