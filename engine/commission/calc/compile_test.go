package calc

import (
	"math"
	"strings"
	"testing"

	"stride/engine/apperr"
)

// planWith returns a minimal valid plan definition with extra members
// merged in (JSON object text without braces).
func planWith(extra string) string {
	base := `"name": {"en": "P"}, "quota": {"metric": "won"},
		"credits": {"object": "deal", "base": "amount", "dateField": "closeDate", "ownerField": "seller"}`
	if extra == "" {
		return "{" + base + "}"
	}
	return "{" + base + ", " + extra + "}"
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name, def string
		want      []apperr.FieldError // pointer, code and (if set) hint; message checked to be non-empty
	}{
		{"unsorted tiers", planWith(`"rules": [{"key": "a", "rate": {"kind": "tier", "table": [[0, 0.01], [1, 0.02], [0.5, 0.03]]}}]`),
			[]apperr.FieldError{{Pointer: "/rules/0/rate/table/2/0", Code: "unsorted_tiers"}}},
		{"duplicate threshold", planWith(`"rules": [{"key": "a", "rate": {"kind": "marginal", "table": [[0, 0.01], [1, 0.02], [1, 0.03]]}}]`),
			[]apperr.FieldError{{Pointer: "/rules/0/rate/table/2/0", Code: "duplicate_threshold"}}},
		{"negative rate", planWith(`"rules": [{"key": "a", "rate": {"kind": "constant", "value": -0.01}}]`),
			[]apperr.FieldError{{Pointer: "/rules/0/rate/value", Code: "minimum"}}},
		{"negative table rate", planWith(`"rules": [{"key": "a", "rate": {"kind": "tier", "table": [[0, 0.01], [1, -0.02]]}}]`),
			[]apperr.FieldError{{Pointer: "/rules/0/rate/table/1/1", Code: "minimum"}}},
		{"negative threshold", planWith(`"rules": [{"key": "a", "rate": {"kind": "tier", "table": [[-1, 0.01]]}}]`),
			[]apperr.FieldError{{Pointer: "/rules/0/rate/table/0/0", Code: "minimum"}}},
		{"rate out of float range", planWith(`"rules": [{"key": "a", "rate": {"kind": "constant", "value": 1e400}}]`),
			[]apperr.FieldError{{Pointer: "/rules/0/rate/value", Code: "out_of_range"}}},
		{"rate as text", planWith(`"rules": [{"key": "a", "rate": {"kind": "constant", "value": "0.05"}}]`),
			[]apperr.FieldError{{Pointer: "/rules/0/rate/value", Code: "type"}}},
		{"rate with 13 decimals", planWith(`"rules": [{"key": "a", "rate": {"kind": "constant", "value": 0.0000000000001}}]`),
			[]apperr.FieldError{{Pointer: "/rules/0/rate/value", Code: "rate_precision"}}},
		{"row of three", planWith(`"rules": [{"key": "a", "rate": {"kind": "tier", "table": [[0, 0.01, 3]]}}]`),
			[]apperr.FieldError{{Pointer: "/rules/0/rate/table/0", Code: "max_items"}}},
		{"empty table", planWith(`"rules": [{"key": "a", "rate": {"kind": "tier", "table": []}}]`),
			[]apperr.FieldError{{Pointer: "/rules/0/rate/table", Code: "min_items"}}},
		{"constant without value", planWith(`"rules": [{"key": "a", "rate": {"kind": "constant"}}]`),
			[]apperr.FieldError{{Pointer: "/rules/0/rate/value", Code: "required"}}},
		{"table on a constant", planWith(`"rules": [{"key": "a", "rate": {"kind": "constant", "value": 0.1, "table": [[0, 0.1]]}}]`),
			[]apperr.FieldError{{Pointer: "/rules/0/rate/table", Code: "additional_properties"}}},
		{"unknown field in formula", planWith(`"rules": [{"key": "a", "when": "amout > 100", "rate": {"kind": "constant", "value": 0.1}}]`),
			[]apperr.FieldError{{Pointer: "/rules/0/when", Code: "formula_unknown_name", Hint: "did you mean amount?"}}},
		{"record dot field", planWith(`"spifs": [{"key": "s", "when": "record.amount > 100", "amount": 1}]`),
			[]apperr.FieldError{{Pointer: "/spifs/0/when", Code: "formula_unknown_name", Hint: "record fields are used by name: write amount, not record.amount"}}},
		{"when not bool", planWith(`"rules": [{"key": "a", "when": "amount", "rate": {"kind": "constant", "value": 0.1}}]`),
			[]apperr.FieldError{{Pointer: "/rules/0/when", Code: "formula_result_type"}}},
		{"expr rate not a number", planWith(`"rules": [{"key": "a", "rate": {"kind": "expr", "expr": "stage"}}]`),
			[]apperr.FieldError{{Pointer: "/rules/0/rate/expr", Code: "formula_result_type"}}},
		{"tier on not a number", planWith(`"rules": [{"key": "a", "rate": {"kind": "tier", "on": "newLogo", "table": [[0, 0.1]]}}]`),
			[]apperr.FieldError{{Pointer: "/rules/0/rate/on", Code: "formula_result_type"}}},
		{"base syntax", `{"name": {"en": "P"}, "quota": {"metric": "won"}, "credits": {"object": "deal", "base": "amount *", "dateField": "closeDate"}}`,
			[]apperr.FieldError{{Pointer: "/credits/base", Code: "formula_syntax_error"}}},
		{"credit formula cannot see the context", `{"name": {"en": "P"}, "quota": {"metric": "won"}, "credits": {"object": "deal", "when": "attainment > 1", "base": "amount", "dateField": "closeDate"}}`,
			[]apperr.FieldError{{Pointer: "/credits/when", Code: "formula_unknown_name"}}},
		{"duplicate key", planWith(`"rules": [{"key": "a", "rate": {"kind": "constant", "value": 0.1}}], "spifs": [{"key": "a", "when": "true", "amount": 1}]`),
			[]apperr.FieldError{{Pointer: "/spifs/0/key", Code: "duplicate_key"}}},
		{"reserved key", planWith(`"quotaBonuses": [{"key": "clawback", "threshold": 1, "amount": 1}]`),
			[]apperr.FieldError{{Pointer: "/quotaBonuses/0/key", Code: "reserved_key"}}},
		{"grain longer than quota grain", planWith(`"grain": "quarter", "quotaGrain": "month"`),
			[]apperr.FieldError{{Pointer: "/quotaGrain", Code: "grain_order"}}},
		{"week grain", planWith(`"grain": "week"`),
			[]apperr.FieldError{{Pointer: "/grain", Code: "enum"}}},
		{"ends before it starts", planWith(`"effectiveFrom": "2026-02-01", "effectiveTo": "2026-01-31"`),
			[]apperr.FieldError{{Pointer: "/effectiveTo", Code: "date_order"}}},
		{"negative cap", planWith(`"caps": {"perLine": -1}`),
			[]apperr.FieldError{{Pointer: "/caps/perLine", Code: "minimum"}}},
		{"zero bonus threshold", planWith(`"quotaBonuses": [{"key": "q", "threshold": 0, "amount": 1}]`),
			[]apperr.FieldError{{Pointer: "/quotaBonuses/0/threshold", Code: "exclusive_minimum"}}},
		{"team bonus amount and rate", planWith(`"teamBonuses": [{"key": "t", "threshold": 1, "amount": 1, "rate": 0.1}]`),
			[]apperr.FieldError{{Pointer: "/teamBonuses/0", Code: "amount_or_rate"}}},
		{"team bonus without amount", planWith(`"teamBonuses": [{"key": "t", "threshold": 1}]`),
			[]apperr.FieldError{{Pointer: "/teamBonuses/0", Code: "amount_or_rate"}}},
		{"unknown date field", `{"name": {"en": "P"}, "quota": {"metric": "won"}, "credits": {"object": "deal", "base": "amount", "dateField": "closeDat"}}`,
			[]apperr.FieldError{{Pointer: "/credits/dateField", Code: "unknown_field", Hint: "did you mean closeDate?"}}},
		{"date field of another type", `{"name": {"en": "P"}, "quota": {"metric": "won"}, "credits": {"object": "deal", "base": "amount", "dateField": "amount"}}`,
			[]apperr.FieldError{{Pointer: "/credits/dateField", Code: "unknown_field"}}},
		{"owner field not text", `{"name": {"en": "P"}, "quota": {"metric": "won"}, "credits": {"object": "deal", "base": "amount", "dateField": "closeDate", "ownerField": "amount"}}`,
			[]apperr.FieldError{{Pointer: "/credits/ownerField", Code: "unknown_field"}}},
		{"split field not a credit list", `{"name": {"en": "P"}, "quota": {"metric": "won"}, "credits": {"object": "deal", "base": "amount", "dateField": "closeDate", "splitField": "name"}}`,
			[]apperr.FieldError{{Pointer: "/credits/splitField", Code: "unknown_field"}}},
		{"clawback date not a date", planWith(`"clawback": {"when": "status == 'refunded'", "withinDays": 30, "dateField": "status"}`),
			[]apperr.FieldError{{Pointer: "/clawback/dateField", Code: "unknown_field"}}},
		{"other object", `{"name": {"en": "P"}, "quota": {"metric": "won"}, "credits": {"object": "order", "base": "amount", "dateField": "closeDate"}}`,
			[]apperr.FieldError{{Pointer: "/credits/object", Code: "unknown_object"}}},
		{"unknown member", planWith(`"bonus": 1`),
			[]apperr.FieldError{{Pointer: "/bonus", Code: "additional_properties"}}},
	}
	obj := compileObject(t, "deal", dealObject)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fe := Compile(testEngine, "t", "k", 0, decode(t, tt.def), obj)
			if p != nil {
				t.Fatal("compiled")
			}
			if len(fe) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", fe, tt.want)
			}
			for i, w := range tt.want {
				g := fe[i]
				if g.Pointer != w.Pointer || g.Code != w.Code || (w.Hint != "" && g.Hint != w.Hint) || g.Message == "" {
					t.Errorf("got %+v, want %+v", g, w)
				}
			}
		})
	}
}

