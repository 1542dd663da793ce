package calc

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"stride/engine/period"
	"stride/engine/rules"
)

// Line rule names of the calculator's own lines.
const (
	RuleCapLine   = "cap:line"
	RuleCapPeriod = "cap:period"
	RuleClawback  = "clawback"
)

var linePool = sync.Pool{New: func() any { b := make([]Line, 0, 1024); return &b }}

// maxPooledLines bounds the buffers kept in linePool (about 2 MB each).
const maxPooledLines = 8192

// Calculate computes one rep's statement for one period (see the package
// documentation for the semantics and the order of lines). A per-rep
// problem — no quota where the plan needs one, a zero quota, a formula
// failing on a record, a rate formula giving a negative rate — is a
// *RepError and no result.
func (p *Plan) Calculate(in Input) (Result, error) {
	return p.calculate(in, nil, false)
}

// CalculateTo is Calculate with the result's lines appended to buf[:0]
// (a caller computing many statements reuses one buffer; the lines are
// valid until it reuses buf).
func (p *Plan) CalculateTo(in Input, buf []Line) (Result, error) {
	return p.calculate(in, buf, true)
}

func (p *Plan) calculate(in Input, buf []Line, reuse bool) (Result, error) {
	r := run{p: p, in: &in, loc: in.Period.Start.Location(), out: buf, reuse: reuse}
	if err := r.quota(); err != nil {
		return Result{}, err
	}
	res, err := r.calculate()
	if err != nil {
		var re *RepError
		switch {
		case errors.As(err, &re):
		case errors.Is(err, errAmount):
			re = &RepError{Rep: in.Rep.ID, Code: "amount_out_of_range", Message: err.Error()}
		default:
			re = &RepError{Rep: in.Rep.ID, Code: "formula_runtime", Message: err.Error()}
		}
		return Result{}, re
	}
	return res, nil
}

// run is the state of one Calculate call. Everything record-independent is
// computed once here (attainment, tier bands, marginal boundaries, the
// formula context, formulas that read no record field); the per-line loop
// only does integer arithmetic and the record formulas.
type run struct {
	p   *Plan
	in  *Input
	loc *time.Location

	hasQuota bool
	actual   int64   // quota metric actual at the period's end
	att      float64 // attainment at the period's end
	attP     *float64
	beforeP  *float64
	quotaP   *int64

	ctx       map[string]any // rep, period, attainment, quota
	scratch   map[string]any // environment of mixed formulas, reused
	creditVar map[string]any // the credit name's value, reused
	onceVal   []any
	onceDone  []bool

	cum      []int64     // per rule: cumulative credited base (marginal)
	lastF    []fMemo     // per rule: the last F(x) computed (marginal)
	sched    []*schedule // per rule: marginal schedule
	bands    [][]*Band   // per rule: band of table row i at [i+1]; [0] below the table
	tierIdx  []int       // per rule: tier row reached by attainment (−1: none)
	zeroRate *float64
	arena    []int64   // backing store of per-line *int64 explanations
	farena   []float64 // and of *float64 ones

	lines []Line
	out   []Line // CalculateTo's buffer
	reuse bool

	dayStart, dayEnd time.Time
	dayStr           string
}

// quota checks the quota and computes attainment.
func (r *run) quota() error {
	in, p := r.in, r.p
	r.actual = in.ActualBefore + in.ActualInPeriod
	switch {
	case !in.HasTarget:
		if p.NeedsAttainment {
			return &RepError{Rep: in.Rep.ID, Code: "missing_quota",
				Message: fmt.Sprintf("no target of metric %s for %s (level %s); the plan pays on attainment, so it needs one", p.QuotaMetric, in.Quota.Key, p.QuotaLevel)}
		}
	case in.Target <= 0:
		if p.NeedsAttainment {
			return &RepError{Rep: in.Rep.ID, Code: "zero_quota",
				Message: fmt.Sprintf("the target of metric %s for %s (level %s) is %d; attainment cannot be measured against it", p.QuotaMetric, in.Quota.Key, p.QuotaLevel, in.Target)}
		}
	default:
		r.hasQuota = true
		r.att = float64(r.actual) / float64(in.Target)
		before := float64(in.ActualBefore) / float64(in.Target)
		r.attP, r.beforeP = &r.att, &before
		t := in.Target
		r.quotaP = &t
	}
	return nil
}

