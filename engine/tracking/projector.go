package tracking

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"stride/engine/apperr"
	"stride/engine/objects"
	"stride/engine/records"
	"stride/engine/store"
)

// Collections (see the package documentation and the report for layouts).
const (
	collOutbox  = "trk_outbox"  // {_id: object:record:v, object, record, v (record version the write will store), n}
	collApplied = "trk_applied" // {_id: object:record, object, record, contrib: [{m,o,d,s,c}], seq}
	collJournal = "trk_journal" // {_id: %019d seq, seq, items: [{object, record, deltas: [...], applied: [...]}]}
	collState   = "trk_state"   // {_id: "checkpoint", done} {_id: "lease", holder, until}
	collRollup  = "trk_rollup"  // {_id: metric|owner|YYYY-MM, metric, owner, month, days: {DD: {sum, count}}, lastSeq}
)

const (
	idCheckpoint = "checkpoint"
	idLease      = "lease"
)

// drainPause is the background drainer's rest between two drains: the
// longest a write waits for its projection beyond the drain itself, unless
// a read asks for it (Sync).
const drainPause = 50 * time.Millisecond

// DefaultLeaseTTL is how long a projector lease lasts without renewal.
const DefaultLeaseTTL = 30 * time.Second

// ErrBusy: another server instance holds the projector lease.
var ErrBusy = apperr.New(apperr.KindUnavailable, "projector_busy", "another server instance is projecting this tenant's metrics; retry shortly")

// errAbort is what a failAt test hook returns to simulate a crash.
var errAbort = errors.New("tracking: aborted")

// Hook returns the records hook that keeps rollups up to date; register it
// with records.Service.Use.
func (t *Tracker) Hook() records.Hook { return hook{t} }

type hook struct{ t *Tracker }

// BeforeWrite refuses invalid credit splits and marks the record in the
// outbox before it is stored, with the version the write will give it: a
// crash after this is harmless (the projector recomputes from whatever the
// record's state is), and a drain that runs before the record is stored
// keeps the mark until it sees that version (see pendingTTL).
func (h hook) BeforeWrite(ctx context.Context, w *records.Write) error {
	ms, err := h.t.metricsOf(ctx, w.DB, w.Principal.Tenant, w.Object.Key)
	if err != nil || len(ms) == 0 {
		return err
	}
	if !w.New.Deleted {
		seen := map[string]bool{}
		for _, m := range ms {
			if m.SplitField != "" && !seen[m.SplitField] {
				seen[m.SplitField] = true
				if err := CheckSplit(m.SplitField, w.New.Data); err != nil {
					return err
				}
			}
		}
	}
	if err := h.t.declare(ctx, w.DB, w.Principal.Tenant); err != nil {
		return err
	}
	version := int64(1) // an insert stores version 1, a replace ifVersion+1
	if w.Old != nil {
		version = w.Old.Version + 1
	}
	return h.t.mark(ctx, w.DB, w.Object.Key, w.New.ID, version)
}

// AfterWrite projects the record: in the background when Async is set (the
// server), else synchronously (tests, tools). It writes nothing itself: the
// mark BeforeWrite left stays until a drain has seen the stored version.
// Failures are healed by the next drain, Start, or Reconcile.
func (h hook) AfterWrite(ctx context.Context, w *records.Write) {
	ms, err := h.t.metricsOf(ctx, w.DB, w.Principal.Tenant, w.Object.Key)
	if err != nil || len(ms) == 0 {
		return
	}
	if h.t.Async {
		h.t.kick(w.DB, w.Principal.Tenant)
		return
	}
	_ = h.t.Drain(ctx, w.DB, w.Principal.Tenant)
}

// kick asks the tenant's background drainer to run, starting it on first
// use. Kicks while a drain runs, or during the pause after one, coalesce
// into one more drain, so a burst of writes costs a few batches, not one
// each, and the request never waits for the projection (reads that need it
// current call Sync).
func (t *Tracker) kick(db store.DB, tenant string) {
	t.mu.Lock()
	ch, ok := t.kicks[tenant]
	if !ok {
		ch = make(chan struct{}, 1)
		t.kicks[tenant] = ch
		go func() {
			for range ch {
				_ = t.Drain(context.Background(), db, tenant)
				// A batch's fixed cost (journal, checkpoint: a few sequential
				// writes) is paid per drain: under a stream of writes, letting
				// them gather for a moment makes batches of many records.
				time.Sleep(drainPause)
			}
		}()
	}
	t.mu.Unlock()
	select {
	case ch <- struct{}{}:
	default: // a drain is already pending; it will see this write's mark
	}
}

