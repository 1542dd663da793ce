package targets

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"stride/engine/apperr"
	"stride/engine/forms"
)

// Levels a plan may carry, in display order: 保底, 目标, 挑战.
const (
	LevelFloor   = "floor"
	LevelTarget  = "target"
	LevelStretch = "stretch"
)

// Levels lists every level in order.
var Levels = []string{LevelFloor, LevelTarget, LevelStretch}

// Definition is a target plan definition (schemas/target_plan.schema.json).
type Definition struct {
	Key         string                   `json:"key,omitempty"`
	Label       map[string]string        `json:"label"`
	Metric      string                   `json:"metric"`
	FiscalYear  int                      `json:"fiscalYear"`
	Amounts     map[string]int64         `json:"amounts"`
	Granularity int64                    `json:"granularity"`
	Seasonality *Seasonality             `json:"seasonality,omitempty"`
	Org         *Org                     `json:"org,omitempty"`
	Allocation  *AllocationRule          `json:"allocation,omitempty"`
	Attributes  []string                 `json:"attributes,omitempty"`
	Nodes       map[string]*NodeSettings `json:"nodes,omitempty"`
	Dimension   *Dimension               `json:"dimension,omitempty"`
	Respread    *Respread                `json:"respread,omitempty"`
}

// Seasonality says how the root year splits into months.
type Seasonality struct {
	Source  string    `json:"source,omitempty"` // weights | lastYear | equal
	Weights []float64 `json:"weights,omitempty"`
}

// Org names the tree a plan decomposes over.
type Org struct {
	Root string `json:"root,omitempty"` // company | team:<id>
	Date string `json:"date,omitempty"` // memberships in force on this day count
}

// AllocationRule is how parents share among children.
type AllocationRule struct {
	Formula          string         `json:"formula,omitempty"`
	Levels           []LevelFormula `json:"levels,omitempty"`
	HistoryPeriod    string         `json:"historyPeriod,omitempty"`
	EqualSplitOnZero bool           `json:"equalSplitOnZero,omitempty"`
}

// LevelFormula is the formula of one depth of the tree.
type LevelFormula struct {
	Depth   int    `json:"depth"`
	Formula string `json:"formula"`
}

// NodeSettings are a node's inputs, bounds and locks.
type NodeSettings struct {
	Inputs map[string]float64 `json:"inputs,omitempty"`
	Floor  *int64             `json:"floor,omitempty"`
	Cap    *int64             `json:"cap,omitempty"`
	Locks  map[string]int64   `json:"locks,omitempty"`
}

// Dimension splits every node's target along a record field.
type Dimension struct {
	Field       string     `json:"field"`
	WeightsFrom string     `json:"weightsFrom,omitempty"` // fixed | history
	Values      []DimValue `json:"values"`
}

// DimValue is one value of the dimension.
type DimValue struct {
	Key    string            `json:"key"`
	Label  map[string]string `json:"label,omitempty"`
	Weight *float64          `json:"weight,omitempty"`
}

// Respread records a mid-year re-spread of the remainder.
type Respread struct {
	FromMonth    string             `json:"fromMonth"`
	BasedOn      int64              `json:"basedOn"`
	ActualToDate int64              `json:"actualToDate,omitempty"`
	RootMonths   map[string][]int64 `json:"rootMonths"` // by level
}

// DefaultFormula shares by last period's actuals.
const DefaultFormula = "history.share"

// StandardInputs are the inputs every formula may read, besides the plan's
// attributes.
var StandardInputs = []string{"history", "potential", "headcount", "tenureMonths"}

