package calc

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/types"

	"stride/engine/apperr"
	"stride/engine/forms"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/rules"
)

// Rate kinds of a rule.
const (
	RateConstant = "constant"
	RateTier     = "tier"
	RateMarginal = "marginal"
	RateExpr     = "expr"
)

// What a marginal table's bands slice (Rule.Basis).
const (
	// BasisQuota: thresholds are attainment fractions; band boundaries are
	// threshold × quota; the base accumulates over the quota window.
	BasisQuota = "quota"
	// BasisAmount: thresholds are amounts in major units; the base
	// accumulates over the quota window.
	BasisAmount = "amount"
	// BasisLine: thresholds are amounts in major units; each credit line is
	// sliced on its own.
	BasisLine = "line"
)

// The names rule formulas see besides the record's fields (see the package
// documentation, "Formula environment"). A credited object may not have a
// field of one of these names when the plan has rule formulas: the formula
// would be ambiguous.
const (
	NameRep        = "rep"
	NamePeriod     = "period"
	NameAttainment = "attainment"
	NameQuota      = "quota"
	NameCredit     = "credit"
)

// ContextNames lists the names above.
var ContextNames = []string{NameRep, NamePeriod, NameAttainment, NameQuota, NameCredit}

// reservedKeys are line rule names the calculator uses itself.
var reservedKeys = map[string]bool{"clawback": true}

// Plan is a compiled commission plan version. It is immutable and safe for
// concurrent use; the values lines point to (Line.Rate, Band, Explanation
// pointers) may be shared between lines, results and the plan, so treat
// them as read-only.
type Plan struct {
	Tenant     string
	Key        string
	Version    int64
	Definition map[string]any

	Name     map[string]string // zh-CN, en
	Currency string            // ISO 4217, default CNY
	// Grain is the statement period; QuotaGrain the quota window (≥ Grain).
	Grain      period.Grain
	QuotaGrain period.Grain
	// QuotaMetric and QuotaLevel (floor, target or stretch) name the target
	// attainment is measured against.
	QuotaMetric string
	QuotaLevel  string
	Assign      Assign
	// EffectiveFrom and EffectiveTo are inclusive calendar dates
	// (YYYY-MM-DD, "" = open).
	EffectiveFrom string
	EffectiveTo   string

	// The credited object (and the version the plan was compiled against)
	// and its fields.
	Object        string
	ObjectVersion int64
	DateField     string // a date or date-time field, or createdAt
	OwnerField    string // a string field, or owner
	SplitField    string // "" = no split
	// NeedsAttainment is set when the plan cannot be computed without the
	// rep's quota: a tier on attainment, a marginal table on quota, a quota
	// bonus, or a formula reading attainment or quota.
	NeedsAttainment bool

	Rules        []Rule
	Caps         Caps
	SPIFs        []SPIF
	QuotaBonuses []Bonus
	TeamBonuses  []Bonus
	Clawback     *Clawback // nil: no clawback

	obj       *objects.Compiled
	dateType  forms.FieldType // of DateField ("" for createdAt)
	credWhen  *formula
	credBase  *formula
	nFormulas int            // rule-level formulas, numbered for per-run caches
	zero      map[string]any // every record field's zero value (ToEnv(nil))
}

// Assign says who a plan applies to.
type Assign struct {
	Roles []string `json:"roles,omitempty"`
	Teams []string `json:"teams,omitempty"`
	Users []string `json:"users,omitempty"`
}

// Rule is one rate rule.
type Rule struct {
	Key   string
	Name  map[string]string
	Kind  string  // RateConstant, RateTier, RateMarginal or RateExpr
	Basis string  // marginal: BasisQuota, BasisAmount or BasisLine
	When  string  // "" = always
	Value float64 // constant
	Table []Row   // tier and marginal
	On    string  // tier: the formula x is read from ("" = attainment)
	Expr  string  // expr: the rate formula

	when, on, expr *formula
	rate           dec      // constant
	rates          []dec    // per table row
	ths            []dec    // thresholds per table row
	rateF          *float64 // constant's rate, shared by its lines
	rowRates       []*float64
	formula        string   // as shown in explanations
	sched          schedule // marginal on amount / line (fixed boundaries)
}

// Row is one [threshold, rate] row of a table.
type Row struct {
	Threshold float64 `json:"threshold"`
	Rate      float64 `json:"rate"`
}

