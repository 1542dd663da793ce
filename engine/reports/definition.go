package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"stride/engine/apperr"
	"stride/engine/forms"
	"stride/engine/objects"
	"stride/engine/pipeline"
	"stride/engine/rules"
	"stride/engine/store"
	"stride/engine/tracking"
)

// Source kinds.
const (
	SourceRecords    = "records"
	SourceRollups    = "rollups"
	SourceStages     = "stages"
	SourceStatements = "statements"
)

// Aggregations.
const (
	AggCount    = "count"
	AggSum      = "sum"
	AggAvg      = "avg"
	AggMin      = "min"
	AggMax      = "max"
	AggDistinct = "distinct"
)

// Column types of a result (and of export cells).
const (
	TypeString   = "string"
	TypeInteger  = "integer"
	TypeNumber   = "number"
	TypeMoney    = "money" // int64 minor units (分); exports show 元 with 0.00
	TypePercent  = "percent"
	TypeDate     = "date"
	TypeDateTime = "datetime"
	TypeBoolean  = "boolean"
)

// Definition is a report definition (schemas/report.schema.json).
type Definition struct {
	Key         string            `json:"key,omitempty"`
	Label       map[string]string `json:"label"`
	Description map[string]string `json:"description,omitempty"`
	Source      Source            `json:"source"`
	Filters     []Filter          `json:"filters,omitempty"`
	Period      *PeriodSpec       `json:"period,omitempty"`
	Dimensions  []Dimension       `json:"dimensions,omitempty"`
	Measures    []Measure         `json:"measures"`
	Sort        []SortSpec        `json:"sort,omitempty"`
	Limit       int               `json:"limit,omitempty"`
	Chart       *Chart            `json:"chart,omitempty"`
}

// Source says where rows come from.
type Source struct {
	Kind     string `json:"kind"`
	Object   string `json:"object,omitempty"`
	Metric   string `json:"metric,omitempty"`
	Pipeline string `json:"pipeline,omitempty"`
}

// Filter is one condition on a field.
type Filter struct {
	Field string `json:"field"`
	Op    string `json:"op"`
	Value any    `json:"value,omitempty"`
}

// PeriodSpec names the date field the run's period filters on.
type PeriodSpec struct {
	Field string `json:"field,omitempty"`
}

// Dimension is one grouping column.
type Dimension struct {
	Key   string            `json:"key"`
	Label map[string]string `json:"label,omitempty"`
	Field string            `json:"field,omitempty"`
	Org   string            `json:"org,omitempty"`
	Grain string            `json:"grain,omitempty"`
}

// Measure is one measured column.
type Measure struct {
	Key   string            `json:"key"`
	Label map[string]string `json:"label,omitempty"`
	Agg   string            `json:"agg"`
	Field string            `json:"field,omitempty"`
	Expr  string            `json:"expr,omitempty"`
	Unit  string            `json:"unit,omitempty"`
}

// SortSpec orders rows by a column.
type SortSpec struct {
	Key  string `json:"key"`
	Desc bool   `json:"desc,omitempty"`
}

// Chart is the chart hint.
type Chart struct {
	Type   string   `json:"type"`
	X      string   `json:"x,omitempty"`
	Y      []string `json:"y,omitempty"`
	Series string   `json:"series,omitempty"`
}

// fieldKind says where a field's value lives in a source row.
type fieldKind int

const (
	fData    fieldKind = iota // record data at path
	fOwner                    // record owner / statement rep / rollup owner
	fID                       // record / statement id
	fCreated                  // record createdAt
	fUpdated                  // record updatedAt
	fStage                    // stage visit: stage
	fEntered                  // stage visit: enteredAt
	fExited                   // stage visit: exitedAt
	fDays                     // stage visit: days in stage (null while open)
	fDay                      // rollup cell: day
	fValue                    // rollup cell: sum (metric unit)
	fCount                    // rollup cell: count
	fStmt                     // statement field (top level)
	fLine                     // statement line field
)

// field is a resolved field of a source.
type field struct {
	name string
	kind fieldKind
	path []string // fData: path in data; fStmt/fLine: key
	typ  string   // a column type
	// push is the store path of a pushable condition ("" = filter in Go).
	push string
	// enum holds the allowed values of an enum field (labels come from the object).
	scale int64 // fValue of a number metric: stored units per 1
}

