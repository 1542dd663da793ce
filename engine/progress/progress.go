// Package progress answers "where do we stand": for a metric, a period and an
// org node (the company, a team, a user) it returns the node's actual and the
// same for each child, with forecasts — all from rollups, so the cost grows
// with the org's size, not with the number of records (DESIGN.md §5).
//
// Targets, attainment, expected-to-date, pacing and gap are null until target
// plans exist (issue 4); the shape already carries them.
package progress

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/period"
	"stride/engine/pipeline"
	"stride/engine/records"
	"stride/engine/store"
	"stride/engine/tracking"
)

// Node is a place in the org: the company, a team or a user.
type Node struct {
	Kind string `json:"kind"` // company, team, user
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

// Forecast projects the period's end.
type Forecast struct {
	// RunRate is actual / elapsed fraction of the period (null before it starts).
	RunRate *int64 `json:"runRate"`
	// Weighted is actual + what open records of a pipeline-governed object
	// would add, each weighted by its stage's probability (= actual when no
	// pipeline governs the object).
	Weighted *int64 `json:"weighted"`
}

// Row is one node's numbers, in the metric's stored unit (分 for money).
type Row struct {
	Node       Node     `json:"node"`
	Target     *int64   `json:"target"`
	Actual     int64    `json:"actual"`
	Count      int64    `json:"count"`
	Attainment *float64 `json:"attainment"`
	Expected   *int64   `json:"expected"`
	Pacing     *float64 `json:"pacing"`
	Forecast   Forecast `json:"forecast"`
	Gap        *int64   `json:"gap"`
}

// MetricInfo describes the metric of a result.
type MetricInfo struct {
	Key   string         `json:"key"`
	Label map[string]any `json:"label,omitempty"`
	Unit  string         `json:"unit"`
	// Scale is stored units per 1 (100 for money: actuals are in 分).
	Scale int64 `json:"scale"`
}

// PeriodInfo describes the period of a result.
type PeriodInfo struct {
	Key     string    `json:"key"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Elapsed float64   `json:"elapsed"`
}

// Result is a node and its children.
type Result struct {
	Metric   MetricInfo `json:"metric"`
	Period   PeriodInfo `json:"period"`
	Node     Row        `json:"node"`
	Children []Row      `json:"children"`
}

// Service computes progress from the tracker's rollups.
type Service struct {
	tracker   *tracking.Tracker
	pipelines *pipeline.Service
}

// New returns a progress service; pipelines (may be nil) supplies the stage
// probabilities of the weighted forecast.
func New(t *tracking.Tracker, pipelines *pipeline.Service) *Service {
	return &Service{tracker: t, pipelines: pipelines}
}

// weight is the probability that an open record of a pipeline-governed
// object is won: its current stage's probability; terminal stages and
// records no pipeline governs are not open.
func (s *Service) weight(ctx context.Context, db store.DB, tenant, object string) tracking.Weight {
	return func(rec *records.Record) (float64, bool) {
		if s.pipelines == nil {
			return 0, false
		}
		var c *pipeline.Compiled
		if key, _ := rec.Meta[pipeline.MetaPipeline].(string); key != "" {
			c, _ = s.pipelines.Published(ctx, db, tenant, key)
		}
		if c == nil {
			c, _ = s.pipelines.ForRecord(ctx, db, tenant, object, rec.Data)
		}
		if c == nil || c.Object != object {
			return 0, false
		}
		stage, _ := rec.Data[c.StageField].(string)
		st, _, ok := c.Stage(stage)
		if !ok || st.Terminal != "" {
			return 0, false
		}
		return st.Probability / 100, true
	}
}

// scope is what the caller may look at.
type scope struct {
	all   bool
	teams []string // team ids the caller may open (subtrees)
	vis   auth.Visibility
}

func scopeOf(ctx context.Context, db store.DB, p *auth.Principal, teams []auth.Team) (scope, error) {
	vis, err := auth.VisibilityOf(ctx, db, p)
	if err != nil {
		return scope{}, err
	}
	if p.Integration || p.Has(auth.RoleAdmin) || p.Has(auth.RoleFinance) {
		return scope{all: true, vis: vis}, nil
	}
	var roots []string
	for _, t := range teams {
		if p.Has(auth.RoleManager) && slices.Contains(t.Managers, p.UserID) {
			roots = append(roots, t.ID)
		}
	}
	if p.Has(auth.RoleViewer) {
		mine, err := auth.TeamOn(ctx, db, p.UserID, period.FormatDate(time.Now()))
		if err != nil {
			return scope{}, err
		}
		roots = append(roots, mine...)
	}
	return scope{teams: auth.Subtree(teams, roots), vis: vis}, nil
}

// Progress computes the result for node ("" = the caller's default: the
// company for admins and finance, a manager's first managed team, else the
// caller), "company", "team:<id>" or "user:<id>".
func (s *Service) Progress(ctx context.Context, db store.DB, tenant string, p *auth.Principal, metricKey string, per period.Period, node string, now time.Time) (*Result, error) {
	teams, n, err := s.begin(ctx, db, tenant, p, node)
	if err != nil {
		return nil, err
	}
	m, err := s.tracker.Metric(ctx, db, tenant, metricKey)
	if err != nil {
		return nil, err
	}
	from, to := period.FormatDate(per.Start), lastDay(per)
	elapsed := period.Elapsed(per, now)
	row := func(n Node, c tracking.Cell) Row {
		r := Row{Node: n, Actual: c.Sum, Count: c.Count}
		if elapsed > 0 {
			rr := int64(math.Round(float64(c.Sum) / elapsed))
			r.Forecast.RunRate = &rr
		}
		return r
	}
	label, _ := m.Definition["label"].(map[string]any)
	res := &Result{Metric: MetricInfo{Key: m.Key, Label: label, Unit: m.Unit, Scale: m.Scale},
		Period: PeriodInfo{Key: per.Key, Start: per.Start, End: per.End, Elapsed: elapsed}, Children: []Row{}}
	// forecast adds the weighted open pipeline to a row whose node credits
	// contributions by credit.
	forecast := func(r *Row, credit tracking.Credit) error {
		open, err := s.tracker.OpenWeighted(ctx, db, tenant, m.Key, from, to, credit, s.weight(ctx, db, tenant, m.Object))
		if err != nil {
			return err
		}
		w := r.Actual + open
		r.Forecast.Weighted = &w
		return nil
	}
	teamForecast := func(r *Row, teamID string) error {
		credit, err := s.tracker.TeamCredit(ctx, db, teamID, from, to)
		if err != nil {
			return err
		}
		return forecast(r, credit)
	}
	switch n.Kind {
	case "user":
		c, err := s.tracker.Actual(ctx, db, tenant, m.Key, []string{n.ID}, from, to)
		if err != nil {
			return nil, err
		}
		res.Node = row(n, c)
		if err := forecast(&res.Node, func(owner, _ string) bool { return owner == n.ID }); err != nil {
			return nil, err
		}
	case "team":
		c, err := s.tracker.TeamActual(ctx, db, tenant, m.Key, n.ID, from, to)
		if err != nil {
			return nil, err
		}
		res.Node = row(n, c)
		if err := teamForecast(&res.Node, n.ID); err != nil {
			return nil, err
		}
		for _, t := range teams {
			if t.ParentID != n.ID {
				continue
			}
			c, err := s.tracker.TeamActual(ctx, db, tenant, m.Key, t.ID, from, to)
			if err != nil {
				return nil, err
			}
			r := row(Node{Kind: "team", ID: t.ID, Name: t.Name}, c)
			if err := teamForecast(&r, t.ID); err != nil {
				return nil, err
			}
			res.Children = append(res.Children, r)
		}
		members, err := s.memberRows(ctx, db, tenant, m.Key, n.ID, from, to)
		if err != nil {
			return nil, err
		}
		inTeam, err := s.tracker.TeamCredit(ctx, db, n.ID, from, to)
		if err != nil {
			return nil, err
		}
		for _, mr := range members {
			r := row(mr.node, mr.cell)
			id := mr.node.ID
			if err := forecast(&r, func(owner, day string) bool { return owner == id && inTeam(owner, day) }); err != nil {
				return nil, err
			}
			res.Children = append(res.Children, r)
		}
	case "company":
		users, err := auth.ListUsers(ctx, db)
		if err != nil {
			return nil, err
		}
		ids := make([]string, 0, len(users))
		for _, u := range users {
			ids = append(ids, u.ID)
		}
		c, err := s.tracker.Actual(ctx, db, tenant, m.Key, ids, from, to)
		if err != nil {
			return nil, err
		}
		res.Node = row(n, c)
		if err := forecast(&res.Node, func(string, string) bool { return true }); err != nil {
			return nil, err
		}
		for _, t := range teams {
			if t.ParentID != "" {
				continue
			}
			c, err := s.tracker.TeamActual(ctx, db, tenant, m.Key, t.ID, from, to)
			if err != nil {
				return nil, err
			}
			r := row(Node{Kind: "team", ID: t.ID, Name: t.Name}, c)
			if err := teamForecast(&r, t.ID); err != nil {
				return nil, err
			}
			res.Children = append(res.Children, r)
		}
	}
	return res, nil
}

type memberRow struct {
	node Node
	cell tracking.Cell
}

// memberRows credits each direct member of a team with their actual over the
// days of the period they belonged to it.
func (s *Service) memberRows(ctx context.Context, db store.DB, tenant, metric, teamID, from, to string) ([]memberRow, error) {
	ms, err := auth.Members(ctx, db, teamID)
	if err != nil {
		return nil, err
	}
	byUser := map[string]*memberRow{}
	var order []string
	for _, m := range ms {
		a, b := max(m.From, from), to
		if m.To != "" {
			end, err := period.ParseDate(m.To)
			if err != nil {
				continue
			}
			b = min(b, period.FormatDate(end.AddDate(0, 0, -1))) // To is exclusive
		}
		if a > b {
			continue
		}
		c, err := s.tracker.Actual(ctx, db, tenant, metric, []string{m.UserID}, a, b)
		if err != nil {
			return nil, err
		}
		r := byUser[m.UserID]
		if r == nil {
			u, err := auth.GetUser(ctx, db, m.UserID)
			if err != nil {
				return nil, err
			}
			r = &memberRow{node: Node{Kind: "user", ID: u.ID, Name: u.DisplayName}}
			byUser[m.UserID] = r
			order = append(order, m.UserID)
		}
		r.cell.Sum += c.Sum
		r.cell.Count += c.Count
	}
	sort.SliceStable(order, func(i, j int) bool { return byUser[order[i]].node.Name < byUser[order[j]].node.Name })
	out := make([]memberRow, 0, len(order))
	for _, id := range order {
		out = append(out, *byUser[id])
	}
	return out, nil
}

// begin is what every read starts with: catch up with writes still being
// projected in the background (so a deal won a moment ago is in the
// numbers), load the org tree, and resolve the node the caller may see.
func (s *Service) begin(ctx context.Context, db store.DB, tenant string, p *auth.Principal, node string) ([]auth.Team, Node, error) {
	if err := s.tracker.Sync(ctx, db, tenant); err != nil {
		return nil, Node{}, err
	}
	teams, err := auth.ListTeams(ctx, db)
	if err != nil {
		return nil, Node{}, err
	}
	sc, err := scopeOf(ctx, db, p, teams)
	if err != nil {
		return nil, Node{}, err
	}
	n, err := s.resolve(ctx, db, p, sc, teams, node)
	return teams, n, err
}

// resolve turns a node parameter into a node the caller may see.
func (s *Service) resolve(ctx context.Context, db store.DB, p *auth.Principal, sc scope, teams []auth.Team, node string) (Node, error) {
	if node == "" {
		switch {
		case sc.all:
			node = "company"
		case len(sc.teams) > 0 && p.Has(auth.RoleManager):
			node = "team:" + sc.teams[0]
		default:
			node = "user:" + p.UserID
		}
	}
	kind, id, _ := strings.Cut(node, ":")
	switch kind {
	case "company":
		if !sc.all {
			return Node{}, apperr.Forbidden("only admins and finance see company-wide progress")
		}
		return Node{Kind: "company", Name: "公司 Company"}, nil
	case "team":
		for _, t := range teams {
			if t.ID == id {
				if !sc.all && !slices.Contains(sc.teams, id) {
					return Node{}, apperr.NotFound("team %s not found", id)
				}
				return Node{Kind: "team", ID: id, Name: t.Name}, nil
			}
		}
		return Node{}, apperr.NotFound("team %s not found", id)
	case "user":
		if !sc.vis.Allows(id) {
			return Node{}, apperr.NotFound("user %s not found", id)
		}
		u, err := auth.GetUser(ctx, db, id)
		if err != nil {
			return Node{}, err
		}
		return Node{Kind: "user", ID: u.ID, Name: u.DisplayName}, nil
	}
	return Node{}, &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_node",
		Message: fmt.Sprintf("node must be company, team:<id> or user:<id>, not %q", node),
		Fields:  []apperr.FieldError{{Pointer: "/query/node", Code: "format", Message: "company, team:<id> or user:<id>"}}}
}

// Records lists the records behind a node's actual (users: theirs; teams:
// every member's, within their membership; company: everyone's).
func (s *Service) Records(ctx context.Context, db store.DB, tenant string, p *auth.Principal, metricKey string, per period.Period, node string) ([]tracking.Share, error) {
	_, n, err := s.begin(ctx, db, tenant, p, node)
	if err != nil {
		return nil, err
	}
	from, to := period.FormatDate(per.Start), lastDay(per)
	switch n.Kind {
	case "user":
		return s.tracker.Records(ctx, db, tenant, metricKey, []string{n.ID}, from, to)
	case "team":
		return s.tracker.TeamRecords(ctx, db, tenant, metricKey, n.ID, from, to)
	}
	us, err := auth.ListUsers(ctx, db)
	if err != nil {
		return nil, err
	}
	owners := make([]string, 0, len(us))
	for _, u := range us {
		owners = append(owners, u.ID)
	}
	return s.tracker.Records(ctx, db, tenant, metricKey, owners, from, to)
}

// lastDay is the period's last day (its End is exclusive).
func lastDay(p period.Period) string {
	return period.FormatDate(p.End.Add(-time.Nanosecond))
}
