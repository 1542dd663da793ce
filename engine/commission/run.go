package commission

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
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
//
// The run reads and credits the records in one pass (crediting on another
// goroutine than the store's reads, keeping of each record only what the
// rule formulas read), then calculates and encodes the reps' statements on
// every core and writes them in rep order: new statements in batches,
// changed drafts one by one; unchanged drafts are recognised by the hash of
// their stored lines and not written.
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
	// The period's statements in one read, keeping of their computed
	// lines only the hash (writeStatement loads a locked one in full).
	existing := map[string]*Statement{}
	err = db.Scan(ctx, collStatements, store.Query{Where: []store.Cond{{Field: "plan", Op: store.Eq, Value: pl.Key},
		{Field: "period", Op: store.Eq, Value: per.Key}}}, func(d store.Doc) error {
		st, err := statementHead(d)
		if err == nil {
			st.forget()
			existing[st.ID] = st
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := g.computeAll(ctx)
	b := &writeBatch{}
	w := newBatchWriter(ctx, db)
	defer w.stop()
	enc := &lineEncoder{}
	count := func(outcome int, n int) {
		switch outcome {
		case outWritten:
			rep.Written += n
		case outUnchanged:
			rep.Unchanged += n
		case outLocked:
			rep.Locked += n
		case outAdjusted:
			rep.Locked += n
			rep.Adjusted += n
		}
	}
	careful := func(failed []*computed) error { // written by someone else meanwhile
		for _, c := range failed {
			outcome, err := s.writeStatement(ctx, db, g, c, actor, nil, nil, enc)
			if err != nil {
				return err
			}
			count(outWritten, -1) // counted when batched
			count(outcome, 1)
		}
		return nil
	}
	for i := range g.reps {
		c, err := results.take(i)
		if err != nil {
			return rep, err
		}
		if c.err != nil {
			return rep, c.err
		}
		if c.rerr != nil {
			rep.Errors = append(rep.Errors, *c.rerr)
			pr.Add(1)
			continue
		}
		cur, known := existing[statementID(pl.Key, per.Key, c.rep.ID)]
		if !known {
			cur = nil
		}
		outcome, err := s.writeStatement(ctx, db, g, c, actor, &cur, b, enc)
		if err != nil {
			return rep, err
		}
		count(outcome, 1)
		rep.Total += c.total
		pr.Add(1)
		if b.full() {
			failed, err := w.send(b)
			if err == nil {
				err = careful(failed)
			}
			if err != nil {
				return rep, err
			}
			b = &writeBatch{}
		}
	}
	failed, err := w.send(b)
	if err == nil {
		failed, err = w.wait(failed)
	}
	if err == nil {
		err = careful(failed)
	}
	return rep, err
}

// computed is one rep's calculated statement, encoded.
type computed struct {
	rep       calc.Rep
	total     int64 // of the computed lines
	att       float64
	target    int64
	hasTarget bool
	table     *lineTable
	fp        string
	rerr      *calc.RepError
	err       error
}

// computeAll calculates and encodes every rep's statement on all cores, at
// most a few reps ahead of the consumer, which takes them in rep order with
// take. A rep's credits are dropped once calculated.
func (g *gathered) computeAll(ctx context.Context) *computing {
	n := len(g.reps)
	c := &computing{ctx: ctx, results: make([]chan *computed, n)}
	for i := range c.results {
		c.results[i] = make(chan *computed, 1)
	}
	workers := runtime.GOMAXPROCS(0)
	c.ahead = make(chan struct{}, 4*workers)
	var next atomic.Int64
	for range workers {
		go func() {
			enc := &lineEncoder{}
			for {
				select {
				case c.ahead <- struct{}{}:
				case <-ctx.Done():
					return
				}
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c.results[i] <- g.compute(g.reps[i], enc)
			}
		}()
	}
	return c
}

// computing hands out computed statements in rep order.
type computing struct {
	ctx     context.Context
	results []chan *computed
	ahead   chan struct{} // a token per rep being computed or computed and not taken
}

// take returns rep i's statement (i = 0, 1, … in turn).
func (c *computing) take(i int) (*computed, error) {
	select {
	case r := <-c.results[i]:
		<-c.ahead
		return r, nil
	case <-c.ctx.Done():
		return nil, c.ctx.Err()
	}
}

// compute calculates and encodes one rep's statement.
func (g *gathered) compute(r calc.Rep, enc *lineEncoder) *computed {
	c := &computed{rep: r}
	res, in, rerr := g.calculateTo(r.ID, enc.lines, true)
	if in != nil {
		defer func() { in.Credits = nil }() // done with them
	}
	if rerr != nil {
		c.rerr = rerr
		return c
	}
	c.total, c.att, c.target, c.hasTarget = res.Total, res.Attainment, in.Target, in.HasTarget
	c.fp = fingerprint(g.pl, in)
	c.table, c.err = enc.encode(res.Lines)
	clear(res.Lines)
	enc.lines = res.Lines[:0] // the buffer, for the next rep
	return c
}

// writeBatch collects statements to write together: new ones, inserted
// in one call, and changed drafts, replaced (at the version read)
// concurrently, so the store commits them together.
type writeBatch struct {
	docs     []store.Doc
	pending  []*computed
	replaces []replaceOp
}

type replaceOp struct {
	doc     store.Doc
	version int64
	c       *computed
}

func (b *writeBatch) full() bool { return len(b.docs)+len(b.replaces) >= 100 }

func (b *writeBatch) empty() bool { return len(b.docs)+len(b.replaces) == 0 }

// batchWriter writes batches of statements on its own goroutine, one batch
// at a time, while the next one is prepared.
type batchWriter struct {
	in   chan *writeBatch
	out  chan batchResult
	busy bool
}

type batchResult struct {
	failed []*computed
	err    error
}

func newBatchWriter(ctx context.Context, db store.DB) *batchWriter {
	w := &batchWriter{in: make(chan *writeBatch), out: make(chan batchResult, 1)}
	go func() {
		for b := range w.in {
			failed, err := b.flush(ctx, db)
			w.out <- batchResult{failed, err}
		}
	}()
	return w
}

// send hands b to the writer once the previous batch is written, and
// returns that one's statements to write the careful way.
func (w *batchWriter) send(b *writeBatch) ([]*computed, error) {
	failed, err := w.wait(nil)
	if err != nil || b.empty() {
		return failed, err
	}
	w.in <- b
	w.busy = true
	return failed, nil
}

// wait waits for the batch being written.
func (w *batchWriter) wait(failed []*computed) ([]*computed, error) {
	if !w.busy {
		return failed, nil
	}
	w.busy = false
	r := <-w.out
	return append(failed, r.failed...), r.err
}

func (w *batchWriter) stop() {
	_, _ = w.wait(nil)
	close(w.in)
}

// flush writes the batch; statements someone else created or changed
// meanwhile are returned to be written the careful way.
func (b *writeBatch) flush(ctx context.Context, db store.DB) ([]*computed, error) {
	var failed []*computed
	docs, pending := b.docs, b.pending
	for len(docs) > 0 {
		n, err := db.InsertMany(ctx, collStatements, docs)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrDuplicate) {
			return failed, fmt.Errorf("write statements: %w", err)
		}
		failed = append(failed, pending[n])
		docs, pending = docs[n+1:], pending[n+1:]
	}
	if len(b.replaces) == 0 {
		return failed, nil
	}
	const parallel = 16
	errs := make([]error, len(b.replaces))
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for i, r := range b.replaces {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, errs[i] = db.Replace(ctx, collStatements, r.doc, r.version)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound):
			failed = append(failed, b.replaces[i].c) // approved or removed meanwhile
		default:
			return failed, fmt.Errorf("write statement %s: %w", store.ID(b.replaces[i].doc), err)
		}
	}
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
	return g.calculateTo(rep, nil, false)
}

