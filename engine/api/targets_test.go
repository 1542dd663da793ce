package api_test

import (
	"fmt"
	"strings"
	"testing"
)

// targetOrg is two regions, three reps and last year's won deals:
// 华东 (managed by mgr) with a1 (4,000,000 分 won in 2025) and a2 (1,000,000),
// 华南 with b1 (5,000,000).
type targetOrg struct {
	east, south          string
	mgr, a1, a2, b1      string
	mgrTok, a1Tok, b1Tok string
}

func setupTargetOrg(t *testing.T, e *env) targetOrg {
	t.Helper()
	var o targetOrg
	o.mgr, o.mgrTok = e.user("mgr.east", "manager")
	var a2Tok string
	o.a1, o.a1Tok = e.user("rep.a1", "rep")
	o.a2, a2Tok = e.user("rep.a2", "rep")
	o.b1, o.b1Tok = e.user("rep.b1", "rep")
	o.east = e.do("POST", "/api/v1/teams", e.admin, map[string]any{"name": "华东", "managers": []string{o.mgr}}).must(t, 201).body["id"].(string)
	o.south = e.do("POST", "/api/v1/teams", e.admin, map[string]any{"name": "华南"}).must(t, 201).body["id"].(string)
	for _, m := range [][2]string{{o.east, o.a1}, {o.east, o.a2}, {o.south, o.b1}} {
		e.do("POST", "/api/v1/teams/"+m[0]+"/members", e.admin, map[string]any{"userId": m[1], "from": "2024-01-01"}).must(t, 201)
	}
	win := func(tok string, amount int, day string) {
		id := e.do("POST", "/api/v1/records/deal", tok, map[string]any{"name": "d", "amount": amount, "customer": "c", "closeDate": day}).must(t, 201).body["id"].(string)
		for _, to := range []string{"qualified", "proposal", "won"} {
			e.do("POST", "/api/v1/records/deal/"+id+"/transition", tok, map[string]any{"to": to}).must(t, 200)
		}
	}
	win(o.a1Tok, 4000000, "2025-03-10")
	win(a2Tok, 1000000, "2025-11-02")
	win(o.b1Tok, 5000000, "2025-06-30")
	return o
}

func planDef(o targetOrg) map[string]any {
	return map[string]any{
		"label":       map[string]any{"zh-CN": "2026 赢单目标", "en": "2026 won revenue"},
		"metric":      "won_revenue",
		"fiscalYear":  2026,
		"amounts":     map[string]any{"floor": 800_000_000, "target": 1_000_000_000, "stretch": 1_200_000_000},
		"granularity": 1_000_000,
		"seasonality": map[string]any{"weights": []any{1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 2, 1}},
		"attributes":  []any{},
		"allocation": map[string]any{
			"formula": "0.6 * history.share + 0.4 * potential.share",
			"levels":  []any{map[string]any{"depth": 2, "formula": "history.share"}},
		},
		"nodes": map[string]any{
			"team:" + o.east:  map[string]any{"inputs": map[string]any{"potential": 3}},
			"team:" + o.south: map[string]any{"inputs": map[string]any{"potential": 1}},
		},
	}
}

func num(v any) int64 { return int64(v.(float64)) }

// sumChildren checks that a tree's children sum to its node, for the
// period asked.
func sumChildren(t *testing.T, r resp) int64 {
	t.Helper()
	node := r.body["node"].(map[string]any)
	var sum int64
	for _, c := range r.body["children"].([]any) {
		sum += num(c.(map[string]any)["amount"])
	}
	if sum != num(node["amount"]) {
		t.Fatalf("children sum to %d, node %s has %d: %s", sum, node["key"], num(node["amount"]), r.raw)
	}
	return sum
}

