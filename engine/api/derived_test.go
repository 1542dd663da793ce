package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// simpleObject defines and publishes an object whose properties are given
// as name → JSON Schema.
func (e *env) simpleObject(t *testing.T, key string, props map[string]any) {
	t.Helper()
	e.do("PUT", "/api/v1/objects/"+key, e.admin, map[string]any{"label": map[string]any{"en": key},
		"schema": map[string]any{"type": "object", "properties": props}}).must(t, 200)
	e.do("POST", "/api/v1/objects/"+key+"/publish", e.admin, nil).must(t, 200)
}

// metric saves and publishes a metric definition.
func (e *env) metric(t *testing.T, key string, def map[string]any) {
	t.Helper()
	def["label"] = map[string]any{"en": key}
	e.do("PUT", "/api/v1/metrics/"+key, e.admin, def).must(t, 200)
	e.do("POST", "/api/v1/metrics/"+key+"/publish", e.admin, nil).must(t, 200)
}

// TestDerivedMetrics: the examples — won revenue by close date, new
// customers by creation date, visits by visit date, payments received (回款)
// by payment date, spend by spend date — written through the records API,
// and derived metrics over them: a conversion rate, CAC, growth over the
// previous period, year over year, a derived metric built on derived ones,
// and a breakdown by dimension. Division by zero is a null value with a
// reason; the drill-down of a derived metric lists its inputs; bad formulas
// are refused at save with a did-you-mean; reconcile ignores derived metrics.
func TestDerivedMetrics(t *testing.T) {
	e := newEnv(t)
	sh, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Now().In(sh)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, sh)
	day := func(t time.Time) string { return t.Format("2006-01-02") }
	per := month.Format("2006-01")
	repID, rep := e.user("rep.derived", "rep")
	idleID, _ := e.user("rep.idle", "rep")
	team := e.do("POST", "/api/v1/teams", e.admin, map[string]any{"name": "华北"}).must(t, 201).body["id"].(string)
	for _, u := range []string{repID, idleID} {
		e.do("POST", "/api/v1/teams/"+team+"/members", e.admin, map[string]any{"userId": u, "from": "2020-01-01"}).must(t, 201)
	}

	date := map[string]any{"type": "string", "format": "date"}
	money := map[string]any{"type": "integer", "format": "money"}
	e.simpleObject(t, "visit", map[string]any{"hospital": map[string]any{"type": "string"}, "visitDate": date})
	e.simpleObject(t, "payment", map[string]any{"amount": money, "paidOn": date,
		"channel": map[string]any{"type": "string", "enum": []string{"direct", "partner|online"}}})
	e.simpleObject(t, "expense", map[string]any{"amount": money, "spentOn": date})
	e.metric(t, "new_customers", map[string]any{"object": "customer", "dateField": "createdAt", "ownerField": "owner"})
	e.metric(t, "visits", map[string]any{"object": "visit", "dateField": "visitDate", "ownerField": "owner"})
	e.metric(t, "payments", map[string]any{"object": "payment", "value": "amount", "dateField": "paidOn", "ownerField": "owner", "dimension": "channel"})
	e.metric(t, "spend", map[string]any{"object": "expense", "value": "amount", "dateField": "spentOn", "ownerField": "owner"})

	// Records, all the rep's, through the write path.
	win := func(amount int, closeDate string) {
		id := e.do("POST", "/api/v1/records/deal", rep, map[string]any{"name": "d", "amount": amount, "customer": "c", "closeDate": closeDate}).must(t, 201).body["id"].(string)
		for _, to := range []string{"qualified", "proposal", "won"} {
			e.do("POST", "/api/v1/records/deal/"+id+"/transition", rep, map[string]any{"to": to}).must(t, 200)
		}
	}
	win(100000, day(month))                   // 1,000.00 this month
	win(50000, day(month))                    // +500.00
	win(100000, day(month.AddDate(0, -1, 0))) // 1,000.00 the month before
	win(60000, day(month.AddDate(-1, 0, 0)))  // 600.00 the same month last year
	for i := 0; i < 3; i++ {
		e.do("POST", "/api/v1/records/customer", rep, map[string]any{"name": fmt.Sprintf("客户%d", i)}).must(t, 201)
	}
	for i := 0; i < 4; i++ {
		e.do("POST", "/api/v1/records/visit", rep, map[string]any{"hospital": "协和", "visitDate": day(month)}).must(t, 201)
	}
	e.do("POST", "/api/v1/records/visit", rep, map[string]any{"hospital": "协和", "visitDate": day(month.AddDate(0, -1, 0))}).must(t, 201)
	e.do("POST", "/api/v1/records/payment", rep, map[string]any{"amount": 90000, "paidOn": day(month), "channel": "direct"}).must(t, 201)
	e.do("POST", "/api/v1/records/payment", rep, map[string]any{"amount": 30000, "paidOn": day(month), "channel": "partner|online"}).must(t, 201)
	e.do("POST", "/api/v1/records/expense", rep, map[string]any{"amount": 30000, "spentOn": day(month)}).must(t, 201)

	// Bad definitions are refused at save, naming the problem.
	bad := func(def map[string]any, code, hint string) {
		t.Helper()
		def["label"] = map[string]any{"en": "bad"}
		r := e.do("PUT", "/api/v1/metrics/bad", e.admin, def).must(t, 422)
		fe := r.firstError()
		if fe == nil || fe["code"] != code || (hint != "" && !strings.Contains(fmt.Sprint(fe["hint"]), hint)) {
			t.Fatalf("%v: want %s %q, got %s", def, code, hint, r.raw)
		}
	}
	bad(map[string]any{"derived": map[string]any{"formula": "won_revenu / visits"}}, "formula_unknown_name", "won_revenue")
	bad(map[string]any{"derived": map[string]any{"formula": "prev(won_revenu)"}}, "formula_unknown_name", "won_revenue")
	bad(map[string]any{"derived": map[string]any{"formula": "prev(1 + 2)"}}, "formula_type_error", "")
	bad(map[string]any{"derived": map[string]any{"formula": "visits > 1"}}, "formula_result_type", "")
	bad(map[string]any{"derived": map[string]any{"formula": "visits"}, "object": "visit"}, "not", "")
	bad(map[string]any{"object": "visit", "dateField": "visitDate", "ownerField": "owner", "unit": "percent"}, "invalid", "")
	bad(map[string]any{"object": "visit", "dateField": "visitDate", "ownerField": "owner", "dimension": "hospitl"}, "unknown_field", "hospital")
	e.do("PUT", "/api/v1/metrics/draft_only", e.admin, map[string]any{"label": map[string]any{"en": "d"}, "object": "visit", "dateField": "visitDate", "ownerField": "owner"}).must(t, 200)
	bad(map[string]any{"derived": map[string]any{"formula": "draft_only * 2"}}, "unpublished_metric", "")

	e.metric(t, "conversion", map[string]any{"derived": map[string]any{"formula": "new_customers / visits"}, "unit": "percent"})
	e.metric(t, "cac", map[string]any{"derived": map[string]any{"formula": "spend / new_customers"}, "unit": "money"})
	e.metric(t, "growth", map[string]any{"derived": map[string]any{"formula": "(won_revenue - prev(won_revenue)) / prev(won_revenue)"}, "unit": "percent"})
	e.metric(t, "yoy", map[string]any{"derived": map[string]any{"formula": "won_revenue / lastYear(won_revenue) - 1"}, "unit": "percent", "precision": 2})
	e.metric(t, "collected", map[string]any{"derived": map[string]any{"formula": "payments / won_revenue"}, "unit": "percent"})
	e.metric(t, "revenue_per_customer", map[string]any{"derived": map[string]any{"formula": "won_revenue / new_customers"}, "unit": "money"})
	// Built on derived metrics: revenue per customer over CAC.
	e.metric(t, "ltv_cac", map[string]any{"derived": map[string]any{"formula": "revenue_per_customer / cac"}})
	// Cycles among derived metrics are refused (a → b → a), and so is itself.
	e.metric(t, "cyc_a", map[string]any{"derived": map[string]any{"formula": "visits * 2"}})
	e.metric(t, "cyc_b", map[string]any{"derived": map[string]any{"formula": "cyc_a + 1"}})
	r := e.do("PUT", "/api/v1/metrics/cyc_a", e.admin, map[string]any{"label": map[string]any{"en": "a"}, "derived": map[string]any{"formula": "prev(cyc_b)"}}).must(t, 422)
	if fe := r.firstError(); fe["code"] != "metric_cycle" || !strings.Contains(fe["message"].(string), "cyc_a → cyc_b → cyc_a") {
		t.Fatalf("cycle: %s", r.raw)
	}
	r = e.do("PUT", "/api/v1/metrics/cyc_a", e.admin, map[string]any{"label": map[string]any{"en": "a"}, "derived": map[string]any{"formula": "cyc_a + 1"}}).must(t, 422)
	if fe := r.firstError(); !strings.Contains(fe["message"].(string), "itself") {
		t.Fatalf("self reference: %s", r.raw)
	}

	progress := func(metric, node, extra string) map[string]any {
		t.Helper()
		return e.do("GET", "/api/v1/progress?metric="+metric+"&period="+per+"&node="+node+extra, e.admin, nil).must(t, 200).body
	}
	value := func(body map[string]any) any { return body["node"].(map[string]any)["actual"] }
	for _, c := range []struct {
		metric string
		want   float64 // stored units: 分 for money, ratio × 10^precision for percent
	}{
		{"won_revenue", 150000},
		{"new_customers", 3 * 100}, // number, precision 2
		{"visits", 4 * 100},
		{"payments", 120000},
		{"conversion", 7500},            // 3 / 4 = 75.00 %
		{"cac", 10000},                  // 300.00 / 3 = 100.00 元
		{"growth", 5000},                // (1500 − 1000) / 1000 = 50 %
		{"yoy", 150},                    // 1500 / 600 − 1 = 150 % (precision 2)
		{"collected", 8000},             // 1200 / 1500 = 80 %
		{"revenue_per_customer", 50000}, // 500.00 元
		{"ltv_cac", 500},                // 500 / 100 = 5 (number, precision 2)
	} {
		for _, node := range []string{"user:" + repID, "team:" + team} {
			if got := value(progress(c.metric, node, "")); got != c.want {
				t.Errorf("%s at %s = %v, want %v", c.metric, node, got, c.want)
			}
		}
	}
	// Every child row is evaluated too; the idle rep divides by zero: null
	// with a reason, not an error.
	body := progress("conversion", "team:"+team, "")
	if m := body["metric"].(map[string]any); m["unit"] != "percent" || m["scale"] != float64(10000) || m["derived"] != true {
		t.Fatalf("metric info %v", m)
	}
	rows := map[string]map[string]any{}
	for _, c := range body["children"].([]any) {
		row := c.(map[string]any)
		rows[row["node"].(map[string]any)["id"].(string)] = row
	}
	if rows[repID]["actual"] != float64(7500) {
		t.Fatalf("rep row %v", rows[repID])
	}
	if idle := rows[idleID]; idle["actual"] != nil || !strings.Contains(idle["reason"].(string), "division by zero (inputs that are 0: new_customers, visits)") {
		t.Fatalf("idle row %v", idle)
	}
	// The drill-down of a derived metric explains it by its inputs.
	d := e.do("GET", "/api/v1/progress/records?metric=growth&period="+per+"&node=user:"+repID, e.admin, nil).must(t, 200).body
	dv := d["derived"].(map[string]any)
	ins := map[string]map[string]any{}
	for _, in := range dv["inputs"].([]any) {
		x := in.(map[string]any)
		ins[x["name"].(string)] = x
	}
	prevKey := month.AddDate(0, -1, 0).Format("2006-01")
	if dv["value"] != float64(5000) || ins["won_revenue"]["value"] != float64(1500) || ins["prev(won_revenue)"]["value"] != float64(1000) ||
		ins["prev(won_revenue)"]["period"] != prevKey || ins["prev(won_revenue)"]["stored"] != float64(100000) || len(d["items"].([]any)) != 0 {
		t.Fatalf("growth drill-down %v", d)
	}
	// Dimension breakdown: payments by channel, including a value holding
	// the rollup id separator; its drill-down matches.
	for dim, want := range map[string]float64{"direct": 90000, "partner|online": 30000} {
		q := "&dim=" + strings.ReplaceAll(dim, "|", "%7C")
		if got := value(progress("payments", "team:"+team, q)); got != want {
			t.Errorf("payments@%s = %v, want %v", dim, got, want)
		}
		items := e.do("GET", "/api/v1/progress/records?metric=payments&period="+per+"&node=user:"+repID+q, e.admin, nil).must(t, 200).body["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["sum"] != want {
			t.Errorf("payments@%s drill-down %v", dim, items)
		}
	}
	if got := value(progress("payments", "team:"+team, "&dim=other")); got != float64(0) {
		t.Errorf("payments@other = %v", got)
	}
	e.do("GET", "/api/v1/progress?metric=visits&dim=x", e.admin, nil).must(t, 400)
	e.do("GET", "/api/v1/progress?metric=won_revenue&level=ceiling", e.admin, nil).must(t, 400)
	// Reconcile covers tracked metrics and their dimension cells; derived
	// metrics have no rollups.
	rep2 := e.do("POST", "/api/v1/reconcile", e.admin, map[string]any{"repair": false}).must(t, 200).body
	if n := len(rep2["drift"].([]any)); n != 0 || rep2["metrics"] != float64(6) {
		t.Fatalf("reconcile %v", rep2)
	}
}