// Sync drains the tenant's outbox now, so a read that follows sees every
// write acknowledged before it (read-your-writes). Cheap when there is
// nothing to project.
func (t *Tracker) Sync(ctx context.Context, db store.DB, tenant string) error {
	return t.Drain(ctx, db, tenant)
}

// mark records that the record is about to be stored at version. One entry
// per (record, version), so marks never overwrite each other. Marking an
// entry that exists (a concurrent write expecting the same version) bumps
// its store version, so a drain deleting the copy it read earlier fails
// and leaves it.
func (t *Tracker) mark(ctx context.Context, db store.DB, object, id string, version int64) error {
	key := fmt.Sprintf("%s:%s:%d", object, id, version)
	_, err := db.Insert(ctx, collOutbox, store.Doc{store.KeyID: key, "object": object, "record": id, "v": version, "n": int64(1)})
	if errors.Is(err, store.ErrDuplicate) {
		_, err = db.Inc(ctx, collOutbox, key, map[string]int64{"n": 1}, store.Doc{"object": object, "record": id, "v": version})
	}
	if err != nil {
		return fmt.Errorf("tracking outbox: %w", err)
	}
	return nil
}

func (t *Tracker) lock(tenant string) *sync.Mutex {
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.locks[tenant]
	if !ok {
		l = &sync.Mutex{}
		t.locks[tenant] = l
	}
	return l
}

func (t *Tracker) step(name string) error {
	if t.failAt != nil {
		return t.failAt(name)
	}
	return nil
}

// Start recovers the tenant's projector after a restart: it replays the
// journal past the checkpoint and drains the outbox.
func (t *Tracker) Start(ctx context.Context, db store.DB, tenant string) error {
	return t.Drain(ctx, db, tenant)
}