func (r *run) calculate() (Result, error) {
	p, in := r.p, r.in
	res := Result{Rep: in.Rep.ID, Period: in.Period.Key, Attainment: r.att, Target: in.Target}
	if r.loc == nil {
		r.loc = time.UTC
	}
	if err := r.prepare(); err != nil {
		return res, err
	}
	order := creditOrder(in.Credits)
	// Lines are built in a pooled buffer and the result gets an exact-size
	// copy: a statement's lines are allocated once, at their final size.
	buf := linePool.Get().(*[]Line)
	r.lines = (*buf)[:0]
	defer func() {
		clear(r.lines)
		if cap(r.lines) <= maxPooledLines {
			*buf = r.lines[:0]
			linePool.Put(buf)
		}
	}()
	var creditedBase int64
	for _, ci := range order {
		c := &in.Credits[ci]
		creditedBase += c.Base
		if err := r.credit(c); err != nil {
			return res, fmt.Errorf("record %s: %w", c.Record, err)
		}
	}
	if err := r.periodLines(creditedBase); err != nil {
		return res, err
	}
	if r.reuse {
		res.Lines = append(r.out[:0], r.lines...)
	} else {
		res.Lines = slices.Clone(r.lines)
	}
	for i := range r.lines {
		res.Total += r.lines[i].Amount
	}
	for i, rule := range p.Rules {
		if rule.Kind == RateMarginal && rule.Basis != BasisLine {
			if res.Credited == nil {
				res.Credited = map[string]int64{}
			}
			res.Credited[rule.Key] = r.cum[i] - in.CreditedBefore[rule.Key]
		}
	}
	return res, nil
}

// creditOrder returns the indexes of credits by credit date, record id,
// object, owner and base — without sorting when they are already in order.
func creditOrder(cs []Credit) []int {
	idx := make([]int, len(cs))
	sorted := true
	for i := range cs {
		idx[i] = i
		if i > 0 && compareCredits(&cs[i-1], &cs[i]) > 0 {
			sorted = false
		}
	}
	if !sorted {
		slices.SortStableFunc(idx, func(a, b int) int { return compareCredits(&cs[a], &cs[b]) })
	}
	return idx
}

func compareCredits(a, b *Credit) int {
	if c := a.Date.Compare(b.Date); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Record, b.Record); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Object, b.Object); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Owner, b.Owner); c != 0 {
		return c
	}
	return cmp.Compare(a.Base, b.Base)
}

// prepare computes the record-independent parts of the plan for this rep
// and period.
func (r *run) prepare() error {
	p, in := r.p, r.in
	n := len(p.Rules)
	r.cum = make([]int64, n)
	r.lastF = make([]fMemo, n)
	r.sched = make([]*schedule, n)
	r.bands = make([][]*Band, n)
	r.tierIdx = make([]int, n)
	zero := 0.0
	r.zeroRate = &zero
	for i := range p.Rules {
		rule := &p.Rules[i]
		r.tierIdx[i] = -1
		switch rule.Kind {
		case RateMarginal:
			r.cum[i] = in.CreditedBefore[rule.Key]
			r.bands[i] = make([]*Band, len(rule.Table)+1)
			if rule.Basis != BasisQuota {
				r.sched[i] = &rule.sched
				continue
			}
			bounds := make([]int64, len(rule.ths))
			for j, th := range rule.ths {
				b, err := mulDec(in.Target, th)
				if err != nil {
					return &RepError{Rep: in.Rep.ID, Code: "amount_out_of_range", Message: fmt.Sprintf("rule %s: the band boundary %s × quota is out of range", rule.Key, th)}
				}
				bounds[j] = b
			}
			s := newSchedule(bounds, rule.rates)
			r.sched[i] = &s
		case RateTier:
			r.bands[i] = make([]*Band, len(rule.Table)+1)
			if rule.on == nil {
				for j, th := range rule.ths {
					if cmpShare(r.actual, th, in.Target) < 0 {
						break
					}
					r.tierIdx[i] = j
				}
			}
		}
	}
	if p.nFormulas > 0 {
		r.onceVal = make([]any, p.nFormulas)
		r.onceDone = make([]bool, p.nFormulas)
	}
	return nil
}

