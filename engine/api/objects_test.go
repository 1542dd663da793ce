package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"stride/engine/api"
)

func visitDef() map[string]any {
	return map[string]any{
		"label":      map[string]any{"zh-CN": "拜访", "en": "Visit"},
		"titleField": "hospital",
		"schema": map[string]any{
			"type": "object",
			"properties": map[string]any{
				"hospital":  map[string]any{"type": "string", "minLength": 1},
				"visitDate": map[string]any{"type": "string", "format": "date"},
				"minutes":   map[string]any{"type": "integer", "minimum": 0},
				"cost":      map[string]any{"type": "integer", "format": "money"},
				"perMinute": map[string]any{"type": "integer", "format": "money", "readOnly": true},
				"doubled":   map[string]any{"type": "integer", "format": "money", "readOnly": true},
			},
			"required": []string{"hospital"},
		},
		"fields": map[string]any{
			"hospital": map[string]any{"label": map[string]any{"zh-CN": "医院", "en": "Hospital"}},
			// doubled reads perMinute: evaluation must order them, whatever the key order.
			"doubled":   map[string]any{"computed": "perMinute * 2"},
			"perMinute": map[string]any{"computed": "minutes > 0 ? cost / minutes : 0"},
		},
	}
}

func TestObjectDefinitionLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.do("PUT", "/api/v1/objects/visit", e.admin, visitDef()).must(t, 200)
	if r.body["status"] != "draft" || r.body["publishedVersion"] != float64(0) {
		t.Fatalf("new object: %s", r.raw)
	}
	// Records cannot be written against a draft.
	r = e.do("POST", "/api/v1/records/visit", e.admin, map[string]any{"hospital": "协和"}).must(t, 422)
	if r.body["code"] != "object_not_published" {
		t.Fatalf("code %v", r.body["code"])
	}
	e.do("POST", "/api/v1/objects/visit/publish", e.admin, nil).must(t, 200)
	r = e.do("POST", "/api/v1/records/visit", e.admin, map[string]any{"hospital": "协和", "minutes": 3, "cost": 1000}).must(t, 201)
	data := r.body["data"].(map[string]any)
	// 10.00 yuan / 3 = 3.333… → 333 fen (half-even at the minor unit); doubled reads the rounded value.
	if data["perMinute"] != float64(333) || data["doubled"] != float64(666) {
		t.Fatalf("computed chain: %v", data)
	}
	// Edit: a new draft; records keep validating against v1 until published.
	def := visitDef()
	def["schema"].(map[string]any)["required"] = []string{"hospital", "visitDate"}
	e.do("PUT", "/api/v1/objects/visit", e.admin, def, "If-Match", `"1"`).must(t, 409)
	cur := e.do("GET", "/api/v1/objects/visit", e.admin, nil).must(t, 200)
	e.do("PUT", "/api/v1/objects/visit", e.admin, def, "If-Match", cur.header.Get("ETag")).must(t, 200)
	e.do("POST", "/api/v1/records/visit", e.admin, map[string]any{"hospital": "协和"}).must(t, 201)
	e.do("POST", "/api/v1/objects/visit/publish", e.admin, nil).must(t, 200)
	r = e.do("POST", "/api/v1/records/visit", e.admin, map[string]any{"hospital": "协和"}).must(t, 422)
	if !slices.Contains(r.pointers(), "/visitDate") {
		t.Fatalf("v2 not enforced: %s", r.raw)
	}
	r = e.do("POST", "/api/v1/records/visit", e.admin, map[string]any{"hospital": "协和", "visitDate": "2026-11-23"}).must(t, 201)
	if r.body["objectVersion"] != float64(2) {
		t.Fatalf("record remembers object version %v", r.body["objectVersion"])
	}
	vs := e.do("GET", "/api/v1/objects/visit/versions", e.admin, nil).must(t, 200)
	if n := len(vs.body["items"].([]any)); n != 2 {
		t.Fatalf("%d versions", n)
	}
	// Everything is in the audit log.
	au := e.do("GET", "/api/v1/audit?limit=500", e.admin, nil).must(t, 200)
	var actions []string
	for _, it := range au.body["items"].([]any) {
		actions = append(actions, it.(map[string]any)["action"].(string))
	}
	for _, want := range []string{"object.create", "object.save", "object.publish", "auth.login"} {
		if !slices.Contains(actions, want) {
			t.Fatalf("audit lacks %s: %v", want, actions)
		}
	}
}

