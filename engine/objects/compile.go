package objects

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/expr-lang/expr/types"

	"stride/engine/apperr"
	"stride/engine/forms"
	"stride/engine/rules"
)

// Compiled is a published object version ready to validate and compute records.
type Compiled struct {
	Key        string
	Version    int64
	Definition map[string]any
	Schema     *forms.Schema
	// Env is the typed formula environment of a record of this object.
	Env types.Map
	// Fields by name, in declared order in FieldOrder.
	Fields     map[string]forms.Field
	FieldOrder []string
	// Computed fields in evaluation order: every computed field comes after
	// the computed fields it reads.
	Computed   []Formula
	VisibleIf  map[string]*rules.Program
	RequiredIf map[string]*rules.Program
	TitleField string
}

// Formula is one compiled computed field.
type Formula struct {
	Field   string
	Program *rules.Program
}

// Collection is the store collection holding this object's records.
func (c *Compiled) Collection() string { return RecordCollection(c.Key) }

// RecordCollection names the collection of an object's records.
func RecordCollection(key string) string { return "rec_" + key }

// IsComputed reports whether the field is computed by a formula.
func (c *Compiled) IsComputed(name string) bool {
	return slices.ContainsFunc(c.Computed, func(f Formula) bool { return f.Field == name })
}

// WantFor maps a field's type to the result kind its formula must produce.
func WantFor(f forms.Field) rules.Result {
	r, _ := wantFor(f)
	return r
}

func wantFor(f forms.Field) (rules.Result, bool) {
	switch f.Type {
	case forms.TypeInteger, forms.TypeNumber, forms.TypeMoney:
		return rules.Number, true
	case forms.TypeString:
		return rules.String, true
	case forms.TypeBoolean:
		return rules.Bool, true
	case forms.TypeDate, forms.TypeDateTime:
		return rules.Time, true
	}
	return rules.Any, false
}

// compile validates a definition in full and compiles it. It returns every
// problem found (pointers into the definition), not just the first.
func (s *Service) compile(tenantName, key string, version int64, def map[string]any) (*Compiled, []apperr.FieldError) {
	if fe := forms.Problems(forms.ValidateConfig("object", def)); len(fe) > 0 {
		return nil, fe
	}
	raw, err := json.Marshal(def["schema"])
	if err != nil {
		return nil, []apperr.FieldError{{Pointer: "/schema", Code: "invalid", Message: err.Error()}}
	}
	sch, err := forms.Compile(raw)
	if err != nil {
		return nil, schemaErrors(err)
	}
	c := &Compiled{Key: key, Version: version, Definition: def, Schema: sch, Env: sch.EnvTypes(),
		Fields: map[string]forms.Field{}, VisibleIf: map[string]*rules.Program{}, RequiredIf: map[string]*rules.Program{}}
	for _, f := range sch.Fields() {
		c.Fields[f.Name] = f
		c.FieldOrder = append(c.FieldOrder, f.Name)
	}
	var fe []apperr.FieldError
	if tf, ok := def["titleField"].(string); ok && tf != "" {
		if f, ok := c.Fields[tf]; !ok || f.Type != forms.TypeString {
			fe = append(fe, apperr.FieldError{Pointer: "/titleField", Code: "unknown_field", Message: fmt.Sprintf("%q is not a string field of the schema", tf)})
		}
		c.TitleField = tf
	}
	if order, ok := def["order"].([]any); ok {
		for i, o := range order {
			if n, _ := o.(string); c.Fields[n].Name == "" {
				fe = append(fe, apperr.FieldError{Pointer: fmt.Sprintf("/order/%d", i), Code: "unknown_field", Message: fmt.Sprintf("%v is not a field of the schema", o)})
			}
		}
	}
	hints, _ := def["fields"].(map[string]any)
	computed := map[string]*rules.Program{}
	for _, name := range sortedKeys(hints) {
		h, _ := hints[name].(map[string]any)
		ptr := "/fields/" + name
		f, ok := c.Fields[name]
		if !ok {
			fe = append(fe, apperr.FieldError{Pointer: ptr, Code: "unknown_field", Message: fmt.Sprintf("%q is not a field of the schema", name),
				Hint: rules.DidYouMean(name, c.FieldOrder)})
			continue
		}
		if labels, ok := h["enumLabels"].(map[string]any); ok {
			for _, v := range sortedKeys(labels) {
				if !slices.ContainsFunc(f.Enum, func(e any) bool { return fmt.Sprint(e) == v }) {
					fe = append(fe, apperr.FieldError{Pointer: ptr + "/enumLabels/" + v, Code: "unknown_enum_value",
						Message: fmt.Sprintf("%q is not one of %s's enum values", v, name)})
				}
			}
		}
		rk := rules.Key{Tenant: tenantName, Config: "object:" + key + ":" + name, Version: version}
		if src, ok := h["computed"].(string); ok && src != "" {
			want, ok := wantFor(f)
			if !ok {
				fe = append(fe, apperr.FieldError{Pointer: ptr + "/computed", Code: "unsupported", Message: fmt.Sprintf("a %s field cannot be computed", f.Type)})
			} else if p, err := s.compileRule(version, rk, "computed", src, c.Env, want); err != nil {
				fe = append(fe, rules.Problem(ptr+"/computed", err))
			} else {
				computed[name] = p
			}
		}
		for _, kind := range []string{"visibleIf", "requiredIf"} {
			src, ok := h[kind].(string)
			if !ok || src == "" {
				continue
			}
			rk.Config = "object:" + key + ":" + name + ":" + kind
			p, err := s.compileRule(version, rk, kind, src, c.Env, rules.Bool)
			if err != nil {
				fe = append(fe, rules.Problem(ptr+"/"+kind, err))
				continue
			}
			if kind == "visibleIf" {
				c.VisibleIf[name] = p
			} else {
				c.RequiredIf[name] = p
			}
		}
	}
	if len(fe) > 0 {
		return nil, fe
	}
	order, cycle := evalOrder(computed, c.FieldOrder)
	if cycle != "" {
		return nil, []apperr.FieldError{{Pointer: "/fields/" + cycle + "/computed", Code: "formula_cycle",
			Message: fmt.Sprintf("computed field %s depends on itself through other computed fields", cycle)}}
	}
	for _, name := range order {
		c.Computed = append(c.Computed, Formula{Field: name, Program: computed[name]})
	}
	return c, nil
}

