package tracking

import (
	"context"
	"fmt"
	"sort"

	"stride/engine/store"
)

// SeedRollups writes rollup buckets holding exactly the given contributions
// straight into the rollup collection (which must hold none of their
// buckets yet), bypassing the outbox, journal and per-record applied state.
// It is for benchmarks and bulk loads of history: building a million
// records' rollups through the projector costs a journal entry and an
// applied document per record. Reconcile with repair afterwards if the
// records themselves are stored (it rewrites the applied state they lack).
func (t *Tracker) SeedRollups(ctx context.Context, db store.DB, tenant string, cs []Contribution) error {
	if err := t.declare(ctx, db, tenant); err != nil {
		return err
	}
	buckets := map[string]store.Doc{}
	for _, c := range cs {
		id := bucketID(c.Metric, c.Owner, c.Day[:7])
		b := buckets[id]
		if b == nil {
			b = store.Doc{store.KeyID: id, "metric": c.Metric, "owner": c.Owner, "month": c.Day[:7], "days": map[string]any{}, "lastSeq": int64(0)}
			buckets[id] = b
		}
		days := b["days"].(map[string]any)
		cur := cellFrom(days[c.Day[8:10]])
		cur.Sum += c.Sum
		cur.Count += c.Count
		days[c.Day[8:10]] = map[string]any{"sum": cur.Sum, "count": cur.Count}
	}
	ids := make([]string, 0, len(buckets))
	for id := range buckets {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	docs := make([]store.Doc, 0, len(ids))
	for _, id := range ids {
		docs = append(docs, buckets[id])
	}
	for len(docs) > 0 {
		n := min(len(docs), 500)
		if _, err := db.InsertMany(ctx, collRollup, docs[:n]); err != nil {
			return fmt.Errorf("seed rollups: %w", err)
		}
		docs = docs[n:]
	}
	return nil
}
