// Package demo generates a deterministic, plausible year of sales history
// into a tenant from a template (issue 5): the template's configuration
// with its target plans published, an org of regions, teams, managers and
// reps of different skill, and deals created across the last twelve months
// with the template's seasonality, moved through its pipeline with win
// rates by stage, closed won or lost, some stuck past their stage SLA and
// some reversed.
//
// Everything is written through the same path as the API — records.Service
// Create and Patch, pipeline.Service Transition, each with the principal of
// the rep who owns the deal (or the rep's manager when a guard needs one) —
// so validation, computed fields, stage guards, required fields, stage
// history and tracking all apply. The simulated dates are real dates:
// every write runs under records.Backdated, so createdAt, updatedAt and the
// stage history carry the simulated instants.
//
// # Determinism
//
// The whole plan — org, skills, every deal's fields and timeline — is drawn
// from the seed before the first write; the writes then run on a small
// worker pool (the SQLite store group-commits concurrent writes), one deal
// per worker at a time and each deal's writes in order, so concurrency
// cannot change the outcome. Record ids are random (engine/ids); everything
// else is the same for the same template, parameters, seed and end date.
// The history ends at the start of the day the generator runs (Options.End),
// so two runs on the same day produce the same data.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/commission"
	"stride/engine/period"
	"stride/engine/pipeline"
	"stride/engine/records"
	"stride/engine/store"
	"stride/engine/targets"
	"stride/engine/templates"
	"stride/engine/tenant"
	"stride/engine/tracking"
)

// Generator writes demo data through the engine's services.
type Generator struct {
	Tenants   *tenant.Registry
	Records   *records.Service
	Pipelines *pipeline.Service
	Tracker   *tracking.Tracker
	Targets   *targets.Service
	Templates *templates.Service
	// Commission runs the template's commission plans over the history
	// (nil: no statements).
	Commission *commission.Service
}

// Options say what to generate.
type Options struct {
	Tenant string
	Bundle *templates.Bundle
	// Object is the template's main object; default the bundle's
	// demo.object. A pipeline governing it, its records are deals moved
	// through the pipeline; else Deals plain records of it are written
	// (payments, a store's daily sales) and, if the template has a
	// pipeline, a quarter as many deals of its first pipeline's object.
	Object string
	Reps   int
	Deals  int
	Seed   int64
	// End is when the simulated history stops; default the start of today
	// in the tenant's time zone.
	End time.Time
	// Password of every generated user (managers and reps).
	Password string
	// Workers writing deals concurrently; default 4.
	Workers int
	// Progress, if set, is called after each deal is written (from the
	// writing goroutines, one call at a time).
	Progress func(done, total int)
}

// Result counts what was generated.
type Result struct {
	Teams    int `json:"teams"`
	Managers int `json:"managers"`
	Reps     int `json:"reps"`
	Deals    int `json:"deals"`
	Won      int `json:"won"`
	Lost     int `json:"lost"`
	Open     int `json:"open"`
	// Stuck counts open deals whose current stage has outlasted its SLA at End.
	Stuck int `json:"stuck"`
	// Reversed counts deals reversed after a move (an amendment of a won
	// deal, a cancellation, or a move back a stage).
	Reversed int `json:"reversed"`
	// ByManager counts transitions a guard refused to the rep and the
	// rep's manager then made.
	ByManager int `json:"byManager"`
	Writes    int `json:"writes"`
	// Users lists the generated usernames: managers first, then reps.
	Users []string `json:"users"`
	// Object and Records: the main object when no pipeline governs it,
	// and how many of its records were written.
	Object  string `json:"object,omitempty"`
	Records int    `json:"records"`
	// Finance is the username of the finance person who pays statements.
	Finance string `json:"finance"`
	// Ratings written by managers for the scorecards; commission Runs and
	// the Statements they produced, by status.
	Ratings    int            `json:"ratings"`
	Runs       int            `json:"runs"`
	Statements map[string]int `json:"statements"`
}

