package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"stride/engine/period"
	"stride/engine/templates"
)

// The plan is everything the generator will write, decided from the seed
// before the first write: the org, every deal's fields and its timeline.
// Writing it concurrently cannot change it, which is what makes a run
// deterministic.

// teamSpec is one team of the org to build.
type teamSpec struct {
	key, name, parent string
	reps              int
	potential         float64
	manager           int // index into plan.people, -1 none
}

// person is a user to create.
type person struct {
	username, display string
	manager           bool
	team              int // index into plan.teams
	// skill: winMul scales stage conversion, sizeMul deal size, activity
	// the share of deals.
	winMul, sizeMul, activity float64
}

// step is one write of a deal after its creation.
type step struct {
	at    time.Time
	patch map[string]any // fields to set first (may be nil)
	to    string         // stage to move to ("" = patch only)
	kind  string         // "advance", "lose", "win", "reverse"
}

// dealPlan is one deal: its owner, the fields it is created with and the
// writes that follow.
type dealPlan struct {
	rep     int // index into plan.people
	created time.Time
	data    map[string]any
	steps   []step
	outcome string // won, lost, open
	stuck   bool   // planned to stall in a stage
}

// stageInfo is what the plan needs of a pipeline stage.
type stageInfo struct {
	key      string
	prob     float64
	sla      int
	required []string
	terminal string
	guard    string // enterIf expression
}

// objectInfo is what the plan needs of the object's definition.
type objectInfo struct {
	key, stageField, titleField string
	props                       map[string]map[string]any
	order                       []string
	required                    map[string]bool
	computed                    map[string]bool
	visibleIf                   map[string]string
	requiredIf                  map[string]bool
	dateFields                  map[string]bool // metric date fields: the close date
}

// flatRecord is one record of an object no pipeline governs (a payment, a
// day's store sales): its owner, its date and its fields.
type flatRecord struct {
	rep  int
	at   time.Time
	data map[string]any
}

type plan struct {
	teams  []teamSpec
	people []person
	deals  []dealPlan
	// flat are the records of the template's main object when no pipeline
	// governs it (flatObj).
	flat    []flatRecord
	flatObj objectInfo
	obj     objectInfo
	open    []stageInfo
	won     *stageInfo
	lost    *stageInfo
	// reversal: how a won deal is reversed in this template.
	reversal string
}

// defaultSeasonality weights the months when the template's target plan has none.
var defaultSeasonality = []float64{0.7, 0.6, 1, 1, 1, 1.1, 0.9, 0.9, 1, 1, 1.2, 1.5}

func num(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	case int:
		return float64(x)
	}
	return 0
}

// describe reads the object and its pipeline from the bundle.
func describe(b *templates.Bundle, object string) (objectInfo, map[string]any, error) {
	var pipe map[string]any
	for _, p := range b.Pipelines {
		if p["object"] == object && pipe == nil {
			pipe = p
		}
	}
	if pipe == nil {
		return objectInfo{}, nil, fmt.Errorf("template %s has no pipeline for object %q: the demo needs one to move records through", b.Metadata.Name, object)
	}
	stageField, _ := pipe["stageField"].(string)
	oi, err := describeObject(b, object, stageField)
	return oi, pipe, err
}