// context returns the formula context (rep, period, attainment, quota),
// built on first use.
func (r *run) context() map[string]any {
	if r.ctx != nil {
		return r.ctx
	}
	in := r.in
	teams := make([]any, len(in.Rep.Teams))
	for i, t := range in.Rep.Teams {
		teams[i] = t
	}
	scale := in.QuotaScale
	if scale <= 0 {
		scale = 100
	}
	r.ctx = map[string]any{
		NameRep: map[string]any{"id": in.Rep.ID, "name": in.Rep.Name, "teams": teams},
		NamePeriod: map[string]any{"key": in.Period.Key, "start": in.Period.Start, "end": in.Period.End,
			"quotaKey": in.Quota.Key, "quotaStart": in.Quota.Start, "quotaEnd": in.Quota.End},
		NameAttainment: r.att,
		NameQuota:      float64(in.Target) / float64(scale),
	}
	return r.ctx
}

// eval runs a rule-level formula for a credit line. A formula reading no
// record field runs once per Calculate; one reading only record fields runs
// on the credit's data as is; the rest run on a reused environment holding
// exactly the names they read — no per-line maps.
func (r *run) eval(f *formula, c *Credit) (any, error) {
	switch f.mode {
	case modeOnce:
		if !r.onceDone[f.id] {
			v, err := f.p.Run(r.context())
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.ptr, err)
			}
			r.onceVal[f.id], r.onceDone[f.id] = v, true
		}
		return r.onceVal[f.id], nil
	case modeDirect:
		if f.native != nil {
			if v, ok := f.native(c.Data); ok {
				return v, nil
			}
		}
		if hasAll(c.Data, f.fields) {
			v, err := f.p.Run(c.Data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.ptr, err)
			}
			return v, nil
		}
	}
	if r.scratch == nil {
		r.scratch = make(map[string]any, 8)
	}
	env := r.scratch
	for _, name := range f.fields {
		v, ok := c.Data[name]
		if !ok {
			v = r.p.zero[name]
		}
		env[name] = v
	}
	if len(f.ctx) > 0 {
		ctx := r.context()
		for _, name := range f.ctx {
			env[name] = ctx[name]
		}
	}
	if f.credit {
		if r.creditVar == nil {
			r.creditVar = make(map[string]any, 4)
		}
		r.creditVar["base"] = float64(c.Base) / 100
		r.creditVar["recordBase"] = float64(c.RecordBase) / 100
		r.creditVar["share"] = c.SharePct
		r.creditVar["date"] = c.Date.In(r.loc)
		env[NameCredit] = r.creditVar
	}
	v, err := f.p.Run(env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.ptr, err)
	}
	return v, nil
}

func hasAll(data map[string]any, names []string) bool {
	if data == nil {
		return false
	}
	for _, n := range names {
		if _, ok := data[n]; !ok {
			return false
		}
	}
	return true
}

func (r *run) evalBool(f *formula, c *Credit) (bool, error) {
	v, err := r.eval(f, c)
	if err != nil {
		return false, err
	}
	b, _ := v.(bool)
	return b, nil
}

func (r *run) evalNumber(f *formula, c *Credit) (float64, error) {
	v, err := r.eval(f, c)
	if err != nil {
		return 0, err
	}
	x, _ := v.(float64)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, &rules.FormulaError{Code: rules.CodeRuntime, Message: f.ptr + ": the result is not a finite number"}
	}
	return x, nil
}