// Run generates the demo into an existing tenant, which should have no
// data of the template's object yet (usernames must be free).
func (g *Generator) Run(ctx context.Context, opt Options) (*Result, error) {
	if opt.Bundle == nil {
		return nil, errors.New("demo: no template")
	}
	if opt.Reps < 1 || opt.Deals < 0 {
		return nil, apperr.Invalid("the demo needs at least one rep and a non-negative number of deals")
	}
	if opt.Workers <= 0 {
		opt.Workers = 4
	}
	if opt.Password == "" {
		return nil, errors.New("demo: no password for the generated users")
	}
	db, err := g.Tenants.DB(ctx, opt.Tenant)
	if err != nil {
		return nil, err
	}
	tn, err := g.Tenants.Get(ctx, opt.Tenant)
	if err != nil {
		return nil, err
	}
	loc := tn.Calendar().Location
	if loc == nil {
		loc = time.UTC
	}
	end := opt.End
	if end.IsZero() {
		now := time.Now().In(loc)
		end = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	}
	object := opt.Object
	if object == "" {
		object, _ = opt.Bundle.Demo["object"].(string)
	}
	// Deals move through a pipeline; a main object no pipeline governs
	// (payments, daily sales) gets plain records, and the first pipeline's
	// object a quarter as many deals.
	governed := false
	for _, p := range opt.Bundle.Pipelines {
		governed = governed || p["object"] == object
	}
	deals, flatObject, flats := opt.Deals, "", 0
	if !governed {
		if object != "" {
			flatObject, flats, deals = object, opt.Deals, opt.Deals/4
		}
		object = ""
		if len(opt.Bundle.Pipelines) > 0 {
			object, _ = opt.Bundle.Pipelines[0]["object"].(string)
		}
	}
	pl, err := buildPlan(opt.Bundle, object, opt.Reps, deals, flatObject, flats, opt.Seed, end, loc)
	if err != nil {
		return nil, err
	}
	// Configuration first (plans stay drafts until the org and history
	// exist: their allocation reads both).
	t0 := time.Now()
	phase := func(name string) {
		slog.Debug("demo phase done", "phase", name, "took", time.Since(t0).Round(time.Millisecond))
		t0 = time.Now()
	}
	rep, err := g.Templates.Apply(ctx, opt.Tenant, opt.Bundle, templates.Options{})
	if err != nil {
		return nil, err
	}
	if rep.Conflicts > 0 {
		return nil, fmt.Errorf("template %s conflicts with local edits in tenant %s (%d); apply it with -force first", opt.Bundle.Metadata.Name, opt.Tenant, rep.Conflicts)
	}
	phase("apply")
	res := &Result{Deals: len(pl.deals), Object: flatObject, Records: len(pl.flat)}
	users, teamIDs, err := g.buildOrg(ctx, db, opt.Tenant, pl, end, opt.Password, res)
	if err != nil {
		return nil, err
	}
	finance, err := g.financeUser(ctx, db, opt.Tenant, opt.Password, res)
	if err != nil {
		return nil, err
	}
	admin := adminOf(ctx, db, opt.Tenant)
	if err := g.writeDeals(ctx, db, opt, pl, users, admin, res); err != nil {
		return nil, err
	}
	phase("write")
	if err := g.Tracker.Sync(ctx, db, opt.Tenant); err != nil {
		return nil, fmt.Errorf("project the demo's metrics: %w", err)
	}
	start := time.Date(end.Year()-1, end.Month(), end.Day(), 0, 0, 0, 0, loc)
	if err := g.publishPlans(ctx, db, opt, pl, users, teamIDs, start, end); err != nil {
		return nil, err
	}
	phase("plans")
	cal := tn.Calendar()
	if err := g.rate(ctx, db, opt, pl, users, cal, start, end, res); err != nil {
		return nil, err
	}
	if err := g.Tracker.Sync(ctx, db, opt.Tenant); err != nil {
		return nil, fmt.Errorf("project the demo's metrics: %w", err)
	}
	phase("ratings")
	if err := g.pay(ctx, db, opt, pl, users, finance, cal, start, end, res); err != nil {
		return nil, err
	}
	phase("statements")
	for _, d := range pl.deals {
		switch d.outcome {
		case "won":
			res.Won++
		case "lost":
			res.Lost++
		default:
			res.Open++
			if stuckAt(pl, d, end) {
				res.Stuck++
			}
		}
		for _, s := range d.steps {
			if s.kind == "reverse" && s.at.Before(end) {
				res.Reversed++
				break
			}
		}
	}
	return res, nil
}

// stuckAt reports whether an open deal has been in its stage longer than
// the stage's SLA at end.
func stuckAt(pl *plan, d dealPlan, end time.Time) bool {
	stage, since := pl.open[0], d.created
	for _, s := range d.steps {
		for _, o := range pl.open {
			if o.key == s.to {
				stage, since = o, s.at
			}
		}
	}
	return end.Sub(since) > time.Duration(stage.sla)*24*time.Hour
}

