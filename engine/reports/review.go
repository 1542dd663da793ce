package reports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/auth"
	"stride/engine/ids"
	"stride/engine/period"
	"stride/engine/progress"
	"stride/engine/store"
)

// A period review (复盘) is plan vs actual of a metric for an org node at a
// period's close, with the gap (target − actual) decomposed three ways:
// by child node (progress's children), by dimension value (when the metric
// has a dimension: each value's target and actual), and by funnel stage
// (the pipeline governing the metric's object: what entered each stage in
// the period, what converted, and what is stuck). It is computed from
// progress and the pipeline analytics — nothing is recomputed here — and
// stored as a snapshot, so the review stays as it was when it was taken
// even if records, targets or the org change later.

// ReviewRequest asks for a review.
type ReviewRequest struct {
	Metric string `json:"metric"`
	Period string `json:"period"`
	Node   string `json:"node"`
}

// Review is a stored period review.
type Review struct {
	ID       string         `json:"id"`
	Metric   string         `json:"metric"`
	Period   string         `json:"period"`
	Node     string         `json:"node"`
	NodeName string         `json:"nodeName"`
	At       time.Time      `json:"at"`
	By       string         `json:"by"`
	Closed   bool           `json:"closed"`
	Result   map[string]any `json:"result,omitempty"`
}

// ReviewResult is what a review holds.
type ReviewResult struct {
	Metric progress.MetricInfo `json:"metric"`
	Period progress.PeriodInfo `json:"period"`
	// Plan is the node's row: target, actual, attainment, gap.
	Plan     progress.Row `json:"plan"`
	ByChild  *Result      `json:"byChild"`
	ByDim    *Result      `json:"byDimension,omitempty"`
	ByStage  *Result      `json:"byStage,omitempty"`
	Pipeline string       `json:"pipeline,omitempty"`
}

// CreateReview computes and stores the review of req for the caller (who
// must be able to see the node).
func (s *Service) CreateReview(ctx context.Context, db store.DB, tenant string, p *auth.Principal, req ReviewRequest) (*Review, error) {
	if err := s.declare(ctx, db); err != nil {
		return nil, err
	}
	var fe []apperr.FieldError
	if req.Metric == "" {
		fe = append(fe, apperr.FieldError{Pointer: "/metric", Code: "required", Message: "name the metric, e.g. won_revenue"})
	}
	t, err := s.tenants.Get(ctx, tenant)
	if err != nil {
		return nil, err
	}
	cal := t.Calendar()
	per, perr := cal.Parse(req.Period)
	if perr != nil {
		fe = append(fe, apperr.FieldError{Pointer: "/period", Code: "format", Message: "a period key like 2026-Q1 or 2026-03"})
	}
	if len(fe) > 0 {
		return nil, apperr.Invalid("the review request is invalid", fe...)
	}
	now := s.Now()
	rr, err := s.review(ctx, db, tenant, p, req.Metric, per, req.Node, now)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(rr)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	node := nodeID(rr.Plan.Node)
	rv := &Review{ID: ids.New("rv"), Metric: req.Metric, Period: per.Key, Node: node, NodeName: rr.Plan.Node.Name, At: now.UTC(), By: p.UserID,
		Closed: !now.Before(per.End), Result: doc}
	d := store.Doc{store.KeyID: rv.ID, "metric": rv.Metric, "period": rv.Period, "node": rv.Node, "nodeName": rv.NodeName,
		"at": period.FormatInstant(rv.At), "by": rv.By, "closed": rv.Closed, "result": doc}
	if _, err := db.Insert(ctx, collReviews, d); err != nil {
		return nil, fmt.Errorf("store review: %w", err)
	}
	_ = audit.Append(ctx, db, p.UserID, "report.review", "review:"+rv.ID, map[string]any{"metric": rv.Metric, "period": rv.Period, "node": rv.Node})
	return rv, nil
}