// int64p returns a pointer to v from a chunked arena (one allocation per
// 256 lines instead of one per line).
func (r *run) int64p(v int64) *int64 {
	if len(r.arena) == cap(r.arena) {
		r.arena = make([]int64, 0, 256)
	}
	r.arena = append(r.arena, v)
	return &r.arena[len(r.arena)-1]
}

// float64p is int64p for floats.
func (r *run) float64p(v float64) *float64 {
	if len(r.farena) == cap(r.farena) {
		r.farena = make([]float64, 0, 64)
	}
	r.farena = append(r.farena, v)
	return &r.farena[len(r.farena)-1]
}

// date formats a credit date as YYYY-MM-DD in the tenant's zone, reusing
// the previous line's string for the same day (credits come in date order).
func (r *run) date(t time.Time) string {
	if !t.Before(r.dayStart) && t.Before(r.dayEnd) {
		return r.dayStr
	}
	lt := t.In(r.loc)
	y, m, d := lt.Date()
	r.dayStart = time.Date(y, m, d, 0, 0, 0, 0, r.loc)
	r.dayEnd = r.dayStart.AddDate(0, 0, 1)
	r.dayStr = lt.Format(period.DateLayout)
	return r.dayStr
}

// band returns the shared Band of table row i (−1: below the table) of
// rule ri, made on first use.
func (r *run) band(ri, i int) *Band {
	if b := r.bands[ri][i+1]; b != nil {
		return b
	}
	rule := &r.p.Rules[ri]
	b := &Band{Index: i}
	if i >= 0 {
		b.Threshold = rule.Table[i].Threshold
	}
	if i+1 < len(rule.Table) {
		b.Until = &rule.Table[i+1].Threshold
	}
	if s := r.sched[ri]; s != nil {
		if i >= 0 {
			b.From = s.bounds[i]
		}
		if i+1 < len(s.bounds) {
			b.To = &s.bounds[i+1]
		}
	}
	r.bands[ri][i+1] = b
	return b
}

// credit computes the lines of one credit: rate rules in order, the line
// cap, SPIFs in order. Lines are built in place in r.lines (a Line is 272
// bytes; building it once instead of copying a template keeps the loop
// cheap).
func (r *run) credit(c *Credit) error {
	p := r.p
	date := r.date(c.Date)
	object := c.Object
	if object == "" {
		object = p.Object
	}
	var earned int64
	for ri := range p.Rules {
		rule := &p.Rules[ri]
		if rule.when != nil {
			ok, err := r.evalBool(rule.when, c)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
		}
		var amt int64
		var err error
		switch rule.Kind {
		case RateConstant:
			l := r.add(rule.Key, KindRate, c, object, date, rule.formula)
			amt, err = mulDec(c.Base, rule.rate)
			l.Rate, l.Amount = rule.rateF, amt
		case RateTier:
			i := r.tierIdx[ri]
			var x float64
			if rule.on != nil {
				if x, err = r.evalNumber(rule.on, c); err != nil {
					return err
				}
				i = -1
				for j, row := range rule.Table {
					if row.Threshold > x {
						break
					}
					i = j
				}
			}
			l := r.add(rule.Key, KindRate, c, object, date, rule.formula)
			if rule.on != nil {
				l.Explain.Value = r.float64p(x)
			} else {
				l.Explain.Attainment, l.Explain.Quota = r.attP, r.quotaP
			}
			l.Band, l.Rate = r.band(ri, i), r.zeroRate
			if i >= 0 {
				amt, err = mulDec(c.Base, rule.rates[i])
				l.Rate, l.Amount = rule.rowRates[i], amt
			}
		case RateMarginal:
			amt, err = r.marginal(ri, c, object, date)
		case RateExpr:
			var x float64
			if x, err = r.evalNumber(rule.expr, c); err != nil {
				return err
			}
			if x < 0 || x > maxRate {
				return &RepError{Rep: r.in.Rep.ID, Code: "invalid_rate",
					Message: fmt.Sprintf("record %s: rule %s: the rate formula gave %s; a rate must be between 0 and %s", c.Record, rule.Key, formatDecSigned(x), formatDec(maxRate))}
			}
			d, _ := decOf(x)
			l := r.add(rule.Key, KindRate, c, object, date, rule.formula)
			amt, err = mulDec(c.Base, d)
			l.Rate, l.Amount = r.float64p(d.float()), amt
		}
		if err != nil {
			return err
		}
		earned += amt
	}
	if capv := p.Caps.PerLine; capv != nil && earned > *capv {
		l := r.add(RuleCapLine, KindCapLine, c, object, date, "")
		l.Base, l.Amount = earned, *capv-earned
		l.Explain = Explanation{Cap: capv, Earned: r.int64p(earned)}
	}
	for si := range p.SPIFs {
		s := &p.SPIFs[si]
		ok, err := r.evalBool(s.when, c)
		if err != nil {
			return err
		}
		if ok {
			r.add(s.Key, KindSPIF, c, object, date, s.When).Amount = s.Amount
		}
	}
	return nil
}

