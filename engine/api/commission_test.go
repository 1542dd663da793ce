package api_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// commissionOrg is the target org (setupTargetOrg) with a published 2026
// target plan, a rep without a target (c1), and March 2026 wins:
// a1 ¥10,000.00 and ¥3,333.33, b1 ¥20,000.00.
type commissionOrg struct {
	targetOrg
	c1, c1Tok   string
	a1Deal, a1b string
	b1Deal      string
	a2Tok       string
}

func setupCommission(t *testing.T, e *env) commissionOrg {
	t.Helper()
	o := commissionOrg{targetOrg: setupTargetOrg(t, e)}
	e.do("PUT", "/api/v1/target-plans/fy2026", e.admin, planDef(o.targetOrg)).must(t, 200)
	e.do("POST", "/api/v1/target-plans/fy2026/allocate", e.admin, map[string]any{}).must(t, 200)
	o.c1, o.c1Tok = e.user("rep.c1", "rep")
	o.a2Tok = e.login("rep.a2", "password-rep.a2")
	o.a1Deal = winDeal(t, e, o.a1Tok, 1_000_000, "2026-03-05")
	o.a1b = winDeal(t, e, o.a1Tok, 333_333, "2026-03-20")
	o.b1Deal = winDeal(t, e, o.b1Tok, 2_000_000, "2026-03-10")
	winDeal(t, e, o.c1Tok, 500_000, "2026-03-11")
	return o
}

func winDeal(t *testing.T, e *env, tok string, amount int, day string) string {
	t.Helper()
	id := e.do("POST", "/api/v1/records/deal", tok, map[string]any{"name": "d", "amount": amount, "customer": "c", "closeDate": day}).must(t, 201).body["id"].(string)
	for _, to := range []string{"qualified", "proposal", "won"} {
		e.do("POST", "/api/v1/records/deal/"+id+"/transition", tok, map[string]any{"to": to}).must(t, 200)
	}
	return id
}

// stdPlan pays 5 % of every won deal's amount to reps, with a quota bonus
// at 100 % (so a rep without a target cannot be computed).
func stdPlan(rate float64) map[string]any {
	return map[string]any{
		"name":    map[string]any{"zh-CN": "标准提成", "en": "Standard"},
		"grain":   "month",
		"quota":   map[string]any{"metric": "won_revenue"},
		"assign":  map[string]any{"roles": []any{"rep"}},
		"credits": map[string]any{"object": "deal", "when": `stage == "won"`, "base": "amount", "dateField": "closeDate"},
		"rules": []any{map[string]any{"key": "base", "name": map[string]any{"zh-CN": "基础提成", "en": "Base"},
			"rate": map[string]any{"kind": "constant", "value": rate}}},
		"quotaBonuses": []any{map[string]any{"key": "full", "threshold": 1, "amount": 100_000}},
	}
}

// runPlan runs a plan for a period and waits for its job.
func runPlan(t *testing.T, e *env, plan, per string) map[string]any {
	t.Helper()
	r := e.do("POST", "/api/v1/commission-runs", e.admin, map[string]any{"plan": plan, "period": per}).must(t, 202)
	id := r.body["id"].(string)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		g := e.do("GET", "/api/v1/commission-runs/"+id, e.admin, nil).must(t, 200)
		switch g.body["status"] {
		case "done":
			return g.body["report"].(map[string]any)
		case "failed":
			t.Fatalf("run failed: %s", g.raw)
		}
	}
	t.Fatal("run did not finish")
	return nil
}

// statements returns statements by rep for a query (as tok).
func statements(t *testing.T, e *env, tok, query string) map[string]map[string]any {
	t.Helper()
	r := e.do("GET", "/api/v1/statements?"+query, tok, nil).must(t, 200)
	out := map[string]map[string]any{}
	for _, x := range r.body["items"].([]any) {
		st := x.(map[string]any)
		out[st["rep"].(string)+"|"+st["period"].(string)] = st
	}
	return out
}

