package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"stride/engine/auth"
	"stride/engine/commission"
	"stride/engine/jobs"
	"stride/engine/period"
	"stride/engine/records"
	"stride/engine/store"
)

// The demo's last steps, once the history and the published target plans
// exist: the managers rate their reps for every closed period of the
// template's scorecards, and the commission plans are run for every closed
// month of this fiscal year — older months approved and paid, the one
// before last approved, the last left a draft — so a newcomer meets a
// leaderboard with data and statements in every state.

// ratingSpec is what the demo writes for one rating object of a scorecard.
type ratingSpec struct {
	object, grain, userField, periodField string
	fields                                []string
	min, max                              map[string]float64
}

// ratingSpecs reads the rating items of the bundle's scorecards, by object
// and grain.
func ratingSpecs(scorecards []map[string]any) []*ratingSpec {
	var out []*ratingSpec
	byKey := map[string]*ratingSpec{}
	for _, sc := range scorecards {
		grain, _ := sc["grain"].(string)
		items, _ := sc["items"].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			if m["type"] != "rating" {
				continue
			}
			obj, _ := m["object"].(string)
			uf, _ := m["userField"].(string)
			pf, _ := m["periodField"].(string)
			field, _ := m["field"].(string)
			k := obj + "|" + grain + "|" + uf + "|" + pf
			rs := byKey[k]
			if rs == nil {
				rs = &ratingSpec{object: obj, grain: grain, userField: uf, periodField: pf, min: map[string]float64{}, max: map[string]float64{}}
				byKey[k] = rs
				out = append(out, rs)
			}
			if _, seen := rs.min[field]; seen {
				continue
			}
			scale, _ := m["scale"].(map[string]any)
			rs.fields = append(rs.fields, field)
			rs.min[field], rs.max[field] = num(scale["min"]), num(scale["max"])
		}
	}
	return out
}

// closedPeriods lists the periods of a grain that lie wholly in [from, to).
func closedPeriods(cal period.Calendar, g period.Grain, from, to time.Time) []period.Period {
	var out []period.Period
	for p := cal.Of(from, g); !p.End.After(to); p = cal.Of(p.End, g) {
		if !p.Start.Before(from) {
			out = append(out, p)
		}
	}
	return out
}

// rate writes a manager's rating of every rep for every closed period of
// the history (deterministic from the seed; better reps rate a little
// higher, as they tend to).
func (g *Generator) rate(ctx context.Context, db store.DB, opt Options, pl *plan, users []*auth.Principal, cal period.Calendar, start, end time.Time, res *Result) error {
	rng := rand.New(rand.NewPCG(uint64(opt.Seed), 0x5354524944450002))
	for _, rs := range ratingSpecs(opt.Bundle.Scorecards) {
		for _, per := range closedPeriods(cal, period.Grain(rs.grain), start, end) {
			at := per.End.Add(34 * time.Hour) // the day after, mid-morning
			if !at.Before(end) {
				at = end.Add(-time.Hour)
			}
			for i, pe := range pl.people {
				if pe.manager {
					continue
				}
				data := map[string]any{rs.userField: users[i].UserID, rs.periodField: per.Key}
				for _, f := range rs.fields {
					lo, hi := rs.min[f], rs.max[f]
					mid := lo + (hi-lo)*0.55
					v := math.Round(mid + (pe.winMul-1)*(hi-lo)*0.9 + rng.NormFloat64()*(hi-lo)*0.18)
					data[f] = int64(clamp(v, lo, hi))
				}
				mgr := users[pl.teams[pe.team].manager]
				key := "demo-rating-" + rs.object + "-" + per.Key + "-" + strconv.Itoa(i)
				if _, _, err := g.Records.Create(records.Backdated(ctx, at), db, mgr, rs.object, data, key); err != nil {
					return fmt.Errorf("demo rating %s %s of %s: %w", rs.object, per.Key, pe.username, err)
				}
				res.Ratings++
			}
		}
	}
	return nil
}