// calculateTo is calculate with the lines in buf (calc.Plan.CalculateTo)
// when reuse is set.
func (g *gathered) calculateTo(rep string, buf []calc.Line, reuse bool) (calc.Result, *calc.Input, *calc.RepError) {
	if e := g.errs[rep]; e != nil {
		return calc.Result{}, nil, e
	}
	in := g.inputs[rep]
	var res calc.Result
	var err error
	if reuse {
		res, err = g.pl.CalculateTo(*in, buf)
	} else {
		res, err = g.pl.Calculate(*in)
	}
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
	keep := newProjector(pl.RecordFields())
	err = s.scanCredited(ctx, db, pl, from, per.End, func(id, owner string, data map[string]any) error {
		g.records++
		cs, err := pl.Credits(id, data, tz)
		if err != nil {
			if _, ok := g.inputs[owner]; ok && g.errs[owner] == nil {
				g.errs[owner] = &calc.RepError{Rep: owner, Code: "formula_runtime", Message: fmt.Sprintf("record %s: %v", id, err)}
			}
			return nil
		}
		var kept map[string]any
		if len(cs) > 0 {
			kept = keep.project(cs[0].Data) // the record as formulas see it
		}
		for _, c := range cs {
			in := g.inputs[c.Owner]
			if in == nil {
				continue // not on this plan
			}
			// Only what the rule formulas read is kept, and the owner's id
			// is the rep's (one string per rep, not per record).
			c.Data, c.Owner = kept, in.Rep.ID
			switch {
			case per.Contains(c.Date):
				in.Credits = append(in.Credits, c)
			case !c.Date.Before(win.Start) && c.Date.Before(per.Start):
				before[c.Owner] = append(before[c.Owner], c)
			}
		}
		if pl.Clawback != nil {
			env := data
			if len(cs) > 0 {
				env = cs[0].Data // already converted
			}
			at, ok, err := pl.ReversedIn(env, tz)
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
	// The store decodes documents on the scanning goroutine; fn runs on
	// another, a batch of documents at a time, so reading and crediting
	// overlap. fn sees the records in the scan's order.
	const batchSize = 256
	batches := make(chan []store.Doc, 4)
	done, stopped := make(chan error, 1), make(chan struct{})
	go func() {
		var ferr error
		for b := range batches {
			for _, d := range b {
				if ferr != nil {
					break // drain
				}
				owner, _ := d["owner"].(string)
				created, _ := d["createdAt"].(string)
				data, _ := d["data"].(map[string]any)
				if data == nil {
					data = map[string]any{}
				}
				// The record's owner and creation time live outside its
				// data; the calculator reads them under these names
				// (calc.RecordData, in place: the document is ours).
				data["owner"], data["createdAt"] = owner, created
				if ferr = fn(store.ID(d), owner, data); ferr != nil {
					close(stopped)
				}
			}
		}
		done <- ferr
	}()
	batch := make([]store.Doc, 0, batchSize)
	errStopped := errors.New("stopped")
	err := db.Scan(ctx, objects.RecordCollection(pl.Object), store.Query{Where: where}, func(d store.Doc) error {
		batch = append(batch, d)
		if len(batch) < batchSize {
			return nil
		}
		select {
		case batches <- batch:
		case <-stopped: // fn failed
			return errStopped
		}
		batch = make([]store.Doc, 0, batchSize)
		return nil
	})
	if err == nil && len(batch) > 0 {
		batches <- batch // the worker drains until closed: no deadlock
	}
	close(batches)
	if ferr := <-done; ferr != nil {
		err = ferr
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("scan %s records: %w", pl.Object, err)
	}
	return nil
}

// projector keeps, of a record's data, the fields rule formulas read;
// equal projections (a product, a region, a flag…) share one map.
type projector struct {
	fields []string
	seen   map[string]map[string]any
	key    []byte
}

// maxShared bounds the projections a run keeps for sharing.
const maxShared = 1 << 14

func newProjector(fields []string) *projector {
	return &projector{fields: fields, seen: map[string]map[string]any{}}
}

func (p *projector) project(env map[string]any) map[string]any {
	if len(p.fields) == 0 || env == nil {
		return nil
	}
	k := p.key[:0]
	shareable := true
	for _, f := range p.fields {
		v, ok := env[f]
		if !ok {
			k = append(k, 'm')
			continue
		}
		switch x := v.(type) {
		case string:
			k = strconv.AppendInt(append(k, 's'), int64(len(x)), 10)
			k = append(append(k, ':'), x...)
		case bool:
			k = strconv.AppendBool(append(k, 'b'), x)
		case float64:
			k = strconv.AppendUint(append(k, 'f'), math.Float64bits(x), 16)
		case int:
			k = strconv.AppendInt(append(k, 'i'), int64(x), 10)
		case nil:
			k = append(k, 'n')
		default:
			shareable = false
		}
		k = append(k, ',')
	}
	p.key = k
	if shareable {
		if m, ok := p.seen[string(k)]; ok {
			return m
		}
	}
	m := make(map[string]any, len(p.fields))
	for _, f := range p.fields {
		if v, ok := env[f]; ok {
			m[f] = v
		}
	}
	if shareable && len(p.seen) < maxShared {
		p.seen[string(k)] = m
	}
	return m
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
		st, err := statementHead(d)
		if err != nil {
			return err
		}
		lines, err := st.plainLines()
		if err != nil {
			return err
		}
		for _, l := range lines {
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
func (s *Service) writeStatement(ctx context.Context, db store.DB, g *gathered, c *computed, actor string,
	known **Statement, b *writeBatch, enc *lineEncoder) (int, error) {
	pl, per, r := g.pl, g.per, c.rep
	id := statementID(pl.Key, per.Key, r.ID)
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
			if cur.table != nil && cur.table.hashOnly {
				var err error
				if cur, err = s.load(ctx, db, id); err != nil {
					return 0, err
				}
				if !cur.Locked() {
					continue // reopened meanwhile: look again
				}
			}
			changed, err := s.adjustLocked(ctx, db, g, r, cur, c.table, actor)
			if err != nil {
				return 0, err
			}
			if changed {
				return outAdjusted, nil
			}
			return outLocked, nil
		}
		next := &Statement{ID: id, Plan: pl.Key, PlanVersion: pl.Version, Period: per.Key, PeriodStart: per.Start.UTC(), PeriodEnd: per.End.UTC(),
			Rep: r.ID, RepName: r.Name, Status: StatusDraft, Currency: pl.Currency, table: c.table, Computed: true,
			Fingerprint: c.fp, ComputedAt: s.Now().UTC()}
		if c.hasTarget {
			att, tgt := c.att, c.target
			next.Attainment, next.Target = &att, &tgt
		}
		next.Total = c.total
		if cur != nil {
			next.adj = cur.adjustments()
			next.History, next.Version = cur.History, cur.Version
		} else {
			next.History = []Event{{At: next.ComputedAt, By: actor, Action: "computed", To: StatusDraft}}
		}
		for _, l := range next.adj {
			next.Total += l.Amount
		}
		if cur != nil {
			same, err := sameContent(cur, next, enc)
			if err != nil {
				return 0, err
			}
			if same {
				return outUnchanged, nil
			}
		}
		if b != nil {
			d, err := next.doc()
			if err != nil {
				return 0, err
			}
			if cur == nil {
				b.docs = append(b.docs, d)
				b.pending = append(b.pending, c)
			} else {
				b.replaces = append(b.replaces, replaceOp{d, cur.Version, c})
			}
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
func (s *Service) adjustLocked(ctx context.Context, db store.DB, g *gathered, r calc.Rep, cur *Statement, table *lineTable, actor string) (bool, error) {
	type k struct{ rule, record string }
	old, now := map[k]int64{}, map[k]int64{}
	objs := map[k]string{}
	was, err := cur.computedLines()
	if err != nil {
		return false, err
	}
	for _, l := range was {
		old[k{l.Rule, l.Record}] += l.Amount
		objs[k{l.Rule, l.Record}] = l.Object
	}
	lines, err := table.decode()
	if err != nil {
		return false, err
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