// add appends a line of a credit and returns it for the caller to finish;
// the pointer is valid until the next add.
func (r *run) add(rule, kind string, c *Credit, object, date, formula string) *Line {
	r.lines = append(r.lines, Line{})
	l := &r.lines[len(r.lines)-1]
	l.Rule, l.Kind, l.Record, l.Object, l.CreditDate, l.Base = rule, kind, c.Record, object, date, c.Base
	l.Explain.Formula, l.Explain.SharePct, l.Explain.RecordBase = formula, c.SharePct, c.RecordBase
	return l
}

// marginal adds the slices of one credit line under a marginal rule and
// returns their sum. Each slice is paid F(end) − F(start) of the rule's
// schedule (see schedule), so slices and lines add up exactly to the
// commission on the cumulative base.
func (r *run) marginal(ri int, c *Credit, object, date string) (int64, error) {
	rule := &r.p.Rules[ri]
	s := r.sched[ri]
	start := r.cum[ri]
	if rule.Basis == BasisLine {
		start = 0
	} else {
		r.cum[ri] += c.Base
	}
	base := c.Base
	sign := int64(1)
	if base < 0 && rule.Basis == BasisLine {
		// A negative line on a per-line table gives back what the same
		// positive line would earn.
		base, sign = -base, -1
	}
	var total int64
	emit := func(from, to int64, i int) error {
		// F at a slice's start is usually F at the previous slice's end
		// (the cumulative base runs on): one division per slice, not two.
		fa, err := r.fAt(ri, s, from)
		if err != nil {
			return err
		}
		fb, err := r.fAt(ri, s, to)
		if err != nil {
			return err
		}
		l := r.add(rule.Key, KindRate, c, object, date, rule.formula)
		if rule.Basis == BasisQuota {
			l.Explain.Attainment, l.Explain.Quota = r.attP, r.quotaP
		}
		l.Base = sign * (to - from)
		l.Amount = sign * (fb - fa)
		l.Band, l.Rate = r.band(ri, i), r.rowRate(rule, i)
		l.Explain.CumBefore = r.int64p(from)
		total += l.Amount
		return nil
	}
	switch {
	case base == 0:
		return 0, emit(start, start, s.band(start))
	case base > 0:
		end := start + base
		for x := start; x < end; {
			i := s.band(x)
			to := end
			if i < 0 {
				to = min(end, s.bounds[0])
			} else if e, ok := s.end(i); ok {
				to = min(end, e)
			}
			if err := emit(x, to, i); err != nil {
				return 0, err
			}
			x = to
		}
		return total, nil
	}
	// A negative line (a credit note) walks the cumulative base down.
	end := start + base
	for x := start; x > end; {
		i := s.band(x - 1)
		from := end
		if i >= 0 {
			from = max(end, s.bounds[i])
		}
		if err := emit(x, from, i); err != nil {
			return 0, err
		}
		x = from
	}
	return total, nil
}

