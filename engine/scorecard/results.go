package scorecard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/progress"
	"stride/engine/store"
	"stride/engine/tracking"
)

// BatchTargets is an optional extension of progress.Targets that answers
// many nodes of one metric, level and period at once (the target plan
// service implements it). Nodes without a target are absent.
type BatchTargets interface {
	TargetsOf(ctx context.Context, db store.DB, tenant string, q progress.TargetQuery, nodes []string) (map[string]progress.TargetAnswer, error)
}

// Ranking is the ranking method of every leaderboard (see the package doc).
const Ranking = "competition"

// Query asks for a leaderboard.
type Query struct {
	Key string
	// Period is a period key of the scorecard's grain in the tenant's
	// calendar ("": the current one).
	Period string
	// Node is "" (the caller's default), "company", "team:<id>" or "user:<id>".
	Node string
	Now  time.Time
}

// ItemInfo describes an item of the scorecard for a leaderboard's header.
type ItemInfo struct {
	Key    string            `json:"key"`
	Label  map[string]string `json:"label"`
	Type   string            `json:"type"`
	Weight float64           `json:"weight"`
	Cap    float64           `json:"cap"`
	Metric string            `json:"metric,omitempty"`
	Level  string            `json:"level,omitempty"`
	// Unit and Scale describe an attainment item's actual and target
	// (stored units; Scale per 1, e.g. 100 分 per 元).
	Unit  string `json:"unit,omitempty"`
	Scale int64  `json:"scale,omitempty"`
	// Rating items: the scale.
	Scale0  *Scale `json:"ratingScale,omitempty"`
	Formula string `json:"formula,omitempty"`
}

// Info describes the scorecard version a leaderboard was computed with.
type Info struct {
	Key           string            `json:"key"`
	Version       int64             `json:"version"`
	Label         map[string]string `json:"label"`
	Grain         string            `json:"grain"`
	Items         []ItemInfo        `json:"items"`
	Grades        []Grade           `json:"grades"`
	FallbackGrade string            `json:"fallbackGrade,omitempty"`
	Recognition   []Title           `json:"recognition"`
}