// adminOf returns the principal of the tenant's admin user, nil if none.
func adminOf(ctx context.Context, db store.DB, tenantName string) *auth.Principal {
	us, err := auth.ListUsers(ctx, db)
	if err != nil {
		return nil
	}
	for _, u := range us {
		for _, r := range u.Roles {
			if r == auth.RoleAdmin && !u.Disabled {
				return &auth.Principal{Tenant: tenantName, UserID: u.ID, Username: u.Username, Roles: u.Roles}
			}
		}
	}
	return nil
}

// financeUser creates the finance person who pays statements.
func (g *Generator) financeUser(ctx context.Context, db store.DB, tenantName, password string, res *Result) (*auth.Principal, error) {
	u, d, roles, pw := "finance", "钱会计", []auth.Role{auth.RoleFinance}, password
	created, err := auth.CreateUser(ctx, db, "demo", auth.UserInput{Username: &u, DisplayName: &d, Roles: &roles, Password: &pw})
	if err != nil {
		return nil, fmt.Errorf("demo user %s: %w", u, err)
	}
	res.Finance = u
	return &auth.Principal{Tenant: tenantName, UserID: created.ID, Username: created.Username, Roles: created.Roles}, nil
}

// buildOrg creates the teams, users and memberships; it returns the
// principals by person index and the team ids by team key.
func (g *Generator) buildOrg(ctx context.Context, db store.DB, tenantName string, pl *plan, end time.Time, password string, res *Result) ([]*auth.Principal, map[string]string, error) {
	users := make([]*auth.Principal, len(pl.people))
	for i, pe := range pl.people {
		role := auth.RoleRep
		if pe.manager {
			role = auth.RoleManager
		}
		u, d, roles, pw := pe.username, pe.display, []auth.Role{role}, password
		created, err := auth.CreateUser(ctx, db, "demo", auth.UserInput{Username: &u, DisplayName: &d, Roles: &roles, Password: &pw})
		if err != nil {
			return nil, nil, fmt.Errorf("demo user %s: %w", u, err)
		}
		users[i] = &auth.Principal{Tenant: tenantName, UserID: created.ID, Username: created.Username, Roles: created.Roles}
		res.Users = append(res.Users, u)
		if pe.manager {
			res.Managers++
		} else {
			res.Reps++
		}
	}
	ids := map[string]string{}
	from := end.AddDate(-1, -1, 0)
	fromDay := dateOf(time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, from.Location()), from.Location())
	for _, t := range pl.teams {
		name, parent := t.name, ids[t.parent]
		managers := []string{}
		if t.manager >= 0 {
			managers = append(managers, users[t.manager].UserID)
		}
		saved, err := auth.SaveTeam(ctx, db, "demo", "", auth.TeamInput{Name: &name, ParentID: &parent, Managers: &managers}, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("demo team %s: %w", t.name, err)
		}
		ids[t.key] = saved.ID
		res.Teams++
	}
	for i, pe := range pl.people {
		if pe.manager {
			continue
		}
		if _, err := auth.AddMember(ctx, db, "demo", ids[pl.teams[pe.team].key], auth.Membership{UserID: users[i].UserID, From: fromDay}); err != nil {
			return nil, nil, fmt.Errorf("demo membership of %s: %w", pe.username, err)
		}
	}
	return users, ids, nil
}

