package api_test

import (
	"testing"
)

// TestTemplatesOverTheAPI: the gallery lists the built-in templates; an
// admin installs one by name (dry run first), applying again changes
// nothing, the export diffs clean against the tenant, and a bad bundle is a
// 422 pointing into it with nothing written.
func TestTemplatesOverTheAPI(t *testing.T) {
	e := newEnv(t)
	g := e.do("GET", "/api/v1/templates", e.admin, nil).must(t, 200)
	names := map[string]bool{}
	for _, it := range g.body["items"].([]any) {
		names[it.(map[string]any)["name"].(string)] = true
	}
	for _, n := range []string{"saas", "pharma", "manufacturing", "retail"} {
		if !names[n] {
			t.Fatalf("gallery lacks %s: %s", n, g.raw)
		}
	}
	dry := e.do("POST", "/api/v1/templates/apply", e.admin, map[string]any{"name": "pharma", "dryRun": true}).must(t, 200)
	if dry.body["dryRun"] != true || len(dry.body["changes"].([]any)) == 0 {
		t.Fatalf("dry run %s", dry.raw)
	}
	if r := e.do("GET", "/api/v1/objects/hospital", e.admin, nil); r.status != 404 {
		t.Fatalf("a dry run wrote: %d", r.status)
	}
	e.do("POST", "/api/v1/templates/apply", e.admin, map[string]any{"name": "pharma"}).must(t, 200)
	again := e.do("POST", "/api/v1/templates/apply", e.admin, map[string]any{"name": "pharma"}).must(t, 200)
	for _, c := range again.body["changes"].([]any) {
		if a := c.(map[string]any)["action"]; a != "unchanged" {
			t.Fatalf("second apply: %v", c)
		}
	}
	// The demo's own objects are "removed" (in the tenant, not in the
	// bundle); nothing of the bundle differs.
	for _, it := range e.do("POST", "/api/v1/templates/diff", e.admin, map[string]any{"name": "pharma"}).must(t, 200).body["items"].([]any) {
		if st := it.(map[string]any)["status"]; st != "removed" {
			t.Fatalf("diff after apply: %v", it)
		}
	}
	exp := e.do("GET", "/api/v1/templates-export", e.admin, nil).must(t, 200)
	if exp.body["bundle"] != "stride.template/v1" {
		t.Fatalf("export %s", exp.raw[:200])
	}
	// The export, sent back, diffs clean.
	if d := e.do("POST", "/api/v1/templates/diff", e.admin, map[string]any{"bundle": exp.body}).must(t, 200); len(d.body["items"].([]any)) != 0 {
		t.Fatalf("export diff: %s", d.raw)
	}
	bad := map[string]any{"bundle": "stride.template/v1", "metadata": map[string]any{"name": "x", "version": "1.0.0", "label": map[string]any{"en": "X"}},
		"metrics": []any{map[string]any{"key": "m1", "label": map[string]any{"en": "M"}, "object": "deal", "value": "amout", "dateField": "closeDate", "ownerField": "owner"}}}
	r := e.do("POST", "/api/v1/templates/apply", e.admin, map[string]any{"bundle": bad}).must(t, 422)
	if p := r.firstError()["pointer"]; p != "/bundle/metrics/0/value" {
		t.Fatalf("bad bundle pointer %v: %s", p, r.raw)
	}
	if r := e.do("GET", "/api/v1/metrics/m1", e.admin, nil); r.status != 404 {
		t.Fatalf("a refused bundle wrote a metric: %d", r.status)
	}
	// Reps may not install templates.
	_, rep := e.user("rep.t", "rep")
	e.do("POST", "/api/v1/templates/apply", rep, map[string]any{"name": "saas"}).must(t, 403)
}
