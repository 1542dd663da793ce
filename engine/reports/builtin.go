package reports

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/pipeline"
	"stride/engine/progress"
	"stride/engine/store"
	"stride/engine/tracking"
)

// BuiltinQuery asks a built-in report.
type BuiltinQuery struct {
	Metric   string
	Pipeline string
	Period   period.Period
	Node     string
	// Grain of the trend's points: day (default) or week.
	Grain string
	// By orders the leaderboard: actual (default) or attainment.
	By    string
	Limit int
	Now   time.Time
}

// BuiltinInfo describes a built-in report for the UI.
type BuiltinInfo struct {
	Name   string            `json:"name"`
	Label  map[string]string `json:"label"`
	Params []string          `json:"params"`
	Chart  string            `json:"chart"`
}

// Builtins lists the built-in reports.
var Builtins = []BuiltinInfo{
	{"attainment", map[string]string{"zh-CN": "目标达成", "en": "Attainment by node"}, []string{"metric", "period", "node"}, "bar"},
	{"leaderboard", map[string]string{"zh-CN": "排行榜", "en": "Leaderboard"}, []string{"metric", "period", "node", "by"}, "bar"},
	{"trend", map[string]string{"zh-CN": "实际与目标趋势", "en": "Actual vs target trend"}, []string{"metric", "period", "node", "grain"}, "line"},
	{"funnel", map[string]string{"zh-CN": "漏斗转化", "en": "Funnel conversion"}, []string{"pipeline", "period"}, "funnel"},
	{"velocity", map[string]string{"zh-CN": "阶段停留时长", "en": "Stage velocity"}, []string{"pipeline", "period"}, "bar"},
	{"winrate", map[string]string{"zh-CN": "赢单率", "en": "Win rate"}, []string{"pipeline", "period", "node"}, "bar"},
	{"coverage", map[string]string{"zh-CN": "管道覆盖率", "en": "Pipeline coverage"}, []string{"metric", "period", "node"}, "bar"},
	{"commission", map[string]string{"zh-CN": "提成汇总", "en": "Commission summary"}, []string{"period", "node"}, "bar"},
}

func l(zh, en string) map[string]string { return map[string]string{"zh-CN": zh, "en": en} }

func required(name, example string) error {
	return &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_query", Message: name + " is required",
		Fields: []apperr.FieldError{{Pointer: "/query/" + name, Code: "required", Message: "e.g. " + name + "=" + example}}}
}

// Builtin runs the built-in report name.
func (s *Service) Builtin(ctx context.Context, db store.DB, tenant string, p *auth.Principal, name string, q BuiltinQuery) (*Result, error) {
	if q.Now.IsZero() {
		q.Now = s.Now()
	}
	var (
		res *Result
		err error
	)
	switch name {
	case "attainment":
		res, err = s.attainment(ctx, db, tenant, p, q)
	case "leaderboard":
		res, err = s.leaderboard(ctx, db, tenant, p, q)
	case "trend":
		res, err = s.trend(ctx, db, tenant, p, q)
	case "funnel", "velocity":
		res, err = s.funnel(ctx, db, tenant, p, q, name == "velocity")
	case "winrate":
		res, err = s.winRate(ctx, db, tenant, p, q)
	case "coverage":
		res, err = s.coverage(ctx, db, tenant, p, q)
	case "commission":
		res, err = s.commissionSummary(ctx, db, tenant, p, q)
	default:
		return nil, apperr.NotFound("no built-in report %q", name)
	}
	if err != nil {
		return nil, err
	}
	for _, b := range Builtins {
		if b.Name == name {
			res.Report = Info{Key: name, Label: b.Label, Builtin: true}
			if res.Chart.Type == "" {
				res.Chart.Type = b.Chart
			}
		}
	}
	res.Period = &PeriodInfo{Key: q.Period.Key, Start: q.Period.Start, End: q.Period.End}
	if res.Node == "" {
		res.Node = q.Node
	}
	if res.Totals == nil {
		res.Totals = map[string]any{}
	}
	return res, nil
}

// amounts reads a metric's stored values as result cells: money stays in 分,
// other units become their value (stored / scale).
type amounts struct {
	typ   string
	scale int64
}

