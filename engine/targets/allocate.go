package targets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/expr-lang/expr/types"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/period"
	"stride/engine/rules"
	"stride/engine/store"
	"stride/engine/targets/alloc"
)

// Allocation is a plan's allocation: one exact result per level.
type Allocation struct {
	Plan     string                   `json:"plan"`
	Version  int64                    `json:"version"` // 0 for a preview
	Calendar period.Calendar          `json:"-"`
	Year     int                      `json:"fiscalYear"`
	Levels   map[string]*alloc.Result `json:"levels"`
}

// formula adapts a compiled expr program to alloc.Formula.
type formula struct{ p *rules.Program }

func (f formula) Source() string { return f.p.Source() }

func (f formula) Weight(vars map[string]any) (float64, error) {
	out, err := f.p.Run(vars)
	if err != nil {
		return 0, err
	}
	x, _ := out.(float64)
	return x, nil
}

// env is the typed environment of allocation formulas: every input as
// {value, share} and the node itself.
func env(names []string) types.Map {
	m := types.Map{"node": types.Map{"key": types.String, "name": types.String, "level": types.Int}}
	for _, n := range names {
		m[n] = types.Map{"value": types.Float64, "share": types.Float64}
	}
	return m
}

// compileFormulas type-checks the plan's formulas (number results).
func (s *Service) compileFormulas(d *Definition) (alloc.Formula, map[int]alloc.Formula, []apperr.FieldError) {
	e := env(d.inputNames())
	var fe []apperr.FieldError
	compile := func(ptr, src string) alloc.Formula {
		p, err := s.rules.Check(src, e, rules.Number)
		if err != nil {
			fe = append(fe, rules.Problem(ptr, err))
			return nil
		}
		return formula{p}
	}
	src := DefaultFormula
	ptr := "/allocation/formula"
	levels := map[int]alloc.Formula{}
	if a := d.Allocation; a != nil {
		if a.Formula != "" {
			src = a.Formula
		}
		for i, l := range a.Levels {
			if f := compile(fmt.Sprintf("/allocation/levels/%d/formula", i), l.Formula); f != nil {
				levels[l.Depth] = f
			}
		}
	}
	def := compile(ptr, src)
	return def, levels, fe
}

// calendar returns the tenant's calendar.
func (s *Service) calendar(ctx context.Context, tenantName string) (period.Calendar, error) {
	t, err := s.tenants.Get(ctx, tenantName)
	if err != nil {
		return period.Calendar{}, err
	}
	return t.Calendar(), nil
}

// allocate computes every level of a definition. Input problems are 422s
// with pointers; the formula errors point into the definition.
func (s *Service) allocate(ctx context.Context, db store.DB, tenantName, key string, d *Definition) (*Allocation, error) {
	def, levels, fe := s.compileFormulas(d)
	if len(fe) > 0 {
		return nil, apperr.Invalid("a formula of the plan is wrong", fe...)
	}
	cal, err := s.calendar(ctx, tenantName)
	if err != nil {
		return nil, err
	}
	year, err := cal.Parse(strconv.Itoa(d.FiscalYear))
	if err != nil {
		return nil, apperr.Invalid("bad fiscal year", apperr.FieldError{Pointer: "/fiscalYear", Code: "period", Message: err.Error()})
	}
	t, err := s.tree(ctx, db, tenantName, d, cal, year)
	if err != nil {
		return nil, err
	}
	season, err := s.seasonality(ctx, db, tenantName, d, cal, t)
	if err != nil {
		return nil, err
	}
	var frozen map[string]*alloc.Result
	frozenMonths := 0
	if r := d.Respread; r != nil {
		k, err := monthIndex(cal, year, r.FromMonth)
		if err != nil {
			return nil, apperr.Invalid("bad re-spread month", apperr.FieldError{Pointer: "/respread/fromMonth", Code: "period", Message: err.Error()})
		}
		frozenMonths = k
		frozen = map[string]*alloc.Result{}
		for _, level := range d.levels() {
			res, err := s.loadResult(ctx, db, key, r.BasedOn, level)
			if err != nil {
				return nil, err
			}
			frozen[level] = res
		}
	}
	a := &Allocation{Plan: key, Calendar: cal, Year: d.FiscalYear, Levels: map[string]*alloc.Result{}}
	for _, level := range d.levels() {
		root := t.build(d, level)
		spec := alloc.Spec{Calendar: cal, FiscalYear: d.FiscalYear, Amount: d.Amounts[level], Granularity: d.Granularity,
			Seasonality: season, Formulas: levels, Default: def, InputNames: d.inputNames()}
		if d.Allocation != nil {
			spec.EqualSplitOnZero = d.Allocation.EqualSplitOnZero
		}
		if dm := d.Dimension; dm != nil {
			spec.DimWeights = map[string]float64{}
			for _, v := range dm.Values {
				spec.Dimension = append(spec.Dimension, v.Key)
				if v.Weight != nil {
					spec.DimWeights[v.Key] = *v.Weight
				}
			}
		}
		if r := d.Respread; r != nil {
			spec.RootMonths = r.RootMonths[level]
			spec.Frozen, spec.FrozenMonths = frozen[level], frozenMonths
		}
		res, err := alloc.Allocate(root, spec)
		if err != nil {
			return nil, allocProblem(level, err)
		}
		if err := res.Check(); err != nil {
			return nil, fmt.Errorf("allocation of %s (%s) is not exact: %w", key, level, err)
		}
		a.Levels[level] = res
	}
	return a, nil
}

