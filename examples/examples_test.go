// Package examples_test checks the industry templates under examples/: every
// bundle is valid against schemas/template.schema.json, every definition in
// it against its kind's schema, every label is bilingual, and every bundle
// installs cleanly into an empty tenant through the public API — objects,
// pipelines, metrics and target plans in dependency order — after which a
// scripted walk creates records, moves them through each pipeline (guards
// must be satisfiable and must refuse what they are meant to refuse) and
// reads the metrics the template promises.
//
// The install runs twice: with engine/templates (what `stride template
// apply` does; applying again must change nothing and the tenant must diff
// clean), and by hand through the HTTP routes a consultant would script.
package examples_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"stride/engine/api"
	"stride/engine/auth"
	"stride/engine/forms"
	"stride/engine/setup"
	"stride/engine/store/sqlite"
	"stride/engine/templates"
	"stride/engine/tenant"
)

// templateNames are the industries the examples must cover (issue 5).
var templateNames = []string{"manufacturing", "pharma", "retail", "saas"}

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

func TestMain(m *testing.M) {
	// Request logs would drown the output; failures still fail the tests.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

func loadBundle(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(name, "template.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s/template.json is not JSON: %v", name, err)
	}
	return doc
}

func TestEveryIndustryHasATemplate(t *testing.T) {
	paths, err := filepath.Glob("*/template.json")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range paths {
		got = append(got, filepath.Dir(p))
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "README.md")); err != nil {
			t.Errorf("%s has no README.md", filepath.Dir(p))
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, templateNames) {
		t.Fatalf("templates = %v, want %v", got, templateNames)
	}
}

// items returns a bundle section as a list of definitions.
func items(doc map[string]any, section string) []map[string]any {
	raw, _ := doc[section].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, r := range raw {
		m, _ := r.(map[string]any)
		out = append(out, m)
	}
	return out
}

// planDefinition is what apply makes of a target plan skeleton: its
// definition with a fiscal year (and the skeleton's key).
func planDefinition(p map[string]any, fiscalYear int) map[string]any {
	def := map[string]any{}
	for k, v := range p["definition"].(map[string]any) {
		def[k] = v
	}
	def["key"] = p["key"]
	def["fiscalYear"] = fiscalYear
	return def
}

func TestBundlesValidate(t *testing.T) {
	for _, name := range templateNames {
		t.Run(name, func(t *testing.T) {
			doc := loadBundle(t, name)
			for _, fe := range forms.ValidateConfig("template", doc) {
				t.Errorf("bundle %s", fe)
			}
			kinds := map[string]string{"objects": "object", "pipelines": "pipeline", "metrics": "metric",
				"commissionPlans": "commission_plan", "scorecards": "scorecard"}
			for section, kind := range kinds {
				for i, def := range items(doc, section) {
					for _, fe := range forms.ValidateConfig(kind, def) {
						t.Errorf("/%s/%d (%v): %s", section, i, def["key"], fe)
					}
				}
			}
			for i, p := range items(doc, "targetPlans") {
				def := p["definition"].(map[string]any)
				for _, banned := range []string{"fiscalYear", "nodes"} {
					if _, ok := def[banned]; ok {
						t.Errorf("/targetPlans/%d/definition has %s: a skeleton leaves it to the tenant", i, banned)
					}
				}
				for _, fe := range forms.ValidateConfig("target_plan", planDefinition(p, 2026)) {
					t.Errorf("/targetPlans/%d (%v): %s", i, p["key"], fe)
				}
			}
		})
	}
}

// bilingual reports whether a text has both languages.
func bilingual(v any) bool {
	m, _ := v.(map[string]any)
	zh, _ := m["zh-CN"].(string)
	en, _ := m["en"].(string)
	return zh != "" && en != ""
}

