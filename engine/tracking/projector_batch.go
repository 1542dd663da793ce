package tracking

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"stride/engine/objects"
	"stride/engine/store"
)

// The projector works in batches: one drain step takes up to batchMax outbox
// entries and turns every record among them whose contributions changed into
// one journal document (one seq), then applies it — each touched bucket
// written once with the batch's summed deltas, each applied doc once — with
// the independent writes issued concurrently so a group-committing store
// (SQLite) shares their fsyncs. Sequential writes per batch: the journal
// insert, one round of concurrent writes, the checkpoint.
//
// Idempotence is per document, as before: a bucket whose lastSeq ≥ the batch
// seq and an applied doc whose seq ≥ it already hold the batch, and the
// checkpoint only grows; batches are applied strictly in seq order (replay
// first), so a crash between any two writes is healed by replaying the
// journal past the checkpoint.

// batchMax caps the outbox entries one batch takes (and so the journal
// document's size: a few hundred bytes per record).
var batchMax = 256

// parallelMax caps the writes a batch has in flight at once.
const parallelMax = 32

// pruneEvery: every pruneEvery-th batch deletes journal documents below the
// checkpoint (they are never replayed again; the one at the checkpoint is
// kept).
const pruneEvery = 16

// pendingTTL is how long an outbox entry whose record has not reached the
// marked version is kept. Such an entry is a write between its BeforeWrite
// and its store write — or one that failed or died there. Keeping it until
// the version shows closes the window in which a drain running between the
// two would consume the mark and miss the write; dropping it after the TTL
// (measured by this process, from when it first saw the entry unchanged)
// bounds the cost of marks whose write never happens. Tests shorten it.
var pendingTTL = 10 * time.Minute

// pendingSeen is, per outbox entry id, the entry version this process first
// saw unsatisfied and when. Only used under the tenant's projector mutex.
type pendingSeen map[string]seenAt

type seenAt struct {
	version int64
	at      time.Time
}

func (t *Tracker) pendingOf(tenant string) pendingSeen {
	v, _ := t.pending.LoadOrStore(tenant, pendingSeen{})
	return v.(pendingSeen)
}

// expired reports whether an unsatisfied outbox entry has waited pendingTTL.
func (ps pendingSeen) expired(ob store.Doc, now time.Time) bool {
	id, v := store.ID(ob), store.Version(ob)
	s, ok := ps[id]
	if !ok || s.version != v {
		ps[id] = seenAt{v, now}
		return false
	}
	return now.Sub(s.at) >= pendingTTL
}

// item is one record's change in a batch.
type item struct {
	object  string
	record  string
	deltas  []Contribution
	applied []Contribution
	// cur is the applied doc read when the batch was made (nil: none) when
	// known is set; replayed items read it again.
	cur   store.Doc
	known bool
}

// batch is one journal document.
type batch struct {
	seq   int64
	items []item
}

func (b batch) doc() store.Doc {
	items := make([]any, 0, len(b.items))
	for _, it := range b.items {
		items = append(items, map[string]any{"object": it.object, "record": it.record,
			"deltas": contribsDoc(it.deltas), "applied": contribsDoc(it.applied)})
	}
	return store.Doc{store.KeyID: fmt.Sprintf("%019d", b.seq), "seq": b.seq, "items": items}
}

// batchFrom reads a journal document; one written before batching (one
// record per document, no items) reads as a batch of one.
func batchFrom(d store.Doc) batch {
	b := batch{seq: store.Int(d["seq"])}
	list, ok := d["items"].([]any)
	if !ok {
		list = []any{map[string]any(d)}
	}
	for _, v := range list {
		m, _ := v.(map[string]any)
		it := item{deltas: contribsFrom(m["deltas"]), applied: contribsFrom(m["applied"])}
		it.object, _ = m["object"].(string)
		it.record, _ = m["record"].(string)
		b.items = append(b.items, it)
	}
	return b
}

// replay applies the journal past the checkpoint, in seq order.
func (p *projector) replay() error {
	done, _, err := p.checkpoint()
	if err != nil {
		return err
	}
	p.last = done
	var pending []batch
	err = p.db.Scan(p.ctx, collJournal, store.Query{Where: []store.Cond{{Field: "seq", Op: store.Gt, Value: done}},
		Sort: []store.SortKey{{Field: "seq"}}}, func(d store.Doc) error {
		pending = append(pending, batchFrom(d))
		return nil
	})
	if err != nil {
		return fmt.Errorf("tracking replay: %w", err)
	}
	for _, b := range pending {
		if err := p.apply(b, nil); err != nil {
			return err
		}
		p.last = max(p.last, b.seq)
	}
	return nil
}