// allocProblem maps an allocation error to a 422 naming the node and the
// numbers.
func allocProblem(level string, err error) error {
	var ae *alloc.Error
	if !errors.As(err, &ae) {
		return err
	}
	ptr := "/amounts/" + level
	switch {
	case ae.Code == "formula":
		ptr = "/allocation/formula"
	case ae.Code == "seasonality":
		ptr = "/seasonality"
	case ae.Node != "" && ae.Node != "company":
		ptr = "/nodes/" + escapePointer(ae.Node)
	}
	e := apperr.Invalid(fmt.Sprintf("the %s level cannot be allocated: %s", level, ae.Message),
		apperr.FieldError{Pointer: ptr, Code: ae.Code, Message: ae.Message})
	e.Code = ae.Code
	e = e.With("level", level)
	if ae.Node != "" {
		e = e.With("node", ae.Node)
	}
	if len(ae.Numbers) > 0 {
		e = e.With("numbers", ae.Numbers)
	}
	return e
}

// orgTree is the org as a plan sees it, before per-level settings.
type orgTree struct {
	root     string
	nodes    map[string]*orgNode
	children map[string][]string
}

type orgNode struct {
	key, name string
	inputs    map[string]float64
	dims      map[string]float64
}

// build returns the alloc tree for one level: inputs plus that level's
// locks (and the bounds, which apply to the target level).
func (t *orgTree) build(d *Definition, level string) *alloc.Node {
	var walk func(key string) *alloc.Node
	walk = func(key string) *alloc.Node {
		o := t.nodes[key]
		n := &alloc.Node{Key: key, Name: o.name, Inputs: map[string]float64{}, DimWeights: o.dims}
		for k, v := range o.inputs {
			n.Inputs[k] = v
		}
		if ns := d.Nodes[key]; ns != nil {
			for k, v := range ns.Inputs {
				n.Inputs[k] = v
			}
			if v, ok := ns.Locks[level]; ok {
				v := v
				n.Lock = &v
			}
			if level == LevelTarget {
				n.Floor, n.Cap = ns.Floor, ns.Cap
			}
		}
		for _, c := range t.children[key] {
			n.Children = append(n.Children, walk(c))
		}
		return n
	}
	return walk(t.root)
}

