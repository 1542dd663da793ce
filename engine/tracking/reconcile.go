package tracking

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"stride/engine/records"
	"stride/engine/store"
)

// Drift is one cell whose stored rollup differs from a recompute.
type Drift struct {
	Metric   string `json:"metric"`
	Owner    string `json:"owner"`
	Day      string `json:"day"`
	Stored   Cell   `json:"stored"`
	Expected Cell   `json:"expected"`
}

// Report is the result of Reconcile.
type Report struct {
	Metrics  int     `json:"metrics"`
	Records  int     `json:"records"`
	Buckets  int     `json:"buckets"` // expected non-empty buckets
	Drift    []Drift `json:"drift"`
	Repaired bool    `json:"repaired"`
}

// Reconcile recomputes every published metric's rollups from the records
// (streaming scans) and reports every cell that differs from the stored
// buckets. With repair it rewrites the drifted buckets and the per-record
// applied state. It holds the projector (mutex and lease) throughout, after
// draining the outbox, so the comparison is not disturbed by projection.
func (t *Tracker) Reconcile(ctx context.Context, db store.DB, tenant string, repair bool) (Report, error) {
	var rep Report
	err := t.exclusive(ctx, db, tenant, func(p *projector) error {
		if err := p.drain(); err != nil {
			return err
		}
		ms, err := t.Published(ctx, db, tenant)
		if err != nil {
			return err
		}
		rep, err = p.recompute(ms, repair)
		return err
	})
	return rep, err
}

// Rebuild recomputes one metric's rollups from the records and rewrites them
// (and the applied state of its records). Call it when a metric is published
// or gets a new version; Tracker.Publish does.
func (t *Tracker) Rebuild(ctx context.Context, db store.DB, tenant, metricKey string) error {
	return t.exclusive(ctx, db, tenant, func(p *projector) error {
		if err := p.drain(); err != nil {
			return err
		}
		m, err := t.Metric(ctx, db, tenant, metricKey)
		if err != nil || m.Derived != nil {
			return err // a derived metric has no rollups to rebuild
		}
		_, err = p.recompute([]*Metric{m}, true)
		return err
	})
}

