package api_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// reportFixture: a manager of 华东 with two reps, a rep of 西南, and deals
// with random amounts and close dates written through the API; want holds
// them for independent recomputation.
type reportFixture struct {
	e                  *env
	mgr, repA, repB    string // tokens
	mgrID, aID, bID    string
	east, west         string
	deals              []fixtureDeal
	today, quarter, yr string
}

type fixtureDeal struct {
	owner, close, stage string
	amount              int64
}

func newReportFixture(t *testing.T, n int) *reportFixture {
	e := newEnv(t)
	f := &reportFixture{e: e}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Now().In(sh)
	f.today, f.quarter, f.yr = now.Format("2006-01-02"), quarterOf(now), now.Format("2006")
	f.mgrID, f.mgr = e.user("mgr.east", "manager")
	f.aID, f.repA = e.user("rep.a", "rep")
	f.bID, f.repB = e.user("rep.b", "rep")
	f.east = e.do("POST", "/api/v1/teams", e.admin, map[string]any{"name": "华东", "managers": []string{f.mgrID}}).must(t, 201).body["id"].(string)
	f.west = e.do("POST", "/api/v1/teams", e.admin, map[string]any{"name": "西南"}).must(t, 201).body["id"].(string)
	e.do("POST", "/api/v1/teams/"+f.east+"/members", e.admin, map[string]any{"userId": f.aID, "from": "2020-01-01"}).must(t, 201)
	e.do("POST", "/api/v1/teams/"+f.west+"/members", e.admin, map[string]any{"userId": f.bID, "from": "2020-01-01"}).must(t, 201)
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	start := time.Date(now.Year(), 1, 1, 0, 0, 0, 0, sh)
	for i := 0; i < n; i++ {
		tok, owner := f.repA, f.aID
		if rng.IntN(3) == 0 {
			tok, owner = f.repB, f.bID
		}
		d := fixtureDeal{owner: owner, amount: int64(rng.IntN(5_000_000) + 1), close: start.AddDate(0, 0, rng.IntN(int(now.Sub(start).Hours()/24)+1)).Format("2006-01-02"), stage: "lead"}
		id := e.do("POST", "/api/v1/records/deal", tok, map[string]any{"name": fmt.Sprintf("rpt %d", i), "amount": d.amount, "customer": "rpt", "closeDate": d.close}).must(t, 201).body["id"].(string)
		if rng.IntN(2) == 0 {
			for _, to := range []string{"qualified", "proposal", "won"} {
				e.do("POST", "/api/v1/records/deal/"+id+"/transition", tok, map[string]any{"to": to}).must(t, 200)
			}
			d.stage = "won"
		}
		f.deals = append(f.deals, d)
	}
	return f
}

var ownerMonthReport = map[string]any{
	"label":   map[string]any{"zh-CN": "销售月度赢单", "en": "Won by rep and month"},
	"source":  map[string]any{"kind": "records", "object": "deal"},
	"filters": []any{map[string]any{"field": "customer", "op": "eq", "value": "rpt"}, map[string]any{"field": "stage", "op": "eq", "value": "won"}},
	"period":  map[string]any{"field": "closeDate"},
	"dimensions": []any{
		map[string]any{"key": "rep", "org": "user", "label": map[string]any{"zh-CN": "销售", "en": "Rep"}},
		map[string]any{"key": "month", "field": "closeDate", "grain": "month", "label": map[string]any{"zh-CN": "月份", "en": "Month"}},
	},
	"measures": []any{
		map[string]any{"key": "deals", "agg": "count", "label": map[string]any{"zh-CN": "单数", "en": "Deals"}},
		map[string]any{"key": "amount", "agg": "sum", "field": "amount", "label": map[string]any{"zh-CN": "金额", "en": "Amount"}},
		map[string]any{"key": "avgAmount", "agg": "avg", "field": "amount"},
		map[string]any{"key": "maxAmount", "agg": "max", "field": "amount"},
		map[string]any{"key": "bonus", "agg": "sum", "expr": "amount * 0.013", "unit": "money"},
	},
	"sort":  []any{map[string]any{"key": "rep"}, map[string]any{"key": "month"}},
	"chart": map[string]any{"type": "bar", "x": "month", "y": []any{"amount"}, "series": "rep"},
}