// tree reads the org on the plan's org date and computes every node's
// standard inputs: history (actual of the metric over the history period),
// headcount (users in the subtree) and tenureMonths (months since a user's
// first membership; a team's is its users' mean).
func (s *Service) tree(ctx context.Context, db store.DB, tenantName string, d *Definition, cal period.Calendar, year period.Period) (*orgTree, error) {
	// Read-your-writes: actuals include every acknowledged record write.
	if err := s.tracker.Sync(ctx, db, tenantName); err != nil {
		return nil, err
	}
	date := period.FormatDate(year.Start)
	if d.Org != nil && d.Org.Date != "" {
		date = d.Org.Date
	}
	teams, err := auth.ListTeams(ctx, db)
	if err != nil {
		return nil, err
	}
	users, err := auth.ListUsers(ctx, db)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, u := range users {
		names[u.ID] = u.DisplayName
		if u.DisplayName == "" {
			names[u.ID] = u.Username
		}
	}
	sort.Slice(teams, func(i, j int) bool { return teams[i].ID < teams[j].ID })
	t := &orgTree{root: d.root(), nodes: map[string]*orgNode{}, children: map[string][]string{}}
	t.nodes["company"] = &orgNode{key: "company", name: "全公司 Company"}
	teamKey := func(id string) string { return "team:" + id }
	known := map[string]bool{}
	for _, tm := range teams {
		known[tm.ID] = true
	}
	for _, tm := range teams {
		t.nodes[teamKey(tm.ID)] = &orgNode{key: teamKey(tm.ID), name: tm.Name}
		parent := "company"
		if tm.ParentID != "" && known[tm.ParentID] {
			parent = teamKey(tm.ParentID)
		}
		t.children[parent] = append(t.children[parent], teamKey(tm.ID))
	}
	// Members on the org date; a user in two teams that day counts once,
	// in the first team by id, so amounts are never given twice.
	firstDay := map[string]string{}
	placed := map[string]bool{}
	for _, tm := range teams {
		ms, err := auth.Members(ctx, db, tm.ID)
		if err != nil {
			return nil, err
		}
		sort.Slice(ms, func(i, j int) bool { return ms[i].UserID < ms[j].UserID })
		for _, m := range ms {
			if f, ok := firstDay[m.UserID]; !ok || m.From < f {
				firstDay[m.UserID] = m.From
			}
			if m.From > date || (m.To != "" && m.To <= date) || placed[m.UserID] {
				continue
			}
			placed[m.UserID] = true
			k := "user:" + m.UserID
			t.nodes[k] = &orgNode{key: k, name: names[m.UserID]}
			t.children[teamKey(tm.ID)] = append(t.children[teamKey(tm.ID)], k)
		}
	}
	if _, ok := t.nodes[t.root]; !ok {
		return nil, apperr.Invalid("unknown org root", apperr.FieldError{Pointer: "/org/root", Code: "unknown_team",
			Message: fmt.Sprintf("%q is not a team", t.root)})
	}
	// Only the root's subtree takes part.
	in := map[string]bool{}
	var mark func(string)
	mark = func(k string) {
		in[k] = true
		for _, c := range t.children[k] {
			mark(c)
		}
	}
	mark(t.root)
	for _, k := range sortedKeys(d.Nodes) {
		if !in[k] {
			return nil, apperr.Invalid("a node of the plan is not in its org tree", apperr.FieldError{Pointer: "/nodes/" + escapePointer(k),
				Code: "unknown_node", Message: fmt.Sprintf("%s is not in the org tree under %s on %s", k, t.root, date)})
		}
	}
	hist, err := s.historyPeriod(d, cal, year)
	if err != nil {
		return nil, err
	}
	from, to := period.FormatDate(hist.Start), lastDay(hist)
	orgDay, _ := period.ParseDate(date)
	var fill func(k string) (users []string, err error)
	fill = func(k string) ([]string, error) {
		o := t.nodes[k]
		o.inputs = map[string]float64{}
		var us []string
		switch {
		case len(k) > 5 && k[:5] == "user:":
			id := k[5:]
			us = []string{id}
			c, err := s.tracker.Actual(ctx, db, tenantName, d.Metric, us, from, to)
			if err != nil {
				return nil, err
			}
			o.inputs["history"] = float64(c.Sum)
			if f, ok := firstDay[id]; ok {
				if fd, err := period.ParseDate(f); err == nil && orgDay.After(fd) {
					o.inputs["tenureMonths"] = math.Round(orgDay.Sub(fd).Hours()/24/30.4375*10) / 10
				}
			}
			o.inputs["headcount"] = 1
			if err := s.dimHistory(ctx, db, tenantName, d, o, func(metric string) (int64, error) {
				c, err := s.tracker.Actual(ctx, db, tenantName, metric, us, from, to)
				return c.Sum, err
			}); err != nil {
				return nil, err
			}
			return us, nil
		default:
			tenure := 0.0
			for _, c := range t.children[k] {
				cu, err := fill(c)
				if err != nil {
					return nil, err
				}
				us = append(us, cu...)
				tenure += t.nodes[c].inputs["tenureMonths"] * t.nodes[c].inputs["headcount"]
			}
			o.inputs["headcount"] = float64(len(us))
			if len(us) > 0 {
				o.inputs["tenureMonths"] = math.Round(tenure/float64(len(us))*10) / 10
			}
			actual := func(metric string) (int64, error) {
				if k == "company" {
					c, err := s.tracker.Actual(ctx, db, tenantName, metric, us, from, to)
					return c.Sum, err
				}
				c, err := s.tracker.TeamActual(ctx, db, tenantName, metric, k[5:], from, to)
				return c.Sum, err
			}
			h, err := actual(d.Metric)
			if err != nil {
				return nil, err
			}
			o.inputs["history"] = float64(h)
			if err := s.dimHistory(ctx, db, tenantName, d, o, actual); err != nil {
				return nil, err
			}
			return us, nil
		}
	}
	if _, err := fill(t.root); err != nil {
		return nil, err
	}
	return t, nil
}