// recompute compares (and with repair rewrites) the buckets of the given
// metrics with a recompute from records.
func (p *projector) recompute(ms []*Metric, repair bool) (Report, error) {
	rep := Report{Metrics: len(ms), Drift: []Drift{}}
	byObject := map[string][]*Metric{}
	keys := map[string]bool{}
	for _, m := range ms {
		byObject[m.Object] = append(byObject[m.Object], m)
		keys[m.Key] = true
	}
	expected := map[string]map[string]Cell{} // bucket id → DD → cell
	perRecord := map[string][]Contribution{} // object:record → contributions of ms
	objectsSorted := make([]string, 0, len(byObject))
	for o := range byObject {
		objectsSorted = append(objectsSorted, o)
	}
	sort.Strings(objectsSorted)
	for _, object := range objectsSorted {
		obj, err := p.t.objects.Published(p.ctx, p.db, p.tenant, object)
		if err != nil {
			return rep, err
		}
		err = scanLive(p.ctx, p.db, object, func(rec records.Record) error {
			rep.Records++
			cs := contributionsAll(byObject[object], obj, &rec, p.tz)
			if len(cs) > 0 {
				perRecord[object+":"+rec.ID] = cs
			}
			for _, c := range cs {
				id := bucketID(c.Metric, c.Owner, c.Day[:7])
				if expected[id] == nil {
					expected[id] = map[string]Cell{}
				}
				x := expected[id][c.Day[8:]]
				expected[id][c.Day[8:]] = Cell{x.Sum + c.Sum, x.Count + c.Count}
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
	}
	for id, days := range expected {
		for dd, c := range days {
			if c == (Cell{}) {
				delete(days, dd)
			}
		}
		if len(days) == 0 {
			delete(expected, id)
		}
	}
	rep.Buckets = len(expected)

	// Compare with the stored buckets of these metrics.
	stored := map[string]store.Doc{}
	err := p.db.Scan(p.ctx, collRollup, store.Query{}, func(d store.Doc) error {
		if m, _ := d["metric"].(string); keys[baseKey(m)] {
			stored[store.ID(d)] = d
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("scan rollups: %w", err)
	}
	drifted := map[string]bool{}
	add := func(id string, d store.Doc, dd string, have, want Cell) {
		var metric, owner, month string
		if d != nil {
			metric, _ = d["metric"].(string)
			owner, _ = d["owner"].(string)
			month, _ = d["month"].(string)
		} else {
			metric, owner, month = splitBucketID(id)
		}
		rep.Drift = append(rep.Drift, Drift{Metric: metric, Owner: owner, Day: month + "-" + dd, Stored: have, Expected: want})
		drifted[id] = true
	}
	for id, d := range stored {
		days, _ := d["days"].(map[string]any)
		for dd, v := range days {
			if have, want := cellFrom(v), expected[id][dd]; have != want {
				add(id, d, dd, have, want)
			}
		}
		for dd, want := range expected[id] {
			if _, ok := days[dd]; !ok {
				add(id, d, dd, Cell{}, want)
			}
		}
	}
	for id, days := range expected {
		if _, ok := stored[id]; ok {
			continue
		}
		for dd, want := range days {
			add(id, nil, dd, Cell{}, want)
		}
	}
	sort.Slice(rep.Drift, func(i, j int) bool {
		a, b := rep.Drift[i], rep.Drift[j]
		if a.Metric != b.Metric {
			return a.Metric < b.Metric
		}
		if a.Owner != b.Owner {
			return a.Owner < b.Owner
		}
		return a.Day < b.Day
	})
	if !repair {
		return rep, nil
	}
	done, _, err := p.checkpoint()
	if err != nil {
		return rep, err
	}
	for id := range drifted {
		if err := p.renew(); err != nil {
			return rep, err
		}
		if err := rewriteBucket(p, id, stored[id], expected[id], done); err != nil {
			return rep, err
		}
	}
	if err := p.rewriteApplied(byObject, keys, perRecord, done); err != nil {
		return rep, err
	}
	rep.Repaired = true
	return rep, nil
}

// baseKey is the metric of a metric, dimension or open-pipeline key.
func baseKey(key string) string {
	if i := strings.IndexAny(key, "@#"); i >= 0 {
		return key[:i]
	}
	return key
}

func splitBucketID(id string) (metric, owner, month string) {
	// metric keys hold no '|'; months are the last 7 characters.
	for i := 0; i < len(id); i++ {
		if id[i] == '|' {
			metric = id[:i]
			rest := id[i+1:]
			if len(rest) >= 8 {
				owner, month = rest[:len(rest)-8], rest[len(rest)-7:]
			}
			return
		}
	}
	return
}

func rewriteBucket(p *projector, id string, cur store.Doc, want map[string]Cell, seq int64) error {
	days := map[string]any{}
	for dd, c := range want {
		days[dd] = map[string]any{"sum": c.Sum, "count": c.Count}
	}
	var err error
	switch {
	case cur == nil && len(days) == 0:
	case cur == nil:
		metric, owner, month := splitBucketID(id)
		_, err = p.db.Insert(p.ctx, collRollup, store.Doc{store.KeyID: id, "metric": metric, "owner": owner, "month": month, "days": days, "lastSeq": seq})
	case len(days) == 0:
		err = p.db.Delete(p.ctx, collRollup, id, store.Version(cur))
	default:
		cur["days"] = days
		if store.Int(cur["lastSeq"]) < seq {
			cur["lastSeq"] = seq
		}
		_, err = p.db.Replace(p.ctx, collRollup, cur, store.Version(cur))
	}
	if err != nil {
		return fmt.Errorf("repair bucket %s: %w", id, err)
	}
	return nil
}

// rewriteApplied makes every applied doc of the objects hold exactly the
// recomputed contributions for the metrics in keys (other metrics' entries
// are kept), so later deltas start from what the buckets now hold.
func (p *projector) rewriteApplied(byObject map[string][]*Metric, keys map[string]bool, perRecord map[string][]Contribution, seq int64) error {
	seen := map[string]bool{}
	for object := range byObject {
		var docs []store.Doc
		err := p.db.Scan(p.ctx, collApplied, store.Query{Where: []store.Cond{{Field: "object", Op: store.Eq, Value: object}}}, func(d store.Doc) error {
			docs = append(docs, d)
			return nil
		})
		if err != nil {
			return fmt.Errorf("scan applied: %w", err)
		}
		for _, d := range docs {
			id := store.ID(d)
			seen[id] = true
			cur := contribsFrom(d["contrib"])
			var next []Contribution
			for _, c := range cur {
				if !keys[baseKey(c.Metric)] {
					next = append(next, c)
				}
			}
			next = append(next, perRecord[id]...)
			sortContribs(next)
			sortContribs(cur)
			if sameContribs(cur, next) {
				continue
			}
			if err := p.renew(); err != nil {
				return err
			}
			if len(next) == 0 {
				err = p.db.Delete(p.ctx, collApplied, id, store.Version(d))
			} else {
				d["contrib"] = contribsDoc(next)
				_, err = p.db.Replace(p.ctx, collApplied, d, store.Version(d))
			}
			if err != nil {
				return fmt.Errorf("repair applied %s: %w", id, err)
			}
		}
	}
	for id, cs := range perRecord {
		if seen[id] {
			continue
		}
		if err := p.renew(); err != nil {
			return err
		}
		object, record := splitAppliedID(id)
		_, err := p.db.Insert(p.ctx, collApplied, store.Doc{store.KeyID: id, "object": object, "record": record, "contrib": contribsDoc(cs), "seq": seq})
		if err != nil && !errors.Is(err, store.ErrDuplicate) {
			return fmt.Errorf("repair applied %s: %w", id, err)
		}
	}
	return nil
}

func splitAppliedID(id string) (string, string) {
	for i := 0; i < len(id); i++ {
		if id[i] == ':' {
			return id[:i], id[i+1:]
		}
	}
	return id, ""
}