// wantOwnerMonth recomputes the report from the fixture: per owner×month,
// count, sum, max and Σ round-half-even(amount × 0.013 元 → 分) per deal.
func (f *reportFixture) wantOwnerMonth(owners ...string) map[string][4]int64 {
	out := map[string][4]int64{}
	for _, d := range f.deals {
		if d.stage != "won" || d.close[:4] != f.yr || (len(owners) > 0 && !contains(owners, d.owner)) {
			continue
		}
		k := d.owner + "|" + d.close[:7]
		v := out[k]
		v[0]++
		v[1] += d.amount
		v[2] = max(v[2], d.amount)
		v[3] += bonusOf(d.amount)
		out[k] = v
	}
	return out
}

// bonusOf is amount × 0.013 in 分, rounded half-even at the line — done in
// integers: amount × 13 / 1000.
func bonusOf(amount int64) int64 {
	n := amount * 13
	q, r := n/1000, n%1000
	if r > 500 || (r == 500 && q%2 == 1) {
		q++
	}
	return q
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func (f *reportFixture) checkOwnerMonth(t *testing.T, tok string, owners ...string) resp {
	t.Helper()
	r := f.e.do("GET", "/api/v1/reports/won_by_month/run?period="+f.yr, tok, nil).must(t, 200)
	want := f.wantOwnerMonth(owners...)
	rows := r.body["rows"].([]any)
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %s", len(rows), len(want), r.raw)
	}
	var total int64
	for _, x := range rows {
		row := x.(map[string]any)
		k := row["repId"].(string) + "|" + row["month"].(string)
		w, ok := want[k]
		if !ok {
			t.Fatalf("unexpected row %v", row)
		}
		got := [4]int64{int64(row["deals"].(float64)), int64(row["amount"].(float64)), int64(row["maxAmount"].(float64)), int64(row["bonus"].(float64))}
		if got != w {
			t.Fatalf("row %s: got %v, want %v", k, got, w)
		}
		if avg := row["avgAmount"].(float64); avg < float64(w[1])/float64(w[0])-0.5 || avg > float64(w[1])/float64(w[0])+0.5 {
			t.Fatalf("row %s: avg %v of %v/%v", k, avg, w[1], w[0])
		}
		total += w[1]
	}
	if got := int64(r.body["totals"].(map[string]any)["amount"].(float64)); got != total {
		t.Fatalf("total amount %d, want %d", got, total)
	}
	return r
}

