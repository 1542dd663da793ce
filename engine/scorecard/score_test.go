package scorecard

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"

	"stride/engine/rules"
)

func testService() *Service { return &Service{rules: rules.New(rules.Options{})} }

// card compiles a definition (given as JSON) without a database: no
// metric, object or team checks, formulas type-checked.
func card(t *testing.T, src string) *Card {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal([]byte(src), &raw); err != nil {
		t.Fatal(err)
	}
	c, fe := testService().compile(context.Background(), nil, "t", "kpi", 0, raw)
	if len(fe) > 0 {
		t.Fatalf("compile: %+v", fe)
	}
	return c
}

func i64(v int64) *int64 { return &v }

func att(actual, target int64) Input {
	a := float64(actual) / float64(target)
	return Input{Actual: i64(actual), Target: i64(target), Attainment: &a}
}

func rating(avg float64, n int) Input { return Input{Rating: avg, Ratings: n} }

const monthly = `{
  "label": {"zh-CN": "月度考核", "en": "Monthly KPI"},
  "grain": "month",
  "items": [
    {"key": "revenue", "label": {"zh-CN": "回款达成"}, "weight": 60, "cap": 120, "type": "attainment", "metric": "won_revenue"},
    {"key": "visits", "label": {"zh-CN": "拜访达成"}, "weight": 30, "type": "attainment", "metric": "visits"},
    {"key": "attitude", "label": {"zh-CN": "工作态度"}, "weight": 10, "type": "rating", "object": "kpi_rating", "field": "attitude",
     "userField": "user", "periodField": "period", "scale": {"min": 1, "max": 5}}
  ],
  "grades": [{"grade": "S", "min": 110}, {"grade": "A", "min": 100}, {"grade": "B", "min": 80}, {"grade": "C", "min": 60}],
  "fallbackGrade": "D",
  "recognition": [
    {"key": "star", "title": {"zh-CN": "月度之星", "en": "Star of the month"}, "top": 1},
    {"key": "excellence", "title": {"zh-CN": "卓越奖", "en": "Excellence"}, "top": 3, "minScore": 100}
  ]
}`

// monthlyCard builds the worked example's card without the rating
// object (compile would look it up).
func monthlyCard(t *testing.T) *Card {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal([]byte(monthly), &raw); err != nil {
		t.Fatal(err)
	}
	d, fe := decode(raw)
	if len(fe) > 0 {
		t.Fatal(fe)
	}
	if fe := checkStatic(d); len(fe) > 0 {
		t.Fatal(fe)
	}
	return &Card{Key: "kpi", Definition: d, Grain: "month", Programs: make([]*rules.Program, 3), Refs: make([][]Ref, 3)}
}

