package scorecard

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/types"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/forms"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/rules"
	"stride/engine/store"
)

// Item types.
const (
	TypeAttainment = "attainment"
	TypeRating     = "rating"
	TypeExpr       = "expr"
)

// DefaultCap is an item's cap when the definition gives none.
const DefaultCap = 100.0

// Definition is a scorecard definition (schemas/scorecard.schema.json).
type Definition struct {
	Key           string            `json:"key,omitempty"`
	Label         map[string]string `json:"label"`
	Description   map[string]string `json:"description,omitempty"`
	Grain         string            `json:"grain"`
	Population    *Population       `json:"population,omitempty"`
	Items         []Item            `json:"items"`
	Grades        []Grade           `json:"grades,omitempty"`
	FallbackGrade string            `json:"fallbackGrade,omitempty"`
	Recognition   []Title           `json:"recognition,omitempty"`
}

// Population says who is scored.
type Population struct {
	Roles []string `json:"roles,omitempty"`
	Teams []string `json:"teams,omitempty"`
}

// Item is one scored item.
type Item struct {
	Key    string            `json:"key"`
	Label  map[string]string `json:"label"`
	Weight float64           `json:"weight"`
	Cap    *float64          `json:"cap,omitempty"`
	Type   string            `json:"type"`
	// attainment
	Metric string `json:"metric,omitempty"`
	Level  string `json:"level,omitempty"`
	// rating
	Object      string `json:"object,omitempty"`
	Field       string `json:"field,omitempty"`
	UserField   string `json:"userField,omitempty"`
	PeriodField string `json:"periodField,omitempty"`
	Scale       *Scale `json:"scale,omitempty"`
	// expr
	Formula string `json:"formula,omitempty"`
}

// Scale is a rating scale.
type Scale struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// Grade is a grade threshold.
type Grade struct {
	Grade string            `json:"grade"`
	Min   float64           `json:"min"`
	Label map[string]string `json:"label,omitempty"`
}

// Title is a recognition awarded to the top ranks of each period.
type Title struct {
	Key      string            `json:"key"`
	Title    map[string]string `json:"title"`
	Top      int               `json:"top"`
	MinScore *float64          `json:"minScore,omitempty"`
}

// CapOf is the item's cap (DefaultCap when unset).
func (it Item) CapOf() float64 {
	if it.Cap == nil {
		return DefaultCap
	}
	return *it.Cap
}

// LevelOf is the attainment item's target level (target when unset).
func (it Item) LevelOf() string {
	if it.Level == "" {
		return "target"
	}
	return it.Level
}

// Card is a compiled scorecard version, ready to score.
type Card struct {
	Key        string
	Version    int64
	Definition *Definition
	Grain      period.Grain
	// Programs holds the compiled formula of each expr item (nil for the
	// others), by item index.
	Programs []*rules.Program
	// Refs lists, per expr item, the earlier items it reads.
	Refs [][]Ref
	// ObjectVersions are the versions of the rating objects compiled against.
	ObjectVersions map[string]int64
}

// Ref is an expr item's read of an earlier item: score, attainment or
// rating of item Item (an index).
type Ref struct {
	Kind string // score, attainment, rating
	Item int
}

