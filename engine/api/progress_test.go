package api_test

import (
	"fmt"
	"testing"
	"time"
)

// TestProgressFollowsDealsAndTheOrg: won deals show up in the progress of
// their owner, their team and the company the moment they are won; the
// drill-down lists exactly the records behind each actual; reconcile finds
// no drift; visibility applies.
func TestProgressFollowsDealsAndTheOrg(t *testing.T) {
	e := newEnv(t)
	sh, _ := time.LoadLocation("Asia/Shanghai")
	today := time.Now().In(sh).Format("2006-01-02")
	quarter := quarterOf(time.Now().In(sh))
	mgrID, mgr := e.user("mgr.east", "manager")
	repA, repATok := e.user("rep.east", "rep")
	repB, repBTok := e.user("rep.west", "rep")
	east := e.do("POST", "/api/v1/teams", e.admin, map[string]any{"name": "华东", "managers": []string{mgrID}}).must(t, 201).body["id"].(string)
	west := e.do("POST", "/api/v1/teams", e.admin, map[string]any{"name": "西南"}).must(t, 201).body["id"].(string)
	e.do("POST", "/api/v1/teams/"+east+"/members", e.admin, map[string]any{"userId": repA, "from": "2020-01-01"}).must(t, 201)
	e.do("POST", "/api/v1/teams/"+west+"/members", e.admin, map[string]any{"userId": repB, "from": "2020-01-01"}).must(t, 201)

	progress := func(tok, node string) resp {
		t.Helper()
		return e.do("GET", "/api/v1/progress?metric=won_revenue&period="+quarter+"&node="+node, tok, nil).must(t, 200)
	}
	actual := func(r resp) float64 { return r.body["node"].(map[string]any)["actual"].(float64) }
	before := actual(progress(e.admin, "company"))

	win := func(tok string, amount int) string {
		id := e.do("POST", "/api/v1/records/deal", tok, map[string]any{"name": "d", "amount": amount, "customer": "c", "closeDate": today}).must(t, 201).body["id"].(string)
		for _, to := range []string{"qualified", "proposal", "won"} {
			e.do("POST", "/api/v1/records/deal/"+id+"/transition", tok, map[string]any{"to": to}).must(t, 200)
		}
		return id
	}
	win(repATok, 1000000)
	win(repATok, 250050)
	b := win(repBTok, 70000)
	// An open deal does not count.
	e.do("POST", "/api/v1/records/deal", repATok, map[string]any{"name": "open", "amount": 999, "closeDate": today}).must(t, 201)

	ra := progress(e.admin, "user:"+repA)
	if got := actual(ra); got != 1250050 {
		t.Fatalf("rep A actual %v, want 1250050", got)
	}
	// Weighted forecast: the open lead (999 分 at 10%) adds 100 (99.9 rounded).
	if w := ra.body["node"].(map[string]any)["forecast"].(map[string]any)["weighted"]; w != float64(1250050+100) {
		t.Fatalf("rep A weighted forecast %v, want %d", w, 1250050+100)
	}
	if got := actual(progress(e.admin, "team:"+east)); got != 1250050 {
		t.Fatalf("east actual %v", got)
	}
	if got := actual(progress(e.admin, "company")) - before; got != 1320050 {
		t.Fatalf("company grew by %v, want 1320050", got)
	}
	// The team's children are its members; the drill-down sums to the actual.
	r := progress(mgr, "team:"+east)
	kids := r.body["children"].([]any)
	if len(kids) != 1 || kids[0].(map[string]any)["actual"].(float64) != 1250050 {
		t.Fatalf("east children %s", r.raw)
	}
	d := e.do("GET", "/api/v1/progress/records?metric=won_revenue&period="+quarter+"&node=team:"+east, mgr, nil).must(t, 200)
	sum := 0.0
	for _, it := range d.body["items"].([]any) {
		sum += it.(map[string]any)["sum"].(float64)
	}
	if sum != 1250050 {
		t.Fatalf("drill-down sums to %v: %s", sum, d.raw)
	}
	// A rep who moves from 西南 to 华东 today: yesterday's win stays with 西南,
	// today's goes to 华东, and each team's drill-down matches its actual.
	mover, moverTok := e.user("rep.mover", "rep")
	yesterday := time.Now().In(sh).AddDate(0, 0, -1).Format("2006-01-02")
	e.do("POST", "/api/v1/teams/"+west+"/members", e.admin, map[string]any{"userId": mover, "from": "2020-01-01", "to": today}).must(t, 201)
	e.do("POST", "/api/v1/teams/"+east+"/members", e.admin, map[string]any{"userId": mover, "from": today}).must(t, 201)
	old := e.do("POST", "/api/v1/records/deal", moverTok, map[string]any{"name": "old", "amount": 500, "customer": "c", "closeDate": yesterday}).must(t, 201).body["id"].(string)
	for _, to := range []string{"qualified", "proposal", "won"} {
		e.do("POST", "/api/v1/records/deal/"+old+"/transition", moverTok, map[string]any{"to": to}).must(t, 200)
	}
	win(moverTok, 300)
	// On the first day of a quarter, yesterday's win falls in the previous one.
	westOld := 0.0
	if quarterOf(time.Now().In(sh).AddDate(0, 0, -1)) == quarter {
		westOld = 500
	}
	for team, want := range map[string]float64{east: 1250050 + 300, west: 70000 + westOld} {
		if got := actual(progress(e.admin, "team:"+team)); got != want {
			t.Fatalf("team %s actual %v, want %v", team, got, want)
		}
		d := e.do("GET", "/api/v1/progress/records?metric=won_revenue&period="+quarter+"&node=team:"+team, e.admin, nil).must(t, 200)
		sum := 0.0
		for _, it := range d.body["items"].([]any) {
			sum += it.(map[string]any)["sum"].(float64)
		}
		if sum != want {
			t.Fatalf("team %s drill-down %v, want %v", team, sum, want)
		}
	}
	// A lost deal after being won? Terminal: cannot. Deleting a won deal takes it out at once.
	e.do("DELETE", "/api/v1/records/deal/"+b, e.admin, nil).must(t, 204)
	if got := actual(progress(e.admin, "team:"+west)); got != westOld {
		t.Fatalf("west after delete %v, want %v", got, westOld)
	}
	// A metric without a condition counts open deals already: its weighted
	// forecast adds nothing to the actual.
	nd := e.do("GET", "/api/v1/progress?metric=new_deals&node=user:"+repA, e.admin, nil).must(t, 200).body["node"].(map[string]any)
	if nd["forecast"].(map[string]any)["weighted"] != nd["actual"] {
		t.Fatalf("new_deals weighted %v != actual %v", nd["forecast"].(map[string]any)["weighted"], nd["actual"])
	}
	// Visibility: the east manager cannot open the west team; a rep only themself.
	e.do("GET", "/api/v1/progress?metric=won_revenue&node=team:"+west, mgr, nil).must(t, 404)
	e.do("GET", "/api/v1/progress?metric=won_revenue&node=company", repATok, nil).must(t, 403)
	e.do("GET", "/api/v1/progress?metric=won_revenue&node=user:"+repB, repATok, nil).must(t, 404)
	if r := progress(repATok, ""); r.body["node"].(map[string]any)["node"].(map[string]any)["id"] != repA {
		t.Fatalf("a rep's default node is themself: %s", r.raw)
	}
	// Bad input.
	e.do("GET", "/api/v1/progress?metric=won_revenue&period=2026-Q5", e.admin, nil).must(t, 400)
	e.do("GET", "/api/v1/progress?metric=nope", e.admin, nil).must(t, 404)
	e.do("GET", "/api/v1/progress", e.admin, nil).must(t, 400)
	e.do("GET", "/api/v1/progress?metric=won_revenue&node=galaxy:1", e.admin, nil).must(t, 400)
	// Rollups equal a recompute from the records.
	rep := e.do("POST", "/api/v1/reconcile", e.admin, map[string]any{"repair": false}).must(t, 200)
	if n := len(rep.body["drift"].([]any)); n != 0 || rep.body["records"].(float64) == 0 {
		t.Fatalf("reconcile: %s", rep.raw)
	}
	e.do("POST", "/api/v1/reconcile", repATok, nil).must(t, 403)
}

