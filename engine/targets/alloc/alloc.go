package alloc

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// work is one node during allocation; amounts are in units of G.
type work struct {
	n      *Node
	a      *Alloc
	level  int
	kids   []*work // sorted by key
	prev   *Alloc  // the previous allocation of this node when its first months are frozen
	annual int64
	months [12]int64
	parts  []int64
	fixed  bool // during the parent's split: frozen months copied, not allocated
}

type allocator struct {
	spec Spec
	g    int64
	lay  *yearLayout
	fz   int // frozen months in force (0 without Frozen)
	rd   rounder
	idx  []int32
	cell []int64
	// Slabs: allocations for many nodes at once, so a 10,000-node plan
	// costs a few hundred allocations rather than tens of thousands.
	slab   []int64
	allocs []Alloc
	weeks  []WeekAmount
	works  []work
	// weekKeys is every week with its key and a zero amount, copied into
	// each node's Weeks.
	weekKeys []WeekAmount
	// Formula variables reused across children (see formulaVars).
	vars  map[string]any
	inner []map[string]any
	node  map[string]any
	order []int
}

// take returns n zeroed int64s carved from a slab (full-capacity slices:
// appending to one never writes into a neighbour).
func (a *allocator) take(n int) []int64 {
	if len(a.slab) < n {
		a.slab = make([]int64, max(n*256, 4096))
	}
	s := a.slab[:n:n]
	a.slab = a.slab[n:]
	return s
}

func (a *allocator) newAlloc() *Alloc {
	if len(a.allocs) == 0 {
		a.allocs = make([]Alloc, 256)
	}
	al := &a.allocs[0]
	a.allocs = a.allocs[1:]
	return al
}

func (a *allocator) newWork() *work {
	if len(a.works) == 0 {
		a.works = make([]work, 256)
	}
	w := &a.works[0]
	a.works = a.works[1:]
	return w
}

func (a *allocator) takeWeeks(n int) []WeekAmount {
	if len(a.weeks) < n {
		a.weeks = make([]WeekAmount, max(n*256, 4096))
	}
	s := a.weeks[:n:n]
	a.weeks = a.weeks[n:]
	return s
}

// Allocate decomposes spec.Amount over the tree under root. Every input
// problem is returned as an *Error; nothing is partially allocated.
func Allocate(root *Node, spec Spec) (*Result, error) {
	a := &allocator{spec: spec, g: spec.Granularity}
	if err := a.validateSpec(); err != nil {
		return nil, err
	}
	a.lay = newLayout(spec.FiscalYear, spec.Calendar.FiscalStartMonth)
	if err := a.validateFrozen(); err != nil {
		return nil, err
	}
	res := &Result{
		Root:             "",
		Nodes:            make(map[string]*Alloc, countNodes(root)),
		FiscalYear:       spec.FiscalYear,
		FiscalStartMonth: int(a.lay.startMonth(spec.Calendar.FiscalStartMonth)),
		Granularity:      spec.Granularity,
		Months:           a.lay.monthKeys,
		Parts:            a.lay.parts,
		Dimension:        spec.Dimension,
	}
	rw, err := a.build(root, nil, 0, res)
	if err != nil {
		return nil, err
	}
	res.Root = root.Key
	res.FrozenMonths = a.fz
	if err := a.rootSplit(rw); err != nil {
		return nil, err
	}
	if err := a.split(rw); err != nil {
		return nil, err
	}
	if err := a.finish(rw, res); err != nil {
		return nil, err
	}
	return res, nil
}

