package templates_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stride/engine/apperr"
	"stride/engine/setup"
	"stride/engine/store/sqlite"
	"stride/engine/templates"
	"stride/engine/tenant"
)

func open(t *testing.T) *setup.App {
	t.Helper()
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := setup.New(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Bootstrap(context.Background(), "admin-pass-123"); err != nil {
		t.Fatal(err)
	}
	return a
}

func newTenant(t *testing.T, a *setup.App, name string) {
	t.Helper()
	if _, err := a.Tenants.Create(context.Background(), tenant.Tenant{Name: name}); err != nil {
		t.Fatal(err)
	}
}

// demoBundle is the demo tenant's configuration exported as a bundle.
func demoBundle(t *testing.T, a *setup.App) *templates.Bundle {
	t.Helper()
	b, err := a.Templates.Export(context.Background(), "demo", templates.Metadata{Name: "demo", Version: "1.0.0", Label: map[string]string{"zh-CN": "演示"}})
	if err != nil {
		t.Fatal(err)
	}
	// A skeleton plan too: the demo has none published without the demo org.
	b.TargetPlans = append(b.TargetPlans, templates.PlanSkeleton{Key: "revenue", Definition: map[string]any{
		"label": map[string]any{"zh-CN": "赢单目标"}, "metric": "won_revenue", "amounts": map[string]any{"target": int64(100_000_000)},
		"granularity": int64(1_000_000), "seasonality": map[string]any{"source": "equal"}}})
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := templates.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func actions(rep *templates.Report) map[string]string {
	out := map[string]string{}
	for _, c := range rep.Changes {
		out[c.Kind+":"+c.Key] = c.Action
	}
	return out
}

// TestApplyIsIdempotentAndRoundTrips: apply to an empty tenant creates
// everything; applying again changes nothing; exporting and applying the
// export to a third tenant leaves no diff.
func TestApplyIsIdempotentAndRoundTrips(t *testing.T) {
	a := open(t)
	ctx := context.Background()
	b := demoBundle(t, a)
	newTenant(t, a, "acme")
	rep, err := a.Templates.Apply(ctx, "acme", b, templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k, act := range actions(rep) {
		if act != "create" {
			t.Fatalf("%s: %s on an empty tenant", k, act)
		}
	}
	if len(rep.Changes) != 6 {
		t.Fatalf("changes %v", rep.Changes)
	}
	rep, err = a.Templates.Apply(ctx, "acme", b, templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k, act := range actions(rep) {
		if act != "unchanged" {
			t.Fatalf("second apply: %s %s", k, act)
		}
	}
	if d, err := a.Templates.Diff(ctx, "acme", b); err != nil || len(d) != 0 {
		t.Fatalf("diff after apply: %v %v", d, err)
	}
	exp, err := a.Templates.Export(ctx, "acme", templates.Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(exp)
	again, err := templates.Parse(raw)
	if err != nil {
		t.Fatalf("export does not parse as a bundle: %v", err)
	}
	newTenant(t, a, "beta")
	if _, err := a.Templates.Apply(ctx, "beta", again, templates.Options{}); err != nil {
		t.Fatal(err)
	}
	if d, err := a.Templates.Diff(ctx, "beta", b); err != nil || len(d) != 0 {
		t.Fatalf("round trip leaves a diff: %+v %v", d, err)
	}
}

// TestLocalEditsAreConflictsAndUpgradesApply: a stage tweaked in the
// tenant is reported (and kept) when the template is applied again; a newer
// template version upgrades what the tenant did not touch, as new versions.
func TestLocalEditsAreConflictsAndUpgradesApply(t *testing.T) {
	a := open(t)
	ctx := context.Background()
	b := demoBundle(t, a)
	newTenant(t, a, "acme")
	if _, err := a.Templates.Apply(ctx, "acme", b, templates.Options{}); err != nil {
		t.Fatal(err)
	}
	db, _ := a.Tenants.DB(ctx, "acme")
	p, err := a.Pipelines.Get(ctx, db, "deal_sales")
	if err != nil {
		t.Fatal(err)
	}
	def := p.Definition
	stages := def["stages"].([]any)
	stages[0].(map[string]any)["slaDays"] = int64(7)
	if _, err := a.Pipelines.Save(ctx, db, "acme", "admin", "deal_sales", def, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Pipelines.Publish(ctx, db, "acme", "admin", "deal_sales"); err != nil {
		t.Fatal(err)
	}
	d, err := a.Templates.Diff(ctx, "acme", b)
	if err != nil || len(d) != 1 || d[0].Key != "deal_sales" || d[0].Changes[0].Path != "/stages/0/slaDays" {
		t.Fatalf("diff %+v %v", d, err)
	}
	// v1.1.0 changes a metric's label: an upgrade; the tweaked pipeline is a conflict.
	b.Metadata.Version = "1.1.0"
	for _, m := range b.Metrics {
		if m["key"] == "won_revenue" {
			m["label"] = map[string]any{"zh-CN": "赢单收入", "en": "Won revenue"}
		}
	}
	rep, err := a.Templates.Apply(ctx, "acme", b, templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	acts := actions(rep)
	if acts["pipeline:deal_sales"] != "conflict" || acts["metric:won_revenue"] != "upgrade" || acts["object:deal"] != "unchanged" || rep.Conflicts != 1 {
		t.Fatalf("actions %v", acts)
	}
	p, _ = a.Pipelines.Get(ctx, db, "deal_sales")
	if got := p.Definition["stages"].([]any)[0].(map[string]any)["slaDays"]; got != int64(7) {
		t.Fatalf("the local edit was overwritten: %v", got)
	}
	vs, err := a.Tracker.Definitions().Versions(ctx, db, "won_revenue")
	if err != nil || len(vs) != 2 {
		t.Fatalf("upgrade is a new version: %v %v", vs, err)
	}
	// Force overwrites the conflict.
	rep, err = a.Templates.Apply(ctx, "acme", b, templates.Options{Force: true})
	if err != nil || actions(rep)["pipeline:deal_sales"] != "overwrite" {
		t.Fatalf("force: %v %v", rep, err)
	}
	if d, _ := a.Templates.Diff(ctx, "acme", b); len(d) != 0 {
		t.Fatalf("diff after force: %+v", d)
	}
}

// TestBadBundleWritesNothing: a metric over an unknown field fails the whole
// apply with a pointer into the bundle; the tenant stays empty.
func TestBadBundleWritesNothing(t *testing.T) {
	a := open(t)
	ctx := context.Background()
	b := demoBundle(t, a)
	for _, m := range b.Metrics {
		if m["key"] == "won_revenue" {
			m["value"] = "amout"
		}
	}
	newTenant(t, a, "acme")
	_, err := a.Templates.Apply(ctx, "acme", b, templates.Options{})
	ae, ok := apperr.As(err)
	if !ok || ae.Kind != apperr.KindInvalid || len(ae.Fields) == 0 || !strings.HasPrefix(ae.Fields[0].Pointer, "/metrics/") ||
		!strings.HasSuffix(ae.Fields[0].Pointer, "/value") || ae.Fields[0].Hint == "" {
		t.Fatalf("want a 422 at /metrics/…/value with a hint, got %v", err)
	}
	db, _ := a.Tenants.DB(ctx, "acme")
	if objs, _ := a.Objects.List(ctx, db); len(objs) != 0 {
		t.Fatalf("a failed apply wrote %d objects", len(objs))
	}
	// The scratch tenant is gone.
	names, _ := a.Tenants.List(ctx)
	for _, n := range names {
		if strings.HasPrefix(n, "tplchk_") {
			t.Fatalf("scratch tenant %s left behind", n)
		}
	}
}

func TestParseRefusesBadBundles(t *testing.T) {
	cases := []struct{ name, doc, pointer string }{
		{"not json", `{`, ""},
		{"format", `{"bundle":"x","metadata":{"name":"a","version":"1.0.0","label":{"en":"A"}}}`, "/bundle"},
		{"version", `{"bundle":"stride.template/v1","metadata":{"name":"a","version":"1","label":{"en":"A"}}}`, "/metadata/version"},
		{"duplicate", `{"bundle":"stride.template/v1","metadata":{"name":"a","version":"1.0.0","label":{"en":"A"}},
			"metrics":[{"key":"m","label":{"en":"M"},"object":"o","dateField":"d","ownerField":"owner"},{"key":"m","label":{"en":"M"},"object":"o","dateField":"d","ownerField":"owner"}]}`, "/metrics/1/key"},
		{"object schema", `{"bundle":"stride.template/v1","metadata":{"name":"a","version":"1.0.0","label":{"en":"A"}},"objects":[{"key":"o"}]}`, "/objects/0"},
		{"skeleton year", `{"bundle":"stride.template/v1","metadata":{"name":"a","version":"1.0.0","label":{"en":"A"}},
			"targetPlans":[{"key":"p","definition":{"label":{"en":"P"},"metric":"m","fiscalYear":2026,"amounts":{"target":1},"granularity":1}}]}`, "/targetPlans/0/definition/fiscalYear"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := templates.Parse([]byte(c.doc))
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != apperr.KindInvalid {
				t.Fatalf("want 422, got %v", err)
			}
			if c.pointer != "" && (len(ae.Fields) == 0 || !strings.HasPrefix(ae.Fields[0].Pointer, c.pointer)) {
				t.Fatalf("want pointer %s, got %+v", c.pointer, ae.Fields)
			}
		})
	}
}

// FuzzParse: no bundle crashes the parser.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"bundle":"stride.template/v1","metadata":{"name":"a","version":"1.0.0","label":{"en":"A"}}}`))
	f.Add([]byte(`{"bundle":"stride.template/v1","metadata":{"name":"a","version":"1.0.0","label":{"en":"A"}},"objects":[{"key":"o","label":{"en":"O"}}]}`))
	matches, _ := filepath.Glob("../../examples/*/template.json")
	for _, m := range matches {
		if b, err := os.ReadFile(m); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		bd, err := templates.Parse(b)
		if err == nil && bd.Bundle != templates.Format {
			t.Fatalf("accepted a bundle of format %q", bd.Bundle)
		}
	})
}

// TestCommissionPlansAndScorecards: a template's commission plans and
// scorecards install (validated in the scratch tenant first), re-apply
// unchanged, export and diff clean, upgrade in place and report local edits
// as conflicts, like every other kind.
func TestCommissionPlansAndScorecards(t *testing.T) {
	a := open(t)
	ctx := context.Background()
	b, err := templates.Load(filepath.Join("..", "..", "examples", "saas"))
	if err != nil {
		t.Fatal(err)
	}
	newTenant(t, a, "acme")
	rep, err := a.Templates.Apply(ctx, "acme", b, templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	acts := actions(rep)
	if acts["commission_plan:saas_ae_plan"] != "create" || acts["scorecard:ae_monthly"] != "create" {
		t.Fatalf("actions %v", acts)
	}
	db, _ := a.Tenants.DB(ctx, "acme")
	if cp, err := a.Commission.Get(ctx, db, "saas_ae_plan"); err != nil || cp.PublishedVersion != 1 {
		t.Fatalf("plan not published: %+v %v", cp, err)
	}
	if sc, err := a.Scorecards.Get(ctx, db, "ae_monthly"); err != nil || sc.PublishedVersion != 1 {
		t.Fatalf("scorecard not published: %+v %v", sc, err)
	}
	rep, _ = a.Templates.Apply(ctx, "acme", b, templates.Options{})
	for k, act := range actions(rep) {
		if act != "unchanged" {
			t.Fatalf("second apply: %s %s", k, act)
		}
	}
	// Export → the same plans and scorecards; the export diffs clean.
	ex, err := a.Templates.Export(ctx, "acme", templates.Metadata{})
	if err != nil || len(ex.CommissionPlans) != 1 || len(ex.Scorecards) != 1 {
		t.Fatalf("export: %v %+v", err, ex)
	}
	raw, _ := json.Marshal(ex)
	ex2, err := templates.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := a.Templates.Diff(ctx, "acme", ex2); err != nil || len(d) != 0 {
		t.Fatalf("export diff: %+v %v", d, err)
	}
	// A local edit of the plan (a higher accelerator) is a conflict for
	// v1.1.0, which changes the scorecard's weights: an upgrade.
	cp, _ := a.Commission.Get(ctx, db, "saas_ae_plan")
	def := cp.Definition
	def["caps"] = map[string]any{"perLine": int64(5000000)}
	if _, err := a.Commission.Save(ctx, db, "acme", "admin", "saas_ae_plan", def, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commission.Publish(ctx, db, "acme", "admin", "saas_ae_plan"); err != nil {
		t.Fatal(err)
	}
	b.Metadata.Version = "1.1.0"
	b.Scorecards[0]["items"].([]any)[0].(map[string]any)["weight"] = int64(70)
	rep, err = a.Templates.Apply(ctx, "acme", b, templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	acts = actions(rep)
	if acts["commission_plan:saas_ae_plan"] != "conflict" || acts["scorecard:ae_monthly"] != "upgrade" || rep.Conflicts != 1 {
		t.Fatalf("actions %v", acts)
	}
	if vs, err := a.Scorecards.Versions(ctx, db, "ae_monthly"); err != nil || len(vs) != 2 {
		t.Fatalf("the upgrade is a new version: %v %v", vs, err)
	}
	// A broken plan is refused before anything is written, with a pointer
	// into the bundle.
	b.Metadata.Version = "1.2.0"
	b.CommissionPlans[0]["credits"].(map[string]any)["base"] = "arrr"
	b.Scorecards[0]["items"].([]any)[0].(map[string]any)["weight"] = int64(80)
	_, err = a.Templates.Apply(ctx, "acme", b, templates.Options{Force: true})
	ae, ok := apperr.As(err)
	if !ok || len(ae.Fields) == 0 || !strings.HasPrefix(ae.Fields[0].Pointer, "/commissionPlans/0/credits/base") {
		t.Fatalf("broken plan: %v", err)
	}
	if vs, _ := a.Scorecards.Versions(ctx, db, "ae_monthly"); len(vs) != 2 {
		t.Fatalf("a refused apply wrote the scorecard: %d versions", len(vs))
	}
}