// TestReportDefinitionsRunAndExport: a report over deals grouped by rep ×
// month matches an independent recomputation exactly (money sums in 分,
// an expr measure rounded per row) for the admin, the manager (their
// subtree) and a rep (own rows); exports stream CSV and XLSX with Chinese
// headers and numeric money in 元.
func TestReportDefinitionsRunAndExport(t *testing.T) {
	f := newReportFixture(t, 24)
	e := f.e
	e.do("PUT", "/api/v1/reports/won_by_month", e.admin, ownerMonthReport).must(t, 200)
	// Not published yet: a run is a 4xx; the admin may run the draft.
	if r := e.do("GET", "/api/v1/reports/won_by_month/run?period="+f.yr, e.admin, nil); r.status < 400 {
		t.Fatalf("unpublished report ran: %d", r.status)
	}
	e.do("GET", "/api/v1/reports/won_by_month/run?draft=true&period="+f.yr, e.admin, nil).must(t, 200)
	e.do("GET", "/api/v1/reports/won_by_month/run?draft=true&period="+f.yr, f.repA, nil).must(t, 403)
	e.do("POST", "/api/v1/reports/won_by_month/publish", e.admin, nil).must(t, 200)

	r := f.checkOwnerMonth(t, e.admin)
	cols := r.body["columns"].([]any)
	if c := cols[2].(map[string]any); c["key"] != "deals" || c["type"] != "integer" || c["label"].(map[string]any)["zh-CN"] != "单数" {
		t.Fatalf("columns %v", cols)
	}
	if c := cols[3].(map[string]any); c["type"] != "money" {
		t.Fatalf("amount column %v", c)
	}
	if ch := r.body["chart"].(map[string]any); ch["type"] != "bar" || ch["series"] != "rep" {
		t.Fatalf("chart %v", ch)
	}
	f.checkOwnerMonth(t, f.mgr, f.mgrID, f.aID) // the manager: 华东 (rep A) and themself
	f.checkOwnerMonth(t, f.repB, f.bID)         // a rep: own rows only
	// A node narrows to the team's members.
	n := e.do("GET", "/api/v1/reports/won_by_month/run?period="+f.yr+"&node=team:"+f.west, e.admin, nil).must(t, 200)
	if want := f.wantOwnerMonth(f.bID); len(n.body["rows"].([]any)) != len(want) {
		t.Fatalf("node team:west rows %s", n.raw)
	}
	e.do("GET", "/api/v1/reports/won_by_month/run?node=team:"+f.west, f.mgr, nil).must(t, 404)

	// CSV: BOM, Chinese headers, money in 元 with two decimals, a totals row.
	c := e.do("GET", "/api/v1/reports/won_by_month/run?period="+f.yr+"&format=csv", e.admin, nil).must(t, 200)
	if !strings.HasPrefix(c.raw, "\uFEFF销售,月份,单数,金额") || !strings.Contains(c.header.Get("Content-Disposition"), "report-won_by_month-"+f.yr+".csv") {
		t.Fatalf("csv %q %v", c.raw[:min(80, len(c.raw))], c.header)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(c.raw, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, v := range f.wantOwnerMonth() {
		total += v[1]
	}
	if last := recs[len(recs)-1]; last[0] != "合计 Total" || last[3] != fmt.Sprintf("%d.%02d", total/100, total%100) {
		t.Fatalf("csv totals %v, want %d", last, total)
	}
	// XLSX: money is a number of 元 with a 0.00 format.
	x := e.do("GET", "/api/v1/reports/won_by_month/run?period="+f.yr+"&format=xlsx", e.admin, nil).must(t, 200)
	xf, err := excelize.OpenReader(bytes.NewReader([]byte(x.raw)))
	if err != nil {
		t.Fatal(err)
	}
	sheet := xf.GetSheetName(0)
	if h, _ := xf.GetCellValue(sheet, "D1"); h != "金额" {
		t.Fatalf("xlsx header %q", h)
	}
	if typ, _ := xf.GetCellType(sheet, "D2"); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Fatalf("xlsx money cell type %v", typ)
	}
	raw, _ := xf.GetCellValue(sheet, "D2", excelize.Options{RawCellValue: true})
	if want := recs[1][3]; strings.TrimRight(strings.TrimRight(want, "0"), ".") != strings.TrimRight(strings.TrimRight(raw, "0"), ".") {
		t.Fatalf("xlsx D2 = %q, csv says %q", raw, want)
	}

	// Record-list export: a rep gets only their deals, with Chinese headers.
	rx := e.do("GET", "/api/v1/records/deal/export?format=csv&customer=rpt", f.repB, nil).must(t, 200)
	lines, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(rx.raw, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	mine := 0
	for _, d := range f.deals {
		if d.owner == f.bID {
			mine++
		}
	}
	if len(lines)-1 != mine || lines[0][0] != "编号" || lines[0][1] != "负责人" || !contains(lines[0], "金额") {
		t.Fatalf("record export: %d rows (want %d), header %v", len(lines)-1, mine, lines[0])
	}
	e.do("GET", "/api/v1/records/deal/export?format=pdf", e.admin, nil).must(t, 400)
	e.do("GET", "/api/v1/records/deal/export?nope=1", e.admin, nil).must(t, 400)
	xr := e.do("GET", "/api/v1/records/deal/export?format=xlsx&customer=rpt", e.admin, nil).must(t, 200)
	if _, err := excelize.OpenReader(bytes.NewReader([]byte(xr.raw))); err != nil {
		t.Fatalf("record xlsx: %v", err)
	}
}

// TestReportDefinitionErrors: every mistake is a 422 with a pointer.
func TestReportDefinitionErrors(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		def  map[string]any
		ptr  string
	}{
		{"unknown object", map[string]any{"label": map[string]any{"en": "x"}, "source": map[string]any{"kind": "records", "object": "nope"},
			"measures": []any{map[string]any{"key": "n", "agg": "count"}}}, "/source/object"},
		{"unknown dimension field", map[string]any{"label": map[string]any{"en": "x"}, "source": map[string]any{"kind": "records", "object": "deal"},
			"dimensions": []any{map[string]any{"key": "s", "field": "stagee"}}, "measures": []any{map[string]any{"key": "n", "agg": "count"}}}, "/dimensions/0/field"},
		{"sum of text", map[string]any{"label": map[string]any{"en": "x"}, "source": map[string]any{"kind": "records", "object": "deal"},
			"measures": []any{map[string]any{"key": "n", "agg": "sum", "field": "customer"}}}, "/measures/0/field"},
		{"expr not a number", map[string]any{"label": map[string]any{"en": "x"}, "source": map[string]any{"kind": "records", "object": "deal"},
			"measures": []any{map[string]any{"key": "n", "agg": "sum", "expr": "customer + 'x'"}}}, "/measures/0/expr"},
		{"expr unknown name", map[string]any{"label": map[string]any{"en": "x"}, "source": map[string]any{"kind": "records", "object": "deal"},
			"measures": []any{map[string]any{"key": "n", "agg": "sum", "expr": "amout * 2"}}}, "/measures/0/expr"},
		{"grain on text", map[string]any{"label": map[string]any{"en": "x"}, "source": map[string]any{"kind": "records", "object": "deal"},
			"dimensions": []any{map[string]any{"key": "s", "field": "stage", "grain": "month"}}, "measures": []any{map[string]any{"key": "n", "agg": "count"}}}, "/dimensions/0/grain"},
		{"bad filter value", map[string]any{"label": map[string]any{"en": "x"}, "source": map[string]any{"kind": "records", "object": "deal"},
			"filters": []any{map[string]any{"field": "amount", "op": "gt", "value": "lots"}}, "measures": []any{map[string]any{"key": "n", "agg": "count"}}}, "/filters/0/value"},
		{"sort by unknown key", map[string]any{"label": map[string]any{"en": "x"}, "source": map[string]any{"kind": "records", "object": "deal"},
			"sort": []any{map[string]any{"key": "zzz"}}, "measures": []any{map[string]any{"key": "n", "agg": "count"}}}, "/sort/0/key"},
		{"unknown chart", map[string]any{"label": map[string]any{"en": "x"}, "source": map[string]any{"kind": "records", "object": "deal"},
			"chart": map[string]any{"type": "radar"}, "measures": []any{map[string]any{"key": "n", "agg": "count"}}}, "/chart/type"},
		{"rollups unknown field", map[string]any{"label": map[string]any{"en": "x"}, "source": map[string]any{"kind": "rollups", "metric": "won_revenue"},
			"dimensions": []any{map[string]any{"key": "s", "field": "stage"}}, "measures": []any{map[string]any{"key": "n", "agg": "sum", "field": "value"}}}, "/dimensions/0/field"},
		{"unknown source field", map[string]any{"label": map[string]any{"en": "x"}, "source": map[string]any{"kind": "records", "object": "deal", "sql": "select"},
			"measures": []any{map[string]any{"key": "n", "agg": "count"}}}, "/source/sql"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("PUT", "/api/v1/reports/bad", e.admin, tc.def).must(t, 422)
			if !contains(r.pointers(), tc.ptr) {
				t.Fatalf("pointers %v, want %s: %s", r.pointers(), tc.ptr, r.raw)
			}
		})
	}
	e.do("GET", "/api/v1/reports/builtin/nope?period=2026", e.admin, nil).must(t, 404)
	e.do("GET", "/api/v1/reports/builtin/attainment?period=2026", e.admin, nil).must(t, 400)
	e.do("GET", "/api/v1/reports/builtin/funnel?period=2026&pipeline=deal_sales&format=pdf", e.admin, nil).must(t, 400)
	e.do("POST", "/api/v1/reports/reviews", e.admin, map[string]any{"metric": "won_revenue", "period": "someday"}).must(t, 422)
}

