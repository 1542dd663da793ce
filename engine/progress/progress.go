// Package progress answers "where do we stand": for a metric, a period and an
// org node (the company, a team, a user) it returns the node's actual and the
// same for each child, with forecasts — all from rollups, so the cost grows
// with the org's size, not with the number of records (DESIGN.md §5).
//
// Targets come from an injected Targets (target plans); without one,
// targets, attainment, expected-to-date, pacing and gap are null.
package progress

import (
	"cmp"
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
	Node   Node   `json:"node"`
	Target *int64 `json:"target"`
	// Actual is null only for a derived metric without a value (a division
	// by zero, a null input); Reason says why.
	Actual     *int64   `json:"actual"`
	Reason     string   `json:"reason,omitempty"`
	Count      int64    `json:"count"`
	Attainment *float64 `json:"attainment"`
	Expected   *int64   `json:"expected"`
	Pacing     *float64 `json:"pacing"`
	Forecast   Forecast `json:"forecast"`
	Gap        *int64   `json:"gap"`
	// Plan is the target plan (and version) the target comes from.
	Plan *PlanRef `json:"plan,omitempty"`
}

// PlanRef names a target plan version.
type PlanRef struct {
	Key     string `json:"key"`
	Version int64  `json:"version"`
}

// MetricInfo describes the metric of a result.
type MetricInfo struct {
	Key   string         `json:"key"`
	Label map[string]any `json:"label,omitempty"`
	Unit  string         `json:"unit"`
	// Scale is stored units per 1 (100 for money: actuals are in 分; 10^precision
	// for number and percent, where actual/scale is the ratio, 0.25 = 25 %).
	Scale int64 `json:"scale"`
	// Dim is the dimension value answered for ("" = the whole metric).
	Dim string `json:"dim,omitempty"`
	// Level is the target level of the targets.
	Level string `json:"level"`
	// Derived metrics are computed from other metrics by Formula; their rows
	// have no count and no forecast.
	Derived bool   `json:"derived,omitempty"`
	Formula string `json:"formula,omitempty"`
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
	targets   Targets
}

// SetTargets sets where targets come from (nil: targets, attainment,
// expected, pacing and gap stay null). Call it before serving.
func (s *Service) SetTargets(t Targets) { s.targets = t }

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

// TargetQuery asks for a node's target over a period.
type TargetQuery struct {
	Metric string
	Level  string // "target" (default), "floor", "stretch"
	Node   string // "company", "team:<id>", "user:<id>"
	Dim    string // a dimension value of the metric ("" = the whole metric)
	Period period.Period
	At     time.Time
}

// TargetAnswer is a target and the part of it expected by At
// (seasonality-weighted).
type TargetAnswer struct {
	Target   int64
	Expected int64
	Plan     string
	Version  int64
}

// Targets supplies targets (target plans implement it). The answer is in
// the metric's stored unit; false means the node has no target.
type Targets interface {
	Target(ctx context.Context, db store.DB, tenant string, q TargetQuery) (TargetAnswer, bool, error)
}

// Target levels.
const (
	LevelTarget  = "target"
	LevelFloor   = "floor"
	LevelStretch = "stretch"
)

// Query is what a progress read asks for.
type Query struct {
	Metric string
	Period period.Period
	// Node is "" (the caller's default), "company", "team:<id>" or "user:<id>".
	Node string
	// Dim answers for one value of the metric's dimension ("": all of it).
	Dim string
	// Level is the target level (LevelTarget when empty).
	Level string
	Now   time.Time
}

// nodeReader reads one node's actuals and credits.
type nodeReader struct {
	node   Node
	actual tracking.ActualFunc
	// credit says which contributions count for the node within from..to.
	credit func(from, to string) (tracking.Credit, error)
}

// Progress computes the result for node ("" = the caller's default: the
// company for admins and finance, a manager's first managed team, else the
// caller), "company", "team:<id>" or "user:<id>".
func (s *Service) Progress(ctx context.Context, db store.DB, tenant string, p *auth.Principal, metricKey string, per period.Period, node string, now time.Time) (*Result, error) {
	return s.Query(ctx, db, tenant, p, Query{Metric: metricKey, Period: per, Node: node, Now: now})
}