func amountsOf(m progress.MetricInfo) amounts {
	if m.Unit == tracking.UnitMoney {
		return amounts{TypeMoney, 1}
	}
	if m.Unit == tracking.UnitCount {
		return amounts{TypeInteger, 1}
	}
	sc := m.Scale
	if sc <= 0 {
		sc = 1
	}
	return amounts{TypeNumber, sc}
}

func (a amounts) of(v *int64) any {
	if v == nil {
		return nil
	}
	if a.typ == TypeNumber {
		return float64(*v) / float64(a.scale)
	}
	return *v
}

func ratio(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func (s *Service) needMetric(q BuiltinQuery) error {
	if q.Metric == "" {
		return required("metric", "won_revenue")
	}
	return nil
}

func nodeID(n progress.Node) string {
	if n.Kind == "company" {
		return "company"
	}
	return n.Kind + ":" + n.ID
}

func (s *Service) attainment(ctx context.Context, db store.DB, tenant string, p *auth.Principal, q BuiltinQuery) (*Result, error) {
	if err := s.needMetric(q); err != nil {
		return nil, err
	}
	pr, err := s.progress.Query(ctx, db, tenant, p, progress.Query{Metric: q.Metric, Period: q.Period, Node: q.Node, Now: q.Now})
	if err != nil {
		return nil, err
	}
	a := amountsOf(pr.Metric)
	res := &Result{Node: nodeID(pr.Node.Node), Columns: []Column{
		{Key: "node", Label: l("节点", "Node"), Type: TypeString, Role: "dimension"},
		{Key: "target", Label: l("目标", "Target"), Type: a.typ, Role: "measure"},
		{Key: "actual", Label: l("实际", "Actual"), Type: a.typ, Role: "measure"},
		{Key: "attainment", Label: l("达成率", "Attainment"), Type: TypePercent, Role: "measure"},
		{Key: "expected", Label: l("应达成", "Expected to date"), Type: a.typ, Role: "measure"},
		{Key: "pacing", Label: l("进度", "Pacing"), Type: TypePercent, Role: "measure"},
		{Key: "gap", Label: l("差距", "Gap"), Type: a.typ, Role: "measure"},
		{Key: "forecast", Label: l("加权预测", "Weighted forecast"), Type: a.typ, Role: "measure"},
	}, Chart: Chart{Type: "bar", X: "node", Y: []string{"target", "actual"}}}
	row := func(r progress.Row) map[string]any {
		return map[string]any{"node": r.Node.Name, "nodeId": nodeID(r.Node), "target": a.of(r.Target), "actual": a.of(r.Actual),
			"attainment": ratio(r.Attainment), "expected": a.of(r.Expected), "pacing": ratio(r.Pacing), "gap": a.of(r.Gap),
			"forecast": a.of(r.Forecast.Weighted)}
	}
	res.Rows = []map[string]any{}
	for _, c := range pr.Children {
		res.Rows = append(res.Rows, row(c))
	}
	top := row(pr.Node)
	delete(top, "node")
	delete(top, "nodeId")
	res.Totals = top
	res.Extra = map[string]any{"node": row(pr.Node), "metric": pr.Metric, "elapsed": pr.Period.Elapsed}
	return res, nil
}

// members lists the users of a node (visible to the caller) during the period.
func (s *Service) members(ctx context.Context, db store.DB, p *auth.Principal, node string, per period.Period) ([]string, error) {
	o := &org{s: s, ctx: ctx, db: db, today: period.FormatDate(s.Now())}
	if err := o.load(); err != nil {
		return nil, err
	}
	if node == "" {
		vis, err := auth.VisibilityOf(ctx, db, p)
		if err != nil {
			return nil, err
		}
		if !vis.All {
			out := append([]string(nil), vis.Owners...)
			sort.Strings(out)
			return out, nil
		}
	}
	sc, err := s.resolveScope(ctx, db, p, o, node, period.FormatDate(per.Start), lastDay(per), false)
	if err != nil {
		return nil, err
	}
	var out []string
	switch {
	case sc.ranges != nil:
		for u := range sc.ranges {
			if sc.owners == nil || sc.set[u] {
				out = append(out, u)
			}
		}
	case sc.owners != nil:
		out = append(out, sc.owners...)
	default:
		for u := range o.ms { // everyone with a team
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (s *Service) leaderboard(ctx context.Context, db store.DB, tenant string, p *auth.Principal, q BuiltinQuery) (*Result, error) {
	if err := s.needMetric(q); err != nil {
		return nil, err
	}
	by := q.By
	if by == "" {
		by = "actual"
	}
	if by != "actual" && by != "attainment" {
		return nil, &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_query", Message: "by must be actual or attainment",
			Fields: []apperr.FieldError{{Pointer: "/query/by", Code: "enum", Message: "actual or attainment"}}}
	}
	users, err := s.members(ctx, db, p, q.Node, q.Period)
	if err != nil {
		return nil, err
	}
	var a amounts
	var rows []map[string]any
	for _, u := range users {
		pr, err := s.progress.Query(ctx, db, tenant, p, progress.Query{Metric: q.Metric, Period: q.Period, Node: "user:" + u, Now: q.Now})
		if err != nil {
			if ae, ok := apperr.As(err); ok && ae.Kind == apperr.KindNotFound {
				continue
			}
			return nil, err
		}
		a = amountsOf(pr.Metric)
		r := pr.Node
		rows = append(rows, map[string]any{"user": r.Node.Name, "userId": u, "actual": a.of(r.Actual), "target": a.of(r.Target),
			"attainment": ratio(r.Attainment), "_sort": sortVal(by, r)})
	}
	if a.typ == "" {
		a.typ = TypeMoney
	}
	sort.SliceStable(rows, func(i, j int) bool {
		x, y := rows[i]["_sort"].(float64), rows[j]["_sort"].(float64)
		if x != y {
			return x > y
		}
		return rows[i]["user"].(string) < rows[j]["user"].(string)
	})
	rank := 0
	prev := 0.0
	for i, r := range rows {
		v := r["_sort"].(float64)
		if i == 0 || v != prev {
			rank = i + 1
		}
		prev = v
		r["rank"] = int64(rank)
		delete(r, "_sort")
	}
	if q.Limit > 0 && len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	if rows == nil {
		rows = []map[string]any{}
	}
	return &Result{Rows: rows, Columns: []Column{
		{Key: "rank", Label: l("名次", "Rank"), Type: TypeInteger, Role: "dimension"},
		{Key: "user", Label: l("销售", "Rep"), Type: TypeString, Role: "dimension"},
		{Key: "actual", Label: l("实际", "Actual"), Type: a.typ, Role: "measure"},
		{Key: "target", Label: l("目标", "Target"), Type: a.typ, Role: "measure"},
		{Key: "attainment", Label: l("达成率", "Attainment"), Type: TypePercent, Role: "measure"},
	}, Chart: Chart{Type: "bar", X: "user", Y: []string{by}}, Extra: map[string]any{"by": by}}, nil
}

func sortVal(by string, r progress.Row) float64 {
	if by == "attainment" {
		if r.Attainment == nil {
			return -1
		}
		return *r.Attainment
	}
	if r.Actual == nil {
		return -1
	}
	return float64(*r.Actual)
}

// trend is the cumulative actual per day or week of the period, with the
// target and the pacing line (the target expected by each point,
// seasonality-weighted, from the target plan).
func (s *Service) trend(ctx context.Context, db store.DB, tenant string, p *auth.Principal, q BuiltinQuery) (*Result, error) {
	if err := s.needMetric(q); err != nil {
		return nil, err
	}
	grain := q.Grain
	if grain == "" {
		grain = "day"
	}
	if grain != "day" && grain != "week" {
		return nil, &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_query", Message: "grain must be day or week",
			Fields: []apperr.FieldError{{Pointer: "/query/grain", Code: "enum", Message: "day or week"}}}
	}
	// Progress checks the node, resolves the caller's default and gives the target.
	pr, err := s.progress.Query(ctx, db, tenant, p, progress.Query{Metric: q.Metric, Period: q.Period, Node: q.Node, Now: q.Now})
	if err != nil {
		return nil, err
	}
	if pr.Metric.Derived {
		return nil, apperr.New(apperr.KindInvalid, "derived_metric", "metric %s is derived; its trend is not available yet", q.Metric)
	}
	from, to := period.FormatDate(q.Period.Start), lastDay(q.Period)
	node := pr.Node.Node
	var ranges tracking.Ranges
	var owners []string
	switch node.Kind {
	case "user":
		ranges = tracking.Ranges{node.ID: {{From: from, To: to}}}
		owners = []string{node.ID}
	case "team":
		org, err := tracking.LoadOrg(ctx, db)
		if err != nil {
			return nil, err
		}
		if ranges, err = org.TeamRanges(ctx, db, node.ID, from, to); err != nil {
			return nil, err
		}
		for u := range ranges {
			owners = append(owners, u)
		}
	default:
		us, err := auth.ListUsers(ctx, db)
		if err != nil {
			return nil, err
		}
		ranges = tracking.Ranges{}
		for _, u := range us {
			ranges[u.ID] = []tracking.DayRange{{From: from, To: to}}
		}
	}
	rs, err := s.tracker.ReadRollups(ctx, db, tenant, []string{q.Metric}, owners, from, to)
	if err != nil {
		return nil, err
	}
	a := amountsOf(pr.Metric)
	t, err := s.tenants.Get(ctx, tenant)
	if err != nil {
		return nil, err
	}
	loc := t.Calendar().Location
	var rows []map[string]any
	start, _ := period.ParseDate(from)
	last, _ := period.ParseDate(to)
	for d := start; !d.After(last); {
		end := d
		if grain == "week" {
			for end.Weekday() != time.Sunday && end.Before(last) {
				end = end.AddDate(0, 0, 1)
			}
		}
		endDay := period.FormatDate(end)
		clipped := tracking.Ranges{}
		for u, drs := range ranges {
			for _, r := range drs {
				if r.From <= endDay {
					clipped[u] = append(clipped[u], tracking.DayRange{From: r.From, To: min(r.To, endDay)})
				}
			}
		}
		cell := rs.Sum(q.Metric, clipped)
		cum := cell.Sum
		rw := map[string]any{"point": endDay, "actual": a.of(&cum)}
		if s.targets != nil && pr.Node.Target != nil {
			at := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, 1)
			ans, ok, err := s.targets.Target(ctx, db, tenant, progress.TargetQuery{Metric: q.Metric, Node: nodeID(node), Period: q.Period, At: at})
			if err != nil {
				return nil, err
			}
			if ok {
				rw["expected"], rw["target"] = a.of(&ans.Expected), a.of(&ans.Target)
			}
		}
		if _, ok := rw["expected"]; !ok {
			rw["expected"], rw["target"] = nil, a.of(pr.Node.Target)
		}
		// Points after today have no actual yet.
		if !time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, loc).Before(q.Now) {
			rw["actual"] = nil
			if period.FormatDate(q.Now.In(loc)) == endDay {
				rw["actual"] = a.of(&cum)
			}
		}
		rows = append(rows, rw)
		d = end.AddDate(0, 0, 1)
	}
	if rows == nil {
		rows = []map[string]any{}
	}
	return &Result{Node: nodeID(node), Rows: rows, Columns: []Column{
		{Key: "point", Label: l("日期", "Date"), Type: TypeDate, Role: "dimension"},
		{Key: "actual", Label: l("累计实际", "Cumulative actual"), Type: a.typ, Role: "measure"},
		{Key: "expected", Label: l("应达成（进度线）", "Expected (pacing line)"), Type: a.typ, Role: "measure"},
		{Key: "target", Label: l("目标", "Target"), Type: a.typ, Role: "measure"},
	}, Totals: map[string]any{"actual": a.of(pr.Node.Actual), "target": a.of(pr.Node.Target), "expected": a.of(pr.Node.Expected)},
		Chart: Chart{Type: "line", X: "point", Y: []string{"actual", "expected"}}, Extra: map[string]any{"grain": grain}}, nil
}