// Run drains the tenant's outbox every interval until ctx ends (picks up
// work left by failed or foreign-instance drains).
func (t *Tracker) Run(ctx context.Context, db store.DB, tenant string, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		_ = t.Drain(ctx, db, tenant)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Drain replays the journal past the checkpoint, then projects every outbox
// entry. If another instance holds the lease it returns nil and leaves the
// work to that instance.
func (t *Tracker) Drain(ctx context.Context, db store.DB, tenant string) error {
	err := t.exclusive(ctx, db, tenant, func(p *projector) error { return p.drain() })
	if errors.Is(err, ErrBusy) {
		return nil
	}
	return err
}

// exclusive runs fn holding the tenant's mutex and projector lease, after
// replaying the journal.
func (t *Tracker) exclusive(ctx context.Context, db store.DB, tenant string, fn func(*projector) error) error {
	l := t.lock(tenant)
	l.Lock()
	defer l.Unlock()
	if err := t.declare(ctx, db, tenant); err != nil {
		return err
	}
	if err := t.acquire(ctx, db); err != nil {
		return err
	}
	tz, err := t.location(ctx, tenant)
	if err != nil {
		return err
	}
	p := &projector{t: t, ctx: ctx, db: db, tenant: tenant, tz: tz, metrics: map[string][]*Metric{}, objs: map[string]*objects.Compiled{},
		renewed: time.Now(), pending: t.pendingOf(tenant)}
	if err := p.replay(); err != nil {
		return err
	}
	return fn(p)
}

// leaseTTL can be shortened by tests.
var leaseTTL = DefaultLeaseTTL

func (t *Tracker) acquire(ctx context.Context, db store.DB) error {
	now := time.Now().UnixMilli()
	until := now + leaseTTL.Milliseconds()
	d, err := db.Get(ctx, collState, idLease)
	if errors.Is(err, store.ErrNotFound) {
		_, err = db.Insert(ctx, collState, store.Doc{store.KeyID: idLease, "holder": t.holder, "until": until})
		if errors.Is(err, store.ErrDuplicate) {
			return ErrBusy
		}
		return err
	}
	if err != nil {
		return err
	}
	h, _ := d["holder"].(string)
	if h != t.holder && store.Int(d["until"]) > now {
		return ErrBusy
	}
	if h == t.holder && store.Int(d["until"])-now > leaseTTL.Milliseconds()/2 {
		return nil // ours, and far from expiring: no write
	}
	_, err = db.Replace(ctx, collState, store.Doc{store.KeyID: idLease, "holder": t.holder, "until": until}, store.Version(d))
	if errors.Is(err, store.ErrConflict) {
		return ErrBusy
	}
	return err
}

// Stop releases the tenant's projector lease (on an orderly shutdown), so
// another instance can take over at once instead of after the lease expires.
func (t *Tracker) Stop(ctx context.Context, db store.DB, tenant string) {
	l := t.lock(tenant)
	l.Lock()
	defer l.Unlock()
	t.release(ctx, db)
}

func (t *Tracker) release(ctx context.Context, db store.DB) {
	d, err := db.Get(ctx, collState, idLease)
	if err != nil {
		return
	}
	if h, _ := d["holder"].(string); h == t.holder {
		_, _ = db.Replace(ctx, collState, store.Doc{store.KeyID: idLease, "holder": "", "until": int64(0)}, store.Version(d))
	}
}

// projector is one exclusive run over a tenant.
type projector struct {
	t       *Tracker
	ctx     context.Context
	db      store.DB
	tenant  string
	tz      *time.Location
	metrics map[string][]*Metric
	objs    map[string]*objects.Compiled
	renewed time.Time // last lease check
	last    int64     // highest journal seq written or replayed
	pending pendingSeen
}

// renew keeps the lease alive during a long run: it checks it every quarter
// TTL (acquire writes only once half of it has elapsed).
func (p *projector) renew() error {
	if time.Since(p.renewed) < leaseTTL/4 {
		return nil
	}
	p.renewed = time.Now()
	return p.t.acquire(p.ctx, p.db)
}

func (p *projector) metricsOf(object string) ([]*Metric, *objects.Compiled, error) {
	if ms, ok := p.metrics[object]; ok {
		return ms, p.objs[object], nil
	}
	ms, err := p.t.metricsOf(p.ctx, p.db, p.tenant, object)
	if err != nil {
		return nil, nil, err
	}
	var obj *objects.Compiled
	if len(ms) > 0 {
		if obj, err = p.t.objects.Published(p.ctx, p.db, p.tenant, object); err != nil {
			return nil, nil, err
		}
	}
	p.metrics[object], p.objs[object] = ms, obj
	return ms, obj, nil
}

func recordFrom(d store.Doc) records.Record {
	r := records.Record{ID: store.ID(d), Version: store.Version(d)}
	r.Object, _ = d["object"].(string)
	r.Owner, _ = d["owner"].(string)
	r.CreatedAt, _ = d["createdAt"].(string)
	r.Data, _ = d["data"].(map[string]any)
	// The governing pipeline is kept in meta (several may match a record).
	r.Meta, _ = d["meta"].(map[string]any)
	r.Deleted, _ = d["deleted"].(bool)
	return r
}

// contributionsAll computes a record's contributions to every metric. A
// record whose formula fails at run time contributes nothing (it cannot be
// allowed to stall the projector); Reconcile uses the same rule.
func contributionsAll(ms []*Metric, obj *objects.Compiled, rec *records.Record, tz *time.Location) []Contribution {
	var out []Contribution
	for _, m := range ms {
		c, err := Contributions(m, obj, rec, tz)
		if err == nil {
			out = append(out, c...)
		}
	}
	sortContribs(out)
	return out
}

func sortContribs(cs []Contribution) {
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i].Key, cs[j].Key
		if a.Metric != b.Metric {
			return a.Metric < b.Metric
		}
		if a.Owner != b.Owner {
			return a.Owner < b.Owner
		}
		return a.Day < b.Day
	})
}

// diff returns want − have per key, zero cells left out.
func diff(have, want []Contribution) []Contribution {
	m := map[Key]Cell{}
	for _, c := range want {
		x := m[c.Key]
		m[c.Key] = Cell{x.Sum + c.Sum, x.Count + c.Count}
	}
	for _, c := range have {
		x := m[c.Key]
		m[c.Key] = Cell{x.Sum - c.Sum, x.Count - c.Count}
	}
	var out []Contribution
	for k, c := range m {
		if c != (Cell{}) {
			out = append(out, Contribution{k, c})
		}
	}
	sortContribs(out)
	return out
}

func sameContribs(a, b []Contribution) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func bucketID(metric, owner, month string) string { return metric + "|" + owner + "|" + month }