// Query computes progress for q: the node's row and one per child (a
// company's top teams; a team's sub-teams and direct members). Tracked
// metrics read rollups; derived metrics are evaluated per row from their
// inputs' rollups; targets come from the Targets hook when one is set.
func (s *Service) Query(ctx context.Context, db store.DB, tenant string, p *auth.Principal, q Query) (*Result, error) {
	level, err := levelOf(q.Level)
	if err != nil {
		return nil, err
	}
	teams, n, err := s.begin(ctx, db, tenant, p, q.Node)
	if err != nil {
		return nil, err
	}
	m, err := s.tracker.Metric(ctx, db, tenant, q.Metric)
	if err != nil {
		return nil, err
	}
	key, err := s.dimKey(m, q.Dim)
	if err != nil {
		return nil, err
	}
	per := q.Period
	from, to := period.FormatDate(per.Start), lastDay(per)
	elapsed := period.Elapsed(per, q.Now)
	label, _ := m.Definition["label"].(map[string]any)
	res := &Result{Metric: MetricInfo{Key: m.Key, Label: label, Unit: m.Unit, Scale: m.Scale, Dim: q.Dim, Level: level},
		Period: PeriodInfo{Key: per.Key, Start: per.Start, End: per.End, Elapsed: elapsed}, Children: []Row{}}
	if m.Derived != nil {
		src, _ := m.Definition["derived"].(map[string]any)["formula"].(string)
		res.Metric.Derived = true
		res.Metric.Formula = src
	}
	readers, err := s.readers(ctx, db, tenant, teams, n, from, to)
	if err != nil {
		return nil, err
	}
	rows := make([]Row, 0, len(readers))
	for _, rd := range readers {
		r := Row{Node: rd.node}
		if m.Derived != nil {
			dv, err := s.tracker.Evaluate(ctx, db, tenant, m, per, s.dimActual(ctx, db, tenant, rd.actual, q.Dim))
			if err != nil {
				return nil, err
			}
			r.Actual, r.Reason = dv.Value, dv.Reason
		} else {
			c, err := rd.actual(key, from, to)
			if err != nil {
				return nil, err
			}
			sum := c.Sum
			r.Actual, r.Count = &sum, c.Count
			if elapsed > 0 {
				rr := int64(math.Round(float64(c.Sum) / elapsed))
				r.Forecast.RunRate = &rr
			}
			credit, err := rd.credit(from, to)
			if err != nil {
				return nil, err
			}
			open, err := s.tracker.OpenWeighted(ctx, db, tenant, key, from, to, credit, s.weight(ctx, db, tenant, m.Object))
			if err != nil {
				return nil, err
			}
			w := sum + open
			r.Forecast.Weighted = &w
		}
		if err := s.fillTarget(ctx, db, tenant, &r, TargetQuery{Metric: m.Key, Level: level, Node: nodeKey(rd.node), Dim: q.Dim, Period: per, At: q.Now}); err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	res.Node, res.Children = rows[0], append(res.Children, rows[1:]...)
	return res, nil
}

func levelOf(l string) (string, error) {
	switch l {
	case "":
		return LevelTarget, nil
	case LevelTarget, LevelFloor, LevelStretch:
		return l, nil
	}
	return "", &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_level",
		Message: fmt.Sprintf("level must be target, floor or stretch, not %q", l),
		Fields:  []apperr.FieldError{{Pointer: "/query/level", Code: "enum", Message: "target, floor or stretch"}}}
}

// nodeKey is a node as a node parameter: company, team:<id>, user:<id>.
func nodeKey(n Node) string {
	if n.Kind == "company" {
		return "company"
	}
	return n.Kind + ":" + n.ID
}

// fillTarget asks the Targets hook for the row's target and derives
// attainment (actual/target), pacing (actual/expected) and gap
// (target − actual); each is null when its divisor is 0 or the actual is
// null.
func (s *Service) fillTarget(ctx context.Context, db store.DB, tenant string, r *Row, q TargetQuery) error {
	if s.targets == nil {
		return nil
	}
	a, ok, err := s.targets.Target(ctx, db, tenant, q)
	if err != nil || !ok {
		return err
	}
	r.Target, r.Expected = &a.Target, &a.Expected
	if a.Plan != "" {
		r.Plan = &PlanRef{Key: a.Plan, Version: a.Version}
	}
	if r.Actual == nil || a.Target == 0 {
		return nil
	}
	att := float64(*r.Actual) / float64(a.Target)
	gap := a.Target - *r.Actual
	r.Attainment, r.Gap = &att, &gap
	if a.Expected != 0 {
		pace := float64(*r.Actual) / float64(a.Expected)
		r.Pacing = &pace
	}
	return nil
}