// compiled is a report definition ready to run.
type compiled struct {
	def     *Definition
	key     string
	version int64
	obj     *objects.Compiled  // records, stages
	pipe    *pipeline.Compiled // stages
	metric  *tracking.Metric   // rollups
	period  *field             // nil: the run's period does not apply (statements use their period key)
	filters []cfilter
	dims    []cdim
	meas    []cmeasure
}

type cfilter struct {
	f     *field
	op    store.Op
	value any
}

type cdim struct {
	Dimension
	f     *field
	typ   string
	grain string
}

type cmeasure struct {
	Measure
	f    *field
	prog *rules.Program
	typ  string // result column type
	// money: values are int64 minor units; integer: int64; else float64.
	exact bool
}

// decode checks def against the schema and decodes it.
func decode(def map[string]any) (*Definition, []apperr.FieldError) {
	if fe := forms.Problems(forms.ValidateConfig("report", def)); len(fe) > 0 {
		return nil, fe
	}
	b, err := json.Marshal(def)
	if err != nil {
		return nil, []apperr.FieldError{{Code: "invalid", Message: err.Error()}}
	}
	var d Definition
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, []apperr.FieldError{{Code: "invalid", Message: err.Error()}}
	}
	return &d, nil
}

// compile validates def in full — source, fields, types, formulas, sort
// keys, chart — and returns every problem with a pointer.
func (s *Service) compile(ctx context.Context, db store.DB, tenant, key string, version int64, raw map[string]any) (*compiled, []apperr.FieldError) {
	def, fe := decode(raw)
	if len(fe) > 0 {
		return nil, fe
	}
	c := &compiled{def: def, key: key, version: version}
	bad := func(ptr, code, msg string, args ...any) {
		fe = append(fe, apperr.FieldError{Pointer: ptr, Code: code, Message: fmt.Sprintf(msg, args...)})
	}
	switch def.Source.Kind {
	case SourceRecords:
		if def.Source.Object == "" {
			bad("/source/object", "required", "a records report names its object")
			break
		}
		obj, err := s.objs.Published(ctx, db, tenant, def.Source.Object)
		if err != nil {
			bad("/source/object", "unknown_object", "object %q does not exist or is not published", def.Source.Object)
			break
		}
		c.obj = obj
	case SourceStages:
		if def.Source.Pipeline == "" || s.pipes == nil {
			bad("/source/pipeline", "required", "a stages report names its pipeline")
			break
		}
		pc, err := s.pipes.Published(ctx, db, tenant, def.Source.Pipeline)
		if err != nil {
			bad("/source/pipeline", "unknown_pipeline", "pipeline %q does not exist or is not published", def.Source.Pipeline)
			break
		}
		obj, err := s.objs.Published(ctx, db, tenant, pc.Object)
		if err != nil {
			bad("/source/pipeline", "unknown_object", "the pipeline's object %q is not published", pc.Object)
			break
		}
		c.pipe, c.obj = pc, obj
	case SourceRollups:
		if def.Source.Metric == "" {
			bad("/source/metric", "required", "a rollups report names its metric")
			break
		}
		m, err := s.tracker.Metric(ctx, db, tenant, def.Source.Metric)
		if err != nil {
			bad("/source/metric", "unknown_metric", "metric %q does not exist or is not published", def.Source.Metric)
			break
		}
		if m.Derived != nil {
			bad("/source/metric", "derived_metric", "metric %q is derived and has no rollups of its own; report on its inputs", m.Key)
			break
		}
		c.metric = m
	case SourceStatements:
	}
	if len(fe) > 0 {
		return nil, fe
	}
	// The period field.
	switch def.Source.Kind {
	case SourceRecords:
		name := "createdAt"
		if def.Period != nil && def.Period.Field != "" {
			name = def.Period.Field
		}
		f, err := c.field(name)
		if err == nil && f.typ != TypeDate && f.typ != TypeDateTime {
			err = fmt.Errorf("%q is a %s field, not a date", name, f.typ)
		}
		if err != nil {
			bad("/period/field", "not_a_date", "%v", err)
		}
		c.period = f
	case SourceRollups:
		c.period, _ = c.field("day")
	case SourceStages:
		c.period, _ = c.field("enteredAt")
		if def.Period != nil && def.Period.Field != "" && def.Period.Field != "enteredAt" {
			f, err := c.field(def.Period.Field)
			if err == nil && f.typ != TypeDate && f.typ != TypeDateTime {
				err = fmt.Errorf("%q is a %s field, not a date", def.Period.Field, f.typ)
			}
			if err != nil {
				bad("/period/field", "not_a_date", "%v", err)
			}
			c.period = f
		}
	case SourceStatements:
		if def.Period != nil && def.Period.Field != "" && def.Period.Field != "period" {
			bad("/period/field", "not_a_date", "statements are filtered by their period")
		}
	}
	for i, f := range def.Filters {
		ptr := "/filters/" + strconv.Itoa(i)
		fd, err := c.field(f.Field)
		if err != nil {
			fe = append(fe, apperr.FieldError{Pointer: ptr + "/field", Code: "unknown_field", Message: err.Error(), Hint: rules.DidYouMean(f.Field, c.fieldNames())})
			continue
		}
		v, err := filterValue(fd, store.Op(f.Op), f.Value)
		if err != nil {
			bad(ptr+"/value", "type", "%v", err)
			continue
		}
		c.filters = append(c.filters, cfilter{f: fd, op: store.Op(f.Op), value: v})
	}
	keys := map[string]string{}
	seen := func(ptr, k string) {
		if prev, ok := keys[k]; ok {
			bad(ptr, "duplicate_key", "key %q is already used at %s", k, prev)
		}
		keys[k] = ptr
	}
	for i, d := range def.Dimensions {
		ptr := "/dimensions/" + strconv.Itoa(i)
		seen(ptr+"/key", d.Key)
		cd := cdim{Dimension: d}
		switch {
		case d.Org != "" && d.Field != "":
			bad(ptr, "one_of", "a dimension is either a field or an org level, not both")
			continue
		case d.Org != "":
			if d.Grain != "" {
				bad(ptr+"/grain", "not_a_date", "a grain applies to a date field, not to an org level")
			}
			cd.typ = TypeString
		case d.Field != "":
			fd, err := c.field(d.Field)
			if err != nil {
				fe = append(fe, apperr.FieldError{Pointer: ptr + "/field", Code: "unknown_field", Message: err.Error(), Hint: rules.DidYouMean(d.Field, c.fieldNames())})
				continue
			}
			cd.f, cd.typ = fd, fd.typ
			if d.Grain != "" {
				if fd.typ != TypeDate && fd.typ != TypeDateTime {
					bad(ptr+"/grain", "not_a_date", "%q is a %s field; a grain applies to dates", d.Field, fd.typ)
					continue
				}
				cd.grain, cd.typ = d.Grain, TypeString
			} else if fd.typ == TypeMoney || fd.typ == TypeNumber {
				// Grouping by an amount is allowed; it is shown as the value.
				cd.typ = fd.typ
			}
		default:
			bad(ptr, "required", "a dimension names a field or an org level")
			continue
		}
		c.dims = append(c.dims, cd)
	}
	for i, m := range def.Measures {
		ptr := "/measures/" + strconv.Itoa(i)
		seen(ptr+"/key", m.Key)
		cm, mfe := c.measure(s, tenant, ptr, m)
		fe = append(fe, mfe...)
		if len(mfe) == 0 {
			c.meas = append(c.meas, cm)
		}
	}
	for i, so := range def.Sort {
		if _, ok := keys[so.Key]; !ok {
			bad("/sort/"+strconv.Itoa(i)+"/key", "unknown_key", "sort by %q: no dimension or measure has that key", so.Key)
		}
	}
	if ch := def.Chart; ch != nil {
		isDim := func(k string) bool {
			for _, d := range def.Dimensions {
				if d.Key == k {
					return true
				}
			}
			return false
		}
		isMeasure := func(k string) bool {
			for _, m := range def.Measures {
				if m.Key == k {
					return true
				}
			}
			return false
		}
		if ch.X != "" && !isDim(ch.X) {
			bad("/chart/x", "unknown_key", "x must be a dimension key, not %q", ch.X)
		}
		if ch.Series != "" && !isDim(ch.Series) {
			bad("/chart/series", "unknown_key", "series must be a dimension key, not %q", ch.Series)
		}
		for i, y := range ch.Y {
			if !isMeasure(y) {
				bad("/chart/y/"+strconv.Itoa(i), "unknown_key", "y must list measure keys, not %q", y)
			}
		}
	}
	if len(fe) > 0 {
		return nil, fe
	}
	return c, nil
}