func TestObjectDefinitionErrors(t *testing.T) {
	e := newEnv(t)
	mod := func(f func(d map[string]any)) map[string]any { d := visitDef(); f(d); return d }
	hints := func(d map[string]any) map[string]any { return d["fields"].(map[string]any) }
	cases := []struct {
		name    string
		def     any
		pointer string
		code    string
		check   func(t *testing.T, fe map[string]any)
	}{
		{"unknown name with hint", mod(func(d map[string]any) {
			hints(d)["perMinute"] = map[string]any{"computed": "cost / minuts"}
		}), "/fields/perMinute/computed", "formula_unknown_name", func(t *testing.T, fe map[string]any) {
			if !strings.Contains(fe["hint"].(string), "minutes") || fe["line"] != float64(1) || fe["column"] == nil {
				t.Fatalf("hint/location: %v", fe)
			}
		}},
		{"type error", mod(func(d map[string]any) {
			hints(d)["perMinute"] = map[string]any{"computed": "hospital * 2"}
		}), "/fields/perMinute/computed", "formula_type_error", nil},
		{"wrong result type", mod(func(d map[string]any) {
			hints(d)["perMinute"] = map[string]any{"computed": "hospital"}
		}), "/fields/perMinute/computed", "formula_result_type", nil},
		{"syntax error", mod(func(d map[string]any) {
			hints(d)["hospital"] = map[string]any{"visibleIf": "minutes >"}
		}), "/fields/hospital/visibleIf", "formula_syntax_error", nil},
		{"requiredIf not boolean", mod(func(d map[string]any) {
			hints(d)["hospital"] = map[string]any{"requiredIf": "minutes + 1"}
		}), "/fields/hospital/requiredIf", "formula_result_type", nil},
		{"cycle", mod(func(d map[string]any) {
			hints(d)["perMinute"] = map[string]any{"computed": "doubled / 2"}
		}), "", "formula_cycle", nil},
		{"hint for unknown field", mod(func(d map[string]any) {
			hints(d)["hospitl"] = map[string]any{"label": map[string]any{"en": "x"}}
		}), "/fields/hospitl", "unknown_field", nil},
		{"schema not an object schema", mod(func(d map[string]any) {
			d["schema"] = map[string]any{"type": "string"}
		}), "", "", nil},
		{"invalid JSON Schema keyword value", mod(func(d map[string]any) {
			d["schema"].(map[string]any)["properties"].(map[string]any)["minutes"] = map[string]any{"type": "integer", "minimum": "zero"}
		}), "", "", nil},
		{"reserved field name", mod(func(d map[string]any) {
			d["schema"].(map[string]any)["properties"].(map[string]any)["owner"] = map[string]any{"type": "string"}
		}), "", "", nil},
		{"unknown top-level member", mod(func(d map[string]any) { d["colour"] = "red" }), "", "", nil},
		{"enum label for a value not in the enum", mod(func(d map[string]any) {
			d["schema"].(map[string]any)["properties"].(map[string]any)["kind"] = map[string]any{"type": "string", "enum": []string{"first", "follow_up"}}
			hints(d)["kind"] = map[string]any{"enumLabels": map[string]any{"first": map[string]any{"zh-CN": "首次拜访"}, "folow_up": map[string]any{"zh-CN": "回访"}}}
		}), "/fields/kind/enumLabels/folow_up", "unknown_enum_value", nil},
		{"key differs from URL", mod(func(d map[string]any) { d["key"] = "other" }), "/key", "const", nil},
		{"hostile formula too big", mod(func(d map[string]any) {
			hints(d)["perMinute"] = map[string]any{"computed": strings.Repeat("1 + ", 1500) + "1"} // 6 kB, 3001 nodes
		}), "/fields/perMinute/computed", "formula_too_complex", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("PUT", "/api/v1/objects/visit", e.admin, c.def).must(t, 422)
			fe := r.firstError()
			if fe == nil {
				t.Fatalf("no field errors: %s", r.raw)
			}
			if c.pointer != "" && fe["pointer"] != c.pointer {
				t.Fatalf("pointer %v, want %s: %s", fe["pointer"], c.pointer, r.raw)
			}
			if c.code != "" && fe["code"] != c.code {
				t.Fatalf("code %v, want %s: %s", fe["code"], c.code, r.raw)
			}
			if c.check != nil {
				c.check(t, fe)
			}
		})
	}
	// Nothing was saved by any of them.
	e.do("GET", "/api/v1/objects/visit", e.admin, nil).must(t, 404)
	e.do("PUT", "/api/v1/objects/Bad-Key", e.admin, visitDef()).must(t, 422)
}