// readers returns the node's reader followed by its children's.
func (s *Service) readers(ctx context.Context, db store.DB, tenant string, teams []auth.Team, n Node, from, to string) ([]nodeReader, error) {
	owners := func(ids []string) nodeReader {
		return nodeReader{actual: func(metric, from, to string) (tracking.Cell, error) {
			return s.tracker.Actual(ctx, db, tenant, metric, ids, from, to)
		}}
	}
	team := func(tn Node) nodeReader {
		return nodeReader{node: tn, actual: func(metric, from, to string) (tracking.Cell, error) {
			return s.tracker.TeamActual(ctx, db, tenant, metric, tn.ID, from, to)
		}, credit: func(from, to string) (tracking.Credit, error) {
			return s.tracker.TeamCredit(ctx, db, tn.ID, from, to)
		}}
	}
	var out []nodeReader
	switch n.Kind {
	case "user":
		r := owners([]string{n.ID})
		r.node = n
		r.credit = func(string, string) (tracking.Credit, error) {
			return func(owner, _ string) bool { return owner == n.ID }, nil
		}
		out = append(out, r)
	case "team":
		out = append(out, team(n))
		for _, t := range teams {
			if t.ParentID == n.ID {
				out = append(out, team(Node{Kind: "team", ID: t.ID, Name: t.Name}))
			}
		}
		members, err := s.members(ctx, db, tenant, n.ID, from, to)
		if err != nil {
			return nil, err
		}
		out = append(out, members...)
	case "company":
		users, err := auth.ListUsers(ctx, db)
		if err != nil {
			return nil, err
		}
		ids := make([]string, 0, len(users))
		for _, u := range users {
			ids = append(ids, u.ID)
		}
		r := owners(ids)
		r.node = n
		r.credit = func(string, string) (tracking.Credit, error) {
			return func(string, string) bool { return true }, nil
		}
		out = append(out, r)
		for _, t := range teams {
			if t.ParentID == "" {
				out = append(out, team(Node{Kind: "team", ID: t.ID, Name: t.Name}))
			}
		}
	}
	return out, nil
}

