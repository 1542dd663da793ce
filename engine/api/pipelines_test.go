package api_test

import (
	"slices"
	"strings"
	"testing"
)

// TestPipelineTransitions walks a deal through the demo pipeline deal_sales
// over HTTP: required fields, a guard with its message, terminal stages and
// the stage history, plus the ways a stage must not change.
func TestPipelineTransitions(t *testing.T) {
	e := newEnv(t)
	pub := e.do("GET", "/api/v1/pipelines/deal_sales?published=true", e.admin, nil).must(t, 200)
	if pub.body["definition"].(map[string]any)["object"] != "deal" {
		t.Fatalf("demo pipeline: %s", pub.raw)
	}
	r := e.do("POST", "/api/v1/records/deal", e.admin, map[string]any{"name": "新医院项目", "amount": 0}).must(t, 201)
	id, path := r.body["id"].(string), "/api/v1/records/deal/"+r.body["id"].(string)
	if r.body["data"].(map[string]any)["stage"] != "lead" {
		t.Fatalf("a new deal starts in the first stage: %s", r.raw)
	}
	move := func(to string, status int, headers ...string) resp {
		t.Helper()
		return e.do("POST", path+"/transition", e.admin, map[string]any{"to": to, "note": "推进到 " + to}, headers...).must(t, status)
	}
	// qualified requires customer and closeDate: both listed at once.
	r = move("qualified", 422)
	if r.body["code"] != "required_fields" || !slices.Equal(r.pointers(), []string{"/customer", "/closeDate"}) {
		t.Fatalf("required fields: %s", r.raw)
	}
	// A direct edit of the stage is refused; other fields are fine.
	e.do("PATCH", path, e.admin, map[string]any{"stage": "won"}).must(t, 422)
	e.do("PATCH", path, e.admin, map[string]any{"customer": "华山医院", "closeDate": "2026-12-01"}).must(t, 200)
	move("qualified", 200)
	// proposal's guard (amount > 0) refuses with the stage's own message.
	r = move("proposal", 422)
	if r.body["code"] != "guard_refused" || !strings.Contains(r.body["detail"].(string), "Enter the amount") {
		t.Fatalf("guard: %s", r.raw)
	}
	if msg := r.body["stageMessage"].(map[string]any)["zh-CN"]; msg != "报价前请填写金额" {
		t.Fatalf("zh-CN guard message %v", msg)
	}
	got := e.do("GET", path, e.admin, nil).must(t, 200)
	e.do("PATCH", path, e.admin, map[string]any{"amount": 880000}).must(t, 200)
	move("proposal", 409, "If-Match", got.header.Get("ETag")) // stale: the patch came in between
	move("proposal", 200)
	move("lead", 422)    // backward moves are off
	move("nowhere", 422) // unknown stage
	move("won", 200)
	r = move("lost", 422) // out of a terminal stage
	if r.body["code"] != "terminal_stage" {
		t.Fatalf("terminal: %s", r.raw)
	}
	rec := e.do("GET", path, e.admin, nil).must(t, 200)
	hist := rec.body["meta"].(map[string]any)["stageHistory"].([]any)
	var stages []string
	for i, h := range hist {
		m := h.(map[string]any)
		stages = append(stages, m["stage"].(string))
		if open := m["exitedAt"] == nil; open != (i == len(hist)-1) {
			t.Fatalf("only the last entry is open: %v", hist)
		}
	}
	if strings.Join(stages, ">") != "lead>qualified>proposal>won" {
		t.Fatalf("history %v", stages)
	}
	// The funnel of this quarter saw the deal enter each stage.
	f := e.do("GET", "/api/v1/pipelines/deal_sales/funnel", e.admin, nil).must(t, 200)
	entered := map[string]float64{}
	for _, s := range f.body["stages"].([]any) {
		m := s.(map[string]any)
		entered[m["stage"].(string)] = m["entered"].(float64)
	}
	if entered["proposal"] < 1 || entered["won"] < 1 {
		t.Fatalf("funnel %s", f.raw)
	}
	e.do("GET", "/api/v1/pipelines/deal_sales/funnel?period=2026-Q5", e.admin, nil).must(t, 400)
	e.do("GET", "/api/v1/pipelines/deal_sales/stuck", e.admin, nil).must(t, 200)
	e.do("GET", "/api/v1/pipelines/nope/stuck", e.admin, nil).must(t, 404)
	// A rep cannot move someone else's deal (it is invisible to them).
	_, rep := e.user("rep.p", "rep")
	e.do("POST", path+"/transition", rep, map[string]any{"to": "lost"}).must(t, 404)
	_ = id
}

func TestPipelineDefinitionErrorsAndChecks(t *testing.T) {
	e := newEnv(t)
	bad := map[string]any{"label": map[string]any{"zh-CN": "续约"}, "object": "deal", "stageField": "stage",
		"stages": []any{
			map[string]any{"key": "lead", "label": map[string]any{"zh-CN": "线索"}, "probability": 10,
				"enterIf": map[string]any{"expression": "amout > 0", "message": map[string]any{"zh-CN": "x"}}},
			map[string]any{"key": "won", "label": map[string]any{"zh-CN": "赢单"}, "probability": 100, "terminal": "won"},
		}}
	r := e.do("PUT", "/api/v1/pipelines/renewal", e.admin, bad).must(t, 422)
	fe := r.firstError()
	if fe["pointer"] != "/stages/0/enterIf/expression" || !strings.Contains(fe["hint"].(string), "amount") {
		t.Fatalf("guard error: %s", r.raw)
	}
	e.do("GET", "/api/v1/pipelines/renewal", e.admin, nil).must(t, 404)
	// The editor's live check sees the guard environment (from, to, user).
	r = e.do("POST", "/api/v1/rules/check", e.admin, map[string]any{"kind": "enterIf", "object": "deal",
		"expression": "to == 'won' && 'manager' in user.roles && amount > 0"}).must(t, 200)
	if r.body["ok"] != true || r.body["type"] != "bool" {
		t.Fatalf("enterIf check: %s", r.raw)
	}
	r = e.do("POST", "/api/v1/rules/check", e.admin, map[string]any{"kind": "match", "object": "deal", "expression": "amount"}).must(t, 200)
	if r.body["ok"] != false {
		t.Fatalf("a non-boolean match passed: %s", r.raw)
	}
}