// PeriodInfo is the period of a leaderboard.
type PeriodInfo struct {
	Key   string    `json:"key"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Closed reports whether the period has ended (its titles may be awarded).
	Closed bool `json:"closed"`
}

// AwardInfo says when a period's titles were awarded.
type AwardInfo struct {
	At      time.Time `json:"at"`
	By      string    `json:"by"`
	Version int64     `json:"version"`
}

// Results is a leaderboard: the node's members, ranked.
type Results struct {
	Scorecard Info          `json:"scorecard"`
	Period    PeriodInfo    `json:"period"`
	Node      progress.Node `json:"node"`
	Ranking   string        `json:"ranking"`
	// Awarded is set once the period's titles are awarded: the rows' titles
	// are then the stored ones. Until then titles are provisional.
	Awarded           *AwardInfo `json:"awarded"`
	ProvisionalTitles bool       `json:"provisionalTitles"`
	Rows              []Row      `json:"rows"`
}

// org is what one leaderboard read loads once: teams, users and every
// membership.
type org struct {
	teams   []auth.Team
	users   map[string]auth.User
	members map[string][]auth.Membership // by team
}

func (s *Service) loadOrg(ctx context.Context, db store.DB) (*org, error) {
	teams, err := auth.ListTeams(ctx, db)
	if err != nil {
		return nil, err
	}
	us, err := auth.ListUsers(ctx, db)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(teams))
	for i, t := range teams {
		ids[i] = t.ID
	}
	ms, err := auth.MembersOf(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	o := &org{teams: teams, users: make(map[string]auth.User, len(us)), members: ms}
	for _, u := range us {
		o.users[u.ID] = u
	}
	return o, nil
}

// inTeams returns the users with a membership overlapping from..to in the
// subtrees of roots (nil roots: any team).
func (o *org) inTeams(roots []string, from, to string) map[string]bool {
	ids := make([]string, 0, len(o.teams))
	if roots == nil {
		for _, t := range o.teams {
			ids = append(ids, t.ID)
		}
	} else {
		ids = auth.Subtree(o.teams, roots)
	}
	out := map[string]bool{}
	for _, id := range ids {
		for _, m := range o.members[id] {
			if _, _, ok := tracking.Span(m, from, to); ok {
				out[m.UserID] = true
			}
		}
	}
	return out
}

func (o *org) name(id string) string {
	u := o.users[id]
	if u.DisplayName != "" {
		return u.DisplayName
	}
	if u.Username != "" {
		return u.Username
	}
	return id
}

// population is every member the card scores in the period.
func (o *org) population(d *Definition, from, to string) []string {
	var roots []string
	var roles []string
	if d.Population != nil {
		if len(d.Population.Teams) > 0 {
			roots = d.Population.Teams
		}
		roles = d.Population.Roles
	}
	set := o.inTeams(roots, from, to)
	out := make([]string, 0, len(set))
	for id := range set {
		u, ok := o.users[id]
		if !ok {
			continue
		}
		if len(roles) > 0 && !slices.ContainsFunc(u.Roles, func(r auth.Role) bool { return slices.Contains(roles, string(r)) }) {
			continue
		}
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// view is what the caller may open.
type view struct {
	all bool
	// teams the caller may open: managed or (viewer) own subtrees, plus
	// every team above or at one they belong to.
	teams []string
	vis   auth.Visibility
}

func viewOf(ctx context.Context, db store.DB, p *auth.Principal, o *org, from, to string) (view, error) {
	vis, err := auth.VisibilityOf(ctx, db, p)
	if err != nil {
		return view{}, err
	}
	if p.Integration || p.Has(auth.RoleAdmin) || p.Has(auth.RoleFinance) {
		return view{all: true, vis: vis}, nil
	}
	today := period.FormatDate(time.Now())
	var roots, mine []string
	for _, t := range o.teams {
		if p.Has(auth.RoleManager) && slices.Contains(t.Managers, p.UserID) {
			roots = append(roots, t.ID)
		}
		for _, m := range o.members[t.ID] {
			if m.UserID != p.UserID {
				continue
			}
			_, _, during := tracking.Span(m, from, to)
			_, _, now := tracking.Span(m, today, today)
			if during || now {
				mine = append(mine, t.ID)
				break
			}
		}
	}
	if p.Has(auth.RoleViewer) {
		roots = append(roots, mine...)
	}
	teams := auth.Subtree(o.teams, roots)
	parent := map[string]string{}
	for _, t := range o.teams {
		parent[t.ID] = t.ParentID
	}
	for _, id := range mine {
		for cur, n := id, 0; cur != "" && n < 100; cur, n = parent[cur], n+1 {
			if !slices.Contains(teams, cur) {
				teams = append(teams, cur)
			}
		}
	}
	// The caller's own teams first: the default leaderboard is theirs.
	sort.SliceStable(teams, func(i, j int) bool { return slices.Contains(mine, teams[i]) && !slices.Contains(mine, teams[j]) })
	if !p.Has(auth.RoleManager) || len(roots) == 0 {
		return view{teams: teams, vis: vis}, nil
	}
	// A manager's default is the first team they manage.
	sort.SliceStable(teams, func(i, j int) bool { return teams[i] == roots[0] && teams[j] != roots[0] })
	return view{teams: teams, vis: vis}, nil
}

// resolve turns a node parameter into a node the caller may open and the
// users it covers (nil: the whole population).
func (v view) resolve(p *auth.Principal, o *org, node, from, to string) (progress.Node, map[string]bool, error) {
	if node == "" {
		switch {
		case v.all:
			node = "company"
		case len(v.teams) > 0:
			node = "team:" + v.teams[0]
		default:
			node = "user:" + p.UserID
		}
	}
	kind, id, _ := strings.Cut(node, ":")
	switch kind {
	case "company":
		if !v.all {
			return progress.Node{}, nil, apperr.Forbidden("only admins and finance see the company-wide leaderboard; open your team's")
		}
		return progress.Node{Kind: "company", Name: "公司 Company"}, nil, nil
	case "team":
		for _, t := range o.teams {
			if t.ID == id {
				if !v.all && !slices.Contains(v.teams, id) {
					return progress.Node{}, nil, apperr.NotFound("team %s not found", id)
				}
				return progress.Node{Kind: "team", ID: id, Name: t.Name}, o.inTeams([]string{id}, from, to), nil
			}
		}
		return progress.Node{}, nil, apperr.NotFound("team %s not found", id)
	case "user":
		u, ok := o.users[id]
		if !ok || !(v.vis.Allows(id) || id == p.UserID) {
			return progress.Node{}, nil, apperr.NotFound("user %s not found", id)
		}
		return progress.Node{Kind: "user", ID: u.ID, Name: o.name(id)}, map[string]bool{id: true}, nil
	}
	return progress.Node{}, nil, &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_node",
		Message: fmt.Sprintf("node must be company, team:<id> or user:<id>, not %q", node),
		Fields:  []apperr.FieldError{{Pointer: "/query/node", Code: "format", Message: "company, team:<id> or user:<id>"}}}
}

// period parses a period key of the card's grain in the tenant's calendar
// ("": the one containing now); a malformed key or another grain is a 400
// at pointer.
func (s *Service) period(ctx context.Context, tenant string, c *Card, key string, now time.Time, pointer string) (period.Period, error) {
	var cal period.Calendar
	if s.tenants != nil {
		t, err := s.tenants.Get(ctx, tenant)
		if err != nil {
			return period.Period{}, err
		}
		cal = t.Calendar()
	}
	if key == "" {
		return cal.Of(now, c.Grain), nil
	}
	ex := map[period.Grain]string{period.Week: "2026-W05", period.Month: "2026-03", period.Quarter: "2026-Q1", period.Year: "2026"}[c.Grain]
	per, err := cal.Parse(key)
	if err != nil || per.Grain != c.Grain {
		return period.Period{}, &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_period",
			Message: fmt.Sprintf("scorecard %s scores by %s: give a %s key such as %s, not %q", c.Key, c.Grain, c.Grain, ex, key),
			Fields:  []apperr.FieldError{{Pointer: pointer, Code: "grain", Message: fmt.Sprintf("a %s key such as %s", c.Grain, ex)}}}
	}
	return per, nil
}

// Results computes the leaderboard of q.Node for q.Period with the
// scorecard version in force. Its cost grows with the members scored (one
// rollup read per metric batch, one target lookup per member and
// attainment item, one indexed scan of the period's ratings per object),
// not with the number of records.
func (s *Service) Results(ctx context.Context, db store.DB, tenant string, p *auth.Principal, q Query) (*Results, error) {
	c, err := s.Published(ctx, db, tenant, q.Key)
	if err != nil {
		return nil, err
	}
	if q.Now.IsZero() {
		q.Now = s.Now()
	}
	per, err := s.period(ctx, tenant, c, q.Period, q.Now, "/query/period")
	if err != nil {
		return nil, err
	}
	if s.tracker != nil {
		if err := s.tracker.Sync(ctx, db, tenant); err != nil {
			return nil, err
		}
	}
	from, to := period.FormatDate(per.Start), tracking.LastDay(per)
	o, err := s.loadOrg(ctx, db)
	if err != nil {
		return nil, err
	}
	v, err := viewOf(ctx, db, p, o, from, to)
	if err != nil {
		return nil, err
	}
	node, inNode, err := v.resolve(p, o, q.Node, from, to)
	if err != nil {
		return nil, err
	}
	aw, err := s.awardOf(ctx, db, q.Key, per.Key)
	if err != nil {
		return nil, err
	}
	pop := o.population(c.Definition, from, to)
	// Titles follow the whole population's ranking: compute it unless the
	// titles are already stored (or there are none).
	whole := aw == nil && len(c.Definition.Recognition) > 0
	ids := pop
	if !whole && inNode != nil {
		ids = slices.DeleteFunc(slices.Clone(pop), func(id string) bool { return !inNode[id] })
	}
	members, err := s.load(ctx, db, tenant, c, per, ids, o, q.Now)
	if err != nil {
		return nil, err
	}
	rows := Score(c, members)
	if inNode != nil {
		rows = slices.DeleteFunc(rows, func(r Row) bool { return !inNode[r.User.ID] })
		Rank(rows)
	}
	if !whole {
		byUser := map[string]Winner{}
		if aw != nil {
			for _, w := range aw.Winners {
				byUser[w.User.ID] = w
			}
		}
		for i := range rows {
			rows[i].OverallRank, rows[i].Titles = nil, []TitleRef{}
			if w, ok := byUser[rows[i].User.ID]; ok {
				rows[i].Titles = w.Titles
			}
		}
	}
	for i := range rows {
		rows[i].Detail = v.vis.Allows(rows[i].User.ID)
		if !rows[i].Detail {
			rows[i].Items, rows[i].Explain = nil, ""
		}
	}
	res := &Results{Scorecard: s.info(ctx, db, tenant, c), Node: node, Ranking: Ranking, Rows: rows,
		Period:            PeriodInfo{Key: per.Key, Start: per.Start, End: per.End, Closed: !q.Now.Before(per.End)},
		ProvisionalTitles: whole}
	if aw != nil {
		res.Awarded = &AwardInfo{At: aw.At, By: aw.By, Version: aw.Version}
	}
	return res, nil
}

// info describes the card for a leaderboard's header.
func (s *Service) info(ctx context.Context, db store.DB, tenant string, c *Card) Info {
	d := c.Definition
	in := Info{Key: c.Key, Version: c.Version, Label: d.Label, Grain: d.Grain, Grades: d.Grades, FallbackGrade: d.FallbackGrade,
		Recognition: d.Recognition, Items: make([]ItemInfo, len(d.Items))}
	if in.Grades == nil {
		in.Grades = []Grade{}
	}
	if in.Recognition == nil {
		in.Recognition = []Title{}
	}
	for i, it := range d.Items {
		ii := ItemInfo{Key: it.Key, Label: it.Label, Type: it.Type, Weight: it.Weight, Cap: it.CapOf(), Scale0: it.Scale, Formula: it.Formula}
		if it.Type == TypeAttainment {
			ii.Metric, ii.Level = it.Metric, it.LevelOf()
			if s.tracker != nil {
				if m, err := s.tracker.Metric(ctx, db, tenant, it.Metric); err == nil {
					ii.Unit, ii.Scale = m.Unit, m.Scale
				}
			}
		}
		in.Items[i] = ii
	}
	return in
}

// load reads every item's inputs for the members ids (sorted by name).
func (s *Service) load(ctx context.Context, db store.DB, tenant string, c *Card, per period.Period, ids []string, o *org, now time.Time) ([]Member, error) {
	d := c.Definition
	members := make([]Member, len(ids))
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		members[i] = Member{ID: id, Name: o.name(id), Inputs: make([]Input, len(d.Items))}
		index[id] = i
	}
	if len(ids) == 0 {
		return members, nil
	}
	if err := s.loadAttainment(ctx, db, tenant, c, per, ids, members, now); err != nil {
		return nil, err
	}
	if err := s.loadRatings(ctx, db, c, per, index, members); err != nil {
		return nil, err
	}
	return members, nil
}

// loadAttainment fills the attainment items: actuals from the rollups of
// every tracked metric in one read (derived metrics evaluated per member
// from their inputs' rollups, read once per input and period), targets from
// progress.Targets for user:<id>, attainment = actual ÷ target as progress
// computes it.
func (s *Service) loadAttainment(ctx context.Context, db store.DB, tenant string, c *Card, per period.Period, ids []string, members []Member, now time.Time) error {
	d := c.Definition
	from, to := period.FormatDate(per.Start), tracking.LastDay(per)
	metrics := map[string]*tracking.Metric{}
	var tracked []string
	for _, it := range d.Items {
		if it.Type != TypeAttainment || metrics[it.Metric] != nil {
			continue
		}
		m, err := s.tracker.Metric(ctx, db, tenant, it.Metric)
		if err != nil {
			return err
		}
		metrics[it.Metric] = m
		if m.Derived == nil {
			tracked = append(tracked, it.Metric)
		}
	}
	if len(metrics) == 0 {
		return nil
	}
	reads := map[[3]string]*tracking.Rollups{}
	read := func(keys []string, from, to string) (*tracking.Rollups, error) {
		k := [3]string{strings.Join(keys, ","), from, to}
		if r, ok := reads[k]; ok {
			return r, nil
		}
		r, err := s.tracker.ReadRollups(ctx, db, tenant, keys, ids, from, to)
		if err != nil {
			return nil, err
		}
		reads[k] = r
		return r, nil
	}
	var base *tracking.Rollups
	if len(tracked) > 0 {
		var err error
		if base, err = read(tracked, from, to); err != nil {
			return err
		}
	}
	// Targets: per attainment item, every member's at once when the
	// Targets implementation can (BatchTargets), else one by one.
	type tkey struct{ metric, level string }
	targets := map[tkey]map[string]*int64{}
	nodes := make([]string, len(ids))
	for i, id := range ids {
		nodes[i] = "user:" + id
	}
	for _, it := range d.Items {
		tk := tkey{it.Metric, it.LevelOf()}
		if it.Type != TypeAttainment || targets[tk] != nil {
			continue
		}
		got := map[string]*int64{}
		targets[tk] = got
		if s.targets == nil {
			continue
		}
		tq := progress.TargetQuery{Metric: it.Metric, Level: it.LevelOf(), Period: per, At: now}
		if bt, ok := s.targets.(BatchTargets); ok {
			as, err := bt.TargetsOf(ctx, db, tenant, tq, nodes)
			if err != nil {
				return err
			}
			for n, a := range as {
				got[strings.TrimPrefix(n, "user:")] = ptr(a.Target)
			}
			continue
		}
		for _, id := range ids {
			tq.Node = "user:" + id
			a, ok, err := s.targets.Target(ctx, db, tenant, tq)
			if err != nil {
				return err
			}
			if ok {
				got[id] = ptr(a.Target)
			}
		}
	}
	for mi := range members {
		m := &members[mi]
		one := tracking.Ranges{m.ID: {{From: from, To: to}}}
		actuals := map[string]*int64{}
		reasons := map[string]string{}
		for key, mt := range metrics {
			if mt.Derived == nil {
				c := base.Sum(key, one)
				actuals[key] = ptr(c.Sum)
				continue
			}
			id := m.ID
			dv, err := s.tracker.Evaluate(ctx, db, tenant, mt, per, func(metric, from, to string) (tracking.Cell, error) {
				r, err := read([]string{metric}, from, to)
				if err != nil {
					return tracking.Cell{}, err
				}
				return r.Sum(metric, tracking.Ranges{id: {{From: from, To: to}}}), nil
			})
			if err != nil {
				return err
			}
			actuals[key], reasons[key] = dv.Value, dv.Reason
		}
		for i, it := range d.Items {
			if it.Type != TypeAttainment {
				continue
			}
			in := Input{Actual: actuals[it.Metric]}
			tgt := targets[tkey{it.Metric, it.LevelOf()}][m.ID]
			in.Target = tgt
			switch {
			case in.Actual == nil:
				in.Reason, in.Message = ReasonNoValue, reasons[it.Metric]
			case tgt == nil:
				in.Reason, in.Message = ReasonNoTarget, "no published target plan gives this member a target for the period"
			case *tgt == 0:
				in.Reason, in.Message = ReasonNoTarget, "the target is 0"
			default:
				att := float64(*in.Actual) / float64(*tgt)
				in.Attainment = &att
			}
			m.Inputs[i] = in
		}
	}
	return nil
}

// loadRatings fills the rating items: per object and period field, one
// indexed scan of the records naming the period; a member's rating is the
// average of the field over the records naming them.
func (s *Service) loadRatings(ctx context.Context, db store.DB, c *Card, per period.Period, index map[string]int, members []Member) error {
	d := c.Definition
	type group struct{ object, periodField string }
	groups := map[group][]int{}
	var order []group
	for i, it := range d.Items {
		if it.Type != TypeRating {
			continue
		}
		g := group{it.Object, it.PeriodField}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], i)
	}
	for _, g := range order {
		if err := s.declareRatingIndex(ctx, db, g.object, g.periodField); err != nil {
			return err
		}
		items := groups[g]
		sums := make([]map[int]float64, len(items))
		counts := make([]map[int]int, len(items))
		for k := range items {
			sums[k], counts[k] = map[int]float64{}, map[int]int{}
		}
		err := db.Scan(ctx, objects.RecordCollection(g.object), store.Query{Where: []store.Cond{
			{Field: "deleted", Op: store.Ne, Value: true},
			{Field: "data." + g.periodField, Op: store.Eq, Value: per.Key}}}, func(doc store.Doc) error {
			data, _ := doc["data"].(map[string]any)
			for k, i := range items {
				it := d.Items[i]
				uid, _ := data[it.UserField].(string)
				mi, ok := index[uid]
				if !ok {
					continue
				}
				v, ok := number(data[it.Field])
				if !ok {
					continue
				}
				sums[k][mi] += v
				counts[k][mi]++
			}
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("read ratings of %s: %w", g.object, err)
		}
		for k, i := range items {
			for mi := range members {
				if n := counts[k][mi]; n > 0 {
					members[mi].Inputs[i] = Input{Rating: sums[k][mi] / float64(n), Ratings: n}
				} else {
					members[mi].Inputs[i] = Input{Reason: ReasonNoRating, Message: fmt.Sprintf("no %s rating entered for %s", d.Items[i].Key, per.Key)}
				}
			}
		}
	}
	return nil
}

// declareRatingIndex declares, once per database, an index on the rating
// object's period field so a leaderboard reads only the period's ratings.
func (s *Service) declareRatingIndex(ctx context.Context, db store.DB, object, field string) error {
	k := ratingIndexKey{db, object, field}
	if _, ok := s.declared.Load(k); ok {
		return nil
	}
	name := "sc_" + field
	if len(name) > 64 {
		name = name[:64]
	}
	err := db.Declare(ctx, store.Collection{Name: objects.RecordCollection(object),
		Indexes: []store.Index{{Name: name, Fields: []string{"deleted", "data." + field}}}})
	if err != nil {
		return fmt.Errorf("declare the rating index of %s: %w", object, err)
	}
	s.declared.Store(k, true)
	return nil
}

type ratingIndexKey struct {
	db            store.DB
	object, field string
}

// number reads a stored number field.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, finite(n)
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	}
	return 0, false
}