// fAt is s.at(x), remembering the last value per rule.
func (r *run) fAt(ri int, s *schedule, x int64) (int64, error) {
	if m := &r.lastF[ri]; m.ok && m.x == x {
		return m.f, nil
	}
	f, err := s.at(x)
	if err == nil {
		r.lastF[ri] = fMemo{x: x, f: f, ok: true}
	}
	return f, err
}

type fMemo struct {
	x, f int64
	ok   bool
}

func (r *run) rowRate(rule *Rule, i int) *float64 {
	if i < 0 {
		return r.zeroRate
	}
	return rule.rowRates[i]
}

// periodLines adds the period-level lines: quota bonuses, team bonuses,
// the period cap, clawbacks.
func (r *run) periodLines(creditedBase int64) error {
	p, in := r.p, r.in
	if r.hasQuota {
		for bi := range p.QuotaBonuses {
			b := &p.QuotaBonuses[bi]
			if cmpShare(in.ActualBefore, b.th, in.Target) < 0 && cmpShare(r.actual, b.th, in.Target) >= 0 {
				r.lines = append(r.lines, Line{Rule: b.Key, Kind: KindQuotaBonus, Amount: b.Amount,
					Explain: Explanation{Threshold: b.thF, Before: r.beforeP, Attainment: r.attP, Quota: r.quotaP}})
			}
		}
	}
	if len(p.TeamBonuses) > 0 && len(in.Teams) > 0 {
		teams := slices.Clone(in.Teams)
		slices.SortFunc(teams, func(a, b TeamAttainment) int {
			if c := cmp.Compare(a.Team, b.Team); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Before, b.Before); c != 0 {
				return c
			}
			return cmp.Compare(a.Now, b.Now)
		})
		for bi := range p.TeamBonuses {
			b := &p.TeamBonuses[bi]
			for _, t := range teams {
				if !(t.Before < *b.thF && *b.thF <= t.Now) {
					continue
				}
				line := Line{Rule: b.Key, Kind: KindTeamBonus, Amount: b.Amount,
					Explain: Explanation{Team: t.Team, Threshold: b.thF, Before: &t.Before, Attainment: &t.Now}}
				if b.Rate != nil {
					amt, err := mulDec(creditedBase, b.rate)
					if err != nil {
						return err
					}
					line.Base, line.Rate, line.Amount = creditedBase, b.Rate, amt
				}
				r.lines = append(r.lines, line)
			}
		}
	}
	if capv := p.Caps.PerPeriod; capv != nil {
		var earned int64
		for i := range r.lines {
			earned += r.lines[i].Amount
		}
		if earned > *capv {
			r.lines = append(r.lines, Line{Rule: RuleCapPeriod, Kind: KindCapPeriod, Base: earned, Amount: *capv - earned,
				Explain: Explanation{Cap: capv, Earned: &earned}})
		}
	}
	if cb := p.Clawback; cb != nil && len(in.Reversals) > 0 {
		revs := slices.Clone(in.Reversals)
		slices.SortStableFunc(revs, func(a, b Reversal) int {
			if c := a.ReversedAt.Compare(b.ReversedAt); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Record, b.Record); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Object, b.Object); c != 0 {
				return c
			}
			if c := a.CreditDate.Compare(b.CreditDate); c != 0 {
				return c
			}
			return cmp.Compare(a.Paid, b.Paid)
		})
		for _, rv := range revs {
			days := period.DaysBetween(rv.CreditDate.In(r.loc), rv.ReversedAt.In(r.loc))
			if days > cb.WithinDays || rv.Paid == 0 {
				continue
			}
			object := rv.Object
			if object == "" {
				object = p.Object
			}
			paid := rv.Paid
			r.lines = append(r.lines, Line{Rule: RuleClawback, Kind: KindClawback, Record: rv.Record, Object: object,
				CreditDate: rv.CreditDate.In(r.loc).Format(period.DateLayout), Amount: -paid,
				Explain: Explanation{ReversedAt: rv.ReversedAt.In(r.loc).Format(period.DateLayout), Days: &days, Paid: &paid, Formula: cb.When}})
		}
	}
	return nil
}