// checkTotals asserts a statement's total is the sum of its lines.
func checkTotals(t *testing.T, st map[string]any) {
	t.Helper()
	var sum int64
	for _, l := range st["lines"].([]any) {
		sum += num(l.(map[string]any)["amount"])
	}
	if sum != num(st["total"]) {
		t.Fatalf("statement %s: lines sum to %d, total %d", st["id"], sum, num(st["total"]))
	}
}

// versions maps statement ids to versions (everything, as admin).
func versions(t *testing.T, e *env) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, st := range statements(t, e, e.admin, "limit=500") {
		out[st["id"].(string)] = num(st["version"])
	}
	return out
}

// TestCommissionLifecycle: a run computes hand-checked statements, re-runs
// change nothing, approval and payment lock a statement, a later change to a
// locked period's record becomes an adjustment in the next period, and reps
// see only their own.
func TestCommissionLifecycle(t *testing.T) {
	e := newEnv(t)
	o := setupCommission(t, e)
	base := "/api/v1/commission-plans/std"
	// A formula mistake is a 422 with a pointer; nothing runs on a draft.
	bad := stdPlan(0.05)
	bad["credits"].(map[string]any)["base"] = "amount * nope"
	if r := e.do("PUT", base, e.admin, bad).must(t, 422); !strings.Contains(strings.Join(r.pointers(), ","), "/credits/base") {
		t.Fatalf("bad formula: %s", r.raw)
	}
	e.do("PUT", base, e.admin, stdPlan(0.05)).must(t, 200)
	e.do("POST", "/api/v1/commission-runs", e.admin, map[string]any{"plan": "std", "period": "2026-03"}).must(t, 422)
	e.do("POST", base+"/publish", e.admin, nil).must(t, 200)
	// Bad requests are 4xx, not failed jobs.
	e.do("POST", "/api/v1/commission-runs", e.admin, map[string]any{"plan": "std", "period": "2026-Q1"}).must(t, 422)
	e.do("POST", "/api/v1/commission-runs", e.admin, map[string]any{"plan": "nope", "period": "2026-03"}).must(t, 404)
	e.do("POST", "/api/v1/commission-runs", o.a1Tok, map[string]any{"plan": "std", "period": "2026-03"}).must(t, 403)

	rep := runPlan(t, e, "std", "2026-03")
	// c1 has no target: a report entry, and the others still get statements.
	errs := rep["errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["rep"] != o.c1 || errs[0].(map[string]any)["code"] != "missing_quota" {
		t.Fatalf("run report errors: %v", rep)
	}
	if num(rep["written"]) != 3 || num(rep["reps"]) != 4 {
		t.Fatalf("run report: %v", rep)
	}
	sts := statements(t, e, e.admin, "period=2026-03&plan=std")
	if len(sts) != 3 {
		t.Fatalf("%d statements", len(sts))
	}
	// a1: 5 % of 1,000,000 = 50,000 and of 333,333 = 16,666.65 → 16,667
	// (half-even at the line); b1: 100,000; a2: nothing sold, 0.
	for who, want := range map[string]int64{o.a1: 66_667, o.b1: 100_000, o.a2: 0} {
		st := sts[who+"|2026-03"]
		checkTotals(t, st)
		if num(st["total"]) != want || st["status"] != "draft" {
			t.Fatalf("%s: total %d, want %d: %v", who, num(st["total"]), want, st)
		}
	}
	a1 := e.do("GET", "/api/v1/statements/std:2026-03:"+o.a1, o.a1Tok, nil).must(t, 200)
	lines := a1.body["lines"].([]any)
	if len(lines) != 2 {
		t.Fatalf("a1 lines: %s", a1.raw)
	}
	for _, l := range lines {
		l := l.(map[string]any)
		txt := l["text"].(map[string]any)
		if l["id"] == "" || l["rule"] != "base" || l["kind"] != "rate" || txt["zh-CN"] == "" || txt["en"] == "" || l["explanation"] == nil {
			t.Fatalf("line %v", l)
		}
	}
	// Visibility: a rep sees their own statements only.
	e.do("GET", "/api/v1/statements/std:2026-03:"+o.b1, o.a1Tok, nil).must(t, 404)
	if mine := statements(t, e, o.a1Tok, "period=2026-03"); len(mine) != 1 || mine[o.a1+"|2026-03"] == nil {
		t.Fatalf("a1 sees %v", mine)
	}
	if none := statements(t, e, o.a1Tok, "user="+o.b1); len(none) != 0 {
		t.Fatalf("a1 sees b1's: %v", none)
	}
	if east := statements(t, e, o.mgrTok, "period=2026-03"); len(east) != 2 || east[o.b1+"|2026-03"] != nil {
		t.Fatalf("the east manager sees %v", east)
	}

	// Re-running with nothing changed writes nothing.
	before := versions(t, e)
	rep = runPlan(t, e, "std", "2026-03")
	if num(rep["unchanged"]) != 3 || num(rep["written"]) != 0 {
		t.Fatalf("re-run report %v", rep)
	}
	if after := versions(t, e); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a re-run moved versions: %v → %v", before, after)
	}

	// Approval: never the rep; a manager only for their subtree.
	id := "std:2026-03:" + o.a1
	e.do("POST", "/api/v1/statements/"+id+"/approve", o.a1Tok, nil).must(t, 403)
	e.do("POST", "/api/v1/statements/std:2026-03:"+o.b1+"/approve", o.mgrTok, nil).must(t, 404)
	e.do("POST", "/api/v1/statements/"+id+"/pay", e.admin, nil).must(t, 409) // not approved yet
	ap := e.do("POST", "/api/v1/statements/"+id+"/approve", o.mgrTok, map[string]any{"note": "核对无误"}).must(t, 200)
	if ap.body["status"] != "approved" {
		t.Fatalf("approve: %s", ap.raw)
	}
	e.do("POST", "/api/v1/statements/"+id+"/pay", o.mgrTok, nil).must(t, 403)
	e.do("POST", "/api/v1/statements/"+id+"/pay", e.admin, nil).must(t, 200)
	again := e.do("POST", "/api/v1/statements/"+id+"/approve", e.admin, nil).must(t, 409)
	if again.body["code"] != "statement_paid" {
		t.Fatalf("re-approving a paid statement: %s", again.raw)
	}
	hist := e.do("GET", "/api/v1/statements/"+id, e.admin, nil).must(t, 200).body["history"].([]any)
	if len(hist) != 3 || hist[1].(map[string]any)["by"] != o.mgr || hist[1].(map[string]any)["note"] != "核对无误" {
		t.Fatalf("history %v", hist)
	}
	locked := e.do("GET", "/api/v1/statements/"+id, e.admin, nil).must(t, 200)

	// A paid period's deal changes: ¥10,000 → ¥20,000. The paid statement
	// stays as it was; +50,000 (5 % of the difference) goes into April.
	e.do("PATCH", "/api/v1/records/deal/"+o.a1Deal, o.a1Tok, map[string]any{"amount": 2_000_000}).must(t, 200)
	rep = runPlan(t, e, "std", "2026-03")
	if num(rep["locked"]) != 1 || num(rep["adjusted"]) != 1 {
		t.Fatalf("report after the change: %v", rep)
	}
	if now := e.do("GET", "/api/v1/statements/"+id, e.admin, nil).must(t, 200); now.raw != locked.raw {
		t.Fatalf("a paid statement changed:\n%s\n%s", locked.raw, now.raw)
	}
	apr := e.do("GET", "/api/v1/statements/std:2026-04:"+o.a1, o.a1Tok, nil).must(t, 200)
	checkTotals(t, apr.body)
	al := apr.body["lines"].([]any)
	if len(al) != 1 || num(apr.body["total"]) != 50_000 || apr.body["status"] != "draft" {
		t.Fatalf("April: %s", apr.raw)
	}
	adj := al[0].(map[string]any)
	if adj["kind"] != "adjustment" || adj["record"] != o.a1Deal || adj["source"].(map[string]any)["period"] != "2026-03" ||
		!strings.Contains(adj["text"].(map[string]any)["zh-CN"].(string), "2026-03") {
		t.Fatalf("adjustment line %v", adj)
	}
	// Again: idempotent (the adjustment is keyed, not added twice).
	before = versions(t, e)
	runPlan(t, e, "std", "2026-03")
	if after := versions(t, e); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a re-run moved versions: %v → %v", before, after)
	}
	// April's own run keeps the adjustment beside its computed lines.
	runPlan(t, e, "std", "2026-04")
	apr = e.do("GET", "/api/v1/statements/std:2026-04:"+o.a1, o.a1Tok, nil).must(t, 200)
	if num(apr.body["total"]) != 50_000 || apr.body["computed"] != true {
		t.Fatalf("April after its run: %s", apr.raw)
	}

	// The audit log has the run, the approval and the payment.
	audit := e.do("GET", "/api/v1/audit?limit=500", e.admin, nil).must(t, 200).raw
	for _, a := range []string{"commission.run", "statement.approve", "statement.pay", "commission_plan.publish"} {
		if !strings.Contains(audit, `"`+a+`"`) {
			t.Errorf("no %s in the audit log", a)
		}
	}
	// Jobs: the runs are listed for admins; a rep sees none of them.
	if js := e.do("GET", "/api/v1/jobs?kind=commission_run", e.admin, nil).must(t, 200).body["items"].([]any); len(js) != 5 {
		t.Fatalf("%d run jobs", len(js))
	}
	if js := e.do("GET", "/api/v1/jobs", o.a1Tok, nil).must(t, 200).body["items"].([]any); len(js) != 0 {
		t.Fatalf("a rep sees %d jobs", len(js))
	}
}