func addToBucket(ctx context.Context, db store.DB, cs []Contribution, seq int64) error {
	c0 := cs[0]
	id := bucketID(c0.Metric, c0.Owner, c0.Day[:7])
	for attempt := 0; attempt < 20; attempt++ {
		d, err := db.Get(ctx, collRollup, id)
		if errors.Is(err, store.ErrNotFound) {
			days := map[string]any{}
			addDays(days, cs)
			_, err = db.Insert(ctx, collRollup, store.Doc{store.KeyID: id, "metric": c0.Metric, "owner": c0.Owner, "month": c0.Day[:7], "days": days, "lastSeq": seq})
			if errors.Is(err, store.ErrDuplicate) {
				continue
			}
			if err != nil {
				return fmt.Errorf("tracking bucket %s: %w", id, err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("tracking bucket %s: %w", id, err)
		}
		if store.Int(d["lastSeq"]) >= seq {
			return nil // already applied
		}
		days, _ := d["days"].(map[string]any)
		if days == nil {
			days = map[string]any{}
		}
		addDays(days, cs)
		d["days"], d["lastSeq"] = days, seq
		_, err = db.Replace(ctx, collRollup, d, store.Version(d))
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("tracking bucket %s: %w", id, err)
		}
		return nil
	}
	return fmt.Errorf("tracking bucket %s: too many conflicts", id)
}

func addDays(days map[string]any, cs []Contribution) {
	for _, c := range cs {
		dd := c.Day[8:10]
		cur := cellFrom(days[dd])
		cur.Sum += c.Sum
		cur.Count += c.Count
		if cur == (Cell{}) {
			delete(days, dd)
		} else {
			days[dd] = map[string]any{"sum": cur.Sum, "count": cur.Count}
		}
	}
}

func cellFrom(v any) Cell {
	m, _ := v.(map[string]any)
	return Cell{store.Int(m["sum"]), store.Int(m["count"])}
}

// writeApplied stores a record's applied contributions as of seq, unless a
// later seq is already there. known says cur is the applied doc as read in
// this run (nil: none), which saves reading it again; a changed doc then
// fails the write (conflict or duplicate), and replay heals it.
func writeApplied(ctx context.Context, db store.DB, object, record string, cs []Contribution, seq int64, cur store.Doc, known bool) error {
	id := object + ":" + record
	d, err := cur, error(nil)
	if !known {
		d, err = db.Get(ctx, collApplied, id)
	} else if d == nil {
		err = store.ErrNotFound
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		if len(cs) == 0 {
			return nil
		}
		_, err = db.Insert(ctx, collApplied, store.Doc{store.KeyID: id, "object": object, "record": record, "contrib": contribsDoc(cs), "seq": seq})
	case err != nil:
	case store.Int(d["seq"]) >= seq:
		return nil
	case len(cs) == 0:
		err = db.Delete(ctx, collApplied, id, store.Version(d))
	default:
		d["contrib"], d["seq"] = contribsDoc(cs), seq
		_, err = db.Replace(ctx, collApplied, d, store.Version(d))
	}
	if err != nil {
		return fmt.Errorf("tracking applied %s: %w", id, err)
	}
	return nil
}

func (p *projector) checkpoint() (int64, store.Doc, error) {
	d, err := p.db.Get(p.ctx, collState, idCheckpoint)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("tracking checkpoint: %w", err)
	}
	return store.Int(d["done"]), d, nil
}

func (p *projector) advance(seq int64) error {
	done, d, err := p.checkpoint()
	if err != nil || done >= seq {
		return err
	}
	if d == nil {
		_, err = p.db.Insert(p.ctx, collState, store.Doc{store.KeyID: idCheckpoint, "done": seq})
	} else {
		d["done"] = seq
		_, err = p.db.Replace(p.ctx, collState, d, store.Version(d))
	}
	if err != nil {
		return fmt.Errorf("tracking checkpoint: %w", err)
	}
	return nil
}

func contribsDoc(cs []Contribution) []any {
	out := make([]any, 0, len(cs))
	for _, c := range cs {
		out = append(out, map[string]any{"m": c.Metric, "o": c.Owner, "d": c.Day, "s": c.Sum, "c": c.Count})
	}
	return out
}

func contribsFrom(v any) []Contribution {
	list, _ := v.([]any)
	out := make([]Contribution, 0, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		c := Contribution{Cell: Cell{store.Int(m["s"]), store.Int(m["c"])}}
		c.Metric, _ = m["m"].(string)
		c.Owner, _ = m["o"].(string)
		c.Day, _ = m["d"].(string)
		if len(c.Day) == 10 && !strings.ContainsAny(c.Metric, "|") {
			out = append(out, c)
		}
	}
	return out
}