// drain sweeps the outbox once, page by page, projecting each page as a
// batch. One sweep sees every entry of a write acknowledged before it
// started (read-your-writes for Sync); entries of writes still on their way
// stay, and those writes' AfterWrite asks for another drain.
func (p *projector) drain() error {
	after := ""
	seen := map[string]bool{}
	for {
		page, err := p.db.Find(p.ctx, collOutbox, store.Query{Limit: batchMax, After: after})
		if err != nil {
			return fmt.Errorf("tracking outbox: %w", err)
		}
		for _, d := range page.Docs {
			seen[store.ID(d)] = true
		}
		if len(page.Docs) > 0 {
			if err := p.project(page.Docs); err != nil {
				return err
			}
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	for id := range p.pending {
		if !seen[id] {
			delete(p.pending, id) // consumed elsewhere (another instance)
		}
	}
	return nil
}

// target is one record of a page with its outbox entries.
type target struct {
	object, record string
	entries        []store.Doc
}

// project turns a page of outbox entries into one batch, applies it, and
// deletes the entries whose write it has seen.
func (p *projector) project(obs []store.Doc) error {
	if err := p.renew(); err != nil {
		return err
	}
	if err := p.t.step("read"); err != nil {
		return err
	}
	var targets []*target
	byKey := map[string]*target{}
	idsOf := map[string][]any{} // object → record ids
	for _, ob := range obs {
		object, _ := ob["object"].(string)
		id, _ := ob["record"].(string)
		k := object + ":" + id
		tg, ok := byKey[k]
		if !ok {
			tg = &target{object: object, record: id}
			byKey[k] = tg
			targets = append(targets, tg)
			idsOf[object] = append(idsOf[object], id)
		}
		tg.entries = append(tg.entries, ob)
	}
	recs := map[string]store.Doc{} // object:record → record doc
	for object, ids := range idsOf {
		err := p.db.Scan(p.ctx, objects.RecordCollection(object), store.Query{Where: []store.Cond{{Field: store.KeyID, Op: store.In, Value: ids}}},
			func(d store.Doc) error {
				recs[object+":"+store.ID(d)] = d
				return nil
			})
		if err != nil {
			return fmt.Errorf("tracking read records: %w", err)
		}
	}
	keys := make([]any, 0, len(targets))
	for _, tg := range targets {
		keys = append(keys, tg.object+":"+tg.record)
	}
	have := map[string][]Contribution{}
	appliedDocs := map[string]store.Doc{}
	err := p.db.Scan(p.ctx, collApplied, store.Query{Where: []store.Cond{{Field: store.KeyID, Op: store.In, Value: keys}}},
		func(d store.Doc) error {
			cs := contribsFrom(d["contrib"])
			sortContribs(cs)
			have[store.ID(d)] = cs
			appliedDocs[store.ID(d)] = d
			return nil
		})
	if err != nil {
		return fmt.Errorf("tracking applied: %w", err)
	}

	var (
		b    batch
		done []store.Doc // outbox entries this batch consumes
		now  = time.Now()
	)
	for _, tg := range targets {
		k := tg.object + ":" + tg.record
		ms, obj, err := p.metricsOf(tg.object)
		if err != nil {
			return err
		}
		var version int64
		var want []Contribution
		if d, ok := recs[k]; ok {
			version = store.Version(d)
			if len(ms) > 0 {
				rec := recordFrom(d)
				want = contributionsAll(ms, obj, &rec, p.tz)
			}
		}
		if !sameContribs(have[k], want) {
			b.items = append(b.items, item{object: tg.object, record: tg.record, deltas: diff(have[k], want), applied: want,
				cur: appliedDocs[k], known: true})
		}
		for _, ob := range tg.entries {
			// An entry of a version the record has not reached is a write
			// still on its way: keep it (its AfterWrite kicks another drain).
			if store.Int(ob["v"]) <= version || p.pending.expired(ob, now) {
				done = append(done, ob)
			}
		}
	}
	consume := make([]task, 0, len(done))
	for _, ob := range done {
		consume = append(consume, task{"outbox", func() error {
			err := p.db.Delete(p.ctx, collOutbox, store.ID(ob), store.Version(ob))
			if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("tracking outbox: %w", err)
			}
			return nil
		}})
	}
	if len(b.items) == 0 {
		if err := p.parallel(consume); err != nil {
			return err
		}
	} else {
		// The seq needs no counter: only the lease holder writes the journal,
		// and after replay nothing in the store carries a seq above p.last.
		// The journal id is unique, so a stale instance that lost the lease
		// collides here instead of applying the same deltas twice.
		b.seq = p.last + 1
		if err := p.t.step("journal"); err != nil {
			return err
		}
		if _, err := p.db.Insert(p.ctx, collJournal, b.doc()); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return ErrBusy
			}
			return fmt.Errorf("tracking journal: %w", err)
		}
		p.last = b.seq
		// Once the journal holds the batch, the outbox entries are no longer
		// needed: consume them alongside the bucket and applied writes.
		if err := p.apply(b, consume); err != nil {
			return err
		}
		if b.seq%pruneEvery == 0 {
			if err := p.prune(b.seq); err != nil {
				return err
			}
		}
	}
	for _, ob := range done {
		delete(p.pending, store.ID(ob))
	}
	return nil
}