// dimHistory sets a node's dimension weights from its own history per
// value when the plan asks for it (nil when it has none: the plan's fixed
// weights apply).
func (s *Service) dimHistory(ctx context.Context, db store.DB, tenantName string, d *Definition, o *orgNode, actual func(metric string) (int64, error)) error {
	dm := d.Dimension
	if dm == nil || dm.WeightsFrom != "history" {
		return nil
	}
	w := map[string]float64{}
	total := 0.0
	for _, v := range dm.Values {
		x, err := actual(d.Metric + "@" + v.Key)
		if err != nil {
			if ae, ok := apperr.As(err); ok && ae.Kind == apperr.KindNotFound {
				return apperr.Invalid("the metric does not track the plan's dimension", apperr.FieldError{Pointer: "/dimension/field",
					Code: "dimension_not_tracked", Message: fmt.Sprintf("metric %s must declare dimension %q to weight by history", d.Metric, dm.Field)})
			}
			return err
		}
		w[v.Key] = float64(max(x, 0))
		total += w[v.Key]
	}
	if total > 0 {
		o.dims = w
	}
	return nil
}

// historyPeriod is the period whose actuals are `history`.
func (s *Service) historyPeriod(d *Definition, cal period.Calendar, year period.Period) (period.Period, error) {
	if d.Allocation != nil && d.Allocation.HistoryPeriod != "" {
		p, err := cal.Parse(d.Allocation.HistoryPeriod)
		if err != nil {
			return period.Period{}, apperr.Invalid("bad history period", apperr.FieldError{Pointer: "/allocation/historyPeriod", Code: "period", Message: err.Error()})
		}
		return p, nil
	}
	return cal.Parse(strconv.Itoa(d.FiscalYear - 1))
}

// seasonality returns the root's month weights in fiscal order.
func (s *Service) seasonality(ctx context.Context, db store.DB, tenantName string, d *Definition, cal period.Calendar, t *orgTree) ([12]float64, error) {
	var w [12]float64
	src := "equal"
	if d.Seasonality != nil {
		src = d.Seasonality.Source
		if src == "" {
			src = "weights"
		}
	}
	switch src {
	case "weights":
		copy(w[:], d.Seasonality.Weights)
		return w, nil
	case "lastYear":
		months, err := s.rootMonths(ctx, db, tenantName, d.Metric, t, cal, d.FiscalYear-1)
		if err != nil {
			return w, err
		}
		total := int64(0)
		for i, m := range months {
			w[i] = float64(max(m, 0))
			total += max(m, 0)
		}
		if total > 0 {
			return w, nil
		}
		// No history yet: equal months rather than a plan that cannot start.
	}
	for i := range w {
		w[i] = 1
	}
	return w, nil
}

// rootMonths returns the root's actual per fiscal month of a year.
func (s *Service) rootMonths(ctx context.Context, db store.DB, tenantName, metric string, t *orgTree, cal period.Calendar, fy int) ([12]int64, error) {
	var out [12]int64
	y, err := cal.Parse(strconv.Itoa(fy))
	if err != nil {
		return out, err
	}
	users := t.users(t.root)
	for i := 0; i < 12; i++ {
		start := y.Start.AddDate(0, i, 0)
		m := cal.Of(start, period.Month)
		from, to := period.FormatDate(m.Start), lastDay(m)
		var c int64
		if t.root == "company" {
			cell, err := s.tracker.Actual(ctx, db, tenantName, metric, users, from, to)
			if err != nil {
				return out, err
			}
			c = cell.Sum
		} else {
			cell, err := s.tracker.TeamActual(ctx, db, tenantName, metric, t.root[5:], from, to)
			if err != nil {
				return out, err
			}
			c = cell.Sum
		}
		out[i] = c
	}
	return out, nil
}

func (t *orgTree) users(k string) []string {
	if len(k) > 5 && k[:5] == "user:" {
		return []string{k[5:]}
	}
	var out []string
	for _, c := range t.children[k] {
		out = append(out, t.users(c)...)
	}
	return out
}

// monthIndex returns the fiscal index (0–11) of a month key in the year.
func monthIndex(cal period.Calendar, year period.Period, key string) (int, error) {
	m, err := cal.Parse(key)
	if err != nil {
		return 0, err
	}
	if m.Grain != period.Month || !year.Contains(m.Start) {
		return 0, fmt.Errorf("%s is not a month of fiscal year %s", key, year.Key)
	}
	for i := 0; i < 12; i++ {
		if year.Start.AddDate(0, i, 0).Equal(m.Start) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%s is not a month of fiscal year %s", key, year.Key)
}

// lastDay is the last day (inclusive) of a period as YYYY-MM-DD.
func lastDay(p period.Period) string {
	return period.FormatDate(p.End.Add(-time.Nanosecond))
}

// toDoc stores an allocation node (or a result's layout) as a plain document.
func toDoc(a any) map[string]any {
	b, _ := json.Marshal(a)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func allocFrom(v any) (*alloc.Alloc, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var a alloc.Alloc
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, err
	}
	return &a, nil
}