// Caps are the plan's caps in minor units (nil: none).
type Caps struct {
	PerLine   *int64 `json:"perLine,omitempty"`
	PerPeriod *int64 `json:"perPeriod,omitempty"`
}

// SPIF pays a fixed amount per credit line matching When.
type SPIF struct {
	Key    string
	Name   map[string]string
	When   string
	Amount int64
	when   *formula
}

// Bonus is a quota or team bonus: paid when attainment crosses Threshold;
// Amount, or for team bonuses Rate × the rep's credited base when Rate is set.
type Bonus struct {
	Key       string
	Name      map[string]string
	Threshold float64
	Amount    int64
	Rate      *float64
	th        dec
	rate      dec
	thF       *float64
}

// Clawback says when a credited record counts as reversed.
type Clawback struct {
	When       string
	WithinDays int
	DateField  string
	when       *formula
	dateType   forms.FieldType
}

// formula is a compiled formula and what it reads, which decides how it is
// evaluated (see run.eval).
type formula struct {
	p      *rules.Program
	ptr    string
	id     int      // index of per-run caches (rule-level formulas)
	fields []string // record fields it reads
	ctx    []string // rep, period, attainment, quota names it reads
	credit bool     // reads credit
	mode   int
	native nativeBool // a record condition evaluated in Go (see native.go), or nil
}

// Evaluation modes of a rule-level formula.
const (
	// modeOnce: reads no record field and not credit — evaluated once per
	// Calculate (it can only depend on the rep, the period and attainment).
	modeOnce = iota
	// modeDirect: reads only record fields — runs on Credit.Data as is.
	modeDirect
	// modeMixed: reads record fields and the context — runs on a reused
	// environment holding exactly what it reads.
	modeMixed
)

// compiler carries one Compile call.
type compiler struct {
	eng     *rules.Engine
	tenant  string
	key     string
	version int64
	obj     *objects.Compiled
	p       *Plan
	fe      []apperr.FieldError
	recEnv  types.Map
	ruleEnv types.Map
}

func (c *compiler) fail(ptr, code, format string, args ...any) {
	c.fe = append(c.fe, apperr.FieldError{Pointer: ptr, Code: code, Message: fmt.Sprintf(format, args...)})
}

// Compile validates a plan definition — schemas/commission_plan.schema.json,
// then the semantic checks: tables sorted and without duplicate thresholds,
// rates and thresholds finite, ≥ 0 and of at most 12 decimals, keys unique,
// grain ≤ quotaGrain, fields of the credited object of the right types, and
// every formula type-checked against its environment — and compiles its
// formulas. obj is the published version of the credited object
// (credits.object). Errors carry JSON pointers into def. version 0 compiles
// a draft without caching its formulas.
func Compile(eng *rules.Engine, tenant, key string, version int64, def map[string]any, obj *objects.Compiled) (*Plan, []apperr.FieldError) {
	if fe := forms.Problems(forms.ValidateConfig("commission_plan", def)); len(fe) > 0 {
		return nil, fe
	}
	p := &Plan{Tenant: tenant, Key: key, Version: version, Definition: def, Currency: "CNY",
		Grain: period.Month, QuotaLevel: "target", OwnerField: "owner"}
	c := &compiler{eng: eng, tenant: tenant, key: key, version: version, obj: obj, p: p}

	p.Name = text(def["name"])
	if s, ok := def["currency"].(string); ok {
		p.Currency = s
	}
	if s, ok := def["grain"].(string); ok {
		p.Grain = period.Grain(s)
	}
	p.QuotaGrain = p.Grain
	if s, ok := def["quotaGrain"].(string); ok {
		p.QuotaGrain = period.Grain(s)
	}
	if grainRank(p.QuotaGrain) < grainRank(p.Grain) {
		c.fail("/quotaGrain", "grain_order", "the quota window (%s) cannot be shorter than the statement period (%s)", p.QuotaGrain, p.Grain)
	}
	q, _ := def["quota"].(map[string]any)
	p.QuotaMetric, _ = q["metric"].(string)
	if s, ok := q["level"].(string); ok {
		p.QuotaLevel = s
	}
	if a, ok := def["assign"].(map[string]any); ok {
		p.Assign = Assign{Roles: strs(a["roles"]), Teams: strs(a["teams"]), Users: strs(a["users"])}
	}
	p.EffectiveFrom, _ = def["effectiveFrom"].(string)
	p.EffectiveTo, _ = def["effectiveTo"].(string)
	if p.EffectiveFrom != "" && p.EffectiveTo != "" && p.EffectiveTo < p.EffectiveFrom {
		c.fail("/effectiveTo", "date_order", "the plan ends (%s) before it starts (%s)", p.EffectiveTo, p.EffectiveFrom)
	}

	cr, _ := def["credits"].(map[string]any)
	p.Object, _ = cr["object"].(string)
	if obj == nil || obj.Key != p.Object {
		c.fail("/credits/object", "unknown_object", "the object %q does not exist or is not published", p.Object)
		return nil, c.fe
	}
	p.obj, p.ObjectVersion = obj, obj.Version
	p.zero = obj.Schema.ToEnv(nil)
	c.recEnv = obj.Env
	c.credits(cr)
	c.keys(def)
	c.caps(def)
	c.ruleEnvironment(def)
	c.rules(def)
	c.spifs(def)
	c.bonuses(def)
	c.clawback(def)
	if len(c.fe) > 0 {
		return nil, c.fe
	}
	for _, r := range p.Rules {
		if r.Kind == RateTier && r.On == "" || r.Kind == RateMarginal && r.Basis == BasisQuota {
			p.NeedsAttainment = true
		}
	}
	if len(p.QuotaBonuses) > 0 || p.ctxReadsQuota() {
		p.NeedsAttainment = true
	}
	return p, nil
}

