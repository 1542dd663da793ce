package commission

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/auth"
	"stride/engine/commission/calc"
	"stride/engine/forms"
	"stride/engine/jobs"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/progress"
	"stride/engine/store"
	"stride/engine/tracking"
)

// RunReport is what a run did (the result of its job).
type RunReport struct {
	Plan    string `json:"plan"`
	Version int64  `json:"version"`
	Period  string `json:"period"`
	// Reps is the number of reps the plan applies to in the period.
	Reps int `json:"reps"`
	// Records is the number of credited records read.
	Records int `json:"records"`
	// Written statements (created or rewritten drafts); Unchanged drafts;
	// Locked statements whose differences went into later periods as
	// adjustments (Adjusted of them had any).
	Written   int `json:"written"`
	Unchanged int `json:"unchanged"`
	Locked    int `json:"locked"`
	Adjusted  int `json:"adjusted"`
	// Total is the sum of the computed statements' totals.
	Total  int64           `json:"total"`
	Errors []calc.RepError `json:"errors"`
}

// Run starts a commission run of the plan version in force for the period
// as a job and returns it at once. Mistakes in the request (no such plan,
// none in force, a period of the wrong grain) are errors here, not failed
// jobs; a run already going for the same plan and period is a 409.
func (s *Service) Run(ctx context.Context, db store.DB, tenant, actor, planKey, periodKey string) (jobs.Job, error) {
	cal, err := s.calendar(ctx, tenant)
	if err != nil {
		return jobs.Job{}, err
	}
	per, err := cal.Parse(periodKey)
	if err != nil {
		return jobs.Job{}, apperr.Invalid("bad period", apperr.FieldError{Pointer: "/period", Code: "format", Message: "a period key such as 2026-03"})
	}
	pl, err := s.inForce(ctx, db, tenant, planKey, per)
	if err != nil {
		return jobs.Job{}, err
	}
	if per, err = statementPeriod(cal, pl, periodKey); err != nil {
		return jobs.Job{}, err
	}
	lock := tenant + "|" + planKey + "|" + per.Key
	s.mu.Lock()
	if id, busy := s.runs[lock]; busy {
		s.mu.Unlock()
		return jobs.Job{}, apperr.Conflict("run_in_progress", "plan %s is already being run for %s; wait for job %s", planKey, per.Key, id).With("job", id)
	}
	s.runs[lock] = "starting"
	s.mu.Unlock()
	release := func() { s.mu.Lock(); delete(s.runs, lock); s.mu.Unlock() }
	j, err := s.jobs.Start(ctx, db, tenant, JobKind, Kind+":"+planKey+"|"+per.Key, actor, func(ctx context.Context, pr jobs.Reporter) (any, error) {
		defer release()
		rep, err := s.Execute(ctx, db, tenant, actor, pl, per, pr)
		if err != nil {
			return rep, err
		}
		return rep, audit.Append(ctx, db, actor, "commission.run", Kind+":"+planKey,
			map[string]any{"version": pl.Version, "period": per.Key, "written": rep.Written, "errors": len(rep.Errors), "total": rep.Total})
	})
	if err != nil {
		release()
		return jobs.Job{}, err
	}
	s.mu.Lock()
	if s.runs[lock] == "starting" {
		s.runs[lock] = j.ID
	}
	s.mu.Unlock()
	return j, nil
}

// PlanFor returns the compiled version of a plan in force for a period key
// (for tools and benchmarks that call Execute directly).
func (s *Service) PlanFor(ctx context.Context, db store.DB, tenant, planKey, periodKey string) (*Plan, period.Period, error) {
	cal, err := s.calendar(ctx, tenant)
	if err != nil {
		return nil, period.Period{}, err
	}
	per, err := cal.Parse(periodKey)
	if err != nil {
		return nil, period.Period{}, apperr.Invalid("bad period", apperr.FieldError{Pointer: "/period", Code: "format", Message: "a period key such as 2026-03"})
	}
	pl, err := s.inForce(ctx, db, tenant, planKey, per)
	if err != nil {
		return nil, per, err
	}
	per, err = statementPeriod(cal, pl, periodKey)
	return pl, per, err
}