func (l *yearLayout) startMonth(m time.Month) time.Month {
	if m < time.January || m > time.December {
		return time.January
	}
	return m
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func (a *allocator) validateSpec() error {
	s := a.spec
	if err := s.Calendar.Validate(); err != nil {
		return newErr(CodeInvalidCalendar, "", map[string]any{"fiscalStartMonth": int(s.Calendar.FiscalStartMonth)}, "%s", err)
	}
	if s.FiscalYear < 1 || s.FiscalYear > 9998 {
		return newErr(CodeInvalidCalendar, "", map[string]any{"fiscalYear": s.FiscalYear}, "fiscal year %d is out of range 1–9998", s.FiscalYear)
	}
	if s.Granularity <= 0 {
		return newErr(CodeInvalidAmount, "", map[string]any{"granularity": s.Granularity}, "granularity %s must be greater than 0", money(s.Granularity))
	}
	if s.Amount < 0 {
		return newErr(CodeInvalidAmount, "", map[string]any{"amount": s.Amount}, "amount %s is negative", money(s.Amount))
	}
	if s.Amount%s.Granularity != 0 {
		return notMultiple("", "amount", s.Amount, s.Granularity)
	}
	if s.RootMonths != nil {
		if len(s.RootMonths) != 12 {
			return newErr(CodeSeasonality, "", map[string]any{"months": len(s.RootMonths)}, "root months has %d entries, want 12", len(s.RootMonths))
		}
		var sum int64
		for m, v := range s.RootMonths {
			if v < 0 {
				return newErr(CodeSeasonality, "", map[string]any{"month": m, "amount": v}, "root month %d amount %s is negative", m+1, money(v))
			}
			if v%s.Granularity != 0 {
				return notMultiple("", fmt.Sprintf("root month %d", m+1), v, s.Granularity)
			}
			sum += v
		}
		if sum != s.Amount && (s.Frozen == nil || s.FrozenMonths == 0) {
			return newErr(CodeSeasonality, "", map[string]any{"monthsTotal": sum, "amount": s.Amount}, "root months total %s ≠ amount %s", money(sum), money(s.Amount))
		}
	} else {
		for m, w := range s.Seasonality {
			if !finite(w) || w < 0 {
				return newErr(CodeSeasonality, "", map[string]any{"month": m, "weight": fmt.Sprint(w)}, "seasonality weight of month %d is %v; want a finite number ≥ 0", m+1, w)
			}
		}
	}
	seen := map[string]bool{}
	for _, d := range s.Dimension {
		if d == "" || seen[d] {
			return newErr(CodeInvalidDimension, "", map[string]any{"value": d}, "dimension value %q is empty or repeated", d)
		}
		seen[d] = true
	}
	return validDimWeights("", s.DimWeights)
}

func validDimWeights(node string, w map[string]float64) error {
	keys := make([]string, 0, len(w))
	for k := range w {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := w[k]
		if !finite(v) {
			return newErr(CodeInvalidWeight, node, map[string]any{"dimension": k, "weight": fmt.Sprint(v)}, "weight of dimension value %q is %v", k, v)
		}
		if v < 0 {
			return newErr(CodeNegativeWeight, node, map[string]any{"dimension": k, "weight": v}, "weight of dimension value %q is %v < 0", k, v)
		}
	}
	return nil
}

func notMultiple(node, what string, v, g int64) *Error {
	return newErr(CodeNotMultiple, node, map[string]any{"field": what, "amount": v, "granularity": g}, "%s %s is not a multiple of the granularity %s", what, money(v), money(g))
}

func (a *allocator) validateFrozen() error {
	s := a.spec
	if s.Frozen == nil {
		return nil
	}
	if s.FrozenMonths < 0 || s.FrozenMonths > 12 {
		return newErr(CodeFrozenMismatch, "", map[string]any{"frozenMonths": s.FrozenMonths}, "frozen months %d is not between 0 and 12", s.FrozenMonths)
	}
	f := s.Frozen
	if f.FiscalYear != s.FiscalYear || f.Months != a.lay.monthKeys || !slices.Equal(f.Parts, a.lay.parts) {
		return newErr(CodeFrozenMismatch, "", map[string]any{"frozenYear": f.FiscalYear, "fiscalYear": s.FiscalYear}, "the previous allocation is for fiscal year %d starting %s, not %d starting %s", f.FiscalYear, f.Months[0], s.FiscalYear, a.lay.monthKeys[0])
	}
	a.fz = s.FrozenMonths
	return nil
}

// build checks the tree and makes a work per node (children sorted by key).
func (a *allocator) build(n *Node, parent *work, level int, res *Result) (*work, error) {
	if n == nil {
		where := "the root"
		if parent != nil {
			where = "a child of " + parent.n.Key
		}
		return nil, newErr(CodeInvalidTree, "", nil, "%s is missing (null node)", where)
	}
	if n.Key == "" {
		return nil, newErr(CodeInvalidTree, "", nil, "a node under %q has an empty key", keyOf(parent))
	}
	if _, dup := res.Nodes[n.Key]; dup {
		return nil, newErr(CodeInvalidTree, n.Key, map[string]any{"key": n.Key}, "key %q appears more than once in the tree", n.Key)
	}
	for _, b := range []struct {
		what string
		v    *int64
	}{{"lock", n.Lock}, {"floor", n.Floor}, {"cap", n.Cap}} {
		if b.v == nil || parent == nil {
			continue
		}
		if *b.v < 0 {
			return nil, newErr(CodeInvalidAmount, n.Key, map[string]any{b.what: *b.v}, "%s %s is negative", b.what, money(*b.v))
		}
		if *b.v%a.g != 0 {
			return nil, notMultiple(n.Key, b.what, *b.v, a.g)
		}
	}
	if parent != nil && n.Lock == nil && n.Floor != nil && n.Cap != nil && *n.Floor > *n.Cap {
		return nil, newErr(CodeFloorAboveCap, n.Key, map[string]any{"floor": *n.Floor, "cap": *n.Cap}, "floor %s > cap %s", money(*n.Floor), money(*n.Cap))
	}
	for k, v := range n.Inputs {
		if !finite(v) {
			return nil, newErr(CodeInvalidWeight, n.Key, map[string]any{"input": k, "value": fmt.Sprint(v)}, "input %q is %v", k, v)
		}
	}
	if err := validDimWeights(n.Key, n.DimWeights); err != nil {
		return nil, err
	}
	al := a.newAlloc()
	*al = Alloc{Key: n.Key, Name: n.Name, Level: level, Parts: a.take(len(a.lay.parts))}
	if parent != nil {
		al.Parent = parent.n.Key
	}
	res.Nodes[n.Key] = al
	res.Order = append(res.Order, n.Key)
	w := a.newWork()
	*w = work{n: n, a: al, level: level, parts: al.Parts}
	if a.fz > 0 && (parent == nil || parent.prev != nil) {
		w.prev = a.spec.Frozen.Nodes[n.Key]
		al.Frozen = w.prev != nil
	}
	if parent == nil && w.prev == nil {
		a.fz = 0 // without the root nothing is kept
	}
	if len(n.Children) > 0 {
		al.Children = make([]string, 0, len(n.Children))
		w.kids = make([]*work, 0, len(n.Children))
	}
	for _, c := range n.Children {
		cw, err := a.build(c, w, level+1, res)
		if err != nil {
			return nil, err
		}
		w.kids = append(w.kids, cw)
		al.Children = append(al.Children, c.Key)
	}
	slices.SortFunc(w.kids, func(x, y *work) int { return strings.Compare(x.n.Key, y.n.Key) })
	return w, nil
}

// countNodes sizes the result's map up front (nil children count too; build
// rejects them).
func countNodes(n *Node) int {
	if n == nil {
		return 0
	}
	c := 1
	for _, k := range n.Children {
		c += countNodes(k)
	}
	return c
}

func keyOf(w *work) string {
	if w == nil {
		return ""
	}
	return w.n.Key
}

// copyPrev takes a frozen node's first fz months and their parts, in units.
func (a *allocator) copyPrev(w *work) (int64, error) {
	var past int64
	for m := 0; m < a.fz; m++ {
		v := w.prev.Months[m]
		if v < 0 || v%a.g != 0 {
			return 0, notMultiple(w.n.Key, "frozen month "+a.lay.monthKeys[m], v, a.g)
		}
		w.months[m] = v / a.g
		past += v / a.g
		for p := a.lay.monthParts[m]; p < a.lay.monthParts[m+1]; p++ {
			if p >= len(w.prev.Parts) || w.prev.Parts[p]%a.g != 0 || w.prev.Parts[p] < 0 {
				return 0, newErr(CodeFrozenMismatch, w.n.Key, nil, "the previous allocation of %s has no valid week parts", w.n.Key)
			}
			w.parts[p] = w.prev.Parts[p] / a.g
		}
	}
	return past, nil
}

// rootSplit sets the root's annual amount, months and week parts.
func (a *allocator) rootSplit(r *work) error {
	s := a.spec
	r.annual = s.Amount / a.g
	r.a.Explain = Explanation{Rule: RuleRoot, Weight: 1, Share: 1, Pool: s.Amount, Raw: float64(s.Amount), Rounded: s.Amount}
	fz := 0
	var past int64
	if r.prev != nil {
		fz = a.fz
		var err error
		if past, err = a.copyPrev(r); err != nil {
			return err
		}
		r.a.Frozen = true
		r.a.Explain.Frozen = past * a.g
	}
	rest := r.annual - past
	if rest < 0 {
		return newErr(CodeFrozenExceeds, r.n.Key, map[string]any{"frozen": past * a.g, "amount": s.Amount}, "frozen months total %s > amount %s", money(past*a.g), money(s.Amount))
	}
	if s.RootMonths != nil {
		var sum int64
		for m := fz; m < 12; m++ {
			r.months[m] = s.RootMonths[m] / a.g
			sum += r.months[m]
		}
		if sum != rest {
			return newErr(CodeSeasonality, "", map[string]any{"monthsTotal": (sum + past) * a.g, "amount": s.Amount}, "root months total %s ≠ amount %s", money((sum+past)*a.g), money(s.Amount))
		}
	} else if rest > 0 {
		var wsum float64
		for m := fz; m < 12; m++ {
			wsum += s.Seasonality[m]
		}
		if wsum == 0 || math.IsInf(wsum, 0) {
			return newErr(CodeSeasonality, "", nil, "seasonality weights of the months to allocate are all 0")
		}
		raw := make([]float64, 12-fz)
		wt := make([]float64, 12-fz)
		for m := fz; m < 12; m++ {
			wt[m-fz] = s.Seasonality[m]
			raw[m-fz] = float64(rest) * (s.Seasonality[m] / wsum)
		}
		out := make([]int64, 12-fz)
		var err error
		if a.idx, err = lrmFloat(rest, raw, wt, nil, nil, out, a.idx); err != nil {
			return err
		}
		copy(r.months[fz:], out)
	}
	days := make([]int64, 0, 6)
	for m := fz; m < 12; m++ {
		lo, hi := a.lay.monthParts[m], a.lay.monthParts[m+1]
		days = days[:0]
		for p := lo; p < hi; p++ {
			days = append(days, int64(a.lay.parts[p].Days))
		}
		a.rd.lrmInt(r.months[m], days, r.parts[lo:hi])
	}
	return nil
}

func (a *allocator) formula(level int) Formula {
	if f, ok := a.spec.Formulas[level]; ok && f != nil {
		return f
	}
	return a.spec.Default
}

// weights evaluates the children's formula.
func (a *allocator) weights(p *work) ([]float64, []Inputs, Formula, error) {
	kids := p.kids
	n := len(kids)
	f := a.formula(p.level + 1)
	w := make([]float64, n)
	if f == nil {
		for i := range w {
			w[i] = 1
		}
		return w, nil, nil, nil
	}
	names := a.spec.InputNames
	sums := make([]float64, len(names))
	for k, name := range names {
		for _, c := range kids {
			sums[k] += c.n.Inputs[name]
		}
	}
	// The formula's variables are built once and overwritten per child: a
	// formula only reads them while Weight runs. The explanations' inputs
	// share one slab, in name order.
	vars, inner, node := a.formulaVars(names)
	order := a.inputOrder(names)
	slab := make([]NamedInput, n*len(names))
	inputs := make([]Inputs, n)
	for i, c := range kids {
		in := slab[i*len(names) : (i+1)*len(names) : (i+1)*len(names)]
		for pos, k := range order {
			name := names[k]
			v := c.n.Inputs[name]
			sh := 0.0
			if sums[k] != 0 {
				sh = v / sums[k]
			}
			inner[k]["value"], inner[k]["share"] = v, sh
			in[pos] = NamedInput{Name: name, Input: Input{Value: v, Share: sh}}
		}
		node["key"], node["name"], node["level"] = c.n.Key, c.n.Name, c.level
		inputs[i] = in
		x, err := f.Weight(vars)
		if err != nil {
			return nil, nil, nil, newErr(CodeFormula, c.n.Key, map[string]any{"formula": f.Source()}, "formula %q failed: %v", f.Source(), err)
		}
		if !finite(x) {
			return nil, nil, nil, newErr(CodeInvalidWeight, c.n.Key, map[string]any{"weight": fmt.Sprint(x), "formula": f.Source()}, "weight %v from formula %q is not a finite number", x, f.Source())
		}
		if x < 0 {
			return nil, nil, nil, newErr(CodeNegativeWeight, c.n.Key, map[string]any{"weight": x, "formula": f.Source()}, "weight %v from formula %q is negative", x, f.Source())
		}
		w[i] = x
	}
	return w, inputs, f, nil
}

// formulaVars returns the allocation's reusable formula variables: vars
// holds inner[k] under names[k] and node under "node".
func (a *allocator) formulaVars(names []string) (vars map[string]any, inner []map[string]any, node map[string]any) {
	if a.vars == nil {
		a.vars = make(map[string]any, len(names)+1)
		a.inner = make([]map[string]any, len(names))
		for k, name := range names {
			a.inner[k] = map[string]any{"value": 0.0, "share": 0.0}
			a.vars[name] = a.inner[k]
		}
		a.node = map[string]any{}
		a.vars["node"] = a.node
	}
	return a.vars, a.inner, a.node
}

// inputOrder returns the indexes of names in name order.
func (a *allocator) inputOrder(names []string) []int {
	if a.order == nil {
		a.order = make([]int, len(names))
		for k := range a.order {
			a.order[k] = k
		}
		slices.SortFunc(a.order, func(x, y int) int { return strings.Compare(names[x], names[y]) })
	}
	return a.order
}

// split allocates p's children (annual, months, week parts), then recurses.
func (a *allocator) split(p *work) error {
	kids := p.kids
	n := len(kids)
	if n == 0 {
		return nil
	}
	w, inputs, f, err := a.weights(p)
	if err != nil {
		return err
	}
	fz := 0
	if p.prev != nil {
		fz = a.fz
	}
	past := make([]int64, n)
	if fz > 0 {
		if err := a.splitPast(p, w, past, fz); err != nil {
			return err
		}
	}
	var pPast int64
	for m := 0; m < fz; m++ {
		pPast += p.months[m]
	}
	rest := make([]int64, n)
	if err := a.splitAnnual(p, w, inputs, f, past, p.annual-pPast, rest); err != nil {
		return err
	}
	// Months after the frozen ones: rows = children's remaining amounts.
	if fz < 12 {
		nc := 12 - fz
		cell := a.cells(n * nc)
		if err := a.rd.round2D(rest, p.months[fz:], p.annual-pPast, cell); err != nil {
			return err
		}
		for i, c := range kids {
			copy(c.months[fz:], cell[i*nc:(i+1)*nc])
		}
	}
	// Week parts of every month: rows = children's month amounts (only the
	// children not kept in frozen months), columns = the parent's parts less
	// what kept children already carry.
	rows := make([]int64, 0, n)
	ri := make([]int, 0, n)
	cols := make([]int64, 0, 6)
	for m := 0; m < 12; m++ {
		lo, hi := a.lay.monthParts[m], a.lay.monthParts[m+1]
		rows, ri = rows[:0], ri[:0]
		cols = append(cols[:0], p.parts[lo:hi]...)
		total := p.months[m]
		for i, c := range kids {
			if m < fz && c.fixed {
				total -= c.months[m]
				for q := lo; q < hi; q++ {
					cols[q-lo] -= c.parts[q]
				}
				continue
			}
			rows = append(rows, c.months[m])
			ri = append(ri, i)
		}
		if len(rows) == 0 {
			continue
		}
		for _, v := range cols {
			if v < 0 {
				return newErr(CodeFrozenMismatch, p.n.Key, nil, "the previous allocation's week parts of %s's children exceed its own in %s", p.n.Key, a.lay.monthKeys[m])
			}
		}
		nc := hi - lo
		cell := a.cells(len(rows) * nc)
		if err := a.rd.round2D(rows, cols, total, cell); err != nil {
			return err
		}
		for k, i := range ri {
			copy(kids[i].parts[lo:hi], cell[k*nc:(k+1)*nc])
		}
	}
	for _, c := range kids {
		if err := a.split(c); err != nil {
			return err
		}
	}
	return nil
}

func (a *allocator) cells(n int) []int64 {
	if cap(a.cell) < n {
		a.cell = make([]int64, n)
	}
	return a.cell[:n]
}

// splitPast fills the frozen months of p's children: kept children copy
// theirs; what the parent's month has beyond them goes to the other
// (new) children by weight, evenly if their weights are all zero.
func (a *allocator) splitPast(p *work, w []float64, past []int64, fz int) error {
	var fresh []int
	for i, c := range p.kids {
		if c.prev == nil {
			fresh = append(fresh, i)
			continue
		}
		c.fixed = true
		v, err := a.copyPrev(c)
		if err != nil {
			return err
		}
		past[i] = v
	}
	fw := make([]float64, len(fresh))
	var sum float64
	for k, i := range fresh {
		fw[k] = w[i]
		sum += w[i]
	}
	if sum == 0 || math.IsInf(sum, 0) {
		for k := range fw {
			fw[k] = 1
		}
		sum = float64(len(fw))
	}
	raw := make([]float64, len(fresh))
	out := make([]int64, len(fresh))
	for m := 0; m < fz; m++ {
		d := p.months[m]
		for _, c := range p.kids {
			if c.fixed {
				d -= c.months[m]
			}
		}
		if d < 0 || (d > 0 && len(fresh) == 0) {
			kept := p.months[m] - d
			return newErr(CodeFrozenExceeds, p.n.Key, map[string]any{"month": a.lay.monthKeys[m], "childrenFrozen": kept * a.g, "parentMonth": p.months[m] * a.g},
				"in %s the kept children's frozen amounts total %s but %s has %s (and no new child to take a difference)", a.lay.monthKeys[m], money(kept*a.g), p.n.Key, money(p.months[m]*a.g))
		}
		if len(fresh) == 0 {
			continue
		}
		for k := range fresh {
			raw[k] = float64(d) * (fw[k] / sum)
		}
		var err error
		if a.idx, err = lrmFloat(d, raw, fw, nil, nil, out, a.idx); err != nil {
			return err
		}
		for k, i := range fresh {
			p.kids[i].months[m] = out[k]
			past[i] += out[k]
		}
	}
	return nil
}

// splitAnnual divides pool (the parent's amount not frozen) over the
// children: locks first, then water-filling between floors and caps, then
// the largest-remainder method. rest[i] receives child i's share of pool;
// its annual is past[i] + rest[i].
func (a *allocator) splitAnnual(p *work, w []float64, inputs []Inputs, f Formula, past []int64, pool int64, rest []int64) error {
	kids := p.kids
	n := len(kids)
	g := a.g
	const (
		free = iota
		locked
		atFloor
		atCap
	)
	state := make([]int8, n)
	lo := make([]int64, n)
	hi := make([]int64, n)
	var lockSum, lockPast int64
	for i, c := range kids {
		hi[i] = -1
		if c.n.Lock != nil {
			L := *c.n.Lock / g
			if L < past[i] {
				return newErr(CodeFrozenExceeds, c.n.Key, map[string]any{"lock": L * g, "frozen": past[i] * g}, "lock %s is below the %s already kept in frozen months", money(L*g), money(past[i]*g))
			}
			state[i] = locked
			rest[i] = L - past[i]
			lockSum += L
			lockPast += past[i]
			continue
		}
		if c.n.Floor != nil {
			lo[i] = max(0, *c.n.Floor/g-past[i])
		}
		if c.n.Cap != nil {
			hi[i] = *c.n.Cap/g - past[i]
			if hi[i] < 0 {
				return newErr(CodeFrozenExceeds, c.n.Key, map[string]any{"cap": *c.n.Cap, "frozen": past[i] * g}, "cap %s is below the %s already kept in frozen months", money(*c.n.Cap), money(past[i]*g))
			}
		}
	}
	freePool := pool - (lockSum - lockPast)
	parentAmt := (pool + sumOf(past)) * g
	if freePool < 0 {
		return newErr(CodeLockExceedsParent, p.n.Key, map[string]any{"locked": lockSum * g, "parent": parentAmt, "frozenOthers": (sumOf(past) - lockPast) * g},
			"locked children total %s > parent %s%s", money(lockSum*g), money(parentAmt-(sumOf(past)-lockPast)*g), frozenNote(sumOf(past)-lockPast, g))
	}
	var freeIdx []int
	var floorSum, capSum int64
	allCapped := true
	var wsum, wmax float64
	for i := range kids {
		if state[i] == locked {
			continue
		}
		freeIdx = append(freeIdx, i)
		floorSum += lo[i]
		if hi[i] < 0 {
			allCapped = false
		} else {
			capSum += hi[i]
		}
		wsum += w[i]
		wmax = max(wmax, w[i])
	}
	if len(freeIdx) == 0 {
		if freePool != 0 {
			return newErr(CodeLocksBelowParent, p.n.Key, map[string]any{"locked": lockSum * g, "parent": parentAmt},
				"every child is locked and the locks total %s < parent %s", money(lockSum*g), money(parentAmt))
		}
	}
	if floorSum > freePool {
		return newErr(CodeFloorsExceedParent, p.n.Key, map[string]any{"floors": (floorSum + lockSum) * g, "parent": parentAmt, "locked": lockSum * g},
			"floors total %s > parent %s less locks %s", money((floorSum)*g), money(parentAmt), money(lockSum*g))
	}
	if len(freeIdx) > 0 && allCapped && capSum < freePool {
		return newErr(CodeCapsBelowParent, p.n.Key, map[string]any{"caps": capSum * g, "parent": parentAmt, "locked": lockSum * g},
			"caps total %s < parent %s less locks %s", money(capSum*g), money(parentAmt), money(lockSum*g))
	}
	rule := RuleFormula
	if f == nil {
		rule = RuleEqual
	}
	ww := make([]float64, n) // normalised weights used for the split
	if wsum == 0 && freePool > floorSum {
		if !a.spec.EqualSplitOnZero {
			keys := make([]string, len(freeIdx))
			for k, i := range freeIdx {
				keys[k] = kids[i].n.Key
			}
			return newErr(CodeZeroWeights, p.n.Key, map[string]any{"children": keys, "amount": freePool * g},
				"every weight among the children of %s is 0, so %s cannot be split (opt into an equal split to allow it)", p.n.Key, money(freePool*g))
		}
		rule = RuleEqual
		for _, i := range freeIdx {
			ww[i] = 1
		}
	} else if wmax > 0 {
		for _, i := range freeIdx {
			ww[i] = w[i] / wmax
		}
	}
	// Water-filling: amounts clamp(λ·w, lo, hi) with Σ = freePool. Each
	// round clamps the side (floors or caps) whose total violation is
	// larger; at the true λ those nodes are still violated, so clamping
	// them is final.
	for _, i := range freeIdx {
		if ww[i] == 0 && lo[i] > 0 {
			state[i] = atFloor
		}
	}
	raw := make([]float64, n)
	var lambda, W float64
	left := freePool
	for {
		W, left = 0, freePool
		for _, i := range freeIdx {
			switch state[i] {
			case free:
				W += ww[i]
			case atFloor:
				left -= lo[i]
			case atCap:
				left -= hi[i]
			}
		}
		if W == 0 {
			lambda = 0
			if left != 0 {
				return newErr(CodeCapsBelowParent, p.n.Key, map[string]any{"unplaced": left * g, "parent": parentAmt},
					"%s of %s cannot be placed: every child with a weight above 0 is at its cap", money(left*g), money(parentAmt))
			}
			break
		}
		lambda = float64(left) / W
		var vf, vc float64
		for _, i := range freeIdx {
			if state[i] != free {
				continue
			}
			x := lambda * ww[i]
			if x < float64(lo[i]) {
				vf += float64(lo[i]) - x
			} else if hi[i] >= 0 && x > float64(hi[i]) {
				vc += x - float64(hi[i])
			}
		}
		if vf == 0 && vc == 0 {
			break
		}
		for _, i := range freeIdx {
			if state[i] != free {
				continue
			}
			x := lambda * ww[i]
			if vf >= vc && x < float64(lo[i]) {
				state[i] = atFloor
			} else if vc >= vf && hi[i] >= 0 && x > float64(hi[i]) {
				state[i] = atCap
			}
		}
	}
	var fi []int
	var fraw, fw []float64
	var flo, fhi []int64
	for _, i := range freeIdx {
		switch state[i] {
		case atFloor:
			rest[i] = lo[i]
			raw[i] = float64(lo[i])
		case atCap:
			rest[i] = hi[i]
			raw[i] = float64(hi[i])
		default:
			if W > 0 {
				raw[i] = float64(left) * (ww[i] / W)
			}
			fi = append(fi, i)
			fraw = append(fraw, raw[i])
			fw = append(fw, w[i])
			flo = append(flo, lo[i])
			fhi = append(fhi, hi[i])
		}
	}
	if len(fi) > 0 {
		out := make([]int64, len(fi))
		var err error
		if a.idx, err = lrmFloat(left, fraw, fw, flo, fhi, out, a.idx); err != nil {
			return err
		}
		for k, i := range fi {
			rest[i] = out[k]
		}
	}
	src := ""
	if f != nil {
		src = f.Source()
	}
	for i, c := range kids {
		c.annual = past[i] + rest[i]
		e := Explanation{Formula: src, Weight: w[i], Pool: left * g, Rounded: c.annual * g, Frozen: past[i] * g}
		if inputs != nil {
			e.Inputs = inputs[i]
		}
		switch state[i] {
		case locked:
			e.Rule, e.Raw = RuleLocked, float64(c.annual*g)
		case atFloor:
			e.Rule, e.Raw = RuleFloor, float64(c.annual*g)
		case atCap:
			e.Rule, e.Raw = RuleCap, float64(c.annual*g)
		default:
			e.Rule = rule
			if W > 0 {
				e.Share = ww[i] / W
			}
			e.Raw = (float64(past[i]) + raw[i]) * float64(g)
		}
		if c.prev != nil && a.fz == 12 {
			e.Rule = RuleFrozen
		}
		c.a.Explain = e
	}
	return nil
}

func frozenNote(v, g int64) string {
	if v == 0 {
		return ""
	}
	return " less " + money(v*g) + " frozen in its other children"
}

func sumOf(xs []int64) int64 {
	var s int64
	for _, x := range xs {
		s += x
	}
	return s
}
