package targets

import (
	"context"
	"strconv"
	"sync"

	"stride/engine/period"
	"stride/engine/progress"
	"stride/engine/store"
	"stride/engine/targets/alloc"
)

// TargetsOf answers Target for many nodes of one metric, level and period at
// once (leaderboards ask for every member): the plan version's level is
// read in one scan instead of two reads per node. q.Node is ignored; nodes
// without a target are absent from the answer. A dimension query (q.Dim)
// is answered node by node through Target.
func (s *Service) TargetsOf(ctx context.Context, db store.DB, tenantName string, q progress.TargetQuery, nodes []string) (map[string]progress.TargetAnswer, error) {
	out := make(map[string]progress.TargetAnswer, len(nodes))
	if q.Dim != "" {
		for _, n := range nodes {
			q.Node = n
			a, ok, err := s.Target(ctx, db, tenantName, q)
			if err != nil {
				return nil, err
			}
			if ok {
				out[n] = a
			}
		}
		return out, nil
	}
	plans, err := s.plansInForce(ctx, db)
	if err != nil {
		return nil, err
	}
	cal, err := s.calendar(ctx, tenantName)
	if err != nil {
		return nil, err
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
		r, err := s.levelOf(ctx, db, pr.key, pr.version, level)
		if err != nil {
			if isNotFound(err) {
				return out, nil
			}
			return nil, err
		}
		for _, n := range nodes {
			a := r.Nodes[n]
			if a == nil {
				continue
			}
			amt, err := r.Amount(a.Key, q.Period)
			if err != nil {
				continue // a period the plan does not cover
			}
			exp, err := r.Expected(a.Key, q.Period, q.At)
			if err != nil {
				continue
			}
			out[n] = progress.TargetAnswer{Target: amt, Expected: exp, Plan: pr.key, Version: pr.version}
		}
		return out, nil
	}
	return out, nil
}

// levels caches whole levels of published versions for TargetsOf: a
// published version never changes, so an entry is never stale; the cache
// is emptied when it holds maxLevels entries.
var levels struct {
	sync.Mutex
	m map[levelKey]*alloc.Result
}

const maxLevels = 32

type levelKey struct {
	db          store.DB
	plan, level string
	version     int64
}

// levelOf returns a whole level of a published version (read-only: the
// queries of alloc.Result do not modify it).
func (s *Service) levelOf(ctx context.Context, db store.DB, key string, v int64, level string) (*alloc.Result, error) {
	k := levelKey{db, key, level, v}
	levels.Lock()
	r, ok := levels.m[k]
	levels.Unlock()
	if ok {
		return r, nil
	}
	r, err := s.loadResult(ctx, db, key, v, level)
	if err != nil {
		return nil, err
	}
	levels.Lock()
	if levels.m == nil || len(levels.m) >= maxLevels {
		levels.m = map[levelKey]*alloc.Result{}
	}
	levels.m[k] = r
	levels.Unlock()
	return r, nil
}