// TestCommissionSimulationDisputesAndExport: a what-if writes nothing;
// disputes are accepted into an adjustment or rejected with a reason;
// exports parse back with numbers as numbers.
func TestCommissionSimulationDisputesAndExport(t *testing.T) {
	e := newEnv(t)
	o := setupCommission(t, e)
	base := "/api/v1/commission-plans/std"
	e.do("PUT", base, e.admin, stdPlan(0.05)).must(t, 200)
	e.do("POST", base+"/publish", e.admin, nil).must(t, 200)
	runPlan(t, e, "std", "2026-03")

	// Simulation: the draft pays 6 %; nothing is written.
	e.do("PUT", base, e.admin, stdPlan(0.06)).must(t, 200)
	before := versions(t, e)
	sim := e.do("POST", base+"/simulate", e.admin, map[string]any{"period": "2026-03"}).must(t, 200)
	if after := versions(t, e); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("simulation wrote statements: %v → %v", before, after)
	}
	// Old: 66,667 + 100,000 + 0; new: 6 % → 60,000 + 20,000 (19,999.98) + 120,000.
	if num(sim.body["old"]) != 166_667 || num(sim.body["new"]) != 200_000 || num(sim.body["delta"]) != 33_333 {
		t.Fatalf("simulation totals: %s", sim.raw)
	}
	for _, r := range sim.body["reps"].([]any) {
		r := r.(map[string]any)
		if r["rep"] == o.b1 && (num(r["old"]) != 100_000 || num(r["new"]) != 120_000 || num(r["delta"]) != 20_000) {
			t.Fatalf("b1 simulated %v", r)
		}
	}
	if errs := sim.body["errors"].([]any); len(errs) != 2 { // c1 under both versions
		t.Fatalf("simulation errors %v", errs)
	}
	e.do("POST", base+"/simulate", o.mgrTok, map[string]any{"period": "2026-03"}).must(t, 403)

	// Disputes: b1 flags their line.
	sid := "std:2026-03:" + o.b1
	st := e.do("GET", "/api/v1/statements/"+sid, o.b1Tok, nil).must(t, 200)
	lineID := st.body["lines"].([]any)[0].(map[string]any)["id"].(string)
	path := "/api/v1/statements/" + sid + "/lines/" + lineID + "/disputes"
	e.do("POST", path, o.a1Tok, map[string]any{"comment": "x"}).must(t, 404) // not a1's
	e.do("POST", path, o.b1Tok, map[string]any{"comment": " "}).must(t, 422)
	d := e.do("POST", path, o.b1Tok, map[string]any{"comment": "这笔有 20% 加成"}).must(t, 201)
	e.do("POST", path, o.b1Tok, map[string]any{"comment": "again"}).must(t, 409)
	did := d.body["id"].(string)
	if open := e.do("GET", "/api/v1/disputes?status=open", o.b1Tok, nil).must(t, 200).body["items"].([]any); len(open) != 1 {
		t.Fatalf("b1's open disputes %v", open)
	}
	if open := e.do("GET", "/api/v1/disputes?status=open", o.a1Tok, nil).must(t, 200).body["items"].([]any); len(open) != 0 {
		t.Fatalf("a1 sees b1's disputes %v", open)
	}
	e.do("POST", "/api/v1/disputes/"+did+"/resolve", o.b1Tok, map[string]any{"decision": "accept", "amount": 1}).must(t, 403)
	e.do("POST", "/api/v1/disputes/"+did+"/resolve", o.mgrTok, map[string]any{"decision": "reject", "reason": "x"}).must(t, 404) // not his subtree
	if r := e.do("POST", "/api/v1/disputes/"+did+"/resolve", e.admin, map[string]any{"decision": "reject"}).must(t, 422); r.pointers()[0] != "/reason" {
		t.Fatalf("reject without reason: %s", r.raw)
	}
	if r := e.do("POST", "/api/v1/disputes/"+did+"/resolve", e.admin, map[string]any{"decision": "accept"}).must(t, 422); r.pointers()[0] != "/amount" {
		t.Fatalf("accept without amount: %s", r.raw)
	}
	acc := e.do("POST", "/api/v1/disputes/"+did+"/resolve", e.admin, map[string]any{"decision": "accept", "amount": 5_000, "reason": "补发加成"}).must(t, 200)
	if acc.body["status"] != "accepted" || len(acc.body["history"].([]any)) != 2 || acc.body["adjustment"].(map[string]any)["statement"] != sid {
		t.Fatalf("accepted dispute %s", acc.raw)
	}
	e.do("POST", "/api/v1/disputes/"+did+"/resolve", e.admin, map[string]any{"decision": "reject", "reason": "x"}).must(t, 409)
	st = e.do("GET", "/api/v1/statements/"+sid, o.b1Tok, nil).must(t, 200)
	checkTotals(t, st.body)
	if num(st.body["total"]) != 105_000 || !strings.Contains(st.raw, did) {
		t.Fatalf("statement after the accepted dispute: %s", st.raw)
	}
	// A re-run keeps the dispute's adjustment.
	runPlan(t, e, "std", "2026-03")
	if st = e.do("GET", "/api/v1/statements/"+sid, o.b1Tok, nil).must(t, 200); num(st.body["total"]) != 105_000 {
		t.Fatalf("re-run lost the adjustment: %s", st.raw)
	}
	// A second dispute, rejected with a reason.
	d2 := e.do("POST", path, o.b1Tok, map[string]any{"comment": "还有一笔"}).must(t, 201).body["id"].(string)
	rj := e.do("POST", "/api/v1/disputes/"+d2+"/resolve", e.admin, map[string]any{"decision": "reject", "reason": "合同未回款"}).must(t, 200)
	if rj.body["status"] != "rejected" || rj.body["reason"] != "合同未回款" {
		t.Fatalf("rejected %s", rj.raw)
	}

	// CSV: Chinese headers, one row per line, amounts as plain numbers.
	res := e.raw("GET", "/api/v1/statements/export?format=csv&period=2026-03", e.admin)
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][0] != "提成单" || rows[0][14] != "金额（元）" || len(rows) != 1+2+1+2 { // a1 2 lines, a2 none (1 row), b1 line + adjustment
		t.Fatalf("csv: %q", rows)
	}
	var csvSum float64
	for _, r := range rows[1:] {
		if r[14] == "" {
			continue
		}
		f, err := strconv.ParseFloat(r[14], 64)
		if err != nil {
			t.Fatalf("amount %q is not a number", r[14])
		}
		csvSum += f
	}
	if fmt.Sprintf("%.2f", csvSum) != "1716.67" { // 666.67 + 1000 + 50
		t.Fatalf("csv amounts sum to %.2f", csvSum)
	}
	// A rep's export has their rows only.
	mine := e.raw("GET", "/api/v1/statements/export?period=2026-03", o.a1Tok)
	if n := bytes.Count(mine, []byte("\n")); n != 3 {
		t.Fatalf("a1's export has %d lines: %s", n, mine)
	}
	// XLSX: money cells are numbers with two decimals.
	x := e.raw("GET", "/api/v1/statements/"+sid+"/export?format=xlsx", o.b1Tok)
	f, err := excelize.OpenReader(bytes.NewReader(x))
	if err != nil {
		t.Fatal(err)
	}
	xr, err := f.GetRows("提成明细")
	if err != nil || len(xr) != 3 || xr[0][0] != "提成单" {
		t.Fatalf("xlsx rows %q, %v", xr, err)
	}
	for _, cell := range []string{"O2", "O3", "M2", "P2"} {
		ty, _ := f.GetCellType("提成明细", cell)
		if ty != excelize.CellTypeUnset && ty != excelize.CellTypeNumber {
			t.Fatalf("%s is of type %v, not a number", cell, ty)
		}
	}
	if v, _ := f.GetCellValue("提成明细", "O2"); v != "1000.00" {
		t.Fatalf("O2 shows %q", v)
	}
	if v, _ := f.GetCellValue("提成明细", "P2"); v != "1050.00" {
		t.Fatalf("P2 (statement total) shows %q", v)
	}
	e.do("GET", "/api/v1/statements/"+sid+"/export?format=xlsx", o.a1Tok, nil).must(t, 404)
	e.do("GET", "/api/v1/statements/export?format=pdf", e.admin, nil).must(t, 400)
}