func (s *Service) needPipeline(q BuiltinQuery) error {
	if s.pipes == nil {
		return apperr.NotFound("pipelines are not enabled on this server")
	}
	if q.Pipeline == "" {
		return required("pipeline", "deal_sales")
	}
	return nil
}

func (s *Service) funnel(ctx context.Context, db store.DB, tenant string, p *auth.Principal, q BuiltinQuery, velocity bool) (*Result, error) {
	if err := s.needPipeline(q); err != nil {
		return nil, err
	}
	vis, err := auth.VisibilityOf(ctx, db, p)
	if err != nil {
		return nil, err
	}
	f, err := s.pipes.Funnel(ctx, db, tenant, q.Pipeline, q.Period.Start, q.Period.End, vis)
	if err != nil {
		return nil, err
	}
	res := &Result{Rows: []map[string]any{}, Extra: map[string]any{"pipeline": f.Pipeline, "version": f.Version}}
	res.Columns = []Column{{Key: "stage", Label: l("阶段", "Stage"), Type: TypeString, Role: "dimension"}}
	if velocity {
		res.Columns = append(res.Columns,
			Column{Key: "avgDays", Label: l("平均停留天数", "Average days"), Type: TypeNumber, Role: "measure"},
			Column{Key: "medianDays", Label: l("停留天数中位数", "Median days"), Type: TypeNumber, Role: "measure"},
			Column{Key: "exited", Label: l("已离开", "Exited"), Type: TypeInteger, Role: "measure"})
		res.Chart = Chart{Type: "bar", X: "stage", Y: []string{"avgDays", "medianDays"}}
	} else {
		res.Columns = append(res.Columns,
			Column{Key: "entered", Label: l("进入", "Entered"), Type: TypeInteger, Role: "measure"},
			Column{Key: "converted", Label: l("转化", "Converted"), Type: TypeInteger, Role: "measure"},
			Column{Key: "conversion", Label: l("转化率", "Conversion"), Type: TypePercent, Role: "measure"})
		res.Chart = Chart{Type: "funnel", X: "stage", Y: []string{"entered"}}
	}
	for _, st := range f.Stages {
		name := st.Label["zh-CN"]
		if name == "" {
			name = st.Stage
		}
		r := map[string]any{"stage": name, "stageId": st.Stage}
		if velocity {
			r["avgDays"], r["medianDays"], r["exited"] = ratio(st.AvgDays), ratio(st.MedianDays), int64(st.Exited)
		} else {
			r["entered"], r["converted"], r["conversion"] = int64(st.Entered), int64(st.Converted), ratio(st.Conversion)
		}
		res.Rows = append(res.Rows, r)
	}
	return res, nil
}