// RecordFields lists, sorted, the record fields the plan's rule formulas
// (rules' when, on and expr, SPIFs' when) read from Credit.Data — all
// Calculate reads of it. A caller holding many credits may keep only these
// fields in Data (credit formulas and the clawback's when run in Credits
// and ReversedIn, on the whole record).
func (p *Plan) RecordFields() []string {
	var out []string
	add := func(f *formula) {
		if f != nil {
			out = append(out, f.fields...)
		}
	}
	for i := range p.Rules {
		add(p.Rules[i].when)
		add(p.Rules[i].on)
		add(p.Rules[i].expr)
	}
	for i := range p.SPIFs {
		add(p.SPIFs[i].when)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ctxReadsQuota reports whether a rule formula reads attainment or quota.
func (p *Plan) ctxReadsQuota() bool {
	reads := func(f *formula) bool {
		return f != nil && (slices.Contains(f.ctx, NameAttainment) || slices.Contains(f.ctx, NameQuota))
	}
	for _, r := range p.Rules {
		if reads(r.when) || reads(r.on) || reads(r.expr) {
			return true
		}
	}
	for _, s := range p.SPIFs {
		if reads(s.when) {
			return true
		}
	}
	return false
}

func grainRank(g period.Grain) int { return slices.Index(period.Grains, g) }

// credits checks the credited object's fields and compiles when and base.
func (c *compiler) credits(cr map[string]any) {
	p, obj := c.p, c.obj
	p.DateField, _ = cr["dateField"].(string)
	if s, ok := cr["ownerField"].(string); ok {
		p.OwnerField = s
	}
	p.SplitField, _ = cr["splitField"].(string)
	unknown := func(ptr, name, want string) {
		c.fe = append(c.fe, apperr.FieldError{Pointer: ptr, Code: "unknown_field",
			Message: fmt.Sprintf("%q is not %s of object %s", name, want, p.Object), Hint: rules.DidYouMean(name, obj.FieldOrder)})
	}
	switch f, ok := obj.Fields[p.DateField]; {
	case p.DateField == "createdAt":
	case !ok || (f.Type != forms.TypeDate && f.Type != forms.TypeDateTime):
		unknown("/credits/dateField", p.DateField, "a date or date-time field (or createdAt)")
	default:
		p.dateType = f.Type
	}
	if f, ok := obj.Fields[p.OwnerField]; p.OwnerField != "owner" && (!ok || f.Type != forms.TypeString) {
		unknown("/credits/ownerField", p.OwnerField, "a string field (or owner)")
	}
	if p.SplitField != "" {
		if f, ok := obj.Fields[p.SplitField]; !ok || !isSplitField(f) {
			unknown("/credits/splitField", p.SplitField, "an array field of objects {user: string, percent: number}")
		}
	}
	if src, ok := cr["when"].(string); ok {
		p.credWhen = c.compile("/credits/when", src, c.recEnv, rules.Bool, false)
	}
	if src, ok := cr["base"].(string); ok {
		p.credBase = c.compile("/credits/base", src, c.recEnv, rules.Number, false)
	}
}

// isSplitField reports whether f is an array of objects with a string user
// and a numeric percent (the credit list format of engine/tracking).
func isSplitField(f forms.Field) bool {
	if f.Type != forms.TypeArray || f.Items == nil || f.Items.Type != forms.TypeObject {
		return false
	}
	var user, pct bool
	for _, sf := range f.Items.Fields {
		switch {
		case sf.Name == "user" && sf.Type == forms.TypeString:
			user = true
		case sf.Name == "percent" && (sf.Type == forms.TypeNumber || sf.Type == forms.TypeInteger):
			pct = true
		}
	}
	return user && pct
}

// keys checks that rule, SPIF and bonus keys are unique across the plan.
func (c *compiler) keys(def map[string]any) {
	seen := map[string]string{}
	for _, list := range []string{"rules", "spifs", "quotaBonuses", "teamBonuses"} {
		items, _ := def[list].([]any)
		for i, it := range items {
			m, _ := it.(map[string]any)
			k, _ := m["key"].(string)
			ptr := fmt.Sprintf("/%s/%d/key", list, i)
			if reservedKeys[k] {
				c.fail(ptr, "reserved_key", "%q is reserved for the calculator's own lines", k)
			}
			if first, dup := seen[k]; dup {
				c.fail(ptr, "duplicate_key", "the key %q is already used at %s", k, first)
				continue
			}
			seen[k] = ptr
		}
	}
}

func (c *compiler) caps(def map[string]any) {
	caps, _ := def["caps"].(map[string]any)
	if v, ok := caps["perLine"]; ok {
		n := asInt64(v)
		c.p.Caps.PerLine = &n
	}
	if v, ok := caps["perPeriod"]; ok {
		n := asInt64(v)
		c.p.Caps.PerPeriod = &n
	}
}

// ruleEnvironment builds the environment of rule formulas: the record's
// fields plus the context names, refusing fields that shadow them.
func (c *compiler) ruleEnvironment(def map[string]any) {
	c.ruleEnv = make(types.Map, len(c.recEnv)+len(ContextNames))
	for k, v := range c.recEnv {
		c.ruleEnv[k] = v
	}
	if hasRuleFormulas(def) {
		for _, name := range ContextNames {
			if _, ok := c.recEnv[name]; ok {
				c.fail("/credits/object", "name_collision",
					"object %s has a field named %q, which rule formulas use for the %s; rename the field to use formulas in this plan", c.p.Object, name, contextMeaning[name])
			}
		}
	}
	c.ruleEnv[NameRep] = types.Map{"id": types.String, "name": types.String, "teams": types.Array(types.String)}
	c.ruleEnv[NamePeriod] = types.Map{"key": types.String, "start": types.TypeOf(time.Time{}), "end": types.TypeOf(time.Time{}),
		"quotaKey": types.String, "quotaStart": types.TypeOf(time.Time{}), "quotaEnd": types.TypeOf(time.Time{})}
	c.ruleEnv[NameAttainment] = types.Float64
	c.ruleEnv[NameQuota] = types.Float64
	c.ruleEnv[NameCredit] = types.Map{"base": types.Float64, "recordBase": types.Float64, "share": types.Float64, "date": types.TypeOf(time.Time{})}
}

var contextMeaning = map[string]string{
	NameRep: "rep", NamePeriod: "statement period", NameAttainment: "rep's attainment",
	NameQuota: "rep's quota", NameCredit: "credit line",
}

// hasRuleFormulas reports whether def has formulas that see the context.
func hasRuleFormulas(def map[string]any) bool {
	rs, _ := def["rules"].([]any)
	for _, it := range rs {
		r, _ := it.(map[string]any)
		rate, _ := r["rate"].(map[string]any)
		if _, ok := r["when"]; ok {
			return true
		}
		if _, ok := rate["on"]; ok {
			return true
		}
		if _, ok := rate["expr"]; ok {
			return true
		}
	}
	sp, _ := def["spifs"].([]any)
	return len(sp) > 0
}

// compile compiles one formula; rule says whether it is a rule-level
// formula (numbered, evaluated by run.eval) or a record formula.
func (c *compiler) compile(ptr, src string, env types.Map, want rules.Result, rule bool) *formula {
	var prog *rules.Program
	var err error
	if c.version == 0 {
		prog, err = c.eng.Check(src, env, want)
	} else {
		// The object version is part of the cache key: the same plan
		// version compiled against a newer object must not reuse programs
		// typed against the old fields.
		prog, err = c.eng.Compile(rules.Key{Tenant: c.tenant,
			Config: "commission:" + c.key + "@" + c.p.Object + "." + strconv.FormatInt(c.obj.Version, 10) + ":" + ptr[1:], Version: c.version},
			src, env, want)
	}
	if err != nil {
		fe := rules.Problem(ptr, err)
		if fer, ok := rules.AsFormulaError(err); ok && fer.Code == rules.CodeUnknownName && fer.Name == "record" && fe.Hint == "" {
			fe.Hint = "record fields are used by name: write amount, not record.amount"
		}
		c.fe = append(c.fe, fe)
		return nil
	}
	f := &formula{p: prog, ptr: ptr, id: -1}
	for _, name := range prog.Reads() {
		switch {
		case rule && name == NameCredit:
			f.credit = true
		case rule && slices.Contains(ContextNames, name):
			f.ctx = append(f.ctx, name)
		default:
			f.fields = append(f.fields, name)
		}
	}
	if want == rules.Bool && len(f.fields) > 0 && len(f.ctx) == 0 && !f.credit {
		f.native = compileNative(src, c.obj.Fields)
	}
	if rule {
		f.id = c.p.nFormulas
		c.p.nFormulas++
		switch {
		case len(f.fields) == 0 && !f.credit:
			f.mode = modeOnce
		case len(f.ctx) == 0 && !f.credit:
			f.mode = modeDirect
		default:
			f.mode = modeMixed
		}
	}
	return f
}

// rules compiles the rate rules.
func (c *compiler) rules(def map[string]any) {
	items, _ := def["rules"].([]any)
	for i, it := range items {
		m, _ := it.(map[string]any)
		ptr := fmt.Sprintf("/rules/%d", i)
		r := Rule{Name: text(m["name"])}
		r.Key, _ = m["key"].(string)
		rate, _ := m["rate"].(map[string]any)
		r.Kind, _ = rate["kind"].(string)
		if src, ok := m["when"].(string); ok {
			r.When = src
			r.when = c.compile(ptr+"/when", src, c.ruleEnv, rules.Bool, true)
		}
		switch r.Kind {
		case RateConstant:
			r.Value = asFloat(rate["value"])
			r.rate = c.rateDec(ptr+"/rate/value", r.Value)
			v := r.rate.float()
			r.rateF = &v
			r.formula = r.rate.String()
		case RateTier, RateMarginal:
			r.Table, r.ths, r.rates = c.table(ptr+"/rate/table", rate["table"])
			for _, d := range r.rates {
				v := d.float()
				r.rowRates = append(r.rowRates, &v)
			}
			r.formula = tableText(r.Table)
			if r.Kind == RateTier {
				if src, ok := rate["on"].(string); ok {
					r.On = src
					r.on = c.compile(ptr+"/rate/on", src, c.ruleEnv, rules.Number, true)
					r.formula = "tier(" + src + ", " + r.formula + ")"
				} else {
					r.formula = "tier(attainment, " + r.formula + ")"
				}
				break
			}
			r.Basis = BasisQuota
			if s, ok := rate["basis"].(string); ok {
				r.Basis = s
			}
			r.formula = "marginal(" + r.Basis + ", " + r.formula + ")"
			if r.Basis != BasisQuota && len(r.ths) == len(r.Table) {
				// Thresholds in major units: boundaries are fixed.
				bounds := make([]int64, len(r.ths))
				for j, th := range r.ths {
					b, err := mulDec(forms.MinorPerMajor, th)
					if err != nil {
						c.fail(fmt.Sprintf("%s/rate/table/%d/0", ptr, j), "out_of_range", "the threshold is too large")
					}
					bounds[j] = b
				}
				r.sched = newSchedule(bounds, r.rates)
			}
		case RateExpr:
			r.Expr, _ = rate["expr"].(string)
			r.expr = c.compile(ptr+"/rate/expr", r.Expr, c.ruleEnv, rules.Number, true)
			r.formula = r.Expr
		}
		c.p.Rules = append(c.p.Rules, r)
	}
}

// rateDec reads a rate written in the plan.
func (c *compiler) rateDec(ptr string, x float64) dec {
	d, err := decOf(x)
	switch {
	case err != nil:
		c.fail(ptr, "invalid_rate", "the rate must be a finite number of at least 0 (%v)", err)
	case d.k > maxDecimals:
		c.fail(ptr, "rate_precision", "the rate %s has more than %d decimal places", d, maxDecimals)
	}
	return d
}

// table reads a [threshold, rate] table: thresholds strictly ascending,
// everything finite, ≥ 0 and of at most 12 decimals.
func (c *compiler) table(ptr string, v any) ([]Row, []dec, []dec) {
	rows, _ := v.([]any)
	out := make([]Row, 0, len(rows))
	ths := make([]dec, 0, len(rows))
	rates := make([]dec, 0, len(rows))
	for i, rv := range rows {
		pair, _ := rv.([]any)
		if len(pair) != 2 {
			continue // the schema reported it
		}
		row := Row{Threshold: asFloat(pair[0]), Rate: asFloat(pair[1])}
		rp := fmt.Sprintf("%s/%d", ptr, i)
		th, err := decOf(row.Threshold)
		switch {
		case err != nil:
			c.fail(rp+"/0", "invalid_threshold", "the threshold must be a finite number of at least 0 (%v)", err)
		case th.k > maxDecimals:
			c.fail(rp+"/0", "threshold_precision", "the threshold %s has more than %d decimal places", th, maxDecimals)
		}
		rate := c.rateDec(rp+"/1", row.Rate)
		if i > 0 {
			prev := out[len(out)-1].Threshold
			switch {
			case row.Threshold == prev:
				c.fail(rp+"/0", "duplicate_threshold", "row %d repeats the threshold %s of row %d; each band needs its own threshold", i+1, formatDec(row.Threshold), i)
			case row.Threshold < prev:
				c.fail(rp+"/0", "unsorted_tiers", "thresholds must ascend, but row %d (%s) comes after row %d (%s)", i+1, formatDec(row.Threshold), i, formatDec(prev))
			}
		}
		out = append(out, row)
		ths = append(ths, th)
		rates = append(rates, rate)
	}
	return out, ths, rates
}

func tableText(rows []Row) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "[%s, %s]", formatDec(r.Threshold), formatDec(r.Rate))
	}
	b.WriteByte(']')
	return b.String()
}