// TestTargetPlanLifecycle: an annual target is decomposed over regions and
// reps exactly, explained, published as a version, locked by the region's
// manager with the siblings re-spread (previewed first), diffed, and its
// bottom-up proposals accepted.
func TestTargetPlanLifecycle(t *testing.T) {
	e := newEnv(t)
	o := setupTargetOrg(t, e)
	base := "/api/v1/target-plans/fy2026"
	e.do("PUT", base, e.admin, planDef(o)).must(t, 200)

	// Preview: 0.6 × history.share + 0.4 × potential.share over the regions.
	// History: east 5,000,000 / south 5,000,000 → 0.5 / 0.5; potential 3:1 →
	// 0.75 / 0.25; weights 0.6 and 0.4 → east 60%, south 40% of 1e9.
	pv := e.do("POST", base+"/allocate?dryRun=true", e.admin, nil).must(t, 200)
	if sumChildren(t, pv) != 1_000_000_000 {
		t.Fatal("root amount")
	}
	kids := map[string]map[string]any{}
	for _, c := range pv.body["children"].([]any) {
		kids[c.(map[string]any)["key"].(string)] = c.(map[string]any)
	}
	eastRow := kids["team:"+o.east]
	if got := num(eastRow["amount"]); got != 600_000_000 {
		t.Fatalf("east gets %d, want 600,000,000: %s", got, pv.raw)
	}
	ex := eastRow["explain"].(map[string]any)
	if ex["formula"] != "0.6 * history.share + 0.4 * potential.share" || ex["rule"] != "formula" {
		t.Fatalf("explanation %v", ex)
	}
	in := ex["inputs"].(map[string]any)
	if h := in["history"].(map[string]any); h["value"].(float64) != 5000000 || h["share"].(float64) != 0.5 {
		t.Fatalf("history input %v", h)
	}
	if p := in["potential"].(map[string]any)["share"].(float64); p != 0.75 {
		t.Fatalf("potential share %v", p)
	}
	// Nothing published yet: the tree of the version in force is a 422.
	e.do("GET", base+"/tree", e.admin, nil).must(t, 422)

	// Publish: version 1.
	e.do("POST", base+"/allocate", e.admin, map[string]any{}).must(t, 200)
	// Every period sums exactly: quarter, month, and a week that spans two
	// months (2026-W05: Jan 26 – Feb 1).
	for _, per := range []string{"2026", "2026-Q3", "2026-03", "2026-W05"} {
		tr := e.do("GET", base+"/tree?period="+per, e.admin, nil).must(t, 200)
		sumChildren(t, tr)
		tr = e.do("GET", base+"/tree?period="+per+"&node=team:"+o.east, e.admin, nil).must(t, 200)
		sumChildren(t, tr)
	}
	// Progress takes its targets from the version in force.
	pg := e.do("GET", "/api/v1/progress?metric=won_revenue&period=2026&node=team:"+o.east, e.admin, nil).must(t, 200)
	if n := pg.body["node"].(map[string]any); num(n["target"]) != 600_000_000 || n["attainment"] == nil || n["expected"] == nil {
		t.Fatalf("progress target: %s", pg.raw)
	}
	for _, c := range pg.body["children"].([]any) {
		c := c.(map[string]any)
		if c["node"].(map[string]any)["id"] == o.a1 && num(c["target"]) != 480_000_000 {
			t.Fatalf("a1's progress target: %v", c)
		}
	}
	pq := e.do("GET", "/api/v1/progress?metric=won_revenue&period=2026-Q3&node=team:"+o.east+"&level=stretch", e.admin, nil).must(t, 200)
	if pq.body["node"].(map[string]any)["target"] == nil {
		t.Fatalf("stretch target for a quarter: %s", pq.raw)
	}
	// Reps under east by history.share (depth 2): a1 4/5, a2 1/5 of 600,000,000.
	tr := e.do("GET", base+"/tree?node=team:"+o.east, o.mgrTok, nil).must(t, 200)
	reps := map[string]int64{}
	for _, c := range tr.body["children"].([]any) {
		reps[c.(map[string]any)["key"].(string)] = num(c.(map[string]any)["amount"])
	}
	if reps["user:"+o.a1] != 480_000_000 || reps["user:"+o.a2] != 120_000_000 {
		t.Fatalf("reps %v", reps)
	}
	// Seasonality: March weighs 2 of 14 → the root's March is 1e9 × 2/14,
	// rounded to the granularity by largest remainder.
	m := e.do("GET", base+"/tree?period=2026-03", e.admin, nil).must(t, 200)
	if got := num(m.body["node"].(map[string]any)["amount"]); got != 143_000_000 {
		t.Fatalf("March %d", got)
	}
	// Without a node, each sees the highest node they may: a manager their region.
	if k := e.do("GET", base+"/tree", o.mgrTok, nil).must(t, 200).body["node"].(map[string]any)["key"]; k != "team:"+o.east {
		t.Fatalf("manager's default node %v", k)
	}
	if k := e.do("GET", base+"/tree", o.a1Tok, nil).must(t, 200).body["node"].(map[string]any)["key"]; k != "user:"+o.a1 {
		t.Fatalf("rep's default node %v", k)
	}
	// Visibility: a rep sees their own node, not the region's.
	e.do("GET", base+"/tree?node=team:"+o.east, o.a1Tok, nil).must(t, 404)
	e.do("GET", base+"/tree?node=user:"+o.a1, o.a1Tok, nil).must(t, 200)

	// The manager previews a lock on a1: a2 takes the rest of east.
	lock := map[string]any{"node": "user:" + o.a1, "amount": 400_000_000, "reason": "a1 接手的客户减少", "dryRun": true}
	dry := e.do("POST", base+"/locks", o.mgrTok, lock).must(t, 200)
	ch := map[string]int64{}
	for _, c := range dry.body["changes"].(map[string]any)["target"].([]any) {
		ch[c.(map[string]any)["key"].(string)] = num(c.(map[string]any)["new"])
	}
	if ch["user:"+o.a1] != 400_000_000 || ch["user:"+o.a2] != 200_000_000 || len(ch) != 2 {
		t.Fatalf("dry-run changes %v", ch)
	}
	if h := e.do("GET", base+"/history", e.admin, nil).must(t, 200); len(h.body["items"].([]any)) != 1 {
		t.Fatal("a dry run saved a version")
	}
	// Reps may not lock; the manager may not lock outside their teams; a
	// lock above the parent shows the numbers; no reason, no version.
	lock["dryRun"] = false
	e.do("POST", base+"/locks", o.a1Tok, lock).must(t, 403)
	e.do("POST", base+"/locks", o.mgrTok, map[string]any{"node": "user:" + o.b1, "amount": 1_000_000, "reason": "x"}).must(t, 403)
	big := e.do("POST", base+"/locks", o.mgrTok, map[string]any{"node": "user:" + o.a1, "amount": 700_000_000, "reason": "x"}).must(t, 422)
	if big.body["code"] != "lock_exceeds_parent" || !strings.Contains(big.raw, "700,000,000") {
		t.Fatalf("impossible lock: %s", big.raw)
	}
	e.do("POST", base+"/locks", o.mgrTok, map[string]any{"node": "user:" + o.a1, "amount": 400_000_000}).must(t, 422)
	e.do("POST", base+"/locks", o.mgrTok, lock).must(t, 200)
	tr = e.do("GET", base+"/tree?node=team:"+o.east, o.mgrTok, nil).must(t, 200)
	sumChildren(t, tr)
	for _, c := range tr.body["children"].([]any) {
		c := c.(map[string]any)
		if c["key"] == "user:"+o.a1 && (num(c["amount"]) != 400_000_000 || c["explain"].(map[string]any)["rule"] != "locked" || num(c["lock"]) != 400_000_000) {
			t.Fatalf("locked row %v", c)
		}
	}
	// History and diff.
	h := e.do("GET", base+"/history", e.admin, nil).must(t, 200).body["items"].([]any)
	if len(h) != 2 || h[1].(map[string]any)["reason"] != "a1 接手的客户减少" || h[1].(map[string]any)["author"] != o.mgr {
		t.Fatalf("history %v", h)
	}
	d := e.do("GET", base+"/diff?from=1&to=2", e.admin, nil).must(t, 200)
	moved := d.body["nodes"].(map[string]any)["target"].([]any)
	if len(moved) != 2 || num(moved[0].(map[string]any)["delta"]) != 80_000_000 && num(moved[0].(map[string]any)["delta"]) != -80_000_000 {
		t.Fatalf("diff %s", d.raw)
	}
	if !strings.Contains(d.raw, "/nodes/user:"+o.a1+"/locks/target") {
		t.Fatalf("definition diff does not name the lock: %s", d.raw)
	}

	// Bottom-up: the manager proposes 250,000,000 for a2; the gap shows;
	// accepting makes it a lock in a new version.
	e.do("POST", base+"/proposals", o.mgrTok, map[string]any{"node": "user:" + o.a2, "amounts": map[string]any{"target": 250_000_000}, "note": "a2 新签大客户"}).must(t, 200)
	ps := e.do("GET", base+"/proposals", o.mgrTok, nil).must(t, 200).body["items"].([]any)
	if len(ps) != 1 || num(ps[0].(map[string]any)["gap"].(map[string]any)["target"]) != 50_000_000 {
		t.Fatalf("proposals %v", ps)
	}
	// a1 and a2 are both locked now and their locks (650,000,000) exceed east.
	acc := e.do("POST", base+"/proposals/accept", e.admin, map[string]any{"nodes": []any{"user:" + o.a2}, "reason": "接受自下而上"}).must(t, 422)
	if acc.body["code"] != "lock_exceeds_parent" && acc.body["code"] != "locks_below_parent" {
		t.Fatalf("accept over the parent: %s", acc.raw)
	}
	e.do("POST", base+"/locks", e.admin, map[string]any{"node": "user:" + o.a1, "amount": nil, "reason": "解锁"}).must(t, 200)
	e.do("POST", base+"/proposals/accept", e.admin, map[string]any{"nodes": []any{"user:" + o.a2}, "reason": "接受自下而上"}).must(t, 200)
	tr = e.do("GET", base+"/tree?node=team:"+o.east, e.admin, nil).must(t, 200)
	for _, c := range tr.body["children"].([]any) {
		c := c.(map[string]any)
		if c["key"] == "user:"+o.a2 && num(c["amount"]) != 250_000_000 {
			t.Fatalf("accepted proposal not in force: %v", c)
		}
	}
	if ps := e.do("GET", base+"/proposals", e.admin, nil).must(t, 200).body["items"].([]any); len(ps) != 0 {
		t.Fatalf("accepted proposal still open: %v", ps)
	}
	// Levels: floor and stretch are allocated by the same rules.
	for _, lv := range []string{"floor", "stretch"} {
		r := e.do("GET", base+"/tree?level="+lv, e.admin, nil).must(t, 200)
		sumChildren(t, r)
	}
}

