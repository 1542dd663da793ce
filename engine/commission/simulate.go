package commission

import (
	"context"
	"sort"

	"stride/engine/apperr"
	"stride/engine/commission/calc"
	"stride/engine/period"
	"stride/engine/store"
)

// Simulation compares the draft of a plan with the version in force over
// one period, per rep and in total. Nothing is written.
type Simulation struct {
	Plan      string `json:"plan"`
	Period    string `json:"period"`
	Published int64  `json:"publishedVersion"` // 0: nothing in force (old = 0)
	// Old, New and Delta are totals over every rep, in minor units.
	Old    int64           `json:"old"`
	New    int64           `json:"new"`
	Delta  int64           `json:"delta"`
	Reps   []SimulationRow `json:"reps"`
	Errors []SimulationErr `json:"errors"`
}

// SimulationRow is one rep's old and new total.
type SimulationRow struct {
	Rep   string `json:"rep"`
	Name  string `json:"name"`
	Old   int64  `json:"old"`
	New   int64  `json:"new"`
	Delta int64  `json:"delta"`
	// Lines is the number of lines of the new statement.
	Lines int `json:"lines"`
}

// SimulationErr is a rep's error under one of the two versions.
type SimulationErr struct {
	Version string `json:"version"` // "published" or "draft"
	calc.RepError
}

// Simulate runs the plan's working copy (draft) and the version in force
// over the period in memory and returns per-rep old/new/delta and totals.
func (s *Service) Simulate(ctx context.Context, db store.DB, tenant, planKey, periodKey string) (*Simulation, error) {
	cal, err := s.calendar(ctx, tenant)
	if err != nil {
		return nil, err
	}
	draft, err := s.draft(ctx, db, tenant, planKey)
	if err != nil {
		return nil, err
	}
	per, err := statementPeriod(cal, draft, periodKey)
	if err != nil {
		return nil, err
	}
	sim := &Simulation{Plan: planKey, Period: per.Key, Reps: []SimulationRow{}, Errors: []SimulationErr{}}
	rows := map[string]*SimulationRow{}
	row := func(r calc.Rep) *SimulationRow {
		if x := rows[r.ID]; x != nil {
			return x
		}
		x := &SimulationRow{Rep: r.ID, Name: r.Name}
		rows[r.ID] = x
		return x
	}
	pub, err := s.inForce(ctx, db, tenant, planKey, per)
	switch ae, _ := apperr.As(err); {
	case err == nil:
		if pub.Grain != draft.Grain {
			return nil, apperr.Invalid("the draft changes the plan's grain", apperr.FieldError{Pointer: "/period", Code: "grain",
				Message: "the draft and the published version pay per different periods; simulate a period of each separately"})
		}
		sim.Published = pub.Version
		if err := s.simulateOne(ctx, db, tenant, pub, per, "published", sim, func(r calc.Rep, res calc.Result) {
			row(r).Old = res.Total
		}); err != nil {
			return nil, err
		}
	case ae != nil && (ae.Kind == apperr.KindInvalid || ae.Kind == apperr.KindNotFound):
		// Never published, or nothing in force then: everything is new.
	default:
		return nil, err
	}
	if err := s.simulateOne(ctx, db, tenant, draft, per, "draft", sim, func(r calc.Rep, res calc.Result) {
		x := row(r)
		x.New, x.Lines = res.Total, len(res.Lines)
	}); err != nil {
		return nil, err
	}
	for _, x := range rows {
		x.Delta = x.New - x.Old
		sim.Old += x.Old
		sim.New += x.New
		sim.Reps = append(sim.Reps, *x)
	}
	sim.Delta = sim.New - sim.Old
	sort.Slice(sim.Reps, func(i, j int) bool {
		if sim.Reps[i].Delta != sim.Reps[j].Delta {
			return abs(sim.Reps[i].Delta) > abs(sim.Reps[j].Delta)
		}
		return sim.Reps[i].Rep < sim.Reps[j].Rep
	})
	return sim, nil
}

func (s *Service) simulateOne(ctx context.Context, db store.DB, tenant string, pl *Plan, per period.Period, which string, sim *Simulation, fn func(calc.Rep, calc.Result)) error {
	g, err := s.gather(ctx, db, tenant, pl, per, false)
	if err != nil {
		return err
	}
	for _, r := range g.reps {
		res, _, rerr := g.calculate(r.ID)
		if rerr != nil {
			sim.Errors = append(sim.Errors, SimulationErr{Version: which, RepError: *rerr})
			continue
		}
		fn(r, res)
	}
	return nil
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