// TestScoreWorkedExample pins the worked example of docs/api.md:
//
//	王芳: revenue 1,300,000 / 1,000,000 = 130 % → 130, capped at 120;
//	      visits 45 / 50 = 90 %; attitude (4 + 5) / 2 = 4.5 on 1–5 → 87.5;
//	      (60 × 120 + 30 × 90 + 10 × 87.5) ÷ 100 = 107.75 → A.
//	李雷: revenue 80 %; visits without a target (left out); attitude 3 → 50;
//	      (60 × 80 + 10 × 50) ÷ 70 = 75.714… → 75.71 → C.
//	Dan and Ada: exactly 100 everywhere → 100.00 → A, tied (rank 2 both,
//	      Ada listed first); 李雷 is then 4th (competition ranking).
//	赵六: nothing measurable → no score, no rank, listed last.
func TestScoreWorkedExample(t *testing.T) {
	c := monthlyCard(t)
	perfect := []Input{att(1000000, 1000000), att(50, 50), rating(5, 1)}
	rows := Score(c, []Member{
		{ID: "u1", Name: "王芳", Inputs: []Input{att(1300000, 1000000), att(45, 50), rating(4.5, 2)}},
		{ID: "u2", Name: "李雷", Inputs: []Input{att(800000, 1000000), {Actual: i64(30), Reason: ReasonNoTarget}, rating(3, 1)}},
		{ID: "u3", Name: "赵六", Inputs: []Input{{Actual: i64(5), Reason: ReasonNoTarget}, {Reason: ReasonNoTarget}, {Reason: ReasonNoRating}}},
		{ID: "u4", Name: "Dan", Inputs: perfect},
		{ID: "u5", Name: "Ada", Inputs: perfect},
	})
	type want struct {
		name   string
		rank   int // 0: none
		score  float64
		grade  string
		titles []string
	}
	wants := []want{
		{"王芳", 1, 107.75, "A", []string{"star", "excellence"}},
		{"Ada", 2, 100, "A", []string{"excellence"}},
		{"Dan", 2, 100, "A", []string{"excellence"}},
		{"李雷", 4, 75.71, "C", nil},
		{"赵六", 0, 0, "", nil},
	}
	for i, w := range wants {
		r := rows[i]
		if r.User.Name != w.name {
			t.Fatalf("row %d is %s, want %s", i, r.User.Name, w.name)
		}
		if w.rank == 0 {
			if r.Rank != nil || r.Score != nil || r.Grade != nil || len(r.Titles) != 0 {
				t.Fatalf("%s: want no rank, score, grade or title: %+v", w.name, r)
			}
			continue
		}
		if r.Rank == nil || *r.Rank != w.rank || *r.Score != w.score || *r.Grade != w.grade {
			t.Fatalf("%s: rank %v score %v grade %v, want %d %v %s", w.name, deref(r.Rank), deref(r.Score), deref(r.Grade), w.rank, w.score, w.grade)
		}
		var got []string
		for _, tt := range r.Titles {
			got = append(got, tt.Key)
		}
		if !slices.Equal(got, w.titles) {
			t.Fatalf("%s: titles %v, want %v", w.name, got, w.titles)
		}
	}
	wang := rows[0]
	rev := wang.Items[0]
	if *rev.Raw != 130 || *rev.Score != 120 || !rev.Capped || *rev.Share != 0.6 {
		t.Fatalf("capped revenue item: %+v", rev)
	}
	if a := wang.Items[2]; *a.Score != 87.5 || *a.Rating != 4.5 || a.Ratings != 2 {
		t.Fatalf("rating item: %+v", a)
	}
	if wang.Explain != "(60 × 120 + 30 × 90 + 10 × 87.5) ÷ 100 = 107.75" {
		t.Fatalf("explain %q", wang.Explain)
	}
	li := rows[3]
	if v := li.Items[1]; v.Score != nil || v.Share != nil || v.Reason != ReasonNoTarget {
		t.Fatalf("an item without a target is left out: %+v", v)
	}
	if *li.Items[0].Share != rules.RoundHalfEven(60.0/70, 6) {
		t.Fatalf("weights re-normalised over the scored items: %v", *li.Items[0].Share)
	}
	if rows[4].Items[2].Reason != ReasonNoRating {
		t.Fatalf("reason %q", rows[4].Items[2].Reason)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestGrades(t *testing.T) {
	d := &Definition{Grades: []Grade{{"S", 110, nil}, {"A", 100, nil}, {"B", 80, nil}, {"C", 60, nil}}, FallbackGrade: "D"}
	for _, tc := range []struct {
		score float64
		want  string
	}{{130, "S"}, {110, "S"}, {109.99, "A"}, {100, "A"}, {99.99, "B"}, {80, "B"}, {60, "C"}, {59.99, "D"}, {0, "D"}} {
		if g := gradeOf(d, tc.score); g == nil || *g != tc.want {
			t.Errorf("grade of %v = %v, want %s", tc.score, deref(g), tc.want)
		}
	}
	d.FallbackGrade = ""
	if g := gradeOf(d, 10); g != nil {
		t.Errorf("without a fallback a low score has no grade, got %s", *g)
	}
}

func TestRankCompetition(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	rows := []Row{
		{User: UserRef{"e", "E"}, Score: nil},
		{User: UserRef{"b", "B"}, Score: f(90)},
		{User: UserRef{"a2", "A"}, Score: f(90)},
		{User: UserRef{"a1", "A"}, Score: f(90)},
		{User: UserRef{"c", "C"}, Score: f(95)},
		{User: UserRef{"d", "D"}, Score: f(10)},
	}
	Rank(rows)
	var got []string
	for _, r := range rows {
		rank := "-"
		if r.Rank != nil {
			rank = strconv.Itoa(*r.Rank)
		}
		got = append(got, r.User.ID+":"+rank)
	}
	want := []string{"c:1", "a1:2", "a2:2", "b:2", "d:5", "e:-"}
	if !slices.Equal(got, want) {
		t.Fatalf("ranks %v, want %v", got, want)
	}
}

func TestExprItems(t *testing.T) {
	c := card(t, `{
	  "label": {"en": "x"}, "grain": "month",
	  "items": [
	    {"key": "revenue", "label": {"en": "r"}, "weight": 50, "cap": 150, "type": "attainment", "metric": "won_revenue"},
	    {"key": "visits", "label": {"en": "v"}, "weight": 0, "type": "attainment", "metric": "visits"},
	    {"key": "combo", "label": {"en": "c"}, "weight": 50, "type": "expr",
	     "formula": "score.revenue >= 100 ? 100 + (attainment.visits - 1) * 50 : score.revenue / 2"}
	  ]}`)
	if got := c.Refs[2]; !slices.Equal(got, []Ref{{"score", 0}, {"attainment", 1}}) {
		t.Fatalf("refs %v", got)
	}
	for _, tc := range []struct {
		name      string
		in        []Input
		combo     any // float64 or a reason
		total     any
		capped    bool
		inputsLen int
	}{
		// revenue 120 % → 120; combo = 100 + (1.1 − 1) × 50 = 105 → capped 100; (50 × 120 + 50 × 100) ÷ 100 = 110.
		{"over", []Input{att(120, 100), att(110, 100)}, 100.0, 110.0, true, 2},
		// revenue 80 % → combo = 40; (50 × 80 + 50 × 40) ÷ 100 = 60.
		{"under", []Input{att(80, 100), att(50, 100)}, 40.0, 60.0, false, 2},
		// visits without a target: combo reads attainment.visits → no value; total = revenue alone.
		{"missing", []Input{att(80, 100), {Reason: ReasonNoTarget}}, ReasonInputMissing, 80.0, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Score(c, []Member{{ID: "u", Name: "u", Inputs: tc.in}})[0]
			combo := r.Items[2]
			switch w := tc.combo.(type) {
			case float64:
				if combo.Score == nil || *combo.Score != w || combo.Capped != tc.capped {
					t.Fatalf("combo %+v, want %v", combo, w)
				}
			case string:
				if combo.Score != nil || combo.Reason != w {
					t.Fatalf("combo %+v, want reason %s", combo, w)
				}
			}
			if len(combo.Inputs) != tc.inputsLen {
				t.Fatalf("inputs %v", combo.Inputs)
			}
			if *r.Score != tc.total.(float64) {
				t.Fatalf("total %v, want %v", *r.Score, tc.total)
			}
		})
	}
}

func TestBadDefinitions(t *testing.T) {
	base := func(mut func(m map[string]any)) map[string]any {
		var m map[string]any
		_ = json.Unmarshal([]byte(`{"label": {"en": "x"}, "grain": "month",
		  "items": [{"key": "a", "label": {"en": "a"}, "weight": 1, "type": "attainment", "metric": "m"},
		            {"key": "b", "label": {"en": "b"}, "weight": 1, "type": "expr", "formula": "score.a * 2"}],
		  "grades": [{"grade": "A", "min": 100}, {"grade": "B", "min": 80}]}`), &m)
		mut(m)
		return m
	}
	items := func(m map[string]any) []any { return m["items"].([]any) }
	item := func(m map[string]any, i int) map[string]any { return items(m)[i].(map[string]any) }
	for _, tc := range []struct {
		name    string
		mut     func(map[string]any)
		pointer string
		code    string
	}{
		{"unsorted grades", func(m map[string]any) {
			m["grades"] = []any{map[string]any{"grade": "B", "min": 80}, map[string]any{"grade": "A", "min": 100}}
		}, "/grades/1/min", "grades_order"},
		{"equal mins", func(m map[string]any) {
			m["grades"] = []any{map[string]any{"grade": "A", "min": 80}, map[string]any{"grade": "B", "min": 80}}
		}, "/grades/1/min", "grades_order"},
		{"duplicate grade", func(m map[string]any) {
			m["grades"] = []any{map[string]any{"grade": "A", "min": 100}, map[string]any{"grade": "A", "min": 80}}
		}, "/grades/1/grade", "duplicate_grade"},
		{"negative weight", func(m map[string]any) { item(m, 0)["weight"] = -1 }, "/items/0/weight", "minimum"},
		{"no weight", func(m map[string]any) { item(m, 0)["weight"] = 0; item(m, 1)["weight"] = 0 }, "/items", "no_weight"},
		{"duplicate item", func(m map[string]any) { item(m, 1)["key"] = "a" }, "/items/1/key", "duplicate_item"},
		{"zero cap", func(m map[string]any) { item(m, 0)["cap"] = 0 }, "/items/0/cap", "exclusive_minimum"},
		{"formula type error", func(m map[string]any) { item(m, 1)["formula"] = `score.a + "x"` }, "/items/1/formula", rules.CodeType},
		{"formula result", func(m map[string]any) { item(m, 1)["formula"] = `score.a > 1` }, "/items/1/formula", rules.CodeResultType},
		{"formula unknown item", func(m map[string]any) { item(m, 1)["formula"] = `score.zz` }, "/items/1/formula", rules.CodeUnknownName},
		{"formula reads a later item", func(m map[string]any) {
			items := items(m)
			m["items"] = []any{items[1], items[0]}
		}, "/items/0/formula", rules.CodeUnknownName},
		{"attainment without metric", func(m map[string]any) { delete(item(m, 0), "metric") }, "/items/0/metric", "required"},
		{"field of another type", func(m map[string]any) { item(m, 0)["formula"] = "1" }, "/items/0/formula", "not_allowed"},
		{"unknown grain", func(m map[string]any) { m["grain"] = "decade" }, "/grain", "enum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, fe := testService().compile(context.Background(), nil, "t", "k", 0, base(tc.mut))
			for _, e := range fe {
				if e.Pointer == tc.pointer && e.Code == tc.code {
					return
				}
			}
			t.Fatalf("want %s at %s, got %+v", tc.code, tc.pointer, fe)
		})
	}
}

func TestRefsOf(t *testing.T) {
	before := []Item{{Key: "a", Type: TypeAttainment}, {Key: "b", Type: TypeRating}, {Key: "c", Type: TypeExpr}}
	for _, tc := range []struct {
		src  string
		want []Ref
	}{
		{`score.a + score["c"]`, []Ref{{"score", 0}, {"score", 2}}},
		{`attainment.a * rating.b`, []Ref{{"attainment", 0}, {"rating", 1}}},
		{`len(score) > 0 ? 1 : 0`, []Ref{{"score", 0}, {"score", 1}, {"score", 2}}},
		{`let x = 2; x * 3`, nil},
	} {
		if got := refsOf(tc.src, before); !slices.Equal(got, tc.want) {
			t.Errorf("refsOf(%s) = %v, want %v", tc.src, got, tc.want)
		}
	}
}
