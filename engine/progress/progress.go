// Package progress answers "where do we stand": for a metric, a period and an
// org node (the company, a team, a user) it returns the node's actual and the
// same for each child, with forecasts — all from rollups, so the cost grows
// with the org's size, not with the number of records (DESIGN.md §5).
//
// Targets come from an injected Targets (target plans); without one,
// targets, attainment, expected-to-date, pacing and gap are null.
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
	tracker *tracking.Tracker
	targets Targets
}

// SetTargets sets where targets come from (nil: targets, attainment,
// expected, pacing and gap stay null). Call it before serving.
func (s *Service) SetTargets(t Targets) { s.targets = t }

// New returns a progress service over the tracker's rollups. The weighted
// forecast reads the tracker's open-pipeline cells (tracking.OpenKey), which
// the application keeps by giving the tracker the pipelines' probabilities.
func New(t *tracking.Tracker) *Service {
	return &Service{tracker: t}
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

// nodeReader says which owners' days count for one node.
type nodeReader struct {
	node Node
	// ranges are the node's credited owners and days within from..to.
	ranges func(from, to string) (tracking.Ranges, error)
}

// request is what one progress read shares between its rows: the org, the
// users, and the rollups read so far — one query per metric key and range of
// days for the whole node, whatever the number of rows.
type request struct {
	s      *Service
	ctx    context.Context
	db     store.DB
	tenant string
	org    *tracking.Org
	// owners are the owners whose buckets a read fetches: the node's
	// credited owners (its children's are among them); nil for the company
	// (every owner's buckets, counted only for listed users).
	owners  func(from, to string) ([]string, error)
	rollups map[[3]string]*tracking.Rollups
}

// read returns the rollups of key and of its open-pipeline cells over
// from..to, reading them on first use.
func (q *request) read(key, from, to string) (*tracking.Rollups, error) {
	k := [3]string{key, from, to}
	if r, ok := q.rollups[k]; ok {
		return r, nil
	}
	owners, err := q.owners(from, to)
	if err != nil {
		return nil, err
	}
	r, err := q.s.tracker.ReadRollups(q.ctx, q.db, q.tenant, []string{key, tracking.OpenKey(key)}, owners, from, to)
	if err != nil {
		return nil, err
	}
	q.rollups[k] = r
	return r, nil
}

// actual is a row's ActualFunc: its credited owners' cells of a metric.
func (q *request) actual(rd nodeReader) tracking.ActualFunc {
	return func(metric, from, to string) (tracking.Cell, error) {
		c, _, err := q.cells(rd, metric, from, to)
		return c, err
	}
}

// cells are a row's actual and open-pipeline cells of a metric key.
func (q *request) cells(rd nodeReader, key, from, to string) (actual, open tracking.Cell, err error) {
	rs, err := rd.ranges(from, to)
	if err != nil {
		return actual, open, err
	}
	r, err := q.read(key, from, to)
	if err != nil {
		return actual, open, err
	}
	return r.Sum(key, rs), r.Sum(tracking.OpenKey(key), rs), nil
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
	q2, readers, err := s.readers(ctx, db, tenant, teams, n, from, to)
	if err != nil {
		return nil, err
	}
	rows := make([]Row, 0, len(readers))
	for _, rd := range readers {
		r := Row{Node: rd.node}
		if m.Derived != nil {
			dv, err := s.tracker.Evaluate(ctx, db, tenant, m, per, s.dimActual(ctx, db, tenant, q2.actual(rd), q.Dim))
			if err != nil {
				return nil, err
			}
			r.Actual, r.Reason = dv.Value, dv.Reason
		} else {
			c, open, err := q2.cells(rd, key, from, to)
			if err != nil {
				return nil, err
			}
			sum := c.Sum
			r.Actual, r.Count = &sum, c.Count
			if elapsed > 0 {
				rr := int64(math.Round(float64(c.Sum) / elapsed))
				r.Forecast.RunRate = &rr
			}
			// The open pipeline, weighted, from its own cells: each open
			// record's value × its stage's probability, rounded once.
			w := sum + open.Sum
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

// readers returns the request's shared reads and the node's reader followed
// by its children's.
func (s *Service) readers(ctx context.Context, db store.DB, tenant string, teams []auth.Team, n Node, from, to string) (*request, []nodeReader, error) {
	q := &request{s: s, ctx: ctx, db: db, tenant: tenant, org: tracking.NewOrg(teams), rollups: map[[3]string]*tracking.Rollups{}}
	team := func(tn Node) nodeReader {
		return nodeReader{node: tn, ranges: func(from, to string) (tracking.Ranges, error) {
			return q.org.TeamRanges(ctx, db, tn.ID, from, to)
		}}
	}
	// The memberships of every team row, in one query.
	var roots []string
	for _, t := range teams {
		if (n.Kind == "company" && t.ParentID == "") || (n.Kind == "team" && t.ID == n.ID) {
			roots = append(roots, t.ID)
		}
	}
	if err := q.org.Preload(ctx, db, roots); err != nil {
		return nil, nil, err
	}
	var out []nodeReader
	switch n.Kind {
	case "user":
		out = append(out, nodeReader{node: n, ranges: func(from, to string) (tracking.Ranges, error) {
			return tracking.Ranges{n.ID: {{From: from, To: to}}}, nil
		}})
	case "team":
		out = append(out, team(n))
		for _, t := range teams {
			if t.ParentID == n.ID {
				out = append(out, team(Node{Kind: "team", ID: t.ID, Name: t.Name}))
			}
		}
		members, err := s.members(ctx, db, q.org, n.ID, from, to)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, members...)
	case "company":
		users, err := auth.ListUsers(ctx, db)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, nodeReader{node: n, ranges: func(from, to string) (tracking.Ranges, error) {
			rs := make(tracking.Ranges, len(users))
			for _, u := range users {
				rs[u.ID] = []tracking.DayRange{{From: from, To: to}}
			}
			return rs, nil
		}})
		for _, t := range teams {
			if t.ParentID == "" {
				out = append(out, team(Node{Kind: "team", ID: t.ID, Name: t.Name}))
			}
		}
	}
	if n.Kind == "company" {
		q.owners = func(string, string) ([]string, error) { return nil, nil }
	} else {
		node := out[0]
		q.owners = func(from, to string) ([]string, error) {
			rs, err := node.ranges(from, to)
			if err != nil {
				return nil, err
			}
			owners := make([]string, 0, len(rs))
			for o := range rs {
				owners = append(owners, o)
			}
			return owners, nil
		}
	}
	return q, out, nil
}

// members returns a reader per direct member of a team during from..to,
// sorted by name: a member is credited with the days they belonged to the
// team (within the days asked for), for the actual and the forecast alike.
func (s *Service) members(ctx context.Context, db store.DB, org *tracking.Org, teamID, from, to string) ([]nodeReader, error) {
	ms, err := org.Members(ctx, db, teamID)
	if err != nil {
		return nil, err
	}
	spans := map[string][]auth.Membership{}
	var order []string
	names := map[string]string{}
	for _, m := range ms {
		if _, _, ok := tracking.Span(m, from, to); !ok {
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
		spans[m.UserID] = append(spans[m.UserID], m)
	}
	sort.SliceStable(order, func(i, j int) bool { return names[order[i]] < names[order[j]] })
	out := make([]nodeReader, 0, len(order))
	for _, id := range order {
		sp := spans[id]
		out = append(out, nodeReader{node: Node{Kind: "user", ID: id, Name: names[id]},
			ranges: func(from, to string) (tracking.Ranges, error) {
				var rs []tracking.DayRange
				for _, m := range sp {
					if lo, hi, ok := tracking.Span(m, from, to); ok {
						rs = append(rs, tracking.DayRange{From: lo, To: hi})
					}
				}
				return tracking.Ranges{id: tracking.Merge(rs)}, nil
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
		q2, rs, err := s.readers(ctx, db, tenant, teams, n, from, to)
		if err != nil {
			return nil, err
		}
		dv, err := s.tracker.Evaluate(ctx, db, tenant, m, per, s.dimActual(ctx, db, tenant, q2.actual(rs[0]), q.Dim))
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