// apply applies a batch idempotently — buckets whose lastSeq ≥ seq and
// applied docs whose seq ≥ seq are skipped, the checkpoint only grows — with
// the independent writes (and the extra tasks) issued concurrently; the
// checkpoint advances only once they all succeeded.
func (p *projector) apply(b batch, extra []task) error {
	sum := map[Key]Cell{}
	for _, it := range b.items {
		for _, c := range it.deltas {
			x := sum[c.Key]
			sum[c.Key] = Cell{x.Sum + c.Sum, x.Count + c.Count}
		}
	}
	groups := map[string][]Contribution{}
	for k, c := range sum {
		if c != (Cell{}) && len(k.Day) == 10 {
			id := bucketID(k.Metric, k.Owner, k.Day[:7])
			groups[id] = append(groups[id], Contribution{k, c})
		}
	}
	order := make([]string, 0, len(groups))
	for id := range groups {
		order = append(order, id)
	}
	sort.Strings(order) // deterministic, for the crash tests
	tasks := make([]task, 0, len(order)+len(b.items)+len(extra))
	for _, id := range order {
		cs := groups[id]
		sortContribs(cs)
		tasks = append(tasks, task{"bucket", func() error { return addToBucket(p.ctx, p.db, cs, b.seq) }})
	}
	for _, it := range b.items {
		tasks = append(tasks, task{"applied", func() error {
			return writeApplied(p.ctx, p.db, it.object, it.record, it.applied, b.seq, it.cur, it.known)
		}})
	}
	tasks = append(tasks, extra...)
	if err := p.parallel(tasks); err != nil {
		return err
	}
	if err := p.t.step("checkpoint"); err != nil {
		return err
	}
	return p.advance(b.seq)
}

// prune deletes journal documents below seq (the checkpoint): replay never
// reads them again.
func (p *projector) prune(seq int64) error {
	if err := p.t.step("prune"); err != nil {
		return err
	}
	page, err := p.db.Find(p.ctx, collJournal, store.Query{Where: []store.Cond{{Field: "seq", Op: store.Lt, Value: seq}}, Limit: 4 * pruneEvery})
	if err != nil {
		return fmt.Errorf("tracking prune: %w", err)
	}
	tasks := make([]task, 0, len(page.Docs))
	for _, d := range page.Docs {
		tasks = append(tasks, task{"prune", func() error {
			err := p.db.Delete(p.ctx, collJournal, store.ID(d), 0)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("tracking prune: %w", err)
			}
			return nil
		}})
	}
	return p.parallel(tasks)
}

// task is one independent write of a batch; name is its crash-test step.
type task struct {
	name string
	fn   func() error
}

// parallel runs the tasks with at most parallelMax in flight and returns
// the first error. The test hook is called for each task in order before it
// starts, so an injected crash stops the batch after a deterministic prefix
// has been started (those finish, as in-flight writes of a dying process
// may).
func (p *projector) parallel(tasks []task) error {
	if len(tasks) == 1 {
		if err := p.t.step(tasks[0].name); err != nil {
			return err
		}
		return tasks[0].fn()
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		sem   = make(chan struct{}, parallelMax)
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return first != nil
	}
	for _, tk := range tasks {
		if err := p.t.step(tk.name); err != nil {
			fail(err)
			break
		}
		if failed() {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := tk.fn(); err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	return first
}