func (c *compiler) spifs(def map[string]any) {
	items, _ := def["spifs"].([]any)
	for i, it := range items {
		m, _ := it.(map[string]any)
		s := SPIF{Name: text(m["name"]), Amount: asInt64(m["amount"])}
		s.Key, _ = m["key"].(string)
		s.When, _ = m["when"].(string)
		s.when = c.compile(fmt.Sprintf("/spifs/%d/when", i), s.When, c.ruleEnv, rules.Bool, true)
		c.p.SPIFs = append(c.p.SPIFs, s)
	}
}

func (c *compiler) bonuses(def map[string]any) {
	for _, list := range []string{"quotaBonuses", "teamBonuses"} {
		items, _ := def[list].([]any)
		for i, it := range items {
			m, _ := it.(map[string]any)
			ptr := fmt.Sprintf("/%s/%d", list, i)
			b := Bonus{Name: text(m["name"]), Threshold: asFloat(m["threshold"])}
			b.Key, _ = m["key"].(string)
			th, err := decOf(b.Threshold)
			switch {
			case err != nil:
				c.fail(ptr+"/threshold", "invalid_threshold", "the threshold must be a finite number above 0 (%v)", err)
			case th.k > maxDecimals:
				c.fail(ptr+"/threshold", "threshold_precision", "the threshold %s has more than %d decimal places", th, maxDecimals)
			}
			b.th = th
			t := th.float()
			b.thF = &t
			_, hasAmount := m["amount"]
			rv, hasRate := m["rate"]
			switch {
			case hasAmount && hasRate:
				c.fail(ptr, "amount_or_rate", "a bonus pays either a fixed amount or a rate, not both")
			case list == "teamBonuses" && !hasAmount && !hasRate:
				c.fail(ptr, "amount_or_rate", "a team bonus needs an amount or a rate")
			case list == "quotaBonuses" && !hasAmount:
				c.fail(ptr+"/amount", "required", "a quota bonus needs an amount")
			}
			b.Amount = asInt64(m["amount"])
			if hasRate {
				r := asFloat(rv)
				b.rate = c.rateDec(ptr+"/rate", r)
				f := b.rate.float()
				b.Rate = &f
			}
			if list == "quotaBonuses" {
				c.p.QuotaBonuses = append(c.p.QuotaBonuses, b)
			} else {
				c.p.TeamBonuses = append(c.p.TeamBonuses, b)
			}
		}
	}
	// Quota bonuses with the same threshold would both pay on one crossing;
	// that is allowed (two named bonuses), but one table of thresholds is
	// easier to read in ascending order — keep the admin's order.
}