func TestRuleCheck(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v1/rules/check", e.admin, map[string]any{"kind": "computed", "object": "deal", "field": "weightedAmount",
		"expression": "amount * probability / 100", "sample": map[string]any{"amount": 1250000, "probability": 40}}).must(t, 200)
	if r.body["ok"] != true || r.body["value"] != float64(5000) {
		t.Fatalf("check: %s", r.raw)
	}
	reads := r.body["reads"].(map[string]any)
	if reads["amount"] != float64(12500) || reads["probability"] != float64(40) {
		t.Fatalf("reads: %v", reads)
	}
	r = e.do("POST", "/api/v1/rules/check", e.admin, map[string]any{"kind": "visibleIf", "object": "deal", "expression": "stage == 'lost' && amout > 0"}).must(t, 200)
	if r.body["ok"] != false || !strings.Contains(r.raw, "amount") {
		t.Fatalf("unknown name: %s", r.raw)
	}
	// A hostile formula fails fast with a limit error and the server stays healthy.
	start := time.Now()
	r = e.do("POST", "/api/v1/rules/check", e.admin, map[string]any{"kind": "expression", "object": "deal",
		"expression": "len(map(1..100000000, # * 2))", "sample": map[string]any{}}).must(t, 200)
	if r.body["ok"] != false || r.firstError()["code"] != "formula_limit_exceeded" {
		t.Fatalf("hostile formula: %s", r.raw)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("hostile formula took %v", d)
	}
	e.do("GET", "/healthz", "", nil).must(t, 200)
	e.do("POST", "/api/v1/rules/check", e.admin, map[string]any{"kind": "magic", "expression": ""}).must(t, 422)
	e.do("POST", "/api/v1/rules/check", e.admin, map[string]any{"kind": "computed", "expression": "1", "object": "nope"}).must(t, 404)
}

// TestOpenAPIMatchesRoutes keeps the document and the router in lock-step:
// every route is documented, and nothing documented is missing.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/api/v1/openapi.json", "", nil).must(t, 200)
	var spec struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(r.raw), &spec); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(spec.OpenAPI, "3.") {
		t.Fatalf("openapi %q", spec.OpenAPI)
	}
	documented := map[string]bool{}
	for p, ops := range spec.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	param := regexp.MustCompile(`:([A-Za-z]+)`)
	served := map[string]bool{}
	for _, rt := range api.New(api.Deps{}).Routes() {
		if !strings.HasPrefix(rt.Path, "/api/v1/") || rt.Path == "/api/v1/openapi.json" {
			continue
		}
		served[rt.Method+" "+param.ReplaceAllString(rt.Path, "{$1}")] = true
	}
	for k := range served {
		if !documented[k] {
			t.Errorf("route %s is not in the OpenAPI document", k)
		}
	}
	for k := range documented {
		if !served[k] {
			t.Errorf("OpenAPI documents %s, which is not served", k)
		}
	}
	// Every schema reference resolves.
	var full map[string]any
	_ = json.Unmarshal([]byte(r.raw), &full)
	schemas := full["components"].(map[string]any)["schemas"].(map[string]any)
	refs := regexp.MustCompile(`"\$ref":"([^"]*)"`).FindAllStringSubmatch(r.raw, -1)
	if len(refs) < 20 {
		t.Fatalf("only %d $refs found: the check would prove nothing", len(refs))
	}
	for _, m := range refs {
		name, ok := strings.CutPrefix(m[1], "#/components/schemas/")
		if _, found := schemas[name]; !ok || !found {
			t.Errorf("dangling $ref %s", m[1])
		}
	}
	docs := e.do("GET", "/docs", "", nil).must(t, http.StatusOK)
	if !strings.Contains(docs.raw, "/api/v1/records/{object}") {
		t.Fatal("docs page does not list the records endpoints")
	}
}