func (s *Service) review(ctx context.Context, db store.DB, tenant string, p *auth.Principal, metric string, per period.Period, node string, now time.Time) (*ReviewResult, error) {
	pr, err := s.progress.Query(ctx, db, tenant, p, progress.Query{Metric: metric, Period: per, Node: node, Now: now})
	if err != nil {
		return nil, err
	}
	a := amountsOf(pr.Metric)
	rr := &ReviewResult{Metric: pr.Metric, Period: pr.Period, Plan: pr.Node}
	gapCols := func(first Column) []Column {
		return []Column{first,
			{Key: "target", Label: l("目标", "Target"), Type: a.typ, Role: "measure"},
			{Key: "actual", Label: l("实际", "Actual"), Type: a.typ, Role: "measure"},
			{Key: "attainment", Label: l("达成率", "Attainment"), Type: TypePercent, Role: "measure"},
			{Key: "gap", Label: l("差距", "Gap"), Type: a.typ, Role: "measure"},
			{Key: "gapShare", Label: l("差距占比", "Share of the gap"), Type: TypePercent, Role: "measure"}}
	}
	share := func(g *int64) any {
		if g == nil || pr.Node.Gap == nil || *pr.Node.Gap == 0 {
			return nil
		}
		return float64(*g) / float64(*pr.Node.Gap)
	}
	byChild := &Result{Rows: []map[string]any{}, Columns: gapCols(Column{Key: "node", Label: l("下级节点", "Child node"), Type: TypeString, Role: "dimension"}),
		Chart: Chart{Type: "bar", X: "node", Y: []string{"gap"}}, Totals: map[string]any{"target": a.of(pr.Node.Target), "actual": a.of(pr.Node.Actual), "gap": a.of(pr.Node.Gap)}}
	for _, c := range pr.Children {
		byChild.Rows = append(byChild.Rows, map[string]any{"node": c.Node.Name, "nodeId": nodeID(c.Node), "target": a.of(c.Target), "actual": a.of(c.Actual),
			"attainment": ratio(c.Attainment), "gap": a.of(c.Gap), "gapShare": share(c.Gap)})
	}
	rr.ByChild = byChild
	m, err := s.tracker.Metric(ctx, db, tenant, metric)
	if err != nil {
		return nil, err
	}
	if m.Dimension != "" && m.Derived == nil {
		vals, err := s.dimensionValues(ctx, db, metric, per)
		if err != nil {
			return nil, err
		}
		byDim := &Result{Rows: []map[string]any{}, Columns: gapCols(Column{Key: "value", Label: l("维度值", "Dimension value"), Type: TypeString, Role: "dimension"}),
			Chart: Chart{Type: "bar", X: "value", Y: []string{"gap"}}, Extra: map[string]any{"dimension": m.Dimension}}
		for _, v := range vals {
			dr, err := s.progress.Query(ctx, db, tenant, p, progress.Query{Metric: metric, Period: per, Node: nodeID(pr.Node.Node), Dim: v, Now: now})
			if err != nil {
				return nil, err
			}
			n := dr.Node
			byDim.Rows = append(byDim.Rows, map[string]any{"value": v, "target": a.of(n.Target), "actual": a.of(n.Actual),
				"attainment": ratio(n.Attainment), "gap": a.of(n.Gap), "gapShare": share(n.Gap)})
		}
		rr.ByDim = byDim
	}
	if s.pipes != nil && m.Object != "" {
		ps, err := s.pipes.List(ctx, db)
		if err != nil {
			return nil, err
		}
		for _, pd := range ps {
			if pd.PublishedVersion == 0 {
				continue
			}
			pc, err := s.pipes.Published(ctx, db, tenant, pd.Key)
			if err != nil || pc.Object != m.Object {
				continue
			}
			f, err := s.funnel(ctx, db, tenant, p, BuiltinQuery{Pipeline: pc.Key, Period: per}, false)
			if err != nil {
				return nil, err
			}
			vis, err := auth.VisibilityOf(ctx, db, p)
			if err != nil {
				return nil, err
			}
			stuck, err := s.pipes.Stuck(ctx, db, tenant, pc.Key, now, vis)
			if err != nil {
				return nil, err
			}
			n := map[string]int64{}
			for _, st := range stuck {
				n[st.Stage]++
			}
			f.Columns = append(f.Columns, Column{Key: "lostAfter", Label: l("未转化", "Not converted"), Type: TypeInteger, Role: "measure"},
				Column{Key: "stuck", Label: l("超期停留", "Stuck (over SLA)"), Type: TypeInteger, Role: "measure"})
			for _, r := range f.Rows {
				r["lostAfter"] = r["entered"].(int64) - r["converted"].(int64)
				r["stuck"] = n[r["stageId"].(string)]
			}
			rr.ByStage, rr.Pipeline = f, pc.Key
			break
		}
	}
	return rr, nil
}

