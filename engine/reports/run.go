package reports

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/pipeline"
	"stride/engine/rules"
	"stride/engine/store"
	"stride/engine/tracking"
)

// Query is what a run asks for.
type Query struct {
	// Period filters rows on the report's period field; nil: every row.
	Period *period.Period
	// Node is "" or "company" (everything visible), "team:<id>" or "user:<id>".
	Node string
	// Draft runs the working copy instead of the published version.
	Draft bool
}

// Column describes one column of a result.
type Column struct {
	Key   string            `json:"key"`
	Label map[string]string `json:"label"`
	// Type is string, integer, number, money (int64 分), percent (a ratio),
	// date, datetime or boolean.
	Type string `json:"type"`
	// Role is dimension or measure.
	Role string `json:"role"`
}

// Info names what a result is of.
type Info struct {
	Key     string            `json:"key"`
	Label   map[string]string `json:"label"`
	Version int64             `json:"version,omitempty"`
	Builtin bool              `json:"builtin,omitempty"`
	Draft   bool              `json:"draft,omitempty"`
}

// PeriodInfo is a result's period.
type PeriodInfo struct {
	Key   string    `json:"key"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Result is a report's answer: columns, rows (objects keyed by column key;
// an org dimension also carries <key>Id), totals of the measures over every
// row (before the limit), and the chart hint.
type Result struct {
	Report  Info             `json:"report"`
	Period  *PeriodInfo      `json:"period,omitempty"`
	Node    string           `json:"node,omitempty"`
	Columns []Column         `json:"columns"`
	Rows    []map[string]any `json:"rows"`
	Totals  map[string]any   `json:"totals"`
	Chart   Chart            `json:"chart"`
	// Scanned counts the source rows aggregated; Groups the groups before
	// the limit.
	Scanned int64 `json:"scanned"`
	Groups  int   `json:"groups"`
	// Extra carries what a built-in adds (a funnel's stages, a trend's
	// target line …).
	Extra map[string]any `json:"extra,omitempty"`
}

// Run runs the published report key (or its draft) for the caller.
func (s *Service) Run(ctx context.Context, db store.DB, tenant string, p *auth.Principal, key string, q Query) (*Result, error) {
	var (
		c   *compiled
		err error
	)
	if q.Draft {
		c, err = s.draft(ctx, db, tenant, key)
	} else {
		c, err = s.published(ctx, db, tenant, key)
	}
	if err != nil {
		return nil, err
	}
	return s.run(ctx, db, tenant, p, c, q)
}

// RunDefinition runs an unsaved definition (a builder's live preview).
func (s *Service) RunDefinition(ctx context.Context, db store.DB, tenant string, p *auth.Principal, def map[string]any, q Query) (*Result, error) {
	c, fe := s.compile(ctx, db, tenant, "preview", 0, def)
	if len(fe) > 0 {
		return nil, apperr.Invalid("the report definition is invalid", fe...)
	}
	q.Draft = true
	return s.run(ctx, db, tenant, p, c, q)
}

// scope is who and when a run may read: the owners visible (nil = all) and,
// for a node, each member's days.
type scope struct {
	owners []string              // nil: no owner restriction
	set    map[string]bool       // owners as a set
	ranges map[string][]dayRange // node members' days; nil: no node restriction
}

type dayRange struct{ from, to string }

func (sc *scope) allows(owner, day string) bool {
	if sc.owners != nil && !sc.set[owner] {
		return false
	}
	if sc.ranges == nil {
		return true
	}
	rs, ok := sc.ranges[owner]
	if !ok {
		return false
	}
	if day == "" {
		return true
	}
	for _, r := range rs {
		if day >= r.from && day <= r.to {
			return true
		}
	}
	return false
}

// ownerCond is the pushed-down owner condition of a scope (nil: none).
func (sc *scope) ownerCond(field string) (*store.Cond, bool) {
	var list []string
	switch {
	case sc.ranges != nil:
		for o := range sc.ranges {
			if sc.owners == nil || sc.set[o] {
				list = append(list, o)
			}
		}
	case sc.owners != nil:
		list = sc.owners
	default:
		return nil, true
	}
	if len(list) == 0 {
		return nil, false // nothing can match
	}
	sort.Strings(list)
	in := make([]any, len(list))
	for i, o := range list {
		in[i] = o
	}
	return &store.Cond{Field: field, Op: store.In, Value: in}, true
}

// org answers names and team attribution, loaded on first use.
type org struct {
	s      *Service
	ctx    context.Context
	db     store.DB
	loaded bool
	teams  map[string]auth.Team
	users  map[string]string
	ms     map[string][]auth.Membership // user → memberships
	today  string
}

func (o *org) load() error {
	if o.loaded {
		return nil
	}
	ts, err := auth.ListTeams(o.ctx, o.db)
	if err != nil {
		return err
	}
	o.teams = map[string]auth.Team{}
	var ids []string
	for _, t := range ts {
		o.teams[t.ID] = t
		ids = append(ids, t.ID)
	}
	us, err := auth.ListUsers(o.ctx, o.db)
	if err != nil {
		return err
	}
	o.users = map[string]string{}
	for _, u := range us {
		name := u.DisplayName
		if name == "" {
			name = u.Username
		}
		o.users[u.ID] = name
	}
	o.ms = map[string][]auth.Membership{}
	if len(ids) > 0 {
		byTeam, err := auth.MembersOf(o.ctx, o.db, ids)
		if err != nil {
			return err
		}
		for _, ms := range byTeam {
			for _, m := range ms {
				o.ms[m.UserID] = append(o.ms[m.UserID], m)
			}
		}
		for u := range o.ms {
			sort.Slice(o.ms[u], func(i, j int) bool { return o.ms[u][i].From > o.ms[u][j].From })
		}
	}
	o.loaded = true
	return nil
}

// teamOn is the team user belonged to on day ("" if none); the latest
// membership started wins when several overlap.
func (o *org) teamOn(user, day string) string {
	if day == "" {
		day = o.today
	}
	for _, m := range o.ms[user] {
		if m.From <= day && (m.To == "" || day < m.To) {
			return m.TeamID
		}
	}
	return ""
}

func (o *org) region(team string) string {
	seen := 0
	for team != "" && seen < 100 {
		t, ok := o.teams[team]
		if !ok || t.ParentID == "" {
			return team
		}
		team = t.ParentID
		seen++
	}
	return team
}

func (o *org) userName(id string) string {
	if n, ok := o.users[id]; ok {
		return n
	}
	return id
}

func (o *org) teamName(id string) string {
	if id == "" {
		return "(无团队 no team)"
	}
	if t, ok := o.teams[id]; ok {
		return t.Name
	}
	return id
}

// resolveScope turns visibility and the node parameter into a scope.
func (s *Service) resolveScope(ctx context.Context, db store.DB, p *auth.Principal, o *org, node string, from, to string, statements bool) (*scope, error) {
	vis, err := auth.VisibilityOf(ctx, db, p)
	if err != nil {
		return nil, err
	}
	if statements && p.Integration {
		vis = auth.Visibility{Owners: []string{}}
	}
	sc := &scope{}
	if !vis.All {
		sc.owners, sc.set = vis.Owners, map[string]bool{}
		for _, o := range vis.Owners {
			sc.set[o] = true
		}
	}
	kind, id, _ := strings.Cut(node, ":")
	switch kind {
	case "", "company":
	case "user":
		if !vis.Allows(id) {
			return nil, apperr.NotFound("user %s not found", id)
		}
		sc.ranges = map[string][]dayRange{id: {{"0000-01-01", "9999-12-31"}}}
	case "team":
		if err := o.load(); err != nil {
			return nil, err
		}
		if _, ok := o.teams[id]; !ok {
			return nil, apperr.NotFound("team %s not found", id)
		}
		if !vis.All && !s.teamVisible(ctx, db, p, o, id) {
			return nil, apperr.NotFound("team %s not found", id)
		}
		ts := make([]auth.Team, 0, len(o.teams))
		for _, t := range o.teams {
			ts = append(ts, t)
		}
		rs, err := tracking.NewOrg(ts).TeamRanges(ctx, db, id, from, to)
		if err != nil {
			return nil, err
		}
		sc.ranges = map[string][]dayRange{}
		for u, drs := range rs {
			for _, r := range drs {
				sc.ranges[u] = append(sc.ranges[u], dayRange{r.From, r.To})
			}
		}
	default:
		return nil, &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_node",
			Message: fmt.Sprintf("node must be company, team:<id> or user:<id>, not %q", node),
			Fields:  []apperr.FieldError{{Pointer: "/query/node", Code: "format", Message: "company, team:<id> or user:<id>"}}}
	}
	return sc, nil
}

// teamVisible: a manager opens the subtrees of the teams they manage, a
// viewer those of the teams they belong to.
func (s *Service) teamVisible(ctx context.Context, db store.DB, p *auth.Principal, o *org, id string) bool {
	var roots []string
	for _, t := range o.teams {
		if p.Has(auth.RoleManager) && slices.Contains(t.Managers, p.UserID) {
			roots = append(roots, t.ID)
		}
	}
	if p.Has(auth.RoleViewer) {
		mine, _ := auth.TeamOn(ctx, db, p.UserID, o.today)
		roots = append(roots, mine...)
	}
	ts := make([]auth.Team, 0, len(o.teams))
	for _, t := range o.teams {
		ts = append(ts, t)
	}
	return slices.Contains(auth.Subtree(ts, roots), id)
}

// row is one source row as the aggregation sees it.
type row struct {
	doc     store.Doc
	data    map[string]any
	visit   *pipeline.Entry
	line    map[string]any
	owner   string
	day     string // attribution day, YYYY-MM-DD in the tenant zone ("" unknown)
	cellSum int64
	cellCnt int64
	env     map[string]any
}

// exec is one run's state.
type exec struct {
	s      *Service
	c      *compiled
	loc    *time.Location
	cal    period.Calendar
	sc     *scope
	org    *org
	groups map[string]*group
	// needDay: rows need their attribution day (a node's member days or a
	// team/region dimension); grains caches period keys by stored value.
	needDay bool
	grains  []map[string]string
	total   []acc
	n       int64
	keybuf  []byte
}

type group struct {
	dims []any
	ids  []string
	accs []acc
}

type acc struct {
	n      int64
	i      int64
	f      float64
	mn, mx any
	set    map[string]struct{}
}

func (s *Service) run(ctx context.Context, db store.DB, tenant string, p *auth.Principal, c *compiled, q Query) (*Result, error) {
	t, err := s.tenants.Get(ctx, tenant)
	if err != nil {
		return nil, err
	}
	cal := t.Calendar()
	loc := cal.Location
	if loc == nil {
		loc = time.UTC
	}
	o := &org{s: s, ctx: ctx, db: db, today: period.FormatDate(s.Now().In(loc))}
	from, to := "0000-01-01", "9999-12-31"
	if q.Period != nil {
		from, to = period.FormatDate(q.Period.Start), lastDay(*q.Period)
	}
	sc, err := s.resolveScope(ctx, db, p, o, q.Node, from, to, c.def.Source.Kind == SourceStatements)
	if err != nil {
		return nil, err
	}
	for _, d := range c.dims {
		if d.Org != "" || d.Field == "owner" {
			if err := o.load(); err != nil {
				return nil, err
			}
		}
	}
	x := &exec{s: s, c: c, loc: loc, cal: cal, sc: sc, org: o, groups: map[string]*group{}, total: make([]acc, len(c.meas)),
		needDay: sc.ranges != nil, grains: make([]map[string]string, len(c.dims))}
	for i, d := range c.dims {
		x.needDay = x.needDay || d.Org == "team" || d.Org == "region"
		x.grains[i] = map[string]string{}
	}
	switch c.def.Source.Kind {
	case SourceRecords:
		err = x.scanRecords(ctx, db, tenant, q.Period)
	case SourceStages:
		err = x.scanStages(ctx, db, tenant, q.Period)
	case SourceRollups:
		err = x.scanRollups(ctx, db, tenant, q.Period)
	case SourceStatements:
		err = x.scanStatements(ctx, db, q.Period)
	}
	if err != nil {
		return nil, err
	}
	res := x.result()
	res.Report = Info{Key: c.key, Label: c.def.Label, Version: c.version, Draft: q.Draft}
	if q.Period != nil {
		res.Period = &PeriodInfo{Key: q.Period.Key, Start: q.Period.Start, End: q.Period.End}
	}
	res.Node = q.Node
	return res, nil
}

// lastDay is a period's last day (its End is exclusive).
func lastDay(p period.Period) string {
	return period.FormatDate(p.End.Add(-time.Nanosecond))
}

// where builds the pushed-down conditions common to record scans.
func (x *exec) recordWhere(per *period.Period, ownerField string, goFilters *[]cfilter) ([]store.Cond, bool) {
	where := []store.Cond{{Field: "deleted", Op: store.Eq, Value: false}}
	oc, ok := x.sc.ownerCond(ownerField)
	if !ok {
		return nil, false
	}
	if oc != nil {
		where = append(where, *oc)
	}
	for _, f := range x.c.filters {
		if f.f.push != "" {
			where = append(where, store.Cond{Field: f.f.push, Op: f.op, Value: f.value})
		} else {
			*goFilters = append(*goFilters, f)
		}
	}
	if per != nil && x.c.period != nil && x.c.period.push != "" {
		switch x.c.period.typ {
		case TypeDate:
			where = append(where, store.Cond{Field: x.c.period.push, Op: store.Gte, Value: period.FormatDate(per.Start)},
				store.Cond{Field: x.c.period.push, Op: store.Lte, Value: lastDay(*per)})
		case TypeDateTime:
			where = append(where, store.Cond{Field: x.c.period.push, Op: store.Gte, Value: period.FormatInstant(per.Start)},
				store.Cond{Field: x.c.period.push, Op: store.Lt, Value: period.FormatInstant(per.End)})
		}
	}
	return where, true
}

// ensureIndex declares (deleted, field) on a record collection the first
// time a report filters a period on it, so the store serves the range.
func (x *exec) ensureIndex(ctx context.Context, db store.DB, tenant, coll string) {
	if x.c.period == nil || x.c.period.kind != fData {
		return
	}
	k := tenant + "|" + coll + "|" + x.c.period.push
	if _, ok := x.s.indexed.Load(k); ok {
		return
	}
	name := "rpt_" + strings.ReplaceAll(x.c.period.name, ".", "_")
	if len(name) > 64 {
		return
	}
	// Best effort: without the index the scan is still right, only slower.
	_ = db.Declare(ctx, store.Collection{Name: coll, Indexes: []store.Index{{Name: name, Fields: []string{"deleted", x.c.period.push}}}})
	x.s.indexed.Store(k, true)
}

func (x *exec) scanRecords(ctx context.Context, db store.DB, tenant string, per *period.Period) error {
	var goF []cfilter
	where, ok := x.recordWhere(per, "owner", &goF)
	if !ok {
		return nil
	}
	coll := x.c.obj.Collection()
	x.ensureIndex(ctx, db, tenant, coll)
	var r row
	err := db.Scan(ctx, coll, store.Query{Where: where}, func(d store.Doc) error {
		r = row{doc: d}
		r.data, _ = d["data"].(map[string]any)
		r.owner, _ = d["owner"].(string)
		if x.needDay {
			r.day = x.dayOf(&r, x.c.period)
			if r.day == "" {
				cr, _ := d["createdAt"].(string)
				r.day = x.instantDay(cr)
			}
		}
		if !x.sc.allows(r.owner, r.day) || !x.matchAll(&r, goF) {
			return nil
		}
		return x.add(&r)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

func (x *exec) scanStages(ctx context.Context, db store.DB, tenant string, per *period.Period) error {
	var goF []cfilter
	where, ok := x.recordWhere(nil, "owner", &goF)
	if !ok {
		return nil
	}
	pc := x.c.pipe
	var r row
	err := db.Scan(ctx, objects.RecordCollection(pc.Object), store.Query{Where: where}, func(d store.Doc) error {
		meta, _ := d["meta"].(map[string]any)
		data, _ := d["data"].(map[string]any)
		var hist []pipeline.Entry
		switch key, _ := meta[pipeline.MetaPipeline].(string); {
		case key == pc.Key:
			hist = pipeline.History(meta)
		case key != "":
			return nil
		default:
			// Created before the pipeline and never moved: one visit of
			// its current stage since creation (as the funnel counts it).
			gov, err := x.s.pipes.ForRecord(ctx, db, tenant, pc.Object, data)
			if err != nil || gov == nil || gov.Key != pc.Key {
				return nil
			}
			stage, _ := data[pc.StageField].(string)
			created, _ := d["createdAt"].(string)
			at, err := period.ParseInstant(created)
			if stage == "" || err != nil {
				return nil
			}
			hist = []pipeline.Entry{{Stage: stage, EnteredAt: at}}
		}
		owner, _ := d["owner"].(string)
		for i := range hist {
			r = row{doc: d, data: data, visit: &hist[i], owner: owner}
			r.day = period.FormatDate(hist[i].EnteredAt.In(x.loc))
			if per != nil {
				if x.c.period.kind == fEntered {
					if !per.Contains(hist[i].EnteredAt) {
						continue
					}
				} else if !x.inPeriod(&r, per) {
					continue
				}
			}
			if !x.sc.allows(owner, r.day) || !x.matchAll(&r, goF) {
				continue
			}
			if err := x.add(&r); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

func (x *exec) inPeriod(r *row, per *period.Period) bool {
	d := x.dayOf(r, x.c.period)
	return d != "" && d >= period.FormatDate(per.Start) && d <= lastDay(*per)
}

func (x *exec) scanRollups(ctx context.Context, db store.DB, tenant string, per *period.Period) error {
	if err := x.s.tracker.Sync(ctx, db, tenant); err != nil {
		return err
	}
	var goF []cfilter
	where := []store.Cond{{Field: "metric", Op: store.Eq, Value: x.c.metric.Key}}
	oc, ok := x.sc.ownerCond("owner")
	if !ok {
		return nil
	}
	if oc != nil {
		where = append(where, *oc)
	}
	for _, f := range x.c.filters {
		if f.f.push != "" {
			where = append(where, store.Cond{Field: f.f.push, Op: f.op, Value: f.value})
		} else {
			goF = append(goF, f)
		}
	}
	from, to := "", ""
	if per != nil {
		from, to = period.FormatDate(per.Start), lastDay(*per)
		where = append(where, store.Cond{Field: "month", Op: store.Gte, Value: from[:7]}, store.Cond{Field: "month", Op: store.Lte, Value: to[:7]})
	}
	var r row
	err := db.Scan(ctx, collRollups, store.Query{Where: where}, func(d store.Doc) error {
		owner, _ := d["owner"].(string)
		month, _ := d["month"].(string)
		days, _ := d["days"].(map[string]any)
		dds := make([]string, 0, len(days))
		for dd := range days {
			dds = append(dds, dd)
		}
		sort.Strings(dds)
		for _, dd := range dds {
			day := month + "-" + dd
			if per != nil && (day < from || day > to) {
				continue
			}
			cell, _ := days[dd].(map[string]any)
			r = row{owner: owner, day: day, cellSum: store.Int(cell["sum"]), cellCnt: store.Int(cell["count"])}
			if r.cellSum == 0 && r.cellCnt == 0 {
				continue
			}
			if !x.sc.allows(owner, day) || !x.matchAll(&r, goF) {
				continue
			}
			if err := x.add(&r); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

func (x *exec) scanStatements(ctx context.Context, db store.DB, per *period.Period) error {
	var goF []cfilter
	var where []store.Cond
	oc, ok := x.sc.ownerCond("rep")
	if !ok {
		return nil
	}
	if oc != nil {
		where = append(where, *oc)
	}
	for _, f := range x.c.filters {
		if f.f.push != "" {
			where = append(where, store.Cond{Field: f.f.push, Op: f.op, Value: f.value})
		} else {
			goF = append(goF, f)
		}
	}
	if per != nil {
		where = append(where, store.Cond{Field: "periodStart", Op: store.Gte, Value: period.FormatInstant(per.Start)},
			store.Cond{Field: "periodStart", Op: store.Lt, Value: period.FormatInstant(per.End)})
	}
	var r row
	err := db.Scan(ctx, collStatements, store.Query{Where: where}, func(d store.Doc) error {
		owner, _ := d["rep"].(string)
		ps, _ := d["periodStart"].(string)
		sday := x.instantDay(ps)
		lines, _ := d["lines"].([]any)
		for _, l := range lines {
			lm, _ := l.(map[string]any)
			r = row{doc: d, line: lm, owner: owner, day: sday}
			if cd, _ := lm["creditDate"].(string); cd != "" {
				r.day = cd
			}
			if !x.sc.allows(owner, r.day) || !x.matchAll(&r, goF) {
				continue
			}
			if err := x.add(&r); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// instantDay is the tenant-zone day of a stored instant ("" if unreadable).
func (x *exec) instantDay(s string) string {
	t, err := period.ParseInstant(s)
	if err != nil {
		return ""
	}
	return period.FormatDate(t.In(x.loc))
}

// dayOf is the day of a date or date-time field's value in a row.
func (x *exec) dayOf(r *row, f *field) string {
	if f == nil {
		return ""
	}
	v := x.value(r, f)
	s, ok := v.(string)
	if !ok {
		return ""
	}
	if f.typ == TypeDate {
		return s
	}
	return x.instantDay(s)
}

// value reads a field of a row as nil, string, int64, float64 or bool.
func (x *exec) value(r *row, f *field) any {
	switch f.kind {
	case fData:
		var v any = r.data
		for _, p := range f.path {
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[p]
		}
		return norm(v, f.typ)
	case fOwner:
		return r.owner
	case fID:
		return store.ID(r.doc)
	case fCreated:
		s, _ := r.doc["createdAt"].(string)
		return s
	case fUpdated:
		s, _ := r.doc["updatedAt"].(string)
		return s
	case fStage:
		return r.visit.Stage
	case fEntered:
		return period.FormatInstant(r.visit.EnteredAt)
	case fExited:
		if r.visit.ExitedAt == nil {
			return nil
		}
		return period.FormatInstant(*r.visit.ExitedAt)
	case fDays:
		if r.visit.ExitedAt == nil {
			return nil
		}
		return rules.RoundHalfEven(r.visit.ExitedAt.Sub(r.visit.EnteredAt).Hours()/24, 2)
	case fDay:
		return r.day
	case fValue:
		if f.scale > 0 {
			return float64(r.cellSum) / float64(f.scale)
		}
		return r.cellSum
	case fCount:
		return r.cellCnt
	case fStmt:
		return norm(r.doc[f.path[0]], f.typ)
	case fLine:
		return norm(r.line[f.path[0]], f.typ)
	}
	return nil
}

// norm brings a stored value to its column type (integers come back as
// int64 or float64 depending on the store).
func norm(v any, typ string) any {
	switch typ {
	case TypeInteger, TypeMoney:
		switch n := v.(type) {
		case int64, int, int32, float64, float32:
			return store.Int(n)
		}
		return nil
	case TypeNumber:
		switch n := v.(type) {
		case int64, int, int32, float64, float32:
			return store.Float(n)
		}
		return nil
	}
	switch v.(type) {
	case string, bool, nil:
		return v
	}
	return nil
}

func (x *exec) matchAll(r *row, fs []cfilter) bool {
	for _, f := range fs {
		if !match(x.value(r, f.f), f.op, f.value) {
			return false
		}
	}
	return true
}

// match evaluates a condition in Go with the store's semantics: no
// comparison across types; ne and "exists false" match a missing value.
func match(v any, op store.Op, want any) bool {
	switch op {
	case store.Exists:
		return (v != nil) == want.(bool)
	case store.Eq:
		return cmpEq(v, want)
	case store.Ne:
		return !cmpEq(v, want)
	case store.In:
		for _, w := range want.([]any) {
			if cmpEq(v, w) {
				return true
			}
		}
		return false
	}
	c, ok := compare(v, want)
	if !ok {
		return false
	}
	switch op {
	case store.Gt:
		return c > 0
	case store.Gte:
		return c >= 0
	case store.Lt:
		return c < 0
	case store.Lte:
		return c <= 0
	}
	return false
}

func cmpEq(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	c, ok := compare(a, b)
	return ok && c == 0
}

// compare orders two values of the same kind (numbers with numbers).
func compare(a, b any) (int, bool) {
	if a == nil || b == nil {
		return 0, false
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(x, y), true
	case bool:
		y, ok := b.(bool)
		if !ok {
			return 0, false
		}
		if x == y {
			return 0, true
		}
		if !x {
			return -1, true
		}
		return 1, true
	case int64:
		if y, ok := b.(int64); ok {
			return cmpInt(x, y), true
		}
		if y, ok := b.(float64); ok {
			return cmpFloat(float64(x), y), true
		}
	case float64:
		if y, ok := b.(float64); ok {
			return cmpFloat(x, y), true
		}
		if y, ok := b.(int64); ok {
			return cmpFloat(x, float64(y)), true
		}
	}
	return 0, false
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// dim computes a row's value (and, for org levels, id) of a dimension.
func (x *exec) dim(r *row, i int) (any, string) {
	d := &x.c.dims[i]
	switch d.Org {
	case "user":
		return x.org.userName(r.owner), r.owner
	case "team":
		t := x.org.teamOn(r.owner, r.day)
		return x.org.teamName(t), t
	case "region":
		t := x.org.region(x.org.teamOn(r.owner, r.day))
		return x.org.teamName(t), t
	}
	v := x.value(r, d.f)
	if d.grain != "" {
		s, _ := v.(string)
		if s == "" {
			return nil, ""
		}
		if k, ok := x.grains[i][s]; ok {
			return k, ""
		}
		var t time.Time
		if d.f.typ == TypeDate {
			day, err := period.ParseDate(s)
			if err != nil {
				return nil, ""
			}
			t = time.Date(day.Year(), day.Month(), day.Day(), 12, 0, 0, 0, x.loc)
		} else {
			it, err := period.ParseInstant(s)
			if err != nil {
				return nil, ""
			}
			t = it.In(x.loc)
		}
		k := x.cal.Of(t, period.Grain(d.grain)).Key
		if len(x.grains[i]) < 100_000 {
			x.grains[i][s] = k
		}
		return k, ""
	}
	if d.f.kind == fOwner {
		return x.org.userName(r.owner), r.owner
	}
	return v, ""
}

// add folds one row into its group and the totals.
func (x *exec) add(r *row) error {
	x.n++
	key := x.keybuf[:0]
	var dims [4]any
	var ids [4]string
	for i := range x.c.dims {
		v, id := x.dim(r, i)
		dims[i], ids[i] = v, id
		if id != "" {
			key = append(key, id...)
		} else {
			key = appendKey(key, v)
		}
		key = append(key, 0x1f)
	}
	x.keybuf = key
	g, ok := x.groups[string(key)]
	if !ok {
		g = &group{dims: slices.Clone(dims[:len(x.c.dims)]), ids: slices.Clone(ids[:len(x.c.dims)]), accs: make([]acc, len(x.c.meas))}
		x.groups[string(key)] = g
	}
	for i := range x.c.meas {
		m := &x.c.meas[i]
		v, err := x.measureValue(r, m)
		if err != nil {
			return err
		}
		if m.Agg == AggCount && m.f == nil && m.prog == nil {
			g.accs[i].n++
			x.total[i].n++
			continue
		}
		if v == nil {
			continue
		}
		g.accs[i].fold(m, v)
		x.total[i].fold(m, v)
	}
	return nil
}

func appendKey(b []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(b, 0)
	case string:
		return append(append(b, 's'), t...)
	case int64:
		return strconv.AppendInt(append(b, 'i'), t, 10)
	case float64:
		return strconv.AppendFloat(append(b, 'f'), t, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(append(b, 'b'), t)
	}
	return append(b, fmt.Sprint(v)...)
}

// measureValue is a row's input to a measure: a field value, or an expr's
// result (money: rounded half-even to 分 once, here, per row).
func (x *exec) measureValue(r *row, m *cmeasure) (any, error) {
	if m.prog == nil {
		if m.f == nil {
			return nil, nil
		}
		return x.value(r, m.f), nil
	}
	if r.env == nil {
		r.env = x.c.obj.Schema.ToEnv(r.data)
	}
	out, err := m.prog.Run(r.env)
	if err != nil {
		return nil, nil // a formula failing on a row leaves the row out of the measure, as tracking does
	}
	f, ok := out.(float64)
	if !ok {
		return nil, nil
	}
	if m.typ == TypeMoney {
		return int64(math.Round(rules.RoundHalfEven(f, 2) * 100)), nil
	}
	return f, nil
}

func (a *acc) fold(m *cmeasure, v any) {
	switch m.Agg {
	case AggCount:
		a.n++
	case AggDistinct:
		if a.set == nil {
			a.set = map[string]struct{}{}
		}
		a.set[string(appendKey(nil, v))] = struct{}{}
	case AggSum, AggAvg:
		a.n++
		switch n := v.(type) {
		case int64:
			a.i += n
			a.f += float64(n)
		case float64:
			a.f += n
		}
	case AggMin:
		if a.mn == nil {
			a.mn = v
		} else if c, ok := compare(v, a.mn); ok && c < 0 {
			a.mn = v
		}
	case AggMax:
		if a.mx == nil {
			a.mx = v
		} else if c, ok := compare(v, a.mx); ok && c > 0 {
			a.mx = v
		}
	}
}

// final is an accumulator's value.
func (a *acc) final(m *cmeasure) any {
	switch m.Agg {
	case AggCount:
		return a.n
	case AggDistinct:
		return int64(len(a.set))
	case AggSum:
		if m.exact {
			return a.i
		}
		return rules.RoundHalfEven(a.f, 6)
	case AggAvg:
		if a.n == 0 {
			return nil
		}
		if m.typ == TypeMoney {
			return divHalfEven(a.i, a.n)
		}
		if m.exact {
			return rules.RoundHalfEven(float64(a.i)/float64(a.n), 6)
		}
		return rules.RoundHalfEven(a.f/float64(a.n), 6)
	case AggMin:
		return a.mn
	case AggMax:
		return a.mx
	}
	return nil
}

// divHalfEven is a/b rounded half to even (b > 0).
func divHalfEven(a, b int64) int64 {
	q, r := a/b, a%b
	if r < 0 {
		r = -r
	}
	switch twice := 2 * r; {
	case twice > b, twice == b && q%2 != 0:
		if a < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}

// result orders the groups, applies the limit and builds the answer.
func (x *exec) result() *Result {
	c := x.c
	res := &Result{Scanned: x.n, Groups: len(x.groups), Totals: map[string]any{}, Rows: []map[string]any{}}
	for _, d := range c.dims {
		res.Columns = append(res.Columns, Column{Key: d.Key, Label: labelOr(d.Label, d.Field, d.Org, d.Grain), Type: d.typ, Role: "dimension"})
	}
	for _, m := range c.meas {
		res.Columns = append(res.Columns, Column{Key: m.Key, Label: labelOr(m.Label, m.Field, m.Agg, ""), Type: m.typ, Role: "measure"})
	}
	gs := make([]*group, 0, len(x.groups))
	for _, g := range x.groups {
		gs = append(gs, g)
	}
	// With no dimension and no row, one row of zeros still answers.
	if len(c.dims) == 0 && len(gs) == 0 {
		gs = append(gs, &group{accs: make([]acc, len(c.meas))})
	}
	finals := make(map[*group][]any, len(gs))
	for _, g := range gs {
		vs := make([]any, len(c.meas))
		for i := range c.meas {
			vs[i] = g.accs[i].final(&c.meas[i])
		}
		finals[g] = vs
	}
	col := func(g *group, key string) any {
		for i, d := range c.dims {
			if d.Key == key {
				return g.dims[i]
			}
		}
		for i, m := range c.meas {
			if m.Key == key {
				return finals[g][i]
			}
		}
		return nil
	}
	order := c.def.Sort
	if len(order) == 0 {
		for _, d := range c.dims {
			order = append(order, SortSpec{Key: d.Key})
		}
	}
	sort.SliceStable(gs, func(i, j int) bool {
		for _, o := range order {
			a, b := col(gs[i], o.Key), col(gs[j], o.Key)
			if a == nil || b == nil {
				if (a == nil) != (b == nil) {
					return b == nil // nulls last
				}
				continue
			}
			cm, ok := compare(a, b)
			if !ok {
				cm = strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
			}
			if cm != 0 {
				if o.Desc {
					return cm > 0
				}
				return cm < 0
			}
		}
		// A total order whatever the sort: by every dimension.
		for k := range c.dims {
			cm, ok := compare(gs[i].dims[k], gs[j].dims[k])
			if !ok {
				cm = strings.Compare(fmt.Sprint(gs[i].dims[k]), fmt.Sprint(gs[j].dims[k]))
			}
			if cm != 0 {
				return cm < 0
			}
			if gs[i].ids[k] != gs[j].ids[k] {
				return gs[i].ids[k] < gs[j].ids[k]
			}
		}
		return false
	})
	if c.def.Limit > 0 && len(gs) > c.def.Limit {
		gs = gs[:c.def.Limit]
	}
	for _, g := range gs {
		rw := make(map[string]any, len(c.dims)+len(c.meas))
		for i, d := range c.dims {
			rw[d.Key] = g.dims[i]
			if g.ids[i] != "" || d.Org != "" || (d.f != nil && d.f.kind == fOwner) {
				rw[d.Key+"Id"] = g.ids[i]
			}
		}
		for i, m := range c.meas {
			rw[m.Key] = finals[g][i]
		}
		res.Rows = append(res.Rows, rw)
	}
	for i, m := range c.meas {
		res.Totals[m.Key] = x.total[i].final(&c.meas[i])
	}
	res.Chart = chartOf(c.def)
	return res
}

func chartOf(def *Definition) Chart {
	ch := Chart{Type: "table"}
	if def.Chart != nil {
		ch = *def.Chart
	}
	if ch.X == "" && len(def.Dimensions) > 0 {
		ch.X = def.Dimensions[0].Key
	}
	if len(ch.Y) == 0 && len(def.Measures) > 0 {
		ch.Y = []string{def.Measures[0].Key}
	}
	return ch
}

// labelOr is a column's label, or one made from what it reads.
func labelOr(l map[string]string, parts ...string) map[string]string {
	if len(l) > 0 {
		return l
	}
	var ps []string
	for _, p := range parts {
		if p != "" {
			ps = append(ps, p)
		}
	}
	s := strings.Join(ps, " ")
	zh := s
	if t, ok := builtinLabels[s]; ok {
		zh = t
	}
	return map[string]string{"zh-CN": zh, "en": s}
}

var builtinLabels = map[string]string{"count": "数量", "user": "销售", "team": "团队", "region": "区域", "owner": "负责人"}