func TestConventions(t *testing.T) {
	for _, name := range templateNames {
		t.Run(name, func(t *testing.T) {
			doc := loadBundle(t, name)
			md := doc["metadata"].(map[string]any)
			if md["name"] != name || md["locale"] != "zh-CN" || md["version"] != "1.0.0" || md["industry"] == nil ||
				!bilingual(md["label"]) || !bilingual(md["description"]) {
				t.Errorf("metadata = %v: want name %s, industry, locale zh-CN, version 1.0.0, label and description in both languages", md, name)
			}
			if a, ok := doc["alerts"].([]any); !ok || len(a) != 0 {
				t.Errorf("alerts = %v, want [] until alert rules land", doc["alerts"])
			}
			fields := map[string]map[string]any{} // object → field → schema
			hasTask := false
			for _, o := range items(doc, "objects") {
				key, _ := o["key"].(string)
				if !keyPattern.MatchString(key) || !bilingual(o["label"]) {
					t.Errorf("object %q: bad key or label %v", key, o["label"])
				}
				props := o["schema"].(map[string]any)["properties"].(map[string]any)
				fields[key] = props
				hints, _ := o["fields"].(map[string]any)
				for f, s := range props {
					h, _ := hints[f].(map[string]any)
					if !bilingual(h["label"]) {
						t.Errorf("%s.%s has no bilingual label", key, f)
					}
					enum, _ := s.(map[string]any)["enum"].([]any)
					el, _ := h["enumLabels"].(map[string]any)
					for _, v := range enum {
						if !bilingual(el[v.(string)]) {
							t.Errorf("%s.%s value %v has no bilingual label", key, f, v)
						}
					}
				}
				if key == "action_plan" {
					hasTask = true
					for _, f := range []string{"title", "dueDate", "status", "targetNode", "targetPlan"} {
						if props[f] == nil {
							t.Errorf("action_plan has no %s", f)
						}
					}
					st, _ := props["status"].(map[string]any)
					if got := fmt.Sprint(st["enum"]); got != "[todo in_progress done cancelled]" {
						t.Errorf("action_plan statuses = %s", got)
					}
				}
			}
			if !hasTask {
				t.Error("no action_plan object")
			}
			for _, p := range items(doc, "pipelines") {
				if !bilingual(p["label"]) {
					t.Errorf("pipeline %v label", p["key"])
				}
				for _, s := range p["stages"].([]any) {
					st := s.(map[string]any)
					if !bilingual(st["label"]) {
						t.Errorf("pipeline %v stage %v label", p["key"], st["key"])
					}
					if g, ok := st["enterIf"].(map[string]any); ok && !bilingual(g["message"]) {
						t.Errorf("pipeline %v stage %v guard message", p["key"], st["key"])
					}
				}
			}
			for _, m := range items(doc, "metrics") {
				if !keyPattern.MatchString(m["key"].(string)) || !bilingual(m["label"]) {
					t.Errorf("metric %v: bad key or label", m["key"])
				}
				obj, _ := m["object"].(string)
				if obj == "" {
					continue
				}
				props := fields[obj]
				if props == nil {
					t.Errorf("metric %v counts %s, which the bundle does not define", m["key"], obj)
					continue
				}
				for _, ref := range []string{"dateField", "ownerField", "dimension"} {
					f, _ := m[ref].(string)
					if f == "" || f == "createdAt" || f == "owner" {
						continue
					}
					s, _ := props[f].(map[string]any)
					switch {
					case s == nil:
						t.Errorf("metric %v %s %q is not a field of %s", m["key"], ref, f, obj)
					case ref == "dateField" && s["format"] != "date" && s["format"] != "date-time":
						t.Errorf("metric %v dateField %q is not a date", m["key"], f)
					case ref != "dateField" && s["type"] != "string":
						t.Errorf("metric %v %s %q is not a string field", m["key"], ref, f)
					}
				}
			}
			for _, p := range items(doc, "targetPlans") {
				if !keyPattern.MatchString(p["key"].(string)) || !bilingual(p["definition"].(map[string]any)["label"]) {
					t.Errorf("target plan %v: bad key or label", p["key"])
				}
			}
		})
	}
}

// client is the API of a fresh server whose only tenant, acme, is empty
// but for its admin.
type client struct {
	t      *testing.T
	url    string
	token  string            // the current user's
	tokens map[string]string // by role: admin, and a rep once a walk needs one
}

func newTenant(t *testing.T) (*client, *setup.App) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	app, err := setup.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	db, err := app.Tenants.Create(ctx, tenant.Tenant{Name: "acme", DisplayName: "Acme", Locale: "zh-CN", TimeZone: "Asia/Shanghai"})
	if err != nil {
		t.Fatal(err)
	}
	username, password, roles := "admin", "pw-12345678", []auth.Role{auth.RoleAdmin}
	if _, err := auth.CreateUser(ctx, db, "system", auth.UserInput{Username: &username, Password: &password, Roles: &roles}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Deps{Store: app.Store, Tenants: app.Tenants, Auth: app.Auth, Objects: app.Objects,
		Records: app.Records, Pipelines: app.Pipelines, Tracker: app.Tracker, Progress: app.Progress, Targets: app.Targets,
		Templates: app.Templates, Commission: app.Commission, Scorecards: app.Scorecards, Version: "test"}).Handler())
	t.Cleanup(func() { srv.Close(); st.Close() })
	c := &client{t: t, url: srv.URL}
	status, body := c.do("POST", "/api/v1/auth/login", map[string]any{"tenant": "acme", "username": username, "password": password})
	if status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
	c.token = body["token"].(string)
	c.tokens = map[string]string{"admin": c.token}
	return c, app
}