// winRate: per owner, the records of the pipeline that reached a won or lost
// stage in the period (their first terminal entry), and won ÷ (won + lost).
func (s *Service) winRate(ctx context.Context, db store.DB, tenant string, p *auth.Principal, q BuiltinQuery) (*Result, error) {
	if err := s.needPipeline(q); err != nil {
		return nil, err
	}
	pc, err := s.pipes.Published(ctx, db, tenant, q.Pipeline)
	if err != nil {
		return nil, err
	}
	o := &org{s: s, ctx: ctx, db: db, today: period.FormatDate(s.Now())}
	if err := o.load(); err != nil {
		return nil, err
	}
	sc, err := s.resolveScope(ctx, db, p, o, q.Node, period.FormatDate(q.Period.Start), lastDay(q.Period), false)
	if err != nil {
		return nil, err
	}
	where := []store.Cond{{Field: "deleted", Op: store.Eq, Value: false}}
	oc, ok := sc.ownerCond("owner")
	type wl struct{ won, lost int64 }
	by := map[string]*wl{}
	if ok {
		if oc != nil {
			where = append(where, *oc)
		}
		err = db.Scan(ctx, objects.RecordCollection(pc.Object), store.Query{Where: where}, func(d store.Doc) error {
			meta, _ := d["meta"].(map[string]any)
			if k, _ := meta[pipeline.MetaPipeline].(string); k != pc.Key {
				return nil
			}
			owner, _ := d["owner"].(string)
			for _, e := range pipeline.History(meta) {
				st, _, ok := pc.Stage(e.Stage)
				if !ok || st.Terminal == "" {
					continue
				}
				if q.Period.Contains(e.EnteredAt) && sc.allows(owner, period.FormatDate(e.EnteredAt)) {
					c := by[owner]
					if c == nil {
						c = &wl{}
						by[owner] = c
					}
					if st.Terminal == pipeline.TerminalWon {
						c.won++
					} else {
						c.lost++
					}
				}
				break
			}
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	rate := func(w, lo int64) any {
		if w+lo == 0 {
			return nil
		}
		return float64(w) / float64(w+lo)
	}
	res := &Result{Rows: []map[string]any{}, Columns: []Column{
		{Key: "user", Label: l("销售", "Rep"), Type: TypeString, Role: "dimension"},
		{Key: "won", Label: l("赢单", "Won"), Type: TypeInteger, Role: "measure"},
		{Key: "lost", Label: l("输单", "Lost"), Type: TypeInteger, Role: "measure"},
		{Key: "winRate", Label: l("赢单率", "Win rate"), Type: TypePercent, Role: "measure"},
	}, Chart: Chart{Type: "bar", X: "user", Y: []string{"winRate"}}}
	var tw, tl int64
	for u, c := range by {
		res.Rows = append(res.Rows, map[string]any{"user": o.userName(u), "userId": u, "won": c.won, "lost": c.lost, "winRate": rate(c.won, c.lost)})
		tw, tl = tw+c.won, tl+c.lost
	}
	sort.Slice(res.Rows, func(i, j int) bool { return res.Rows[i]["user"].(string) < res.Rows[j]["user"].(string) })
	res.Totals = map[string]any{"won": tw, "lost": tl, "winRate": rate(tw, tl)}
	return res, nil
}

// coverage: weighted open pipeline (tracking's <metric>#open cells, through
// progress's weighted forecast) over what remains of the target.
func (s *Service) coverage(ctx context.Context, db store.DB, tenant string, p *auth.Principal, q BuiltinQuery) (*Result, error) {
	if err := s.needMetric(q); err != nil {
		return nil, err
	}
	pr, err := s.progress.Query(ctx, db, tenant, p, progress.Query{Metric: q.Metric, Period: q.Period, Node: q.Node, Now: q.Now})
	if err != nil {
		return nil, err
	}
	a := amountsOf(pr.Metric)
	row := func(r progress.Row) map[string]any {
		var open, remaining *int64
		if r.Forecast.Weighted != nil && r.Actual != nil {
			v := *r.Forecast.Weighted - *r.Actual
			open = &v
		}
		if r.Target != nil && r.Actual != nil {
			v := max(*r.Target-*r.Actual, 0)
			remaining = &v
		}
		var cov any
		if open != nil && remaining != nil && *remaining > 0 {
			cov = float64(*open) / float64(*remaining)
		}
		return map[string]any{"node": r.Node.Name, "nodeId": nodeID(r.Node), "target": a.of(r.Target), "actual": a.of(r.Actual),
			"remaining": a.of(remaining), "openWeighted": a.of(open), "coverage": cov}
	}
	res := &Result{Node: nodeID(pr.Node.Node), Rows: []map[string]any{}, Columns: []Column{
		{Key: "node", Label: l("节点", "Node"), Type: TypeString, Role: "dimension"},
		{Key: "target", Label: l("目标", "Target"), Type: a.typ, Role: "measure"},
		{Key: "actual", Label: l("实际", "Actual"), Type: a.typ, Role: "measure"},
		{Key: "remaining", Label: l("剩余目标", "Remaining target"), Type: a.typ, Role: "measure"},
		{Key: "openWeighted", Label: l("加权在途管道", "Weighted open pipeline"), Type: a.typ, Role: "measure"},
		{Key: "coverage", Label: l("覆盖率", "Coverage"), Type: TypePercent, Role: "measure"},
	}, Chart: Chart{Type: "bar", X: "node", Y: []string{"remaining", "openWeighted"}}}
	for _, c := range pr.Children {
		res.Rows = append(res.Rows, row(c))
	}
	top := row(pr.Node)
	delete(top, "node")
	delete(top, "nodeId")
	res.Totals = top
	return res, nil
}

// commissionSummary: per rep, statement totals of the period by status.
func (s *Service) commissionSummary(ctx context.Context, db store.DB, tenant string, p *auth.Principal, q BuiltinQuery) (*Result, error) {
	if s.comm == nil {
		return nil, apperr.NotFound("commission is not enabled on this server")
	}
	o := &org{s: s, ctx: ctx, db: db, today: period.FormatDate(s.Now())}
	if err := o.load(); err != nil {
		return nil, err
	}
	sc, err := s.resolveScope(ctx, db, p, o, q.Node, period.FormatDate(q.Period.Start), lastDay(q.Period), true)
	if err != nil {
		return nil, err
	}
	type sums struct{ draft, approved, paid, n int64 }
	by := map[string]*sums{}
	names := map[string]string{}
	where := []store.Cond{{Field: "periodStart", Op: store.Gte, Value: period.FormatInstant(q.Period.Start)},
		{Field: "periodStart", Op: store.Lt, Value: period.FormatInstant(q.Period.End)}}
	if oc, ok := sc.ownerCond("rep"); ok {
		if oc != nil {
			where = append(where, *oc)
		}
		err = db.Scan(ctx, collStatements, store.Query{Where: where}, func(d store.Doc) error {
			rep, _ := d["rep"].(string)
			ps, _ := d["periodStart"].(string)
			day := ""
			if t, err := period.ParseInstant(ps); err == nil {
				day = period.FormatDate(t)
			}
			if !sc.allows(rep, day) {
				return nil
			}
			c := by[rep]
			if c == nil {
				c = &sums{}
				by[rep] = c
			}
			if n, _ := d["repName"].(string); n != "" {
				names[rep] = n
			}
			total := store.Int(d["total"])
			switch st, _ := d["status"].(string); st {
			case "draft":
				c.draft += total
			case "approved":
				c.approved += total
			case "paid":
				c.paid += total
			}
			c.n++
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	res := &Result{Rows: []map[string]any{}, Columns: []Column{
		{Key: "user", Label: l("销售", "Rep"), Type: TypeString, Role: "dimension"},
		{Key: "draft", Label: l("草稿", "Draft"), Type: TypeMoney, Role: "measure"},
		{Key: "approved", Label: l("已批准", "Approved"), Type: TypeMoney, Role: "measure"},
		{Key: "paid", Label: l("已支付", "Paid"), Type: TypeMoney, Role: "measure"},
		{Key: "total", Label: l("合计", "Total"), Type: TypeMoney, Role: "measure"},
		{Key: "statements", Label: l("提成单数", "Statements"), Type: TypeInteger, Role: "measure"},
	}, Chart: Chart{Type: "bar", X: "user", Y: []string{"draft", "approved", "paid"}}}
	var t sums
	for u, c := range by {
		name := names[u]
		if name == "" {
			name = o.userName(u)
		}
		res.Rows = append(res.Rows, map[string]any{"user": name, "userId": u, "draft": c.draft, "approved": c.approved, "paid": c.paid,
			"total": c.draft + c.approved + c.paid, "statements": c.n})
		t.draft, t.approved, t.paid, t.n = t.draft+c.draft, t.approved+c.approved, t.paid+c.paid, t.n+c.n
	}
	sort.Slice(res.Rows, func(i, j int) bool {
		a, b := res.Rows[i], res.Rows[j]
		if a["total"].(int64) != b["total"].(int64) {
			return a["total"].(int64) > b["total"].(int64)
		}
		return a["user"].(string) < b["user"].(string)
	})
	res.Totals = map[string]any{"draft": t.draft, "approved": t.approved, "paid": t.paid, "total": t.draft + t.approved + t.paid, "statements": t.n}
	return res, nil
}

// dimensionValues lists the values a metric's dimension has rollups for
// in the months of the period (keys "<metric>@<value>").
func (s *Service) dimensionValues(ctx context.Context, db store.DB, metric string, per period.Period) ([]string, error) {
	from, to := period.FormatDate(per.Start), lastDay(per)
	prefix := metric + "@"
	seen := map[string]bool{}
	err := db.Scan(ctx, collRollups, store.Query{Where: []store.Cond{
		{Field: "metric", Op: store.Gte, Value: prefix}, {Field: "metric", Op: store.Lt, Value: metric + "A"},
		{Field: "month", Op: store.Gte, Value: from[:7]}, {Field: "month", Op: store.Lte, Value: to[:7]}}}, func(d store.Doc) error {
		k, _ := d["metric"].(string)
		v, ok := strings.CutPrefix(k, prefix)
		if ok && !strings.Contains(v, "#") {
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
			seen[v] = true
		}
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("dimension values of %s: %w", metric, err)
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out, nil
}