// Execute runs a plan over a period synchronously and writes the
// statements (Run's job calls it). pr may be nil.
func (s *Service) Execute(ctx context.Context, db store.DB, tenant, actor string, pl *Plan, per period.Period, pr jobs.Reporter) (*RunReport, error) {
	if pr == nil {
		pr = nopReporter{}
	}
	g, err := s.gather(ctx, db, tenant, pl, per, true)
	if err != nil {
		return nil, err
	}
	rep := &RunReport{Plan: pl.Key, Version: pl.Version, Period: per.Key, Reps: len(g.reps), Records: g.records, Errors: []calc.RepError{}}
	pr.SetTotal(int64(len(g.reps)))
	// The period's statements in one read; new ones are inserted in
	// batches (one durable commit per batch instead of one per rep).
	existing := map[string]*Statement{}
	err = db.Scan(ctx, collStatements, store.Query{Where: []store.Cond{{Field: "plan", Op: store.Eq, Value: pl.Key},
		{Field: "period", Op: store.Eq, Value: per.Key}}}, func(d store.Doc) error {
		st, err := statementFrom(d)
		if err == nil {
			existing[st.ID] = st
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	b := &insertBatch{}
	flush := func() error {
		failed, err := b.flush(ctx, db)
		for _, f := range failed { // inserted concurrently: take the careful path
			if _, err := s.writeStatement(ctx, db, g, f.rep, f.res, f.in, actor, nil, nil); err != nil {
				return err
			}
		}
		return err
	}
	for _, r := range g.reps {
		if b.full() {
			if err := flush(); err != nil {
				return rep, err
			}
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		res, in, rerr := g.calculate(r.ID)
		if rerr != nil {
			rep.Errors = append(rep.Errors, *rerr)
			pr.Add(1)
			continue
		}
		cur, known := existing[statementID(pl.Key, per.Key, r.ID)]
		if !known {
			cur = nil
		}
		outcome, err := s.writeStatement(ctx, db, g, r, res, in, actor, &cur, b)
		if err != nil {
			return rep, err
		}
		switch outcome {
		case outWritten:
			rep.Written++
		case outUnchanged:
			rep.Unchanged++
		case outLocked:
			rep.Locked++
		case outAdjusted:
			rep.Locked++
			rep.Adjusted++
		}
		rep.Total += res.Total
		pr.Add(1)
	}
	return rep, flush()
}

// insertBatch collects new statements to insert together.
type insertBatch struct {
	docs    []store.Doc
	pending []pendingInsert
}

type pendingInsert struct {
	rep calc.Rep
	res calc.Result
	in  *calc.Input
}

func (b *insertBatch) full() bool { return len(b.docs) >= 100 }

// flush inserts the batch; statements someone else created meanwhile are
// returned to be written the careful way.
func (b *insertBatch) flush(ctx context.Context, db store.DB) ([]pendingInsert, error) {
	var failed []pendingInsert
	for len(b.docs) > 0 {
		n, err := db.InsertMany(ctx, collStatements, b.docs)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrDuplicate) {
			b.docs, b.pending = nil, nil
			return failed, fmt.Errorf("write statements: %w", err)
		}
		failed = append(failed, b.pending[n])
		b.docs, b.pending = b.docs[n+1:], b.pending[n+1:]
	}
	b.docs, b.pending = b.docs[:0], b.pending[:0]
	return failed, nil
}

type nopReporter struct{}

func (nopReporter) SetTotal(int64) {}
func (nopReporter) Add(int64)      {}

// gathered is everything a plan's statements for one period depend on.
type gathered struct {
	pl       *Plan
	cal      period.Calendar
	per, win period.Period
	reps     []calc.Rep
	inputs   map[string]*calc.Input
	errs     map[string]*calc.RepError // per rep, found while gathering
	records  int
	rollups  *tracking.Rollups // the quota metric over the window, by rep
}

// calculate computes one rep's statement.
func (g *gathered) calculate(rep string) (calc.Result, *calc.Input, *calc.RepError) {
	if e := g.errs[rep]; e != nil {
		return calc.Result{}, nil, e
	}
	in := g.inputs[rep]
	res, err := g.pl.Calculate(*in)
	if err != nil {
		var re *calc.RepError
		if errors.As(err, &re) {
			return res, in, re
		}
		return res, in, &calc.RepError{Rep: rep, Code: "calculation", Message: err.Error()}
	}
	return res, in, nil
}

// gather reads a plan's inputs for a period: the reps, their credits,
// targets, actuals, team attainments and reversals.
func (s *Service) gather(ctx context.Context, db store.DB, tenant string, pl *Plan, per period.Period, _ bool) (*gathered, error) {
	cal, err := s.calendar(ctx, tenant)
	if err != nil {
		return nil, err
	}
	tz := cal.Location
	if tz == nil {
		tz = time.UTC
	}
	win := cal.Of(per.Start, pl.QuotaGrain)
	g := &gathered{pl: pl, cal: cal, per: per, win: win, inputs: map[string]*calc.Input{}, errs: map[string]*calc.RepError{}}
	if g.reps, err = s.assigned(ctx, db, pl, per); err != nil {
		return nil, err
	}
	pw, qw := calc.Window{Key: per.Key, Start: per.Start, End: per.End}, calc.Window{Key: win.Key, Start: win.Start, End: win.End}
	for _, r := range g.reps {
		g.inputs[r.ID] = &calc.Input{Rep: r, Period: pw, Quota: qw, CreditedBefore: map[string]int64{}}
	}
	before := map[string][]calc.Credit{}
	type reversal struct {
		record     string
		reversedAt time.Time
	}
	var reversals []reversal
	// Credits of the window (earlier periods count for marginal bands) and
	// reversal candidates (credited up to ClawbackDays before the period).
	from := win.Start
	if pl.Clawback != nil {
		from = minTime(from, per.Start.AddDate(0, 0, -pl.Clawback.WithinDays))
	}
	err = s.scanCredited(ctx, db, pl, from, per.End, func(id, owner string, data map[string]any) error {
		g.records++
		cs, err := pl.Credits(id, data, tz)
		if err != nil {
			if _, ok := g.inputs[owner]; ok && g.errs[owner] == nil {
				g.errs[owner] = &calc.RepError{Rep: owner, Code: "formula_runtime", Message: fmt.Sprintf("record %s: %v", id, err)}
			}
			return nil
		}
		for _, c := range cs {
			in := g.inputs[c.Owner]
			if in == nil {
				continue // not on this plan
			}
			switch {
			case per.Contains(c.Date):
				in.Credits = append(in.Credits, c)
			case !c.Date.Before(win.Start) && c.Date.Before(per.Start):
				before[c.Owner] = append(before[c.Owner], c)
			}
		}
		if pl.Clawback != nil {
			at, ok, err := pl.ReversedIn(data, tz)
			if err == nil && ok && per.Contains(at) {
				reversals = append(reversals, reversal{id, at})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.actualsAndTargets(ctx, db, tenant, g); err != nil {
		return nil, err
	}
	g.creditedBefore(before)
	if len(reversals) > 0 {
		paid, err := paidOnRecords(ctx, db, pl.Key, per.Start)
		if err != nil {
			return nil, err
		}
		for _, rv := range reversals {
			for _, rep := range sortedKeys(paid[rv.record]) {
				in := g.inputs[rep]
				p := paid[rv.record][rep]
				if in == nil || p.amount <= 0 {
					continue
				}
				cd, _ := period.ParseDate(p.creditDate)
				cd = time.Date(cd.Year(), cd.Month(), cd.Day(), 0, 0, 0, 0, tz)
				in.Reversals = append(in.Reversals, calc.Reversal{Record: rv.record, Object: pl.Object, CreditDate: cd, ReversedAt: rv.reversedAt, Paid: p.amount})
			}
		}
	}
	if a := pl.Assign; len(a.Roles) == 0 && len(a.Teams) == 0 && len(a.Users) == 0 {
		if err := g.pruneIdle(ctx, db, before); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// pruneIdle drops, for a plan that applies to everyone, the users it has
// nothing to say about: no credits in the window, no reversal, no target
// and no statement for the period yet (admins and finance people, mostly).
func (g *gathered) pruneIdle(ctx context.Context, db store.DB, before map[string][]calc.Credit) error {
	has := map[string]bool{}
	err := db.Scan(ctx, collStatements, store.Query{Where: []store.Cond{{Field: "plan", Op: store.Eq, Value: g.pl.Key},
		{Field: "period", Op: store.Eq, Value: g.per.Key}}}, func(d store.Doc) error {
		r, _ := d["rep"].(string)
		has[r] = true
		return nil
	})
	if err != nil {
		return err
	}
	kept := g.reps[:0]
	for _, r := range g.reps {
		in := g.inputs[r.ID]
		if has[r.ID] || len(in.Credits) > 0 || len(before[r.ID]) > 0 || len(in.Reversals) > 0 || in.HasTarget || g.errs[r.ID] != nil {
			kept = append(kept, r)
			continue
		}
		delete(g.inputs, r.ID)
	}
	g.reps = kept
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// scanCredited streams the live records of the plan's object whose credit
// date may fall in [from, to): a range on the date field, widened by a day
// each side (the calculator places each credit exactly).
func (s *Service) scanCredited(ctx context.Context, db store.DB, pl *Plan, from, to time.Time, fn func(id, owner string, data map[string]any) error) error {
	where := []store.Cond{{Field: "deleted", Op: store.Ne, Value: true}}
	lo, hi := from.AddDate(0, 0, -1), to.AddDate(0, 0, 1)
	switch f := pl.Obj.Fields[pl.DateField]; {
	case pl.DateField == "createdAt":
		where = append(where, store.Cond{Field: "createdAt", Op: store.Gte, Value: period.FormatInstant(lo)},
			store.Cond{Field: "createdAt", Op: store.Lt, Value: period.FormatInstant(hi)})
	case f.Type == forms.TypeDate:
		where = append(where, store.Cond{Field: "data." + pl.DateField, Op: store.Gte, Value: period.FormatDate(lo)},
			store.Cond{Field: "data." + pl.DateField, Op: store.Lt, Value: period.FormatDate(hi)})
	case f.Type == forms.TypeDateTime:
		where = append(where, store.Cond{Field: "data." + pl.DateField, Op: store.Gte, Value: period.FormatInstant(lo)},
			store.Cond{Field: "data." + pl.DateField, Op: store.Lt, Value: period.FormatInstant(hi)})
	}
	err := db.Scan(ctx, objects.RecordCollection(pl.Object), store.Query{Where: where}, func(d store.Doc) error {
		owner, _ := d["owner"].(string)
		created, _ := d["createdAt"].(string)
		data, _ := d["data"].(map[string]any)
		// The record's owner and creation time live outside its data;
		// the calculator reads them under these names.
		return fn(store.ID(d), owner, calc.RecordData(data, owner, created))
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("scan %s records: %w", pl.Object, err)
	}
	return nil
}

// creditedBefore fills CreditedBefore for plans whose marginal bands run
// over the quota window: the earlier periods of the window are calculated
// again, in memory and in order, from their re-credited records (each
// result's Credited chains into the next period's CreditedBefore), so the
// bands continue exactly where they left off whatever was stored.
func (g *gathered) creditedBefore(before map[string][]calc.Credit) {
	if !g.win.Start.Before(g.per.Start) || !g.pl.cumulative() {
		return
	}
	var earlier []period.Period
	for t := g.win.Start; t.Before(g.per.Start); {
		e := g.cal.Of(t, g.pl.Grain)
		earlier = append(earlier, e)
		t = e.End
	}
	qw := calc.Window{Key: g.win.Key, Start: g.win.Start, End: g.win.End}
	for _, r := range g.reps {
		cs := before[r.ID]
		if len(cs) == 0 || g.errs[r.ID] != nil {
			continue
		}
		in := g.inputs[r.ID]
		cum := map[string]int64{}
		for _, e := range earlier {
			var mine []calc.Credit
			for _, c := range cs {
				if e.Contains(c.Date) {
					mine = append(mine, c)
				}
			}
			if len(mine) == 0 {
				continue
			}
			ein := calc.Input{Rep: r, Period: calc.Window{Key: e.Key, Start: e.Start, End: e.End}, Quota: qw,
				Target: in.Target, HasTarget: in.HasTarget, CreditedBefore: maps.Clone(cum), Credits: mine}
			ein.ActualBefore, ein.ActualInPeriod = g.actual(r.ID, g.win.Start, e.Start), g.actual(r.ID, e.Start, e.End)
			res, err := g.pl.Calculate(ein)
			if err != nil {
				var re *calc.RepError
				if !errors.As(err, &re) {
					re = &calc.RepError{Rep: r.ID, Code: "calculation", Message: err.Error()}
				}
				re.Message = fmt.Sprintf("period %s of the quota window: %s", e.Key, re.Message)
				g.errs[r.ID] = re
				break
			}
			for k, v := range res.Credited {
				cum[k] += v
			}
		}
		in.CreditedBefore = cum
	}
}

// actual is a rep's quota metric actual over [from, to) from the rollups
// read for the window.
func (g *gathered) actual(rep string, from, to time.Time) int64 {
	if g.rollups == nil || !from.Before(to) {
		return 0
	}
	return g.rollups.Sum(g.pl.QuotaMetric, tracking.Ranges{rep: {{From: period.FormatDate(from), To: period.FormatDate(to.AddDate(0, 0, -1))}}}).Sum
}

// actualsAndTargets fills each rep's target and actuals of the quota
// metric for the window, and the team attainments the plan's team bonuses
// need.
func (s *Service) actualsAndTargets(ctx context.Context, db store.DB, tenant string, g *gathered) error {
	if g.pl.QuotaMetric == "" || len(g.reps) == 0 {
		return nil
	}
	if err := s.tracker.Sync(ctx, db, tenant); err != nil {
		return err
	}
	first, last := period.FormatDate(g.win.Start), lastDay(g.per)
	startDay := period.FormatDate(g.per.Start)
	dayBefore := period.FormatDate(g.per.Start.AddDate(0, 0, -1))
	owners := make([]string, len(g.reps))
	for i, r := range g.reps {
		owners[i] = r.ID
	}
	m := g.pl.QuotaMetric
	rs, err := s.tracker.ReadRollups(ctx, db, tenant, []string{m}, owners, first, last)
	if err != nil {
		return err
	}
	g.rollups = rs
	for _, r := range g.reps {
		in := g.inputs[r.ID]
		if first < startDay {
			in.ActualBefore = rs.Sum(m, tracking.Ranges{r.ID: {{From: first, To: dayBefore}}}).Sum
		}
		in.ActualInPeriod = rs.Sum(m, tracking.Ranges{r.ID: {{From: startDay, To: last}}}).Sum
		if s.targets == nil {
			continue
		}
		a, ok, err := s.targets.Target(ctx, db, tenant, progress.TargetQuery{Metric: m, Level: g.pl.QuotaLevel, Node: "user:" + r.ID, Period: g.win, At: g.per.End})
		if err != nil {
			return err
		}
		if ok && a.Target > 0 {
			in.Target, in.HasTarget = a.Target, true
		}
	}
	if len(g.pl.TeamBonuses) == 0 || s.targets == nil {
		return nil
	}
	org, err := tracking.LoadOrg(ctx, db)
	if err != nil {
		return err
	}
	teams := map[string]*calc.TeamAttainment{}
	for _, r := range g.reps {
		for _, t := range r.Teams {
			if _, done := teams[t]; done {
				continue
			}
			teams[t] = nil
			a, ok, err := s.targets.Target(ctx, db, tenant, progress.TargetQuery{Metric: m, Level: g.pl.QuotaLevel, Node: "team:" + t, Period: g.win, At: g.per.End})
			if err != nil {
				return err
			}
			if !ok || a.Target <= 0 {
				continue
			}
			ranges, err := org.TeamRanges(ctx, db, t, first, last)
			if err != nil {
				return err
			}
			members := sortedKeys(ranges)
			trs, err := s.tracker.ReadRollups(ctx, db, tenant, []string{m}, members, first, last)
			if err != nil {
				return err
			}
			now := trs.Sum(m, ranges).Sum
			var bef int64
			if first < startDay {
				clip := tracking.Ranges{}
				for u, drs := range ranges {
					for _, dr := range drs {
						if dr.From <= dayBefore {
							clip[u] = append(clip[u], tracking.DayRange{From: dr.From, To: min(dr.To, dayBefore)})
						}
					}
				}
				bef = trs.Sum(m, clip).Sum
			}
			teams[t] = &calc.TeamAttainment{Team: t, Before: float64(bef) / float64(a.Target), Now: float64(now) / float64(a.Target)}
		}
	}
	for _, r := range g.reps {
		for _, t := range r.Teams {
			if ta := teams[t]; ta != nil {
				g.inputs[r.ID].Teams = append(g.inputs[r.ID].Teams, *ta)
			}
		}
	}
	return nil
}

// paidOn is what non-draft statements paid a rep on one record.
type paidOn struct {
	amount     int64
	creditDate string
}

// paidOnRecords sums, per record and rep, the lines of approved and paid
// statements of the plan for periods before `before` (clawbacks included,
// so the sum is net).
func paidOnRecords(ctx context.Context, db store.DB, plan string, before time.Time) (map[string]map[string]paidOn, error) {
	out := map[string]map[string]paidOn{}
	err := db.Scan(ctx, collStatements, store.Query{Where: []store.Cond{{Field: "plan", Op: store.Eq, Value: plan},
		{Field: "status", Op: store.In, Value: []any{StatusApproved, StatusPaid}},
		{Field: "periodStart", Op: store.Lt, Value: period.FormatInstant(before)}}}, func(d store.Doc) error {
		st, err := statementFrom(d)
		if err != nil {
			return err
		}
		for _, l := range st.Lines {
			if l.Record == "" {
				continue
			}
			byRep := out[l.Record]
			if byRep == nil {
				byRep = map[string]paidOn{}
				out[l.Record] = byRep
			}
			p := byRep[st.Rep]
			p.amount += l.Amount
			if p.creditDate == "" && l.CreditDate != "" {
				p.creditDate = l.CreditDate
			}
			byRep[st.Rep] = p
		}
		return nil
	})
	return out, err
}

// assigned lists the active users a plan applies to in a period, by id,
// with the teams they belonged to during it.
func (s *Service) assigned(ctx context.Context, db store.DB, pl *Plan, per period.Period) ([]calc.Rep, error) {
	users, err := auth.ListUsers(ctx, db)
	if err != nil {
		return nil, err
	}
	teams, err := auth.ListTeams(ctx, db)
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
	first, last := period.FormatDate(per.Start), lastDay(per)
	byUser := map[string][]string{}
	for _, t := range ids {
		for _, m := range ms[t] {
			if m.From <= last && (m.To == "" || m.To > first) && !slices.Contains(byUser[m.UserID], t) {
				byUser[m.UserID] = append(byUser[m.UserID], t)
			}
		}
	}
	a := pl.Assign
	subtree := auth.Subtree(teams, a.Teams)
	everyone := len(a.Roles) == 0 && len(a.Teams) == 0 && len(a.Users) == 0
	var out []calc.Rep
	for _, u := range users {
		if u.Disabled {
			continue
		}
		ok := everyone || slices.Contains(a.Users, u.ID)
		for _, r := range u.Roles {
			ok = ok || slices.Contains(a.Roles, string(r))
		}
		for _, t := range byUser[u.ID] {
			ok = ok || slices.Contains(subtree, t)
		}
		if !ok {
			continue
		}
		name := u.DisplayName
		if name == "" {
			name = u.Username
		}
		ts := byUser[u.ID]
		sort.Strings(ts)
		out = append(out, calc.Rep{ID: u.ID, Name: name, Teams: nonNil(ts)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Outcomes of writing one rep's statement.
const (
	outWritten = iota
	outUnchanged
	outLocked
	outAdjusted
)

// writeStatement stores a rep's computed statement: a draft (or a new
// statement) is rewritten when its content differs; a locked one is left
// alone and the difference goes into a later period as adjustments.
//
// known, when not nil, is the statement as already read (nil: none); b,
// when not nil, takes a new statement to insert in a batch.
func (s *Service) writeStatement(ctx context.Context, db store.DB, g *gathered, r calc.Rep, res calc.Result, in *calc.Input, actor string,
	known **Statement, b *insertBatch) (int, error) {
	pl, per := g.pl, g.per
	id := statementID(pl.Key, per.Key, r.ID)
	lines := lineIDs(res.Lines)
	for attempt := 0; ; attempt++ {
		var cur *Statement
		if known != nil && attempt == 0 {
			cur = *known
		} else {
			var err error
			cur, err = s.load(ctx, db, id)
			if err != nil && !isNotFound(err) {
				return 0, err
			}
			if err != nil {
				cur = nil
			}
		}
		if cur != nil && cur.Locked() {
			changed, err := s.adjustLocked(ctx, db, g, r, cur, lines, actor)
			if err != nil {
				return 0, err
			}
			if changed {
				return outAdjusted, nil
			}
			return outLocked, nil
		}
		next := &Statement{ID: id, Plan: pl.Key, PlanVersion: pl.Version, Period: per.Key, PeriodStart: per.Start.UTC(), PeriodEnd: per.End.UTC(),
			Rep: r.ID, RepName: r.Name, Status: StatusDraft, Currency: pl.Currency, Lines: lines, Computed: true,
			Fingerprint: fingerprint(pl.Version, in), ComputedAt: s.Now().UTC()}
		if in.HasTarget {
			att, tgt := res.Attainment, in.Target
			next.Attainment, next.Target = &att, &tgt
		}
		if cur != nil {
			next.Lines = append(append([]Line{}, lines...), cur.adjustments()...)
			next.History, next.Version = cur.History, cur.Version
		} else {
			next.History = []Event{{At: next.ComputedAt, By: actor, Action: "computed", To: StatusDraft}}
		}
		if next.Lines == nil {
			next.Lines = []Line{}
		}
		next.retotal()
		if cur != nil && sameContent(cur, next) {
			return outUnchanged, nil
		}
		if cur == nil && b != nil {
			d, err := next.doc()
			if err != nil {
				return 0, err
			}
			b.docs = append(b.docs, d)
			b.pending = append(b.pending, pendingInsert{r, res, in})
			return outWritten, nil
		}
		_, err := putStatement(ctx, db, next)
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			continue // approved or adjusted meanwhile: look again
		}
		if err != nil {
			return 0, fmt.Errorf("write statement %s: %w", id, err)
		}
		return outWritten, nil
	}
}

// adjustLocked compares a locked statement's computed lines with what a
// run computes now and places the differences, per (rule, record), as
// adjustments in the rep's next open period. It reports whether any
// adjustment for this period exists or changed.
func (s *Service) adjustLocked(ctx context.Context, db store.DB, g *gathered, r calc.Rep, cur *Statement, lines []Line, actor string) (bool, error) {
	type k struct{ rule, record string }
	old, now := map[k]int64{}, map[k]int64{}
	objs := map[k]string{}
	for _, l := range cur.computedLines() {
		old[k{l.Rule, l.Record}] += l.Amount
		objs[k{l.Rule, l.Record}] = l.Object
	}
	for _, l := range lines {
		now[k{l.Rule, l.Record}] += l.Amount
		objs[k{l.Rule, l.Record}] = l.Object
	}
	want := map[string]Line{}
	for key := range objs {
		d := now[key] - old[key]
		if d == 0 {
			continue
		}
		src := Source{Period: g.per.Key, Rule: key.rule, Record: key.record}
		what := key.rule
		if key.record != "" {
			what += " / " + key.record
		}
		zh := fmt.Sprintf("调整：%s 期提成单已%s锁定，重算后 %s 的提成由 %s 变为 %s", g.per.Key, statusZh(cur.Status), what, money(old[key]), money(now[key]))
		en := fmt.Sprintf("Adjustment: the %s statement is %s and locked; recalculated, %s changes from %s to %s", g.per.Key, cur.Status, what, money(old[key]), money(now[key]))
		want[src.key()] = adjustmentLine(src, key.record, objs[key], d, zh, en)
	}
	per := g.per.Key
	group := func(src *Source) bool { return src.Dispute == "" && src.Period == per }
	id, err := s.placeAdjustments(ctx, db, g.pl, g.cal, r.ID, r.Name, g.per, group, want, actor)
	return id != "" || len(want) > 0, err
}

func statusZh(st string) string {
	switch st {
	case StatusApproved:
		return "批准"
	case StatusPaid:
		return "支付"
	}
	return st
}

// money formats minor units as major units with two decimals.
func money(minor int64) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return fmt.Sprintf("%s%d.%02d", sign, minor/100, minor%100)
}