// as makes the following requests as a user of the given role, creating
// one on first use.
func (c *client) as(role string) {
	c.t.Helper()
	if tok, ok := c.tokens[role]; ok {
		c.token = tok
		return
	}
	c.token = c.tokens["admin"]
	username, password := role+"1", "pw-"+role+"-12345678"
	c.must(201, "POST", "/api/v1/users", map[string]any{"username": username, "password": password, "roles": []string{role}})
	body := c.must(200, "POST", "/api/v1/auth/login", map[string]any{"tenant": "acme", "username": username, "password": password})
	c.tokens[role] = body["token"].(string)
	c.token = c.tokens[role]
}

func (c *client) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: %d, not JSON: %s", method, path, res.StatusCode, raw)
		}
	}
	return res.StatusCode, out
}

// must sends a request and fails the test unless the status is want.
func (c *client) must(want int, method, path string, body any) map[string]any {
	c.t.Helper()
	status, out := c.do(method, path, body)
	if status != want {
		j, _ := json.MarshalIndent(out, "", "  ")
		c.t.Fatalf("%s %s: want %d, got %d:\n%s", method, path, want, status, j)
	}
	return out
}

// apply installs a bundle the way a consultant would by hand: each object
// saved and published, then the pipelines over them, then the metrics (in
// bundle order, so derived metrics follow their inputs), then the target
// plans as drafts for the given fiscal year.
func apply(c *client, doc map[string]any, fiscalYear int) {
	c.t.Helper()
	for _, kind := range []string{"objects", "pipelines", "metrics"} {
		for _, def := range items(doc, kind) {
			key := def["key"].(string)
			c.must(200, "PUT", "/api/v1/"+kind+"/"+key, def)
			c.must(200, "POST", "/api/v1/"+kind+"/"+key+"/publish", nil)
		}
	}
	for _, p := range items(doc, "targetPlans") {
		key := p["key"].(string)
		c.must(200, "PUT", "/api/v1/target-plans/"+key, planDefinition(p, fiscalYear))
		c.must(200, "POST", "/api/v1/target-plans/"+key+"/allocate?dryRun=true", map[string]any{})
	}
	for section, route := range map[string]string{"commissionPlans": "commission-plans", "scorecards": "scorecards"} {
		for _, def := range items(doc, section) {
			key := def["key"].(string)
			c.must(200, "PUT", "/api/v1/"+route+"/"+key, def)
			c.must(200, "POST", "/api/v1/"+route+"/"+key+"/publish", nil)
		}
	}
}

// step is one move of a walk through a template: switch user (as), create
// a record, patch it, move it to a stage (expecting a refusal when code is
// set), or read a metric's actual for a period at company level.
type step struct {
	As     string         `json:"as"`     // admin or another role
	Create string         `json:"create"` // object key; the record becomes the current one
	Patch  map[string]any `json:"patch"`
	Data   map[string]any `json:"data"`
	To     string         `json:"to"`
	Code   string         `json:"code"` // expected refusal code of a create, patch or move
	Metric string         `json:"metric"`
	Period string         `json:"period"`
	Dim    string         `json:"dim"`
	Actual *int64         `json:"actual"` // in the metric's stored unit
}