func (c *compiler) clawback(def map[string]any) {
	m, ok := def["clawback"].(map[string]any)
	if !ok {
		return
	}
	cb := &Clawback{WithinDays: int(asInt64(m["withinDays"]))}
	cb.When, _ = m["when"].(string)
	cb.DateField, _ = m["dateField"].(string)
	if f, ok := c.obj.Fields[cb.DateField]; !ok || (f.Type != forms.TypeDate && f.Type != forms.TypeDateTime) {
		c.fe = append(c.fe, apperr.FieldError{Pointer: "/clawback/dateField", Code: "unknown_field",
			Message: fmt.Sprintf("%q is not a date or date-time field of object %s", cb.DateField, c.p.Object), Hint: rules.DidYouMean(cb.DateField, c.obj.FieldOrder)})
	} else {
		cb.dateType = f.Type
	}
	cb.when = c.compile("/clawback/when", cb.When, c.recEnv, rules.Bool, false)
	c.p.Clawback = cb
}

// Assigned reports whether the plan applies to a user with the given roles
// and teams: any listed role, team or user matches; an empty assign applies
// to everyone.
func (p *Plan) Assigned(user string, roles, teams []string) bool {
	a := p.Assign
	if len(a.Roles) == 0 && len(a.Teams) == 0 && len(a.Users) == 0 {
		return true
	}
	if slices.Contains(a.Users, user) {
		return true
	}
	for _, r := range roles {
		if slices.Contains(a.Roles, r) {
			return true
		}
	}
	for _, t := range teams {
		if slices.Contains(a.Teams, t) {
			return true
		}
	}
	return false
}