// TestReportSourcesAndBuiltins: rollups, stages and the built-ins agree with
// progress and the records; a review is stored as taken.
func TestReportSourcesAndBuiltins(t *testing.T) {
	f := newReportFixture(t, 16)
	e := f.e
	// Rollups of won_revenue by rep over the year = the won deals' amounts
	// (plus the demo seed deals owned by the admin).
	e.do("PUT", "/api/v1/reports/rollup_rep", e.admin, map[string]any{
		"label": map[string]any{"zh-CN": "汇总", "en": "Rollups"}, "source": map[string]any{"kind": "rollups", "metric": "won_revenue"},
		"dimensions": []any{map[string]any{"key": "team", "org": "team"}},
		"measures":   []any{map[string]any{"key": "won", "agg": "sum", "field": "value"}, map[string]any{"key": "n", "agg": "sum", "field": "count"}},
	}).must(t, 200)
	e.do("POST", "/api/v1/reports/rollup_rep/publish", e.admin, nil).must(t, 200)
	want := map[string]int64{}
	for _, d := range f.deals {
		if d.stage == "won" && d.close[:4] == f.yr {
			team := "华东"
			if d.owner == f.bID {
				team = "西南"
			}
			want[team] += d.amount
		}
	}
	r := e.do("GET", "/api/v1/reports/rollup_rep/run?period="+f.yr, f.mgr, nil).must(t, 200)
	for _, x := range r.body["rows"].([]any) {
		row := x.(map[string]any)
		if row["team"] == "西南" {
			t.Fatalf("the manager of 华东 sees 西南: %s", r.raw)
		}
		if row["team"] == "华东" && int64(row["won"].(float64)) != want["华东"] {
			t.Fatalf("华东 won %v, want %d", row["won"], want["华东"])
		}
	}
	// The attainment built-in agrees with the rollups report.
	a := e.do("GET", "/api/v1/reports/builtin/attainment?metric=won_revenue&period="+f.yr+"&node=team:"+f.east, e.admin, nil).must(t, 200)
	if got := int64(a.body["totals"].(map[string]any)["actual"].(float64)); got != want["华东"] {
		t.Fatalf("attainment actual %d, want %d: %s", got, want["华东"], a.raw)
	}
	// Stages: visits per stage of deals in the year.
	e.do("PUT", "/api/v1/reports/stage_visits", e.admin, map[string]any{
		"label": map[string]any{"en": "Visits"}, "source": map[string]any{"kind": "stages", "pipeline": "deal_sales"},
		"filters":    []any{map[string]any{"field": "customer", "op": "eq", "value": "rpt"}},
		"dimensions": []any{map[string]any{"key": "stage", "field": "stage"}},
		"measures":   []any{map[string]any{"key": "visits", "agg": "count"}, map[string]any{"key": "deals", "agg": "distinct", "field": "id"}},
	}).must(t, 200)
	e.do("POST", "/api/v1/reports/stage_visits/publish", e.admin, nil).must(t, 200)
	sv := e.do("GET", "/api/v1/reports/stage_visits/run", e.admin, nil).must(t, 200)
	won := 0
	for _, d := range f.deals {
		if d.stage == "won" {
			won++
		}
	}
	for _, x := range sv.body["rows"].([]any) {
		row := x.(map[string]any)
		switch row["stage"] {
		case "lead":
			if int(row["visits"].(float64)) != len(f.deals) {
				t.Fatalf("lead visits %v, want %d", row["visits"], len(f.deals))
			}
		case "won":
			if int(row["deals"].(float64)) != won {
				t.Fatalf("won deals %v, want %d", row["deals"], won)
			}
		}
	}
	// Built-ins answer with columns and rows.
	for _, q := range []string{
		"funnel?pipeline=deal_sales&period=" + f.yr, "velocity?pipeline=deal_sales&period=" + f.yr,
		"winrate?pipeline=deal_sales&period=" + f.quarter, "coverage?metric=won_revenue&period=" + f.quarter,
		"leaderboard?metric=won_revenue&period=" + f.yr + "&node=team:" + f.east, "trend?metric=won_revenue&period=" + f.quarter + "&grain=week",
		"commission?period=" + f.quarter,
	} {
		b := e.do("GET", "/api/v1/reports/builtin/"+q, e.admin, nil).must(t, 200)
		if len(b.body["columns"].([]any)) < 2 {
			t.Fatalf("%s: %s", q, b.raw)
		}
	}
	lb := e.do("GET", "/api/v1/reports/builtin/leaderboard?metric=won_revenue&period="+f.yr, f.repB, nil).must(t, 200)
	if rows := lb.body["rows"].([]any); len(rows) != 1 || rows[0].(map[string]any)["userId"] != f.bID {
		t.Fatalf("a rep's leaderboard shows others: %s", lb.raw)
	}
	fn := e.do("GET", "/api/v1/reports/builtin/funnel?pipeline=deal_sales&period="+f.yr+"&format=xlsx", e.admin, nil).must(t, 200)
	if fn.header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Fatalf("funnel export content type %q", fn.header.Get("Content-Type"))
	}

	// A review is a snapshot: taken once, it does not move when deals do.
	rv := e.do("POST", "/api/v1/reports/reviews", f.mgr, map[string]any{"metric": "won_revenue", "period": f.yr, "node": "team:" + f.east}).must(t, 201)
	id := rv.body["id"].(string)
	plan := rv.body["result"].(map[string]any)["plan"].(map[string]any)
	if int64(plan["actual"].(float64)) != want["华东"] {
		t.Fatalf("review actual %v, want %d", plan["actual"], want["华东"])
	}
	if rv.body["result"].(map[string]any)["byStage"] == nil {
		t.Fatalf("review without stages: %s", rv.raw)
	}
	id2 := e.do("POST", "/api/v1/records/deal", f.repA, map[string]any{"name": "late", "amount": 777, "customer": "c", "closeDate": f.today}).must(t, 201).body["id"].(string)
	for _, to := range []string{"qualified", "proposal", "won"} {
		e.do("POST", "/api/v1/records/deal/"+id2+"/transition", f.repA, map[string]any{"to": to}).must(t, 200)
	}
	got := e.do("GET", "/api/v1/reports/reviews/"+id, f.mgr, nil).must(t, 200)
	if p := got.body["result"].(map[string]any)["plan"].(map[string]any); p["actual"] != plan["actual"] {
		t.Fatalf("the snapshot moved: %v → %v", plan["actual"], p["actual"])
	}
	e.do("GET", "/api/v1/reports/reviews/"+id, f.repB, nil).must(t, 404)
	if l := e.do("GET", "/api/v1/reports/reviews", f.repB, nil).must(t, 200); len(l.body["items"].([]any)) != 0 {
		t.Fatalf("a rep of 西南 lists 华东's review: %s", l.raw)
	}
	if l := e.do("GET", "/api/v1/reports/reviews?metric=won_revenue", e.admin, nil).must(t, 200); len(l.body["items"].([]any)) != 1 {
		t.Fatalf("reviews: %s", l.raw)
	}
	e.do("POST", "/api/v1/reports/reviews", f.repA, map[string]any{"metric": "won_revenue", "period": f.yr}).must(t, 403)
}