// TestLockedStatementsNeverChange: a random sequence of record edits, runs,
// approvals and payments never changes a statement once it is approved or
// paid, and every statement's total stays the sum of its lines.
func TestLockedStatementsNeverChange(t *testing.T) {
	e := newEnv(t)
	o := setupCommission(t, e)
	e.do("PUT", "/api/v1/commission-plans/std", e.admin, stdPlan(0.05)).must(t, 200)
	e.do("POST", "/api/v1/commission-plans/std/publish", e.admin, nil).must(t, 200)
	deals := []struct{ id, tok string }{{o.a1Deal, o.a1Tok}, {o.a1b, o.a1Tok}, {o.b1Deal, o.b1Tok}}
	pers := []string{"2026-03", "2026-04", "2026-05"}
	rnd := rand.New(rand.NewSource(7))
	frozen := map[string]string{} // locked statement id → its body when locked
	snapshot := func(id string) string {
		r := e.do("GET", "/api/v1/statements/"+id, e.admin, nil).must(t, 200)
		delete(r.body, "lines") // compared separately below, texts included
		return r.raw
	}
	for step := 0; step < 24; step++ {
		switch rnd.Intn(4) {
		case 0: // edit a deal (amount or date, possibly moving it across periods)
			d := deals[rnd.Intn(len(deals))]
			patch := map[string]any{"amount": 100_000 * (1 + rnd.Intn(30))}
			if rnd.Intn(2) == 0 {
				patch["closeDate"] = fmt.Sprintf("2026-%02d-%02d", 3+rnd.Intn(3), 1+rnd.Intn(28))
			}
			e.do("PATCH", "/api/v1/records/deal/"+d.id, d.tok, patch).must(t, 200)
		case 1:
			runPlan(t, e, "std", pers[rnd.Intn(len(pers))])
		case 2, 3: // approve or pay something
			all := statements(t, e, e.admin, "limit=500")
			keys := make([]string, 0, len(all))
			for k := range all {
				keys = append(keys, k)
			}
			if len(keys) == 0 {
				continue
			}
			st := all[keys[rnd.Intn(len(keys))]]
			id := st["id"].(string)
			switch st["status"] {
			case "draft":
				if st["computed"] == true {
					e.do("POST", "/api/v1/statements/"+id+"/approve", e.admin, nil).must(t, 200)
					frozen[id] = snapshot(id)
				}
			case "approved":
				e.do("POST", "/api/v1/statements/"+id+"/pay", e.admin, nil).must(t, 200)
				frozen[id] = snapshot(id)
			}
		}
		for id, want := range frozen {
			got := snapshot(id)
			// Paying changes status, version and history; nothing else may.
			if strip(got) != strip(want) {
				t.Fatalf("step %d: locked statement %s changed:\n%s\n%s", step, id, want, got)
			}
		}
		for _, st := range statements(t, e, e.admin, "limit=500") {
			checkTotals(t, st)
		}
	}
	if len(frozen) == 0 {
		t.Fatal("the sequence locked nothing: the property was not exercised")
	}
}