func TestCompileNameCollision(t *testing.T) {
	obj := compileObject(t, "deal", `{"label": {"en": "Deal"}, "schema": {"type": "object", "properties": {
		"amount": {"type": "integer", "format": "money"}, "closeDate": {"type": "string", "format": "date"},
		"seller": {"type": "string"}, "quota": {"type": "number"}}}}`)
	// Without rule formulas the field is harmless.
	if _, fe := Compile(testEngine, "t", "k", 0, decode(t, planWith(`"rules": [{"key": "a", "rate": {"kind": "constant", "value": 0.1}}]`)), obj); len(fe) > 0 {
		t.Fatalf("unexpected %+v", fe)
	}
	_, fe := Compile(testEngine, "t", "k", 0, decode(t, planWith(`"rules": [{"key": "a", "when": "amount > 1", "rate": {"kind": "constant", "value": 0.1}}]`)), obj)
	if len(fe) == 0 || fe[0].Pointer != "/credits/object" || fe[0].Code != "name_collision" || !strings.Contains(fe[0].Message, `"quota"`) {
		t.Fatalf("got %+v", fe)
	}
}

// A definition built in Go (not decoded from JSON) can hold NaN and
// infinities; they are refused, never compiled.
func TestCompileNotFinite(t *testing.T) {
	obj := compileObject(t, "deal", dealObject)
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		def := decode(t, planWith(`"rules": [{"key": "a", "rate": {"kind": "constant", "value": 0.1}}]`))
		def["rules"].([]any)[0].(map[string]any)["rate"].(map[string]any)["value"] = x
		if _, fe := Compile(testEngine, "t", "k", 0, def, obj); len(fe) == 0 || fe[0].Code != "out_of_range" {
			t.Errorf("%v: got %+v", x, fe)
		}
	}
}