// decode turns a stored or posted definition into a Definition after the
// schema check.
func decode(def map[string]any) (*Definition, []apperr.FieldError) {
	if fe := forms.Problems(forms.ValidateConfig("scorecard", def)); len(fe) > 0 {
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

// compile validates a definition in full and compiles it, returning every
// problem with a pointer into the definition. version 0 checks a draft
// (formulas are not cached).
func (s *Service) compile(ctx context.Context, db store.DB, tenant, key string, version int64, raw map[string]any) (*Card, []apperr.FieldError) {
	d, fe := decode(raw)
	if len(fe) > 0 {
		return nil, fe
	}
	c := &Card{Key: key, Version: version, Definition: d, Grain: period.Grain(d.Grain), ObjectVersions: map[string]int64{}}
	add := func(ptr, code, msg, hint string) {
		fe = append(fe, apperr.FieldError{Pointer: ptr, Code: code, Message: msg, Hint: hint})
	}
	fe = append(fe, checkStatic(d)...)

	// Population teams must exist.
	if d.Population != nil && len(d.Population.Teams) > 0 {
		teams, err := auth.ListTeams(ctx, db)
		if err != nil {
			return nil, []apperr.FieldError{{Pointer: "/population/teams", Code: "unavailable", Message: err.Error()}}
		}
		for i, id := range d.Population.Teams {
			if !slices.ContainsFunc(teams, func(t auth.Team) bool { return t.ID == id }) {
				add(fmt.Sprintf("/population/teams/%d", i), "unknown_team", fmt.Sprintf("team %q does not exist", id), "")
			}
		}
	}

	// Metrics and rating objects.
	var metricKeys []string
	if s.tracker != nil {
		docs, err := s.tracker.Definitions().List(ctx, db)
		if err != nil {
			return nil, []apperr.FieldError{{Pointer: "/items", Code: "unavailable", Message: err.Error()}}
		}
		for _, d := range docs {
			metricKeys = append(metricKeys, d.Key)
		}
	}
	objs := map[string]*objects.Compiled{}
	for i, it := range d.Items {
		ptr := fmt.Sprintf("/items/%d", i)
		switch it.Type {
		case TypeAttainment:
			if s.tracker != nil {
				if _, err := s.tracker.Metric(ctx, db, tenant, it.Metric); err != nil {
					code, msg := "unknown_metric", fmt.Sprintf("%q is not a published metric", it.Metric)
					if ae, ok := apperr.As(err); ok && ae.Kind != apperr.KindNotFound && ae.Kind != apperr.KindInvalid {
						code, msg = "metric_unavailable", err.Error()
					} else if slices.Contains(metricKeys, it.Metric) {
						code, msg = "unpublished_metric", fmt.Sprintf("metric %s is not published yet: publish it first", it.Metric)
					}
					add(ptr+"/metric", code, msg, rules.DidYouMean(it.Metric, metricKeys))
				}
			}
		case TypeRating:
			obj, ok := objs[it.Object]
			if !ok {
				o, err := s.objs.Published(ctx, db, tenant, it.Object)
				if err != nil {
					code := "unknown_object"
					if ae, ok := apperr.As(err); ok && ae.Kind == apperr.KindInvalid {
						code = "object_not_published"
					}
					add(ptr+"/object", code, fmt.Sprintf("%q is not a published object", it.Object), "")
				}
				obj, objs[it.Object] = o, o
			}
			if obj == nil {
				continue
			}
			c.ObjectVersions[it.Object] = obj.Version
			field := func(name, sub string, want ...forms.FieldType) {
				f, ok := obj.Fields[name]
				if !ok {
					add(ptr+"/"+sub, "unknown_field", fmt.Sprintf("%q is not a field of object %s", name, it.Object), rules.DidYouMean(name, obj.FieldOrder))
					return
				}
				if !slices.Contains(want, f.Type) {
					names := make([]string, len(want))
					for i, w := range want {
						names[i] = string(w)
					}
					add(ptr+"/"+sub, "wrong_field_type", fmt.Sprintf("%s is a %s field; it must be a %s field", name, f.Type, strings.Join(names, " or ")), "")
				}
			}
			field(it.Field, "field", forms.TypeNumber, forms.TypeInteger)
			field(it.UserField, "userField", forms.TypeString)
			field(it.PeriodField, "periodField", forms.TypeString)
		}
	}

	// Formulas: each expr item sees the items before it.
	c.Programs = make([]*rules.Program, len(d.Items))
	c.Refs = make([][]Ref, len(d.Items))
	for i, it := range d.Items {
		if it.Type != TypeExpr {
			continue
		}
		ptr := fmt.Sprintf("/items/%d/formula", i)
		env := exprEnv(d.Items[:i])
		var p *rules.Program
		var err error
		if version == 0 {
			p, err = s.rules.Check(it.Formula, env, rules.Number)
		} else {
			p, err = s.rules.Compile(rules.Key{Tenant: tenant, Config: "scorecard:" + key + ":" + it.Key, Version: version}, it.Formula, env, rules.Number)
		}
		if err != nil {
			pr := rules.Problem(ptr, err)
			if fe, ok := rules.AsFormulaError(err); ok && fe.Code == rules.CodeUnknownName {
				for j := i; j < len(d.Items); j++ {
					if strings.Contains(fe.Message, d.Items[j].Key) && d.Items[j].Key != "" {
						pr.Hint = fmt.Sprintf("an expr item reads only the items listed before it (%s is item %d)", d.Items[j].Key, j)
						break
					}
				}
			}
			fe = append(fe, pr)
			continue
		}
		c.Programs[i] = p
		c.Refs[i] = refsOf(it.Formula, d.Items[:i])
	}
	if len(fe) > 0 {
		return nil, fe
	}
	return c, nil
}

// checkStatic validates what needs no database: unique keys, weights,
// scales, grades and titles.
func checkStatic(d *Definition) []apperr.FieldError {
	var fe []apperr.FieldError
	add := func(ptr, code, msg string) {
		fe = append(fe, apperr.FieldError{Pointer: ptr, Code: code, Message: msg})
	}
	seen := map[string]int{}
	total := 0.0
	for i, it := range d.Items {
		ptr := fmt.Sprintf("/items/%d", i)
		if j, dup := seen[it.Key]; dup {
			add(ptr+"/key", "duplicate_item", fmt.Sprintf("item %q is already defined at /items/%d", it.Key, j))
		} else {
			seen[it.Key] = i
		}
		total += it.Weight
		if it.Type == TypeRating && it.Scale != nil && it.Scale.Max <= it.Scale.Min {
			add(ptr+"/scale/max", "scale_order", fmt.Sprintf("the scale's max (%g) must be above its min (%g)", it.Scale.Max, it.Scale.Min))
		}
		// Fields of another type are a mistake worth reporting, not ignoring.
		extra := map[string]bool{}
		switch it.Type {
		case TypeAttainment:
			extra = map[string]bool{"object": it.Object != "", "field": it.Field != "", "userField": it.UserField != "", "periodField": it.PeriodField != "", "scale": it.Scale != nil, "formula": it.Formula != ""}
		case TypeRating:
			extra = map[string]bool{"metric": it.Metric != "", "level": it.Level != "", "formula": it.Formula != ""}
		case TypeExpr:
			extra = map[string]bool{"metric": it.Metric != "", "level": it.Level != "", "object": it.Object != "", "field": it.Field != "", "userField": it.UserField != "", "periodField": it.PeriodField != "", "scale": it.Scale != nil}
		}
		names := make([]string, 0, len(extra))
		for k, v := range extra {
			if v {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			add(ptr+"/"+k, "not_allowed", fmt.Sprintf("%s does not apply to a %s item", k, it.Type))
		}
	}
	if total <= 0 {
		add("/items", "no_weight", "at least one item needs a weight above 0")
	}
	grades := map[string]int{}
	for i, g := range d.Grades {
		ptr := fmt.Sprintf("/grades/%d", i)
		if j, dup := grades[g.Grade]; dup {
			add(ptr+"/grade", "duplicate_grade", fmt.Sprintf("grade %q is already defined at /grades/%d", g.Grade, j))
		} else {
			grades[g.Grade] = i
		}
		if i > 0 && g.Min >= d.Grades[i-1].Min {
			add(ptr+"/min", "grades_order", fmt.Sprintf("list grades from the highest down: %s's min %g must be below %s's %g",
				g.Grade, g.Min, d.Grades[i-1].Grade, d.Grades[i-1].Min))
		}
	}
	if d.FallbackGrade != "" {
		if j, dup := grades[d.FallbackGrade]; dup {
			add("/fallbackGrade", "duplicate_grade", fmt.Sprintf("grade %q is already a threshold at /grades/%d", d.FallbackGrade, j))
		}
	}
	titles := map[string]int{}
	for i, t := range d.Recognition {
		if j, dup := titles[t.Key]; dup {
			add(fmt.Sprintf("/recognition/%d/key", i), "duplicate_title", fmt.Sprintf("title %q is already defined at /recognition/%d", t.Key, j))
		} else {
			titles[t.Key] = i
		}
	}
	return fe
}

// exprEnv is the environment of an expr item over the items before it:
// score.<key> for every one, attainment.<key> for attainment items and
// rating.<key> for rating items, all float64.
func exprEnv(before []Item) types.Map {
	score, att, rating := types.Map{}, types.Map{}, types.Map{}
	for _, it := range before {
		score[it.Key] = types.Float64
		switch it.Type {
		case TypeAttainment:
			att[it.Key] = types.Float64
		case TypeRating:
			rating[it.Key] = types.Float64
		}
	}
	return types.Map{"score": score, "attainment": att, "rating": rating}
}

// refsOf lists the earlier items a formula reads (score.x, attainment.x,
// rating.x, or the same with ["x"]). A whole-map read (score) reads every
// item of that kind.
func refsOf(src string, before []Item) []Ref {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	index := map[string]int{}
	for i, it := range before {
		index[it.Key] = i
	}
	var out []Ref
	addRef := func(r Ref) {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	read := func(kind, key string) {
		if key == "" {
			for i, it := range before {
				if kind == "score" || (kind == "attainment" && it.Type == TypeAttainment) || (kind == "rating" && it.Type == TypeRating) {
					addRef(Ref{Kind: kind, Item: i})
				}
			}
			return
		}
		if i, ok := index[key]; ok {
			addRef(Ref{Kind: kind, Item: i})
		}
	}
	v := &refVisitor{members: map[*ast.IdentifierNode]bool{}}
	ast.Walk(&tree.Node, v)
	for _, m := range v.reads {
		read(m[0], m[1])
	}
	// A root read other than through a member (len(score), a whole map
	// passed on) reads every item of its kind.
	for _, id := range v.idents {
		if !v.members[id] {
			read(id.Value, "")
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Item != out[j].Item {
			return out[i].Item < out[j].Item
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// refVisitor collects member reads of the roots (score.x, score["x"]) and
// every identifier naming a root. ast.Walk visits a member's identifier
// before the member itself, so whole-map reads are told apart afterwards.
type refVisitor struct {
	reads   [][2]string
	idents  []*ast.IdentifierNode
	members map[*ast.IdentifierNode]bool
}

func (v *refVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if isRoot(n.Value) {
			v.idents = append(v.idents, n)
		}
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		if !ok || !isRoot(id.Value) {
			return
		}
		v.members[id] = true
		if s, ok := n.Property.(*ast.StringNode); ok {
			v.reads = append(v.reads, [2]string{id.Value, s.Value})
		} else {
			v.reads = append(v.reads, [2]string{id.Value, ""}) // a computed key: every item of the kind
		}
	}
}

func isRoot(s string) bool { return s == "score" || s == "attainment" || s == "rating" }