func reviewFrom(d store.Doc, withResult bool) Review {
	rv := Review{ID: store.ID(d)}
	rv.Metric, _ = d["metric"].(string)
	rv.Period, _ = d["period"].(string)
	rv.Node, _ = d["node"].(string)
	rv.NodeName, _ = d["nodeName"].(string)
	rv.By, _ = d["by"].(string)
	rv.Closed, _ = d["closed"].(bool)
	at, _ := d["at"].(string)
	rv.At, _ = period.ParseInstant(at)
	if withResult {
		rv.Result, _ = d["result"].(map[string]any)
	}
	return rv
}

// reviewVisible reports whether the caller may see a review of node.
func (s *Service) reviewVisible(ctx context.Context, db store.DB, p *auth.Principal, vis auth.Visibility, o *org, node string) bool {
	if vis.All {
		return true
	}
	kind, id, _ := strings.Cut(node, ":")
	switch kind {
	case "user":
		return vis.Allows(id)
	case "team":
		if err := o.load(); err != nil {
			return false
		}
		return s.teamVisible(ctx, db, p, o, id)
	}
	return false
}

// Reviews lists the reviews the caller may see, newest first (without
// their results); metric and period narrow the list when given.
func (s *Service) Reviews(ctx context.Context, db store.DB, p *auth.Principal, metric, per string) ([]Review, error) {
	if err := s.declare(ctx, db); err != nil {
		return nil, err
	}
	vis, err := auth.VisibilityOf(ctx, db, p)
	if err != nil {
		return nil, err
	}
	o := &org{s: s, ctx: ctx, db: db, today: period.FormatDate(s.Now())}
	var where []store.Cond
	if metric != "" {
		where = append(where, store.Cond{Field: "metric", Op: store.Eq, Value: metric})
	}
	if per != "" {
		where = append(where, store.Cond{Field: "period", Op: store.Eq, Value: per})
	}
	out := []Review{}
	err = db.Scan(ctx, collReviews, store.Query{Where: where, Sort: []store.SortKey{{Field: "at", Desc: true}}}, func(d store.Doc) error {
		rv := reviewFrom(d, false)
		if s.reviewVisible(ctx, db, p, vis, o, rv.Node) {
			out = append(out, rv)
		}
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return out, nil
}

// GetReview returns one review (404 if the caller may not see its node).
func (s *Service) GetReview(ctx context.Context, db store.DB, p *auth.Principal, id string) (*Review, error) {
	if err := s.declare(ctx, db); err != nil {
		return nil, err
	}
	d, err := db.Get(ctx, collReviews, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apperr.NotFound("review %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	vis, err := auth.VisibilityOf(ctx, db, p)
	if err != nil {
		return nil, err
	}
	rv := reviewFrom(d, true)
	if !s.reviewVisible(ctx, db, p, vis, &org{s: s, ctx: ctx, db: db, today: period.FormatDate(s.Now())}, rv.Node) {
		return nil, apperr.NotFound("review %s not found", id)
	}
	return &rv, nil
}