func TestNeedsAttainment(t *testing.T) {
	tests := []struct {
		extra string
		want  bool
	}{
		{`"rules": [{"key": "a", "rate": {"kind": "constant", "value": 0.1}}]`, false},
		{`"rules": [{"key": "a", "rate": {"kind": "expr", "expr": "amount > 1000 ? 0.1 : 0.05"}}]`, false},
		{`"rules": [{"key": "a", "rate": {"kind": "tier", "on": "amount", "table": [[0, 0.1]]}}]`, false},
		{`"rules": [{"key": "a", "rate": {"kind": "marginal", "basis": "line", "table": [[0, 0.1]]}}]`, false},
		{`"rules": [{"key": "a", "rate": {"kind": "marginal", "basis": "amount", "table": [[0, 0.1]]}}]`, false},
		{`"teamBonuses": [{"key": "t", "threshold": 1, "amount": 1}]`, false},
		{`"rules": [{"key": "a", "rate": {"kind": "tier", "table": [[0, 0.1]]}}]`, true},
		{`"rules": [{"key": "a", "rate": {"kind": "marginal", "table": [[0, 0.1]]}}]`, true},
		{`"quotaBonuses": [{"key": "q", "threshold": 1, "amount": 1}]`, true},
		{`"rules": [{"key": "a", "when": "attainment >= 0.5", "rate": {"kind": "constant", "value": 0.1}}]`, true},
		{`"spifs": [{"key": "s", "when": "amount > quota / 10", "amount": 1}]`, true},
	}
	for _, tt := range tests {
		if p := mustCompile(t, planWith(tt.extra)); p.NeedsAttainment != tt.want {
			t.Errorf("%s: NeedsAttainment %v, want %v", tt.extra, p.NeedsAttainment, tt.want)
		}
	}
}