// Effective reports whether the plan is in force on any day of w (dates
// compared in w's zone).
func (p *Plan) Effective(w Window) bool {
	first := w.Start.In(w.Start.Location()).Format(period.DateLayout)
	last := w.End.Add(-time.Nanosecond).In(w.Start.Location()).Format(period.DateLayout)
	if p.EffectiveFrom != "" && last < p.EffectiveFrom {
		return false
	}
	if p.EffectiveTo != "" && first > p.EffectiveTo {
		return false
	}
	return true
}

// Label is the display name of a line's rule in lang (zh-CN or en),
// falling back to the other language and then to the key.
func (p *Plan) Label(rule, lang string) string {
	var name map[string]string
	for _, r := range p.Rules {
		if r.Key == rule {
			name = r.Name
		}
	}
	for _, s := range p.SPIFs {
		if s.Key == rule {
			name = s.Name
		}
	}
	for _, b := range append(slices.Clip(p.QuotaBonuses), p.TeamBonuses...) {
		if b.Key == rule {
			name = b.Name
		}
	}
	return pick(name, lang, rule)
}

func pick(name map[string]string, lang, fallback string) string {
	if s := name[lang]; s != "" {
		return s
	}
	for _, l := range []string{"zh-CN", "en"} {
		if s := name[l]; s != "" {
			return s
		}
	}
	return fallback
}

// text reads a {zh-CN, en} object.
func text(v any) map[string]string {
	m, _ := v.(map[string]any)
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, s := range m {
		if str, ok := s.(string); ok {
			out[k] = str
		}
	}
	return out
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// asFloat reads a decoded JSON number (NaN when it is not one).
func asFloat(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return math.NaN()
		}
		return f
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case int32:
		return float64(n)
	case float32:
		return float64(n)
	}
	return math.NaN()
}

// asInt64 reads a decoded JSON integer.
func asInt64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case int32:
		return int64(n)
	case float64:
		return int64(n)
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(n), 64)
		return int64(f)
	}
	return 0
}
