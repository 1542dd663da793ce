package tracking

import (
	"context"
	"fmt"
	"math/big"
	"strconv"

	"stride/engine/records"
	"stride/engine/store"
)

// The open pipeline is rolled up like any metric, so a weighted forecast
// costs what an actual costs (the org's size, not the record count): a
// record of a metric with a `where` that does not hold yet (a deal not won)
// but is open in a pipeline contributes, to the cells of OpenKey(metric),
// what it would contribute if `where` held — value, owner, credit split, day
// and dimension exactly as for the actual — weighted by its stage's
// probability and rounded half-even once per record (DESIGN.md §3: totals
// are sums of rounded lines). A metric without a `where` has no open cells:
// every record already counts in its actual (a count of new deals includes
// the open ones).
//
// The probability comes from the pipeline package through the OpenWeight
// the application injects (tracking must not import pipeline). Open cells
// are emitted by Contributions, so the projector, Reconcile and Rebuild keep
// them exact like every other cell; a record's stage change is a record
// write, and a published pipeline (probabilities may change) is followed by
// RebuildObject.

// openSuffix ends the metric key of open-pipeline cells. Metric keys cannot
// hold '#', and DimensionKey escapes it in dimension values.
const openSuffix = "#open"

// OpenKey is the metric key of the open-pipeline cells of a metric or
// dimension key: "<key>#open".
func OpenKey(key string) string { return key + openSuffix }

// OpenWeight reports whether a live record of object is open in a pipeline
// and, if so, its current stage's probability of being won, in percent
// (0–100, as configured: the weighting is exact decimal arithmetic). A
// record no pipeline governs, or in a terminal stage, is not open. It must
// depend only on the record and on published configuration.
type OpenWeight func(ctx context.Context, db store.DB, tenant, object string, rec *records.Record) (percent float64, open bool)

// SetOpenWeight sets where open-pipeline probabilities come from (nil: no
// open cells). Call it before the first write; changing it later requires a
// Reconcile with repair.
func (t *Tracker) SetOpenWeight(w OpenWeight) { t.openWeight = w }

// bindOpen returns m with its open weight bound to this call's context,
// database and tenant (m itself is cached and shared, so it is copied).
func (t *Tracker) bindOpen(ctx context.Context, db store.DB, tenant string, m *Metric) *Metric {
	if t.openWeight == nil || m.Derived != nil || m.Where == nil {
		return m
	}
	b := *m
	w, object := t.openWeight, m.Object
	b.open = func(rec *records.Record) (float64, bool) { return w(ctx, db, tenant, object, rec) }
	return &b
}

// RebuildObject recomputes and rewrites the rollups of every published metric
// over object that has open-pipeline cells (those with a `where`). Call it
// after a pipeline of the object is published: its probabilities, stages or
// match may have changed what every open record weighs.
func (t *Tracker) RebuildObject(ctx context.Context, db store.DB, tenant, object string) error {
	return t.exclusive(ctx, db, tenant, func(p *projector) error {
		if err := p.drain(); err != nil {
			return err
		}
		ms, err := t.metricsOf(ctx, db, tenant, object)
		if err != nil {
			return err
		}
		var weighed []*Metric
		for _, m := range ms {
			if m.Where != nil {
				weighed = append(weighed, m)
			}
		}
		if len(weighed) == 0 {
			return nil
		}
		_, err = p.recompute(weighed, true)
		return err
	})
}

// weighted is value × percent / 100 rounded half-even to an integer, exactly:
// percent is read as the shortest decimal that prints it (what the admin
// typed), not as its binary approximation, so 5 × 10 % is 0.5 → 0.
func weighted(value int64, percent float64) (int64, error) {
	p, ok := new(big.Rat).SetString(strconv.FormatFloat(percent, 'g', -1, 64))
	if !ok {
		return 0, fmt.Errorf("probability %v is not a number", percent)
	}
	x := new(big.Rat).Mul(new(big.Rat).SetInt64(value), p)
	x.Quo(x, big.NewRat(100, 1))
	num, den := x.Num(), x.Denom()
	q, r := new(big.Int).QuoRem(num, den, new(big.Int)) // truncated toward zero
	r.Abs(r).Lsh(r, 1)
	if c := r.Cmp(den); c > 0 || (c == 0 && new(big.Int).Abs(q).Bit(0) == 1) {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		return 0, fmt.Errorf("the weighted value is out of range")
	}
	return q.Int64(), nil
}