// TestTargetPlanErrors: every kind of bad plan is a 422 naming the problem,
// and nothing is saved.
func TestTargetPlanErrors(t *testing.T) {
	e := newEnv(t)
	o := setupTargetOrg(t, e)
	base := "/api/v1/target-plans/bad"
	cases := []struct {
		name    string
		change  func(map[string]any)
		pointer string
		code    string
	}{
		{"unknown metric", func(d map[string]any) { d["metric"] = "won_revenu" }, "/metric", "unknown_metric"},
		{"granularity", func(d map[string]any) { d["granularity"] = 300_000_000 }, "/amounts/floor", "not_multiple"},
		{"formula type", func(d map[string]any) { d["allocation"].(map[string]any)["formula"] = "history + 1" }, "/allocation/formula", ""},
		{"unknown input", func(d map[string]any) { d["allocation"].(map[string]any)["formula"] = "potentail.share" }, "/allocation/formula", ""},
		{"negative weight", func(d map[string]any) {
			d["allocation"].(map[string]any)["formula"] = "potential.value - 2"
		}, "/nodes/team:" + o.south, "negative_weight"},
		{"zero weights", func(d map[string]any) { d["allocation"].(map[string]any)["formula"] = "0" }, "", "zero_weights"},
		{"floors above parent", func(d map[string]any) {
			d["nodes"].(map[string]any)["user:"+o.a1] = map[string]any{"floor": 700_000_000}
		}, "", "floors_exceed_parent"},
		{"unknown node", func(d map[string]any) {
			d["nodes"].(map[string]any)["user:nobody"] = map[string]any{"floor": 1_000_000}
		}, "/nodes/user:nobody", "unknown_node"},
		{"floor above target", func(d map[string]any) {
			d["amounts"].(map[string]any)["floor"] = 1_100_000_000
		}, "/amounts/floor", "level_order"},
		{"bad period", func(d map[string]any) { d["allocation"].(map[string]any)["historyPeriod"] = "2025-Q5" }, "/allocation/historyPeriod", "period"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := planDef(o)
			c.change(d)
			r := e.do("PUT", base, e.admin, d).must(t, 422)
			fe := r.firstError()
			if fe == nil || (c.pointer != "" && fe["pointer"] != c.pointer) || (c.code != "" && fe["code"] != c.code) {
				t.Fatalf("want %s %s, got %s", c.pointer, c.code, r.raw)
			}
		})
	}
	e.do("GET", base, e.admin, nil).must(t, 404)
	// All-zero weights are allowed when the plan opts into equal split.
	d := planDef(o)
	d["allocation"].(map[string]any)["formula"] = "0"
	d["allocation"].(map[string]any)["equalSplitOnZero"] = true
	e.do("PUT", base, e.admin, d).must(t, 200)
	pv := e.do("POST", base+"/allocate?dryRun=true", e.admin, nil).must(t, 200)
	for _, c := range pv.body["children"].([]any) {
		if got := num(c.(map[string]any)["amount"]); got != 500_000_000 {
			t.Fatalf("equal split gives %d", got)
		}
	}
	// A second plan for the same metric and year overlaps.
	r := e.do("PUT", "/api/v1/target-plans/other", e.admin, planDef(o)).must(t, 422)
	if r.firstError()["code"] != "overlapping_plan" {
		t.Fatalf("overlap: %s", r.raw)
	}
}

