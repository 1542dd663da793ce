package setup

import (
	"context"
	"fmt"

	"stride/engine/audit"
	"stride/engine/auth"
	"stride/engine/objects"
	"stride/engine/pipeline"
	"stride/engine/records"
	"stride/engine/rules"
	"stride/engine/store"
	"stride/engine/tenant"
)

// App is the wired engine over one store: the single place that knows which
// services exist and which collections they need. The binary and the tests
// build it the same way.
type App struct {
	Store   store.Store
	Tenants *tenant.Registry
	Auth    *auth.Service
	Objects   *objects.Service
	Records   *records.Service
	Pipelines *pipeline.Service
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
	recs := records.NewService(objs)
	pipes.Attach(recs)
	return &App{Store: st, Tenants: reg, Auth: auth.NewService(reg, sys), Objects: objs, Records: recs, Pipelines: pipes}, nil
}

// Bootstrap runs first-start setup on the app (see the package function).
func (a *App) Bootstrap(ctx context.Context, adminPassword string) (Result, error) {
	return Bootstrap(ctx, a, adminPassword)
}

// BootstrapWithoutPipelines is Bootstrap minus the demo pipeline, for tests
// of pipeline semantics that publish pipelines of their own over the demo
// objects.
func (a *App) BootstrapWithoutPipelines(ctx context.Context, adminPassword string) (Result, error) {
	return bootstrap(ctx, a, adminPassword, false)
}