// pay runs the bundle's commission plans over the closed months of this
// fiscal year (as far as the history reaches), each month as a job, and
// moves the statements: older months approved by the rep's manager and
// paid by finance, the month before last approved, the last one a draft.
func (g *Generator) pay(ctx context.Context, db store.DB, opt Options, pl *plan, users []*auth.Principal, finance *auth.Principal,
	cal period.Calendar, start, end time.Time, res *Result) error {
	if g.Commission == nil || len(opt.Bundle.CommissionPlans) == 0 {
		return nil
	}
	managerOf := map[string]*auth.Principal{}
	for i, pe := range pl.people {
		if !pe.manager {
			managerOf[users[i].UserID] = users[pl.teams[pe.team].manager]
		}
	}
	fy := cal.Of(end.Add(-time.Nanosecond), period.Year)
	from := fy.Start
	if start.After(from) {
		from = start
	}
	admin := adminOf(ctx, db, opt.Tenant)
	actor := "demo"
	if admin != nil {
		actor = admin.UserID
	}
	for _, cp := range opt.Bundle.CommissionPlans {
		key, _ := cp["key"].(string)
		grain := period.Month
		if gr, _ := cp["grain"].(string); gr != "" {
			grain = period.Grain(gr)
		}
		pers := closedPeriods(cal, grain, from, end)
		for i, per := range pers {
			j, err := g.Commission.Run(ctx, db, opt.Tenant, actor, key, per.Key)
			if err != nil {
				return fmt.Errorf("demo commission run %s %s: %w", key, per.Key, err)
			}
			if j, err = waitJob(ctx, db, j.ID); err != nil {
				return err
			}
			if j.Status != jobs.StatusDone {
				msg := ""
				if j.Error != nil {
					msg = j.Error.Code + ": " + j.Error.Message
				}
				return fmt.Errorf("demo commission run %s %s: %s %s", key, per.Key, j.Status, msg)
			}
			res.Runs++
			var steps []string
			switch {
			case i < len(pers)-2:
				steps = []string{"approve", "pay"}
			case i == len(pers)-2:
				steps = []string{"approve"}
			}
			sts, err := g.statements(ctx, db, finance, key, per.Key)
			if err != nil {
				return err
			}
			for _, st := range sts {
				status := st.Status
				for _, action := range steps {
					by := finance
					if action == "approve" && managerOf[st.Rep] != nil {
						by = managerOf[st.Rep]
					}
					note := map[string]string{"approve": "演示数据:经理审批 / demo: approved by the manager", "pay": "演示数据:已发放 / demo: paid"}[action]
					if _, err := g.Commission.Transition(ctx, db, by, st.ID, action, note, 0); err != nil {
						return fmt.Errorf("demo statement %s: %s: %w", st.ID, action, err)
					}
					status = map[string]string{"approve": commission.StatusApproved, "pay": commission.StatusPaid}[action]
				}
				if res.Statements == nil {
					res.Statements = map[string]int{}
				}
				res.Statements[status]++
			}
		}
	}
	return nil
}

// statements lists every statement of a plan and period.
func (g *Generator) statements(ctx context.Context, db store.DB, p *auth.Principal, plan, per string) ([]*commission.Statement, error) {
	var out []*commission.Statement
	cursor := ""
	for {
		page, next, err := g.Commission.Statements(ctx, db, p, commission.ListQuery{Plan: plan, Period: per, Limit: 200, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// waitJob polls a job until it finishes.
func waitJob(ctx context.Context, db store.DB, id string) (jobs.Job, error) {
	for wait := time.Millisecond; ; wait = min(wait*2, 50*time.Millisecond) {
		j, err := jobs.Get(ctx, db, id)
		if err != nil {
			return j, err
		}
		if j.Finished() {
			return j, nil
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-time.After(wait):
		}
	}
}