// TestReportsMongoBackend replays the report scenarios through the MongoDB
// adapter on FerretDB, so both stores give the same answers.
func TestReportsMongoBackend(t *testing.T) {
	if testing.Short() {
		t.Skip("FerretDB scenarios are slow; run without -short")
	}
	useMongo = true
	defer func() { useMongo = false }()
	t.Run("DefinitionsRunAndExport", TestReportDefinitionsRunAndExport)
	t.Run("SourcesAndBuiltins", TestReportSourcesAndBuiltins)
}

var _ = sort.Strings
var _ = io.EOF
var _ = http.StatusOK

// Authorization matrix support (authz_matrix_test.go): a published report
// and a review of team east to call the report routes with.
var matrixReports = map[*authzFixture]string{}

const matrixReportKey = "matrix_won"

func (f *authzFixture) matrixReport() string {
	if _, ok := matrixReports[f]; ok {
		return matrixReportKey
	}
	e := f.e
	e.do("PUT", "/api/v1/reports/"+matrixReportKey, e.admin, ownerMonthReport).must(e.t, 200)
	e.do("POST", "/api/v1/reports/"+matrixReportKey+"/publish", e.admin, nil).must(e.t, 200)
	rv := e.do("POST", "/api/v1/reports/reviews", e.admin, map[string]any{"metric": "won_revenue", "period": "2026", "node": "team:" + f.east}).must(e.t, 201)
	matrixReports[f] = rv.body["id"].(string)
	return matrixReportKey
}

func (f *authzFixture) buildReportCall(method, path string, c *matrixCall) {
	switch method + " " + path {
	case "PUT /api/v1/reports/:key":
		c.body = f.working("/api/v1/reports/" + matrixReportKey)
	case "GET /api/v1/reports/:key/run":
		c.path += "?period=2026"
	case "POST /api/v1/reports/preview":
		c.body = ownerMonthReport
	case "GET /api/v1/reports/builtin/:name":
		c.path = "/api/v1/reports/builtin/attainment?metric=won_revenue&period=2026&node=team:" + f.east
	case "POST /api/v1/reports/reviews":
		c.body = map[string]any{"metric": "won_revenue", "period": "2026", "node": "team:" + f.east}
	case "GET /api/v1/reports/reviews/:id":
		f.matrixReport()
		c.path = "/api/v1/reports/reviews/" + matrixReports[f]
	case "GET /api/v1/records/:object/export":
		c.path += "?format=csv"
	}
}
