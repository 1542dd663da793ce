package tracking

import (
	"context"
	"math"

	"stride/engine/records"
	"stride/engine/store"
)

// Credit decides whether a contribution to owner on day (YYYY-MM-DD) counts
// for the node being forecast.
type Credit func(owner, day string) bool

// Weight returns the probability (0–1) that an open record will come to
// count for the metric, and false for records that are not open (a terminal
// stage, or no pipeline).
type Weight func(rec *records.Record) (float64, bool)

// OpenWeighted sums, over the open records of the metric's object that do
// not count yet (their `where` fails; a metric without one has no pipeline to
// weigh and adds 0), what each would contribute if its `where` held — value, date, owner and credit splits
// exactly as Contributions computes them — weighted by weight, for the
// contributions credit accepts within from..to (days inclusive). It is the
// open-pipeline half of a weighted forecast: actual + OpenWeighted. It scans
// the object's live records (open pipelines are small next to history).
func (t *Tracker) OpenWeighted(ctx context.Context, db store.DB, tenant, metricKey string, from, to string, credit Credit, weight Weight) (int64, error) {
	if err := checkRange(from, to); err != nil {
		return 0, err
	}
	m, err := t.Metric(ctx, db, tenant, metricKey)
	if err != nil {
		return 0, err
	}
	obj, err := t.objects.Published(ctx, db, tenant, m.Object)
	if err != nil {
		return 0, err
	}
	tz, err := t.location(ctx, tenant)
	if err != nil {
		return 0, err
	}
	if m.Where == nil {
		// Every record already counts in the actual: there is no pipeline
		// left to weigh (a count of new deals includes the open ones).
		return 0, nil
	}
	// The same metric without its condition: what the record would add.
	unconditional := *m
	unconditional.Where = nil
	var total float64
	err = scanLive(ctx, db, m.Object, func(rec records.Record) error {
		w, open := weight(&rec)
		if !open || w <= 0 {
			return nil
		}
		if ok, err := m.Where.Run(obj.Schema.ToEnv(rec.Data)); err == nil && ok == true {
			return nil // already counted in the actual: not pipeline
		}
		cs, err := Contributions(&unconditional, obj, &rec, tz)
		if err != nil {
			return nil // a record whose formulas fail contributes nothing, as in the rollups
		}
		for _, c := range cs {
			if c.Metric == metricKey && c.Day >= from && c.Day <= to && credit(c.Owner, c.Day) {
				total += float64(c.Sum) * w
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int64(math.Round(total)), nil
}

// TeamCredit returns the Credit of a team node: a contribution counts when
// its owner belonged to the team's subtree on its day (as in TeamActual).
func (t *Tracker) TeamCredit(ctx context.Context, db store.DB, teamID, from, to string) (Credit, error) {
	ranges, err := teamRanges(ctx, db, teamID, from, to)
	if err != nil {
		return nil, err
	}
	return func(owner, day string) bool {
		for _, r := range ranges[owner] {
			if day >= r.from && day <= r.to {
				return true
			}
		}
		return false
	}, nil
}