// writeDeals writes every deal of the plan, a few concurrently.
func (g *Generator) writeDeals(ctx context.Context, db store.DB, opt Options, pl *plan, users []*auth.Principal, admin *auth.Principal, res *Result) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	var (
		mu        sync.Mutex
		firstErr  error
		done      int
		writes    atomic.Int64
		byManager atomic.Int64
	)
	workers := min(opt.Workers, max(1, runtime.GOMAXPROCS(0)*4))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				var n, m int
				var err error
				if i < len(pl.deals) {
					n, m, err = g.writeDeal(ctx, db, pl, i, users, admin)
				} else {
					n, err = g.writeFlat(ctx, db, pl, i-len(pl.deals), users)
				}
				writes.Add(int64(n))
				byManager.Add(int64(m))
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				done++
				if opt.Progress != nil {
					opt.Progress(done, len(pl.deals)+len(pl.flat))
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range len(pl.deals) + len(pl.flat) {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	res.Writes = int(writes.Load())
	res.ByManager = int(byManager.Load())
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// writeDeal creates one deal and plays its steps; it returns the writes
// made and the transitions a manager made.
func (g *Generator) writeDeal(ctx context.Context, db store.DB, pl *plan, i int, users []*auth.Principal, admin *auth.Principal) (int, int, error) {
	d := pl.deals[i]
	owner := users[d.rep]
	manager := users[pl.teams[pl.people[d.rep].team].manager]
	data := make(map[string]any, len(d.data))
	for k, v := range d.data {
		data[k] = v
	}
	rec, _, err := g.Records.Create(records.Backdated(ctx, d.created), db, owner, pl.obj.key, data, "demo-"+strconv.Itoa(i))
	if err != nil {
		return 0, 0, fmt.Errorf("demo deal %d: create: %w", i, err)
	}
	writes, byMgr := 1, 0
	for _, s := range d.steps {
		at := records.Backdated(ctx, s.at)
		if s.patch != nil {
			if _, err := g.Records.Patch(at, db, owner, pl.obj.key, rec.ID, s.patch, 0); err != nil {
				return writes, byMgr, fmt.Errorf("demo deal %d: patch before %s: %w", i, s.kind, err)
			}
			writes++
		}
		if s.to == "" {
			continue
		}
		// The owner moves the deal; a guard that needs more authority (a
		// large discount) is met by the rep's manager, as in real life.
		_, err := g.Pipelines.Transition(at, db, owner, pl.obj.key, rec.ID, s.to, "", 0)
		for _, by := range []*auth.Principal{manager, admin} {
			if ae, ok := apperr.As(err); !ok || ae.Code != pipeline.CodeGuardRefused || by == nil {
				break
			}
			if _, err = g.Pipelines.Transition(at, db, by, pl.obj.key, rec.ID, s.to, "经理推进 / moved by manager", 0); err == nil {
				byMgr++
			}
		}
		if err != nil {
			return writes, byMgr, fmt.Errorf("demo deal %d: move to %s: %w", i, s.to, err)
		}
		writes++
	}
	return writes, byMgr, nil
}

// writeFlat creates one plain record as its owner.
func (g *Generator) writeFlat(ctx context.Context, db store.DB, pl *plan, i int, users []*auth.Principal) (int, error) {
	r := pl.flat[i]
	data := make(map[string]any, len(r.data))
	for k, v := range r.data {
		data[k] = v
	}
	if _, _, err := g.Records.Create(records.Backdated(ctx, r.at), db, users[r.rep], pl.flatObj.key, data, "demo-r-"+strconv.Itoa(i)); err != nil {
		return 0, fmt.Errorf("demo %s %d: create: %w", pl.flatObj.key, i, err)
	}
	return 1, nil
}

// publishPlans gives the template's target plans their node inputs (the
// org's potential) and amounts sized to the generated history (a year's
// actual is this year's target, so attainment is spread around 100 %), and
// publishes them, now that the history they allocate from exists.
func (g *Generator) publishPlans(ctx context.Context, db store.DB, opt Options, pl *plan, users []*auth.Principal, teamIDs map[string]string, start, end time.Time) error {
	var reps []string
	for i, pe := range pl.people {
		if !pe.manager {
			reps = append(reps, users[i].UserID)
		}
	}
	for _, sk := range opt.Bundle.TargetPlans {
		p, err := g.Targets.Get(ctx, db, sk.Key)
		if err != nil {
			return err
		}
		def := p.Definition
		if metric, _ := def["metric"].(string); metric != "" {
			c, err := g.Tracker.Actual(ctx, db, opt.Tenant, metric, reps, period.FormatDate(start), period.FormatDate(end.AddDate(0, 0, -1)))
			if err != nil {
				return fmt.Errorf("demo target plan %s: read the history: %w", sk.Key, err)
			}
			if c.Sum > 0 {
				gran := int64(num(def["granularity"]))
				if gran <= 0 {
					gran = 1
				}
				round := func(f float64) int64 { return max(gran, int64(math.Round(float64(c.Sum)*f/float64(gran)))*gran) }
				def["amounts"] = map[string]any{"floor": round(0.85), "target": round(1), "stretch": round(1.15)}
			}
		}
		nodes, _ := def["nodes"].(map[string]any)
		if nodes == nil {
			nodes = map[string]any{}
		}
		for _, t := range pl.teams {
			if t.potential > 0 && t.parent != "" {
				nodes["team:"+teamIDs[t.key]] = map[string]any{"inputs": map[string]any{"potential": t.potential}}
			}
		}
		def["nodes"] = nodes
		if _, err := g.Targets.Save(ctx, db, opt.Tenant, "demo", sk.Key, def, 0); err != nil {
			return fmt.Errorf("demo target plan %s: %w", sk.Key, err)
		}
		if _, err := g.Targets.Publish(ctx, db, opt.Tenant, "demo", sk.Key, "演示数据 / demo data"); err != nil {
			return fmt.Errorf("publish target plan %s: %w", sk.Key, err)
		}
	}
	return nil
}