func quarterOf(t time.Time) string { return fmt.Sprintf("%d-Q%d", t.Year(), (int(t.Month())-1)/3+1) }

// TestForecastFollowsStageProbabilities: the weighted forecast is the actual
// plus each open deal's amount × its stage's probability, rounded half-even
// once per deal; it follows transitions at once, and a republished pipeline
// with a changed probability re-weighs every open deal; reconcile agrees.
func TestForecastFollowsStageProbabilities(t *testing.T) {
	e := newEnv(t)
	sh, _ := time.LoadLocation("Asia/Shanghai")
	today := time.Now().In(sh).Format("2006-01-02")
	quarter := quarterOf(time.Now().In(sh))
	rep, repTok := e.user("rep.fc", "rep")
	team := e.do("POST", "/api/v1/teams", e.admin, map[string]any{"name": "预测组"}).must(t, 201).body["id"].(string)
	e.do("POST", "/api/v1/teams/"+team+"/members", e.admin, map[string]any{"userId": rep, "from": "2020-01-01"}).must(t, 201)
	forecast := func(node string) (actual, weighted float64) {
		t.Helper()
		r := e.do("GET", "/api/v1/progress?metric=won_revenue&period="+quarter+"&node="+node, e.admin, nil).must(t, 200)
		n := r.body["node"].(map[string]any)
		return n["actual"].(float64), n["forecast"].(map[string]any)["weighted"].(float64)
	}
	check := func(wantActual, wantWeighted float64) {
		t.Helper()
		for _, node := range []string{"user:" + rep, "team:" + team} {
			if a, w := forecast(node); a != wantActual || w != wantWeighted {
				t.Fatalf("%s: actual %v weighted %v, want %v and %v", node, a, w, wantActual, wantWeighted)
			}
		}
	}
	deal := func(amount int) string {
		return e.do("POST", "/api/v1/records/deal", repTok, map[string]any{"name": "d", "amount": amount, "customer": "c", "closeDate": today}).must(t, 201).body["id"].(string)
	}
	move := func(id string, to ...string) {
		t.Helper()
		for _, s := range to {
			e.do("POST", "/api/v1/records/deal/"+id+"/transition", repTok, map[string]any{"to": s}).must(t, 200)
		}
	}
	a := deal(1005) // lead, 10 %: 100.5 → 100 (half-even)
	check(0, 100)
	b := deal(2500)
	move(b, "qualified") // 30 %: 750
	check(0, 850)
	c := deal(7000)
	move(c, "qualified", "proposal", "won") // counted in the actual, not the pipeline
	check(7000, 7850)
	// The team's forecast is also the sum of its members' rows.
	r := e.do("GET", "/api/v1/progress?metric=won_revenue&period="+quarter+"&node=team:"+team, e.admin, nil).must(t, 200)
	if kids := r.body["children"].([]any); len(kids) != 1 || kids[0].(map[string]any)["forecast"].(map[string]any)["weighted"] != float64(7850) {
		t.Fatalf("team children: %s", r.raw)
	}

	// The admin raises the lead stage to 15 % and republishes: 150.75 → 151.
	p := e.do("GET", "/api/v1/pipelines/deal_sales", e.admin, nil).must(t, 200)
	def := p.body["definition"].(map[string]any)
	def["stages"].([]any)[0].(map[string]any)["probability"] = 15
	e.do("PUT", "/api/v1/pipelines/deal_sales", e.admin, def).must(t, 200)
	e.do("POST", "/api/v1/pipelines/deal_sales/publish", e.admin, nil).must(t, 200)
	check(7000, 7000+151+750)
	rec := e.do("POST", "/api/v1/reconcile", e.admin, map[string]any{"repair": false}).must(t, 200)
	if n := len(rec.body["drift"].([]any)); n != 0 {
		t.Fatalf("reconcile after republishing: %s", rec.raw)
	}
	// Lost deals leave the pipeline.
	e.do("PATCH", "/api/v1/records/deal/"+a, repTok, map[string]any{"lossReason": "price"}).must(t, 200)
	move(a, "lost")
	check(7000, 7750)
	rec = e.do("POST", "/api/v1/reconcile", e.admin, map[string]any{"repair": false}).must(t, 200)
	if n := len(rec.body["drift"].([]any)); n != 0 {
		t.Fatalf("reconcile: %s", rec.raw)
	}
}