// measure compiles one measure.
func (c *compiled) measure(s *Service, tenant, ptr string, m Measure) (cmeasure, []apperr.FieldError) {
	cm := cmeasure{Measure: m}
	var fe []apperr.FieldError
	bad := func(p, code, msg string, args ...any) {
		fe = append(fe, apperr.FieldError{Pointer: ptr + p, Code: code, Message: fmt.Sprintf(msg, args...)})
	}
	if m.Field != "" && m.Expr != "" {
		bad("", "one_of", "a measure reads a field or an expr, not both")
		return cm, fe
	}
	if m.Unit != "" && m.Expr == "" {
		bad("/unit", "expr_only", "unit applies to an expr measure")
	}
	switch {
	case m.Expr != "":
		if c.obj == nil {
			bad("/expr", "no_record", "an expr measure reads a record: use it on a records or stages source")
			return cm, fe
		}
		if m.Agg == AggCount || m.Agg == AggDistinct {
			bad("/agg", "type", "%s does not take an expr; use sum, avg, min or max", m.Agg)
			return cm, fe
		}
		p, err := s.rules.Compile(rules.Key{Tenant: tenant, Config: "report:" + c.key + ":" + m.Key, Version: c.obj.Version}, m.Expr, c.obj.Env, rules.Number)
		if err != nil {
			fe = append(fe, rules.Problem(ptr+"/expr", err))
			return cm, fe
		}
		cm.prog = p
		cm.typ, cm.exact = TypeNumber, false
		if m.Unit == "money" {
			cm.typ, cm.exact = TypeMoney, true
		}
		if m.Agg == AggAvg && cm.typ == TypeNumber {
			cm.exact = false
		}
	case m.Field != "":
		f, err := c.field(m.Field)
		if err != nil {
			fe = append(fe, apperr.FieldError{Pointer: ptr + "/field", Code: "unknown_field", Message: err.Error(), Hint: rules.DidYouMean(m.Field, c.fieldNames())})
			return cm, fe
		}
		cm.f = f
		switch m.Agg {
		case AggCount, AggDistinct:
			cm.typ, cm.exact = TypeInteger, true
		case AggSum, AggAvg, AggMin, AggMax:
			switch f.typ {
			case TypeMoney:
				cm.typ, cm.exact = TypeMoney, true
			case TypeInteger:
				cm.typ, cm.exact = TypeInteger, true
				if m.Agg == AggAvg {
					cm.typ, cm.exact = TypeNumber, false
				}
			case TypeNumber:
				cm.typ = TypeNumber
			case TypeDate, TypeDateTime:
				if m.Agg == AggMin || m.Agg == AggMax {
					cm.typ = f.typ
					break
				}
				fallthrough
			default:
				bad("/field", "type", "%s of %q: it is a %s field; %s needs a number, integer or money field", m.Agg, m.Field, f.typ, m.Agg)
			}
		}
	default:
		if m.Agg != AggCount {
			bad("/field", "required", "%s needs a field or an expr", m.Agg)
		}
		cm.typ, cm.exact = TypeInteger, true
	}
	return cm, fe
}