// decode turns a stored or posted definition into a Definition after the
// schema check; fe carries the schema's problems.
func decode(def map[string]any) (*Definition, []apperr.FieldError) {
	var fe []apperr.FieldError
	for _, e := range forms.ValidateConfig("target_plan", def) {
		fe = append(fe, apperr.FieldError{Pointer: e.Pointer, Code: e.Code, Message: e.Message})
	}
	if len(fe) > 0 {
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

// toMap is the inverse of decode, for storing a definition changed in Go.
func (d *Definition) toMap() map[string]any {
	b, _ := json.Marshal(d)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// clone deep-copies a definition.
func (d *Definition) clone() *Definition {
	b, _ := json.Marshal(d)
	var c Definition
	_ = json.Unmarshal(b, &c)
	return &c
}

// levels returns the plan's levels in order.
func (d *Definition) levels() []string {
	var out []string
	for _, l := range Levels {
		if _, ok := d.Amounts[l]; ok {
			out = append(out, l)
		}
	}
	return out
}

// inputNames are the formula variables of the plan.
func (d *Definition) inputNames() []string {
	out := append([]string(nil), StandardInputs...)
	for _, a := range d.Attributes {
		if !contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func (d *Definition) root() string {
	if d.Org != nil && d.Org.Root != "" {
		return d.Org.Root
	}
	return "company"
}

// checkStatic validates what needs no database: amounts against the
// granularity, the seasonality, locks and bounds, attribute names.
func (d *Definition) checkStatic() []apperr.FieldError {
	var fe []apperr.FieldError
	add := func(ptr, code, msg string) {
		fe = append(fe, apperr.FieldError{Pointer: ptr, Code: code, Message: msg})
	}
	g := d.Granularity
	multiple := func(ptr string, v int64) {
		if g > 0 && v%g != 0 {
			add(ptr, "not_multiple", fmt.Sprintf("%s is not a multiple of the granularity %s", fmtAmount(v), fmtAmount(g)))
		}
	}
	for _, l := range d.levels() {
		multiple("/amounts/"+l, d.Amounts[l])
	}
	if f, ok := d.Amounts[LevelFloor]; ok && f > d.Amounts[LevelTarget] {
		add("/amounts/floor", "level_order", fmt.Sprintf("the floor %s is above the target %s", fmtAmount(f), fmtAmount(d.Amounts[LevelTarget])))
	}
	if s, ok := d.Amounts[LevelStretch]; ok && s < d.Amounts[LevelTarget] {
		add("/amounts/stretch", "level_order", fmt.Sprintf("the stretch %s is below the target %s", fmtAmount(s), fmtAmount(d.Amounts[LevelTarget])))
	}
	if s := d.Seasonality; s != nil {
		switch s.Source {
		case "", "weights":
			if len(s.Weights) != 12 {
				add("/seasonality/weights", "required", "give 12 month weights, in fiscal order")
			} else {
				sum := 0.0
				for _, w := range s.Weights {
					sum += w
				}
				if sum <= 0 || math.IsInf(sum, 0) {
					add("/seasonality/weights", "zero_weights", "at least one month needs a weight above 0")
				}
			}
		}
	}
	for _, a := range d.Attributes {
		if contains(StandardInputs, a) {
			add("/attributes", "reserved", fmt.Sprintf("%q is a standard input; do not declare it", a))
		}
	}
	names := d.inputNames()
	for _, key := range sortedKeys(d.Nodes) {
		ns := d.Nodes[key]
		if ns == nil {
			continue
		}
		ptr := "/nodes/" + escapePointer(key)
		for in := range ns.Inputs {
			if in == "history" || in == "headcount" || in == "tenureMonths" {
				add(ptr+"/inputs/"+in, "computed", fmt.Sprintf("%s is computed from the data; it cannot be typed in", in))
			} else if !contains(names, in) {
				add(ptr+"/inputs/"+in, "unknown_input", fmt.Sprintf("%q is not an attribute of the plan; declare it under attributes", in))
			}
		}
		if ns.Floor != nil {
			multiple(ptr+"/floor", *ns.Floor)
		}
		if ns.Cap != nil {
			multiple(ptr+"/cap", *ns.Cap)
		}
		if ns.Floor != nil && ns.Cap != nil && *ns.Floor > *ns.Cap {
			add(ptr+"/floor", "floor_above_cap", fmt.Sprintf("floor %s is above cap %s", fmtAmount(*ns.Floor), fmtAmount(*ns.Cap)))
		}
		for _, l := range sortedKeys(ns.Locks) {
			if _, ok := d.Amounts[l]; !ok {
				add(ptr+"/locks/"+l, "unknown_level", fmt.Sprintf("the plan has no %s amount", l))
				continue
			}
			multiple(ptr+"/locks/"+l, ns.Locks[l])
		}
		if key == d.root() && (ns.Floor != nil || ns.Cap != nil || len(ns.Locks) > 0) {
			add(ptr, "root", "the root's amount is the plan's amount; set floors, caps and locks on its descendants")
		}
	}
	if dm := d.Dimension; dm != nil {
		seen := map[string]bool{}
		for i, v := range dm.Values {
			if seen[v.Key] {
				add(fmt.Sprintf("/dimension/values/%d/key", i), "duplicate", fmt.Sprintf("%q is listed twice", v.Key))
			}
			seen[v.Key] = true
		}
		if dm.WeightsFrom == "" || dm.WeightsFrom == "fixed" {
			sum := 0.0
			for _, v := range dm.Values {
				if v.Weight != nil {
					sum += *v.Weight
				}
			}
			if sum <= 0 {
				add("/dimension/values", "zero_weights", "give the values weights (at least one above 0), or weightsFrom history")
			}
		}
	}
	if a := d.Allocation; a != nil {
		seen := map[int]bool{}
		for i, l := range a.Levels {
			if seen[l.Depth] {
				add(fmt.Sprintf("/allocation/levels/%d/depth", i), "duplicate", fmt.Sprintf("depth %d has two formulas", l.Depth))
			}
			seen[l.Depth] = true
		}
	}
	return fe
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// escapePointer escapes a JSON Pointer token (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// fmtAmount writes an amount with thousands separators (minor units as
// stored; the UI shows yuan).
func fmtAmount(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