// members returns a reader per direct member of a team during from..to,
// sorted by name: a member is credited with their actual over the days they
// belonged to the team (within the days asked for).
func (s *Service) members(ctx context.Context, db store.DB, tenant, teamID, from, to string) ([]nodeReader, error) {
	ms, err := auth.Members(ctx, db, teamID)
	if err != nil {
		return nil, err
	}
	spans := map[string][][2]string{} // user → membership [from, to] (inclusive; "" = open)
	var order []string
	names := map[string]string{}
	for _, m := range ms {
		hi := ""
		if m.To != "" {
			end, err := period.ParseDate(m.To)
			if err != nil {
				continue
			}
			hi = period.FormatDate(end.AddDate(0, 0, -1)) // To is exclusive
		}
		if max(m.From, from) > min(to, cmp.Or(hi, to)) {
			continue // not a member during the period
		}
		if _, ok := spans[m.UserID]; !ok {
			u, err := auth.GetUser(ctx, db, m.UserID)
			if err != nil {
				return nil, err
			}
			names[m.UserID] = u.DisplayName
			order = append(order, m.UserID)
		}
		spans[m.UserID] = append(spans[m.UserID], [2]string{m.From, hi})
	}
	sort.SliceStable(order, func(i, j int) bool { return names[order[i]] < names[order[j]] })
	out := make([]nodeReader, 0, len(order))
	for _, id := range order {
		sp := spans[id]
		// clip lists the parts of from..to the user was a member.
		clip := func(from, to string) [][2]string {
			var cs [][2]string
			for _, x := range sp {
				a, b := max(x[0], from), to
				if x[1] != "" {
					b = min(b, x[1])
				}
				if a <= b {
					cs = append(cs, [2]string{a, b})
				}
			}
			return cs
		}
		out = append(out, nodeReader{node: Node{Kind: "user", ID: id, Name: names[id]},
			actual: func(metric, from, to string) (tracking.Cell, error) {
				var total tracking.Cell
				for _, c := range clip(from, to) {
					x, err := s.tracker.Actual(ctx, db, tenant, metric, []string{id}, c[0], c[1])
					if err != nil {
						return total, err
					}
					total.Sum += x.Sum
					total.Count += x.Count
				}
				return total, nil
			},
			credit: func(from, to string) (tracking.Credit, error) {
				inTeam, err := s.tracker.TeamCredit(ctx, db, teamID, from, to)
				if err != nil {
					return nil, err
				}
				return func(owner, day string) bool { return owner == id && inTeam(owner, day) }, nil
			}})
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

// Drill is what makes up a node's actual.
type Drill struct {
	// Items are the records (and split shares) behind a tracked metric's
	// actual; they sum exactly to it.
	Items []tracking.Share `json:"items"`
	// Derived explains a derived metric's value (it has no records of its
	// own): its formula and the value of each input for the node.
	Derived *DerivedDrill `json:"derived,omitempty"`
}

// DerivedDrill is a derived metric's formula and value with its inputs.
type DerivedDrill struct {
	Formula string `json:"formula"`
	tracking.DerivedValue
}

// Records lists the records behind a node's actual (users: theirs; teams:
// every member's, within their membership; company: everyone's). For a
// derived metric it answers the formula's inputs instead.
func (s *Service) Records(ctx context.Context, db store.DB, tenant string, p *auth.Principal, q Query) (*Drill, error) {
	teams, n, err := s.begin(ctx, db, tenant, p, q.Node)
	if err != nil {
		return nil, err
	}
	m, err := s.tracker.Metric(ctx, db, tenant, q.Metric)
	if err != nil {
		return nil, err
	}
	key, err := s.dimKey(m, q.Dim)
	if err != nil {
		return nil, err
	}
	per := q.Period
	from, to := period.FormatDate(per.Start), lastDay(per)
	if m.Derived != nil {
		rs, err := s.readers(ctx, db, tenant, teams, n, from, to)
		if err != nil {
			return nil, err
		}
		dv, err := s.tracker.Evaluate(ctx, db, tenant, m, per, s.dimActual(ctx, db, tenant, rs[0].actual, q.Dim))
		if err != nil {
			return nil, err
		}
		src, _ := m.Definition["derived"].(map[string]any)["formula"].(string)
		return &Drill{Items: []tracking.Share{}, Derived: &DerivedDrill{Formula: src, DerivedValue: dv}}, nil
	}
	var items []tracking.Share
	switch n.Kind {
	case "user":
		items, err = s.tracker.Records(ctx, db, tenant, key, []string{n.ID}, from, to)
	case "team":
		items, err = s.tracker.TeamRecords(ctx, db, tenant, key, n.ID, from, to)
	default:
		var us []auth.User
		if us, err = auth.ListUsers(ctx, db); err != nil {
			return nil, err
		}
		owners := make([]string, 0, len(us))
		for _, u := range us {
			owners = append(owners, u.ID)
		}
		items, err = s.tracker.Records(ctx, db, tenant, key, owners, from, to)
	}
	if err != nil {
		return nil, err
	}
	return &Drill{Items: items}, nil
}

// dimKey is the metric key to read for a dimension value: the metric's own
// key without one; a derived metric applies the value to its inputs.
func (s *Service) dimKey(m *tracking.Metric, dim string) (string, error) {
	if dim == "" || m.Derived != nil {
		return m.Key, nil
	}
	if m.Dimension == "" {
		return "", noDimension(m.Key)
	}
	return tracking.DimensionKey(m.Key, dim), nil
}

func noDimension(metric string) error {
	return &apperr.Error{Kind: apperr.KindBadRequest, Code: "no_dimension",
		Message: fmt.Sprintf("metric %s has no dimension to break down by", metric),
		Fields:  []apperr.FieldError{{Pointer: "/query/dim", Code: "no_dimension", Message: "the metric declares no dimension"}}}
}

// dimActual reads a derived metric's inputs for one dimension value: each
// tracked input must break down by a dimension.
func (s *Service) dimActual(ctx context.Context, db store.DB, tenant string, actual tracking.ActualFunc, dim string) tracking.ActualFunc {
	if dim == "" {
		return actual
	}
	return func(metric, from, to string) (tracking.Cell, error) {
		m, err := s.tracker.Metric(ctx, db, tenant, metric)
		if err != nil {
			return tracking.Cell{}, err
		}
		if m.Dimension == "" {
			return tracking.Cell{}, noDimension(metric)
		}
		return actual(tracking.DimensionKey(metric, dim), from, to)
	}
}

// lastDay is the period's last day (its End is exclusive).
func lastDay(p period.Period) string {
	return period.FormatDate(p.End.Add(-time.Nanosecond))
}