// describeObject reads an object's fields from the bundle.
func describeObject(b *templates.Bundle, object, stageField string) (objectInfo, error) {
	var def map[string]any
	for _, o := range b.Objects {
		if o["key"] == object {
			def = o
		}
	}
	if def == nil {
		return objectInfo{}, fmt.Errorf("template %s has no object %q", b.Metadata.Name, object)
	}
	oi := objectInfo{key: object, props: map[string]map[string]any{}, required: map[string]bool{}, computed: map[string]bool{},
		visibleIf: map[string]string{}, requiredIf: map[string]bool{}, dateFields: map[string]bool{}}
	oi.stageField = stageField
	oi.titleField, _ = def["titleField"].(string)
	schema, _ := def["schema"].(map[string]any)
	props, _ := schema["properties"].(map[string]any)
	for k, v := range props {
		if m, ok := v.(map[string]any); ok {
			oi.props[k] = m
		}
	}
	if ord, ok := def["order"].([]any); ok {
		for _, f := range ord {
			if s, ok := f.(string); ok && oi.props[s] != nil {
				oi.order = append(oi.order, s)
			}
		}
	}
	var rest []string
	for k := range oi.props {
		if !slices.Contains(oi.order, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest) // map order must not leak into the plan
	oi.order = append(oi.order, rest...)
	if req, ok := schema["required"].([]any); ok {
		for _, r := range req {
			if s, ok := r.(string); ok {
				oi.required[s] = true
			}
		}
	}
	hints, _ := def["fields"].(map[string]any)
	for k, h := range hints {
		m, _ := h.(map[string]any)
		if c, ok := m["computed"].(string); ok && c != "" {
			oi.computed[k] = true
		}
		if v, ok := m["visibleIf"].(string); ok && v != "" {
			oi.visibleIf[k] = v
		}
		if v, ok := m["requiredIf"].(string); ok && v != "" {
			oi.requiredIf[k] = true
		}
	}
	for _, m := range b.Metrics {
		if m["object"] == object {
			if f, _ := m["dateField"].(string); f != "" && f != "createdAt" {
				if p := oi.props[f]; p != nil && p["format"] == "date" {
					oi.dateFields[f] = true
				}
			}
		}
	}
	return oi, nil
}

func stagesOf(pipe map[string]any) (open []stageInfo, won, lost *stageInfo) {
	raw, _ := pipe["stages"].([]any)
	for _, r := range raw {
		m, _ := r.(map[string]any)
		s := stageInfo{prob: num(m["probability"]), sla: 14}
		s.key, _ = m["key"].(string)
		s.terminal, _ = m["terminal"].(string)
		if g, ok := m["enterIf"].(map[string]any); ok {
			s.guard, _ = g["expression"].(string)
		}
		if v, ok := m["slaDays"]; ok {
			s.sla = int(num(v))
		}
		if rf, ok := m["requiredFields"].([]any); ok {
			for _, f := range rf {
				if n, ok := f.(string); ok {
					s.required = append(s.required, n)
				}
			}
		}
		switch {
		case s.terminal == "":
			open = append(open, s)
		case s.terminal == "won" && won == nil:
			won = &s
		case s.terminal == "lost" && lost == nil:
			lost = &s
		}
	}
	return open, won, lost
}

// seasonality returns the month weights (January first) of the template's
// target plan on this object's metrics, else a default curve.
func seasonality(b *templates.Bundle) []float64 {
	for _, p := range b.TargetPlans {
		s, _ := p.Definition["seasonality"].(map[string]any)
		if ws, ok := s["weights"].([]any); ok && len(ws) == 12 {
			out := make([]float64, 12)
			for i, w := range ws {
				out[i] = num(w)
			}
			return out
		}
	}
	return defaultSeasonality
}

// orgSpec builds the team tree and its people: the bundle's org.teams
// (reps scaled to the requested count) or a generated region → team tree.
func orgSpec(b *templates.Bundle, reps int, rng *rand.Rand, names *namer) ([]teamSpec, []person) {
	var teams []teamSpec
	if raw, ok := b.Org["teams"].([]any); ok && len(raw) > 0 {
		for _, r := range raw {
			m, _ := r.(map[string]any)
			t := teamSpec{potential: num(m["potential"]), reps: int(num(m["reps"])), manager: -1}
			t.key, _ = m["key"].(string)
			t.name, _ = m["name"].(string)
			t.parent, _ = m["parent"].(string)
			teams = append(teams, t)
		}
	} else {
		regions := []string{"华东大区", "华北大区", "华南大区", "西部大区"}
		nr := min(len(regions), max(1, (reps+9)/10))
		teams = append(teams, teamSpec{key: "sales", name: "销售部", manager: -1})
		for i := 0; i < nr; i++ {
			rk := fmt.Sprintf("r%d", i+1)
			teams = append(teams, teamSpec{key: rk, name: regions[i], parent: "sales", manager: -1})
			perRegion := reps / nr
			if i < reps%nr {
				perRegion++
			}
			nt := max(1, (perRegion+5)/6)
			for j := 0; j < nt; j++ {
				n := perRegion / nt
				if j < perRegion%nt {
					n++
				}
				teams = append(teams, teamSpec{key: fmt.Sprintf("%s_t%d", rk, j+1), name: fmt.Sprintf("%s%s组", regions[i][:len(regions[i])-len("大区")], chineseOrdinal(j)), parent: rk, reps: n, potential: 1, manager: -1})
			}
		}
	}
	// Scale the teams' rep counts to reps (largest remainder, ties by order).
	total := 0
	for _, t := range teams {
		total += t.reps
	}
	if total == 0 {
		teams[len(teams)-1].reps, total = 1, 1
	}
	counts := make([]int, len(teams))
	type rem struct {
		i int
		r float64
	}
	var rems []rem
	left := reps
	for i, t := range teams {
		exact := float64(reps) * float64(t.reps) / float64(total)
		counts[i] = int(math.Floor(exact))
		left -= counts[i]
		if t.reps > 0 {
			rems = append(rems, rem{i, exact - math.Floor(exact)})
		}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for k := 0; left > 0; k = (k + 1) % len(rems) {
		counts[rems[k].i]++
		left--
	}
	var people []person
	for i := range teams {
		teams[i].reps = counts[i]
		// Every team gets a manager: directors for the upper levels.
		u, d := names.next()
		teams[i].manager = len(people)
		people = append(people, person{username: u, display: d, manager: true, team: i})
	}
	for i := range teams {
		for j := 0; j < teams[i].reps; j++ {
			u, d := names.next()
			people = append(people, person{username: u, display: d, team: i,
				winMul:   clamp(1+0.18*rng.NormFloat64(), 0.6, 1.45),
				sizeMul:  clamp(math.Exp(0.3*rng.NormFloat64()), 0.5, 2.2),
				activity: clamp(1+0.25*rng.NormFloat64(), 0.5, 1.6)})
		}
	}
	return teams, people
}

func chineseOrdinal(i int) string {
	o := []string{"一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}
	if i < len(o) {
		return o[i]
	}
	return fmt.Sprint(i + 1)
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// buildPlan decides everything from the seed: deals of object moved
// through its pipeline (object "" for none) and flats records of flatObject
// (a template's main object no pipeline governs; "" for none).
func buildPlan(b *templates.Bundle, object string, reps, deals int, flatObject string, flats int, seed int64, end time.Time, loc *time.Location) (*plan, error) {
	p := &plan{}
	if object != "" {
		oi, pipe, err := describe(b, object)
		if err != nil {
			return nil, err
		}
		p.obj = oi
		p.open, p.won, p.lost = stagesOf(pipe)
		if len(p.open) == 0 || p.won == nil {
			return nil, fmt.Errorf("pipeline of %s needs open stages and a won stage", object)
		}
		p.reversal = reversalKind(oi, pipe)
	} else {
		deals = 0
	}
	if flatObject != "" {
		oi, err := describeObject(b, flatObject, "")
		if err != nil {
			return nil, err
		}
		p.flatObj = oi
	} else {
		flats = 0
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5354524944450001))
	names := newNamer(rng)
	p.teams, p.people = orgSpec(b, reps, rng, names)
	var repIdx []int
	var cum []float64
	acc := 0.0
	for i, pe := range p.people {
		if !pe.manager {
			repIdx = append(repIdx, i)
			acc += pe.activity
			cum = append(cum, acc)
		}
	}
	if len(repIdx) == 0 {
		return nil, fmt.Errorf("the demo needs at least one rep")
	}
	season := seasonality(b)
	start := time.Date(end.Year()-1, end.Month(), end.Day(), 0, 0, 0, 0, loc)
	// Month weights over the 12 months of history, by calendar month.
	type span struct {
		from, to time.Time
		w        float64
	}
	var spans []span
	for m := start; m.Before(end); {
		next := time.Date(m.Year(), m.Month()+1, 1, 0, 0, 0, 0, loc)
		if next.After(end) {
			next = end
		}
		days := next.Sub(m).Hours() / 24
		spans = append(spans, span{m, next, season[m.Month()-1] * days})
		m = next
	}
	var scum []float64
	acc = 0
	for _, s := range spans {
		acc += s.w
		scum = append(scum, acc)
	}
	companies := names.companies(max(20, deals/3))
	fill := &filler{oi: p.obj, rng: rng, names: names}
	for i := 0; i < deals; i++ {
		var rep int
		if i < len(repIdx) {
			rep = repIdx[i] // every rep has deals
		} else {
			rep = repIdx[pick(cum, rng.Float64()*cum[len(cum)-1])]
		}
		sp := spans[pick(scum, rng.Float64()*scum[len(scum)-1])]
		created := sp.from.Add(time.Duration(rng.Float64() * float64(sp.to.Sub(sp.from))))
		created = workHours(created, rng, loc)
		if !created.Before(end) {
			created = end.Add(-time.Hour)
		}
		d := dealPlan{rep: rep, created: created}
		p.simulate(&d, rng, end, loc)
		d.data = fill.deal(&d, p, companies[rng.IntN(len(companies))], p.people[rep].sizeMul, loc)
		p.deals = append(p.deals, d)
	}
	// Flat records: spread evenly over the reps (a store enters its sales
	// every day; a rep collects payments all year), dated by seasonality.
	flat := &filler{oi: p.flatObj, rng: rng, names: names}
	for i := 0; i < flats; i++ {
		rep := repIdx[i%len(repIdx)]
		sp := spans[pick(scum, rng.Float64()*scum[len(scum)-1])]
		at := workHours(sp.from.Add(time.Duration(rng.Float64()*float64(sp.to.Sub(sp.from)))), rng, loc)
		if !at.Before(end) {
			at = end.Add(-time.Hour)
		}
		flat.code = fmt.Sprintf("S%03d", slices.Index(repIdx, rep)+1)
		data := flat.record(at, companies[rng.IntN(len(companies))], p.people[rep].sizeMul, loc)
		p.flat = append(p.flat, flatRecord{rep: rep, at: at, data: data})
	}
	return p, nil
}

// pick returns the index of the first cumulative weight above x.
func pick(cum []float64, x float64) int {
	i := sort.SearchFloat64s(cum, x)
	if i >= len(cum) {
		i = len(cum) - 1
	}
	return i
}

// workHours moves t to a working hour of its day (09:00–18:59).
func workHours(t time.Time, rng *rand.Rand, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 9+rng.IntN(10), rng.IntN(60), rng.IntN(60), 0, loc)
}

// reversalKind says how a won deal is reversed in this template: a status
// field with a cancellation value (set it), a pipeline allowing backward
// moves (move an open deal back a stage), else a post-close amendment of
// its quantity (a partial refund: the booked amount goes down).
func reversalKind(oi objectInfo, pipe map[string]any) string {
	if f, _ := cancelField(oi); f != "" {
		return "cancel"
	}
	if back, _ := pipe["allowBackward"].(bool); back {
		return "backward"
	}
	return "amend"
}

// cancelField finds a non-stage enum field with a cancellation value.
func cancelField(oi objectInfo) (string, string) {
	for _, name := range oi.order {
		if name == oi.stageField {
			continue
		}
		enum, _ := oi.props[name]["enum"].([]any)
		for _, v := range enum {
			if s, _ := v.(string); isCancel(s) {
				return name, s
			}
		}
	}
	return "", ""
}

// isCancel reports whether an enum value means the record was reversed.
func isCancel(s string) bool {
	switch strings.ToLower(s) {
	case "cancelled", "canceled", "refunded", "reversed", "void", "returned":
		return true
	}
	return false
}

// simulate decides a deal's timeline: dwell in each stage around a share
// of its SLA, advance with a conversion rate from the stage probabilities
// scaled by the rep's skill, else lose; stall now and then; stop at end.
func (p *plan) simulate(d *dealPlan, rng *rand.Rand, end time.Time, loc *time.Location) {
	skill := p.people[d.rep].winMul
	t := d.created
	stallAt := -1
	if rng.Float64() < 0.07 {
		stallAt = rng.IntN(len(p.open))
	}
	for k := 0; k < len(p.open); k++ {
		st := p.open[k]
		if k == stallAt {
			d.stuck, d.outcome = true, "open"
			return
		}
		dwell := rng.ExpFloat64() * 1.0 * float64(max(st.sla, 2))
		dwell = clamp(dwell, 0.3, 3*float64(max(st.sla, 2)))
		next := workHours(t.Add(time.Duration(dwell*24*float64(time.Hour))), rng, loc)
		if !next.After(t) {
			next = t.Add(time.Hour)
		}
		if !next.Before(end) {
			d.outcome = "open"
			return
		}
		nextProb := p.won.prob
		if k+1 < len(p.open) {
			nextProb = p.open[k+1].prob
		}
		conv := 0.7
		if st.prob > 0 && nextProb > 0 {
			conv = math.Pow(math.Min(1, st.prob/nextProb), 0.35)
		}
		conv = clamp(conv*skill, 0.05, 0.95)
		if rng.Float64() >= conv {
			if p.lost == nil {
				d.outcome, d.stuck = "open", true
				return
			}
			d.steps = append(d.steps, step{at: next, to: p.lost.key, kind: "lose"})
			d.outcome = "lost"
			return
		}
		t = next
		if k+1 < len(p.open) {
			d.steps = append(d.steps, step{at: t, to: p.open[k+1].key, kind: "advance"})
			if p.reversal == "backward" && k+1 >= 2 && rng.Float64() < 0.04 {
				// The customer reopened the evaluation: back one stage,
				// then forward again a few days later.
				back := t.Add(time.Duration(1+rng.IntN(5)) * 24 * time.Hour)
				again := back.Add(time.Duration(2+rng.IntN(7)) * 24 * time.Hour)
				if again.Before(end) {
					d.steps = append(d.steps, step{at: back, to: p.open[k].key, kind: "reverse"},
						step{at: again, to: p.open[k+1].key, kind: "advance"})
					t = again
				}
			}
			continue
		}
		d.steps = append(d.steps, step{at: t, to: p.won.key, kind: "win"})
		d.outcome = "won"
		if p.reversal != "backward" && rng.Float64() < 0.06 {
			at := workHours(t.Add(time.Duration(10+rng.IntN(50))*24*time.Hour), rng, loc)
			if at.Before(end) {
				d.steps = append(d.steps, step{at: at, kind: "reverse"})
			}
		}
		return
	}
}

// closeAt is when the deal closes (or is expected to).
func (d *dealPlan) closeAt(rng *rand.Rand) time.Time {
	for _, s := range d.steps {
		if s.kind == "win" || s.kind == "lose" {
			return s.at
		}
	}
	return d.created.Add(time.Duration(30+rng.IntN(90)) * 24 * time.Hour)
}

// dateOf formats t as a calendar date in loc.
func dateOf(t time.Time, loc *time.Location) string { return period.FormatDate(t.In(loc)) }