func walk(c *client, steps []step) {
	c.t.Helper()
	var object, id string
	for i, s := range steps {
		where := fmt.Sprintf("step %d", i)
		switch {
		case s.As != "":
			c.as(s.As)
		case s.Create != "":
			status, body := c.do("POST", "/api/v1/records/"+s.Create, s.Data)
			if s.Code != "" {
				if status != 422 || body["code"] != s.Code {
					c.t.Fatalf("%s: create %s: want 422 %s, got %d %v", where, s.Create, s.Code, status, body)
				}
				continue
			}
			if status != 201 {
				c.t.Fatalf("%s: create %s: %d %v", where, s.Create, status, body)
			}
			object, id = s.Create, body["id"].(string)
		case s.Patch != nil:
			status, body := c.do("PATCH", "/api/v1/records/"+object+"/"+id, s.Patch)
			if s.Code != "" {
				if status != 422 || body["code"] != s.Code {
					c.t.Fatalf("%s: patch: want 422 %s, got %d %v", where, s.Code, status, body)
				}
				continue
			}
			if status != 200 {
				c.t.Fatalf("%s: patch %v: %d %v", where, s.Patch, status, body)
			}
		case s.To != "":
			status, body := c.do("POST", "/api/v1/records/"+object+"/"+id+"/transition", map[string]any{"to": s.To})
			if s.Code != "" {
				if status != 422 || body["code"] != s.Code {
					c.t.Fatalf("%s: move to %s: want 422 %s, got %d %v", where, s.To, s.Code, status, body)
				}
				continue
			}
			if status != 200 {
				c.t.Fatalf("%s: move to %s: %d %v", where, s.To, status, body)
			}
		case s.Metric != "":
			q := "/api/v1/progress?node=company&metric=" + s.Metric + "&period=" + s.Period
			if s.Dim != "" {
				q += "&dim=" + s.Dim
			}
			body := c.must(200, "GET", q, nil)
			row, _ := body["node"].(map[string]any)
			got, ok := row["actual"].(float64)
			if !ok || s.Actual == nil || int64(got) != *s.Actual {
				c.t.Fatalf("%s: %s actual in %s = %v (reason %v), want %v", where, q, s.Period, row["actual"], row["reason"], deref(s.Actual))
			}
		default:
			c.t.Fatalf("%s: empty step", where)
		}
	}
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestBundlesApplyToAnEmptyTenant installs each bundle with
// engine/templates (what `stride template apply` runs), checks that a second
// apply changes nothing and that the tenant then diffs clean against the
// bundle, and walks the installed configuration through the API.
func TestBundlesApplyToAnEmptyTenant(t *testing.T) {
	ctx := context.Background()
	year := time.Now().Year()
	for _, name := range templateNames {
		t.Run(name, func(t *testing.T) {
			b, err := templates.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			c, app := newTenant(t)
			rep, err := app.Templates.Apply(ctx, "acme", b, templates.Options{})
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			doc := loadBundle(t, name)
			want := len(items(doc, "objects")) + len(items(doc, "pipelines")) + len(items(doc, "metrics")) + len(items(doc, "targetPlans")) +
				len(items(doc, "commissionPlans")) + len(items(doc, "scorecards"))
			if len(items(doc, "commissionPlans")) == 0 || len(items(doc, "scorecards")) == 0 {
				t.Fatal("every template carries a commission plan and a scorecard (issue 6)")
			}
			if len(rep.Changes) != want || rep.Conflicts != 0 {
				t.Fatalf("apply: %d changes, %d conflicts, want %d created: %+v", len(rep.Changes), rep.Conflicts, want, rep.Changes)
			}
			for _, ch := range rep.Changes {
				if ch.Action != "create" {
					t.Errorf("apply to an empty tenant: %s %s %s (%s)", ch.Kind, ch.Key, ch.Action, ch.Reason)
				}
			}
			again, err := app.Templates.Apply(ctx, "acme", b, templates.Options{})
			if err != nil {
				t.Fatalf("second apply: %v", err)
			}
			for _, ch := range again.Changes {
				if ch.Action != "unchanged" {
					t.Errorf("second apply: %s %s %s (%s)", ch.Kind, ch.Key, ch.Action, ch.Reason)
				}
			}
			diff, err := app.Templates.Diff(ctx, "acme", b)
			if err != nil {
				t.Fatal(err)
			}
			if len(diff) != 0 {
				t.Errorf("the tenant differs from the bundle it was installed from: %+v", diff)
			}
			for _, p := range items(doc, "targetPlans") {
				// The skeleton became this year's draft plan; it allocates
				// over the (empty) org.
				c.must(200, "POST", "/api/v1/target-plans/"+p["key"].(string)+"/allocate?dryRun=true", map[string]any{})
			}
			walkTemplate(t, c, name, doc, year)
		})
	}
}

// TestBundlesInstallThroughTheAPI installs each bundle the way a consultant
// would script it without the template command: every definition PUT and
// published through the public routes, then the plans as drafts.
func TestBundlesInstallThroughTheAPI(t *testing.T) {
	year := time.Now().Year()
	for _, name := range templateNames {
		t.Run(name, func(t *testing.T) {
			doc := loadBundle(t, name)
			c, _ := newTenant(t)
			apply(c, doc, year)
		})
	}
}

func walkTemplate(t *testing.T, c *client, name string, doc map[string]any, year int) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".walk.json"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(raw), "$YEAR", fmt.Sprint(year))
	var steps []step
	if err := json.Unmarshal([]byte(text), &steps); err != nil {
		t.Fatalf("testdata/%s.walk.json: %v", name, err)
	}
	walk(c, steps)
	for _, p := range items(doc, "pipelines") {
		// Every pipeline the template ships must be exercised.
		if !strings.Contains(text, fmt.Sprintf("\"create\": %q", p["object"])) {
			t.Errorf("the walk never creates a %v, so pipeline %v is untested", p["object"], p["key"])
		}
	}
}