func TestPlanFacts(t *testing.T) {
	p := mustCompile(t, briefPlan)
	if p.Grain != "month" || p.QuotaGrain != "quarter" || p.QuotaMetric != "won_revenue" || p.QuotaLevel != "target" ||
		p.Object != "deal" || p.SplitField != "splits" || p.Clawback == nil || p.Clawback.WithinDays != 90 || p.Currency != "CNY" {
		t.Fatalf("facts: %+v", p)
	}
	if !p.Assigned("u1", []string{"rep"}, nil) || p.Assigned("u1", []string{"manager"}, []string{"t9"}) {
		t.Error("Assigned")
	}
	if got := p.Label("base", "en"); got != "Base rate" {
		t.Errorf("Label en = %q", got)
	}
	if got := p.Label("base", "zh-CN"); got != "基础提成" {
		t.Errorf("Label zh = %q", got)
	}
	if got := p.Label("q100", "en"); got != "q100" {
		t.Errorf("Label of an unnamed bonus = %q", got)
	}
	if !p.Effective(window(t, "2026-01")) || p.Effective(window(t, "2025-12")) {
		t.Error("Effective")
	}
}

// briefPlan is the plan shape of the issue, record fields by name.
const briefPlan = `{"name":{"zh-CN":"销售提成方案","en":"Sales commission"},"currency":"CNY",
 "grain":"month","quotaGrain":"quarter",
 "quota":{"metric":"won_revenue","level":"target"},
 "assign":{"roles":["rep"],"teams":[],"users":[]}, "effectiveFrom":"2026-01-01","effectiveTo":null,
 "credits":{"object":"deal","when":"stage == 'won'","base":"amount","dateField":"closeDate","ownerField":"owner","splitField":"splits"},
 "rules":[{"key":"base","name":{"zh-CN":"基础提成","en":"Base rate"},"when":"true","rate":{"kind":"marginal","table":[[0,0.04],[1.0,0.06],[1.5,0.08]]}},
          {"key":"new_logo","when":"newLogo","rate":{"kind":"constant","value":0.01}},
          {"key":"tiered","rate":{"kind":"tier","on":"attainment","table":[[0,0.03],[0.8,0.05],[1.0,0.07]]}},
          {"key":"custom","rate":{"kind":"expr","expr":"amount > 100000 ? 0.06 : 0.05"}}],
 "caps":{"perLine":5000000,"perPeriod":20000000},
 "spifs":[{"key":"big_deal","name":{"zh-CN":"大单奖","en":"Big deal"},"when":"amount >= 1000000","amount":200000}],
 "quotaBonuses":[{"key":"q100","threshold":1.0,"amount":500000},{"key":"q120","threshold":1.2,"amount":800000}],
 "teamBonuses":[{"key":"team100","threshold":1.0,"amount":100000}] ,
 "clawback":{"when":"status == 'refunded'","withinDays":90,"dateField":"refundedAt"}}`