// TestTargetSuggestionAndRespread: a suggested root target from history
// with its reasoning; a mid-year re-spread keeps the past months and spreads
// the unmet remainder over the rest.
func TestTargetSuggestionAndRespread(t *testing.T) {
	e := newEnv(t)
	o := setupTargetOrg(t, e)
	sg := e.do("GET", "/api/v1/target-suggestion?metric=won_revenue&fiscalYear=2026&marketGrowth=0.1&granularity=1000000", e.admin, nil).must(t, 200)
	if sg.body["hasHistory"] != true || num(sg.body["lastYearTotal"]) < 10_000_000 || len(sg.body["reasoning"].([]any)) < 2 {
		t.Fatalf("suggestion %s", sg.raw)
	}
	// One year of history: the market growth alone, 10%.
	want := (num(sg.body["lastYearTotal"])*11/10 + 500_000) / 1_000_000 * 1_000_000
	if got := num(sg.body["suggested"]); got != want {
		t.Fatalf("suggested %d, want %d: %s", got, want, sg.raw)
	}
	base := "/api/v1/target-plans/fy2026"
	e.do("PUT", base, e.admin, planDef(o)).must(t, 200)
	e.do("POST", base+"/allocate", e.admin, nil).must(t, 200)
	before := e.do("GET", base+"/tree", e.admin, nil).must(t, 200).body["node"].(map[string]any)["months"].([]any)
	out := e.do("POST", base+"/respread", e.admin, map[string]any{"fromMonth": "2026-07", "reason": "下半年重新分配", "dryRun": true}).must(t, 200)
	if out.body["dryRun"] != true {
		t.Fatal(out.raw)
	}
	e.do("POST", base+"/respread", e.admin, map[string]any{"fromMonth": "2026-07", "reason": "下半年重新分配"}).must(t, 200)
	tr := e.do("GET", base+"/tree", e.admin, nil).must(t, 200)
	after := tr.body["node"].(map[string]any)["months"].([]any)
	for i := 0; i < 6; i++ {
		if before[i] != after[i] {
			t.Fatalf("month %d changed: %v → %v", i+1, before[i], after[i])
		}
	}
	sumChildren(t, tr)
	for _, per := range []string{"2026-08", "2026-Q4"} {
		sumChildren(t, e.do("GET", base+"/tree?period="+per, e.admin, nil).must(t, 200))
	}
	e.do("POST", base+"/respread", e.admin, map[string]any{"fromMonth": "2027-07", "reason": "x"}).must(t, 422)
	_ = fmt.Sprint()
}
