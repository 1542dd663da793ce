package targets

import (
	"context"
	"strconv"

	"stride/engine/period"
	"stride/engine/progress"
	"stride/engine/store"
)

// Target answers progress: the node's target over the period from the plan
// version in force for the metric and the period's fiscal year, and the part
// of it expected by q.At (months pro rata, so seasonality shapes pacing).
// ok is false when no published plan covers the node and period.
func (s *Service) Target(ctx context.Context, db store.DB, tenantName string, q progress.TargetQuery) (progress.TargetAnswer, bool, error) {
	plans, err := s.plansInForce(ctx, db)
	if err != nil {
		return progress.TargetAnswer{}, false, err
	}
	cal, err := s.calendar(ctx, tenantName)
	if err != nil {
		return progress.TargetAnswer{}, false, err
	}
	fy := cal.Of(q.Period.Start, period.Year)
	level := q.Level
	if level == "" {
		level = LevelTarget
	}
	for _, pr := range plans {
		if pr.metric != q.Metric || strconv.Itoa(pr.fiscalYear) != fy.Key {
			continue
		}
		h, err := s.header(ctx, db, pr.key, pr.version, level)
		if err != nil {
			if isNotFound(err) {
				return progress.TargetAnswer{}, false, nil
			}
			return progress.TargetAnswer{}, false, err
		}
		a, err := storedNodes(ctx, db, pr.key, pr.version, level)(q.Node)
		if err != nil || a == nil {
			return progress.TargetAnswer{}, false, err
		}
		r := one(h, a)
		var amt, exp int64
		if q.Dim != "" {
			amt, err = r.DimAmount(a.Key, q.Dim, q.Period)
			if err != nil {
				return progress.TargetAnswer{}, false, nil
			}
			// Expected for a dimension value: its share of the node's expected.
			total, err1 := r.Amount(a.Key, q.Period)
			e, err2 := r.Expected(a.Key, q.Period, q.At)
			if err1 == nil && err2 == nil && total > 0 {
				exp = e * amt / total
			}
		} else {
			amt, err = r.Amount(a.Key, q.Period)
			if err != nil {
				return progress.TargetAnswer{}, false, nil // a period the plan does not cover
			}
			exp, err = r.Expected(a.Key, q.Period, q.At)
			if err != nil {
				return progress.TargetAnswer{}, false, nil
			}
		}
		return progress.TargetAnswer{Target: amt, Expected: exp, Plan: pr.key, Version: pr.version}, true, nil
	}
	return progress.TargetAnswer{}, false, nil
}
