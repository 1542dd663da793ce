package setup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"stride/engine/alerts"
	"stride/engine/audit"
	"stride/engine/auth"
	"stride/engine/commission"
	"stride/engine/jobs"
	"stride/engine/objects"
	"stride/engine/pipeline"
	"stride/engine/plugin"
	"stride/engine/progress"
	"stride/engine/records"
	"stride/engine/reports"
	"stride/engine/rules"
	"stride/engine/scorecard"
	"stride/engine/secrets"
	"stride/engine/store"
	"stride/engine/targets"
	"stride/engine/templates"
	"stride/engine/tenant"
	"stride/engine/tracking"
)

// App is the wired engine over one store: the single place that knows which
// services exist and which collections they need. The binary and the tests
// build it the same way.
type App struct {
	Store     store.Store
	Tenants   *tenant.Registry
	Auth      *auth.Service
	Objects   *objects.Service
	Records   *records.Service
	Pipelines *pipeline.Service
	Tracker   *tracking.Tracker
	Progress  *progress.Service
	Targets   *targets.Service
	Templates *templates.Service
	// Jobs runs long work in the background (commission runs); set
	// Jobs.Instance to name this process before serving.
	Jobs       *jobs.Service
	Commission *commission.Service
	// Scorecards reads attainment like progress does (the tracker's
	// rollups, the target plans' targets); it declares its collections in
	// each tenant on first use.
	Scorecards *scorecard.Service
	// Reports runs report definitions, the built-in reports, period
	// reviews and exports.
	Reports *reports.Service
	// Plugins holds each tenant's plugin configurations (secrets sealed
	// under STRIDE_SECRET_KEY); Alerts evaluates alert rules on record
	// writes and schedules and delivers through the notifier plugins.
	Plugins *plugin.Configs
	Alerts  *alerts.Service
}

// New wires the engine over st and declares the system collections.
func New(ctx context.Context, st store.Store) (*App, error) {
	eng := rules.New(rules.Options{})
	objs := objects.NewService(eng)
	pipes := pipeline.New(objs, eng)
	var colls []store.Collection
	colls = append(colls, auth.Collections()...)
	colls = append(colls, audit.Collections()...)
	colls = append(colls, objs.Collections()...)
	colls = append(colls, records.Collections()...)
	colls = append(colls, pipes.Collections()...)
	reg := tenant.New(st, colls)
	sys, err := reg.System(ctx, auth.SystemCollections()...)
	if err != nil {
		return nil, fmt.Errorf("prepare system database: %w", err)
	}
	tr := tracking.New(objs, reg)
	tr.Async = true // the server projects in the background; progress reads Sync first
	reg.AddCollections(tr.Collections()...)
	tgts := targets.New(tr, eng, reg)
	reg.AddCollections(tgts.Collections()...)
	reg.AddCollections(templates.Collections()...)
	recs := records.NewService(objs)
	pipes.Attach(recs)
	recs.Use(tr.Hook())
	prog := progress.New(tr)
	tr.SetOpenWeight(pipes.OpenProbability)
	pipes.OnPublish(tr.RebuildObject)
	prog.SetTargets(tgts)
	js := jobs.New("local")
	reg.AddCollections(jobs.Collections()...)
	comm := commission.New(objs, tr, tgts, reg, js)
	reg.AddCollections(comm.Collections()...)
	keys, err := secrets.FromEnv()
	if err != nil {
		if !errors.Is(err, secrets.ErrNoKey) {
			return nil, err
		}
		keys = nil // plugins that need a secret cannot be configured
		slog.Debug("no " + secrets.EnvKey + ": plugin secrets cannot be stored")
	}
	plugs := &plugin.Configs{Keys: keys, Rules: eng}
	al := alerts.New(objs, recs, pipes, tr, prog, reg, plugs)
	recs.Use(al.Hook())
	reg.AddCollections(al.Collections()...)
	sc := scorecard.New(objs, tr, reg)
	sc.SetTargets(tgts)
	reg.AddCollections(sc.Collections()...)
	rep := reports.New(reports.Deps{Objects: objs, Records: recs, Tracker: tr, Progress: prog, Pipelines: pipes, Targets: tgts,
		Commission: comm, Tenants: reg})
	reg.AddCollections(rep.Collections()...)
	return &App{Plugins: plugs, Alerts: al, Jobs: js, Commission: comm, Scorecards: sc, Reports: rep, Store: st, Tenants: reg, Auth: auth.NewService(reg, sys), Objects: objs, Records: recs,
		Pipelines: pipes, Tracker: tr, Progress: prog, Targets: tgts,
		Templates: &templates.Service{Tenants: reg, Objects: objs, Pipelines: pipes, Tracker: tr, Targets: tgts, Commission: comm, Scorecards: sc}}, nil
}

// Shutdown releases what this instance holds (the tracking projector leases)
// so another instance or a tool can take over at once instead of waiting
// for the leases to expire. Call it after the HTTP server has drained.
func (a *App) Shutdown(ctx context.Context) {
	a.Jobs.Close(ctx)
	names, err := a.Tenants.List(ctx)
	if err != nil {
		return
	}
	for _, name := range names {
		if db, err := a.Tenants.DB(ctx, name); err == nil {
			a.Tracker.Stop(ctx, db, name)
		}
	}
}

// Background starts the work that runs beside the requests until ctx ends:
// for every tenant, the tracking projector recovers (replays its journal)
// and then drains its outbox periodically, picking up anything a failed or
// interrupted write left behind.
func (a *App) Background(ctx context.Context) error {
	names, err := a.Tenants.List(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		db, err := a.Tenants.DB(ctx, name)
		if err != nil {
			return err
		}
		if err := a.Tracker.Start(ctx, db, name); err != nil {
			return fmt.Errorf("recover tracking of %s: %w", name, err)
		}
		if _, err := a.Jobs.Recover(ctx, db); err != nil {
			return fmt.Errorf("recover jobs of %s: %w", name, err)
		}
		go a.Tracker.Run(ctx, db, name, 30*time.Second)
	}
	// One alert scheduler and dispatcher per process; leases make sure one
	// instance evaluates each scheduled run.
	go a.Alerts.Run(ctx, 20*time.Second)
	return nil
}

// Bootstrap runs first-start setup on the app (see the package function).
func (a *App) Bootstrap(ctx context.Context, adminPassword string) (Result, error) {
	return Bootstrap(ctx, a, adminPassword)
}

// BootstrapWithoutPipelines is Bootstrap minus the demo pipeline and
// metrics, for tests of pipeline and tracking semantics that publish their
// own over the demo objects.
func (a *App) BootstrapWithoutPipelines(ctx context.Context, adminPassword string) (Result, error) {
	return bootstrap(ctx, a, adminPassword, true, false)
}
