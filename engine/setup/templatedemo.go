package setup

import (
	"context"
	"fmt"

	"stride/engine/demo"
	"stride/engine/templates"
)

// BootstrapBare is Bootstrap without the classic demo objects: the demo
// tenant and its admin only, for a first start that installs a template
// (SeedTemplateDemo) instead.
func (a *App) BootstrapBare(ctx context.Context, adminPassword string) (Result, error) {
	return bootstrap(ctx, a, adminPassword, false, false)
}

// SeedTemplateDemo installs a template into the demo tenant with a
// generated year of history (engine/demo): reps and deals of the given
// size, seed 1, every generated user with password. It runs once, on the
// first start of `stride serve` with STRIDE_DEMO naming a template, before
// the server takes requests (the generator backdates its writes through
// the context, so nothing else is affected).
func SeedTemplateDemo(ctx context.Context, a *App, b *templates.Bundle, password string, reps, deals int) (*demo.Result, error) {
	g := &demo.Generator{Tenants: a.Tenants, Records: a.Records, Pipelines: a.Pipelines, Tracker: a.Tracker, Targets: a.Targets, Templates: a.Templates, Commission: a.Commission}
	res, err := g.Run(ctx, demo.Options{Tenant: DemoTenant, Bundle: b, Reps: reps, Deals: deals, Seed: 1, Password: password})
	if err != nil {
		return nil, fmt.Errorf("demo data from template %s: %w", b.Metadata.Name, err)
	}
	return res, nil
}