// compileRule caches programs of published versions only; drafts are
// checked without polluting the cache.
func (s *Service) compileRule(version int64, k rules.Key, _ string, src string, env types.Map, want rules.Result) (*rules.Program, error) {
	if version == 0 {
		return s.rules.Check(src, env, want)
	}
	return s.rules.Compile(k, src, env, want)
}

// evalOrder sorts computed fields so each comes after the computed fields it
// reads (Kahn's algorithm, ties in declared field order). It returns a field
// on a cycle if there is one.
func evalOrder(computed map[string]*rules.Program, declared []string) ([]string, string) {
	deps := map[string][]string{}
	indeg := map[string]int{}
	for name, p := range computed {
		indeg[name] += 0
		for _, r := range p.Reads() {
			if _, ok := computed[r]; ok && r != name {
				deps[r] = append(deps[r], name)
				indeg[name]++
			} else if r == name {
				return nil, name
			}
		}
	}
	var order []string
	for len(order) < len(computed) {
		progressed := false
		for _, name := range declared {
			if d, ok := indeg[name]; ok && d == 0 {
				order = append(order, name)
				indeg[name] = -1
				for _, next := range deps[name] {
					indeg[next]--
				}
				progressed = true
				break
			}
		}
		if !progressed {
			for _, name := range declared {
				if indeg[name] > 0 {
					return nil, name
				}
			}
		}
	}
	return order, ""
}

// schemaErrors turns a schema compile error into pointers under /schema.
func schemaErrors(err error) []apperr.FieldError {
	var out []apperr.FieldError
	for _, se := range forms.SchemaErrors(err) {
		out = append(out, apperr.FieldError{Pointer: "/schema" + se.Pointer, Code: "schema", Message: se.Message})
	}
	if len(out) == 0 {
		out = append(out, apperr.FieldError{Pointer: "/schema", Code: "schema", Message: err.Error()})
	}
	return out
}

// Env compiles only the schema of a definition and returns its typed formula
// environment and fields, for checking formulas while a definition is edited.
func (s *Service) Env(def map[string]any) (types.Map, map[string]forms.Field, []apperr.FieldError) {
	raw, err := json.Marshal(def["schema"])
	if err != nil || def["schema"] == nil {
		return nil, nil, []apperr.FieldError{{Pointer: "/definition/schema", Code: "required", Message: "the definition needs a schema"}}
	}
	sch, err := forms.Compile(raw)
	if err != nil {
		return nil, nil, schemaErrors(err)
	}
	fields := map[string]forms.Field{}
	for _, f := range sch.Fields() {
		fields[f.Name] = f
	}
	return sch.EnvTypes(), fields, nil
}

// SampleEnv validates a sample record against a definition's schema and
// returns it as formula variables.
func (s *Service) SampleEnv(def map[string]any, sample map[string]any) (map[string]any, []apperr.FieldError) {
	raw, _ := json.Marshal(def["schema"])
	sch, err := forms.Compile(raw)
	if err != nil {
		return nil, schemaErrors(err)
	}
	if fe := sch.Validate(sample); len(fe) > 0 {
		// A sample may leave out required fields: only type errors matter here.
		var kept []apperr.FieldError
		for _, e := range forms.Problems(fe) {
			if e.Code != "required" {
				kept = append(kept, e)
			}
		}
		if len(kept) > 0 {
			return nil, kept
		}
	}
	return sch.ToEnv(sch.Normalize(sample)), nil
}