// strip drops what a payment legitimately changes from a statement snapshot.
func strip(raw string) string {
	for _, k := range []string{`"status":"approved"`, `"status":"paid"`} {
		raw = strings.ReplaceAll(raw, k, "")
	}
	if i := strings.Index(raw, `"history"`); i >= 0 {
		if j := strings.Index(raw[i:], "]"); j >= 0 {
			raw = raw[:i] + raw[i+j+1:]
		}
	}
	if i := strings.Index(raw, `"version"`); i >= 0 {
		if j := strings.IndexAny(raw[i:], ",}"); j >= 0 {
			raw = raw[:i] + raw[i+j:]
		}
	}
	return raw
}

// raw GETs a file and returns its bytes (status 200 asserted).
func (e *env) raw(method, path, token string) []byte {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	if res.StatusCode != 200 {
		e.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b.String())
	}
	return b.Bytes()
}

// TestCommissionPlanCheck: the editor's live check answers what a save
// would (pointers, formula line/column) without saving anything.
func TestCommissionPlanCheck(t *testing.T) {
	e := newEnv(t)
	o := setupCommission(t, e)
	base := "/api/v1/commission-plans/std"
	r := e.do("POST", base+"/check", e.admin, stdPlan(0.05)).must(t, 200)
	if r.body["ok"] != true || len(r.body["errors"].([]any)) != 0 {
		t.Fatalf("a good plan: %s", r.raw)
	}
	bad := stdPlan(0.05)
	bad["credits"].(map[string]any)["base"] = "amount * nope"
	bad["rules"] = []any{map[string]any{"key": "t", "rate": map[string]any{"kind": "tier", "table": []any{[]any{1, 0.1}, []any{0.5, 0.05}}}}}
	r = e.do("POST", base+"/check", e.admin, bad).must(t, 200)
	if r.body["ok"] != false {
		t.Fatalf("a bad plan: %s", r.raw)
	}
	var formula map[string]any
	ptrs := map[string]bool{}
	for _, x := range r.body["errors"].([]any) {
		fe := x.(map[string]any)
		ptrs[fe["pointer"].(string)] = true
		if fe["pointer"] == "/credits/base" {
			formula = fe
		}
	}
	if formula == nil || num(formula["column"]) == 0 || !ptrs["/rules/0/rate/table/1/0"] {
		t.Fatalf("want /credits/base with a column and the unsorted table row: %s", r.raw)
	}
	// Nothing was saved; only admins may check.
	e.do("GET", base, e.admin, nil).must(t, 404)
	e.do("POST", base+"/check", o.mgrTok, stdPlan(0.05)).must(t, 403)
}