// fieldNames lists what a definition may name, for did-you-mean hints.
func (c *compiled) fieldNames() []string {
	var out []string
	switch c.def.Source.Kind {
	case SourceRecords:
		out = append(out, "owner", "id", "createdAt", "updatedAt")
	case SourceStages:
		out = append(out, "owner", "id", "stage", "enteredAt", "exitedAt", "days")
	case SourceRollups:
		out = append(out, "owner", "day", "value", "count")
	case SourceStatements:
		out = append(out, statementFields...)
	}
	if c.obj != nil {
		out = append(out, c.obj.FieldOrder...)
	}
	return out
}

var statementFields = []string{"owner", "rep", "repName", "plan", "period", "status", "id", "rule", "kind", "record", "creditDate", "amount", "base"}

// field resolves a field name of the source.
func (c *compiled) field(name string) (*field, error) {
	kind := c.def.Source.Kind
	switch kind {
	case SourceRollups:
		switch name {
		case "owner":
			return &field{name: name, kind: fOwner, typ: TypeString, push: "owner"}, nil
		case "day":
			return &field{name: name, kind: fDay, typ: TypeDate}, nil
		case "value":
			f := &field{name: name, kind: fValue, typ: TypeMoney}
			if c.metric.Unit != tracking.UnitMoney {
				f.typ, f.scale = TypeNumber, c.metric.Scale
			}
			return f, nil
		case "count":
			return &field{name: name, kind: fCount, typ: TypeInteger}, nil
		}
		return nil, fmt.Errorf("a rollups source has owner, day, value and count, not %q", name)
	case SourceStatements:
		switch name {
		case "owner", "rep":
			return &field{name: name, kind: fOwner, typ: TypeString, push: "rep"}, nil
		case "id":
			return &field{name: name, kind: fID, typ: TypeString, push: "_id"}, nil
		case "repName", "plan", "period", "status":
			return &field{name: name, kind: fStmt, path: []string{name}, typ: TypeString, push: name}, nil
		case "rule", "kind", "record":
			return &field{name: name, kind: fLine, path: []string{name}, typ: TypeString}, nil
		case "creditDate":
			return &field{name: name, kind: fLine, path: []string{name}, typ: TypeDate}, nil
		case "amount", "base":
			return &field{name: name, kind: fLine, path: []string{name}, typ: TypeMoney}, nil
		}
		return nil, fmt.Errorf("a statements source has %s, not %q", strings.Join(statementFields, ", "), name)
	}
	switch name {
	case "owner":
		return &field{name: name, kind: fOwner, typ: TypeString, push: "owner"}, nil
	case "id":
		return &field{name: name, kind: fID, typ: TypeString, push: "_id"}, nil
	case "createdAt":
		return &field{name: name, kind: fCreated, typ: TypeDateTime, push: "createdAt"}, nil
	case "updatedAt":
		return &field{name: name, kind: fUpdated, typ: TypeDateTime, push: "updatedAt"}, nil
	}
	if kind == SourceStages {
		switch name {
		case "stage":
			return &field{name: name, kind: fStage, typ: TypeString}, nil
		case "enteredAt":
			return &field{name: name, kind: fEntered, typ: TypeDateTime}, nil
		case "exitedAt":
			return &field{name: name, kind: fExited, typ: TypeDateTime}, nil
		case "days":
			return &field{name: name, kind: fDays, typ: TypeNumber}, nil
		}
	}
	parts := strings.Split(name, ".")
	fd, ok := c.obj.Fields[parts[0]]
	if !ok {
		return nil, fmt.Errorf("object %s has no field %q", c.obj.Key, parts[0])
	}
	for _, p := range parts[1:] {
		var next *forms.Field
		for i := range fd.Fields {
			if fd.Fields[i].Name == p {
				next = &fd.Fields[i]
			}
		}
		if next == nil {
			return nil, fmt.Errorf("field %s has no property %q", fd.Name, p)
		}
		fd = *next
	}
	typ := ""
	switch fd.Type {
	case forms.TypeString:
		typ = TypeString
	case forms.TypeInteger:
		typ = TypeInteger
	case forms.TypeNumber:
		typ = TypeNumber
	case forms.TypeMoney:
		typ = TypeMoney
	case forms.TypeBoolean:
		typ = TypeBoolean
	case forms.TypeDate:
		typ = TypeDate
	case forms.TypeDateTime:
		typ = TypeDateTime
	default:
		return nil, fmt.Errorf("field %q is a %s; reports read scalar fields", name, fd.Type)
	}
	return &field{name: name, kind: fData, path: parts, typ: typ, push: "data." + name}, nil
}

// filterValue converts a definition's filter value to the field's stored type.
func filterValue(f *field, op store.Op, v any) (any, error) {
	if op == store.Exists {
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("exists takes true or false")
		}
		return b, nil
	}
	if op == store.In {
		vs, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("in takes an array of values")
		}
		out := make([]any, len(vs))
		for i, x := range vs {
			c, err := scalar(f, x)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	return scalar(f, v)
}

func scalar(f *field, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch f.typ {
	case TypeInteger, TypeMoney:
		x, ok := v.(float64)
		if !ok || x != float64(int64(x)) {
			return nil, fmt.Errorf("%s is a whole number (money in 分), not %v", f.name, v)
		}
		return int64(x), nil
	case TypeNumber:
		x, ok := v.(float64)
		if !ok {
			return nil, fmt.Errorf("%s is a number, not %v", f.name, v)
		}
		return x, nil
	case TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("%s is true or false, not %v", f.name, v)
		}
		return b, nil
	default:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s is text, not %v", f.name, v)
		}
		return s, nil
	}
}
