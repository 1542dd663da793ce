package scorecard

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"stride/engine/rules"
)

// Reasons an item has no score.
const (
	ReasonNoTarget     = "no_target"     // no target plan covers the member (or the target is 0)
	ReasonNoValue      = "no_value"      // a derived metric without a value
	ReasonNoRating     = "no_rating"     // no rating entered for the member and period
	ReasonInputMissing = "input_missing" // an expr item reads an item without a score
	ReasonFormulaError = "formula_error" // an expr item failed at run time
)

// Member is one scored person with what each item read for them.
type Member struct {
	ID   string
	Name string
	// Inputs are by item index; expr items' entries are ignored.
	Inputs []Input
}

// Input is what an attainment or rating item read for a member. An
// attainment item has a value when Attainment is set; a rating item when
// Ratings > 0. Reason says why there is none.
type Input struct {
	Actual     *int64
	Target     *int64
	Attainment *float64
	Rating     float64 // the average rating
	Ratings    int     // how many ratings were averaged
	Reason     string
	Message    string
}

// ItemScore is one item of a member's score, with what it was computed from.
type ItemScore struct {
	Key    string  `json:"key"`
	Type   string  `json:"type"`
	Weight float64 `json:"weight"`
	Cap    float64 `json:"cap"`
	// Score is the item's score, 0 … cap, 2 decimals; null when the item has
	// no value (Reason says why) and is left out of the weighting.
	Score *float64 `json:"score"`
	// Raw is the score before the cap and the floor at 0.
	Raw    *float64 `json:"raw,omitempty"`
	Capped bool     `json:"capped,omitempty"`
	// Share is the item's weight ÷ the weights of the items with a score:
	// its part of the total.
	Share   *float64 `json:"share"`
	Reason  string   `json:"reason,omitempty"`
	Message string   `json:"message,omitempty"`
	// Attainment items: the metric's actual and target (stored units) and
	// their ratio.
	Actual     *int64   `json:"actual,omitempty"`
	Target     *int64   `json:"target,omitempty"`
	Attainment *float64 `json:"attainment,omitempty"`
	// Rating items: the average rating and how many were entered.
	Rating  *float64 `json:"rating,omitempty"`
	Ratings int      `json:"ratings,omitempty"`
	// Expr items: the values the formula read (score.x, attainment.x …).
	Inputs map[string]any `json:"inputs,omitempty"`
}

// TitleRef is a title a member holds.
type TitleRef struct {
	Key   string            `json:"key"`
	Title map[string]string `json:"title"`
}

// UserRef names a member.
type UserRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Row is one member's line on a leaderboard.
type Row struct {
	User UserRef `json:"user"`
	// Rank is the competition rank among the rows of the answer (null
	// without a score).
	Rank *int `json:"rank"`
	// OverallRank is the rank in the scorecard's whole population, which
	// titles follow (set when it was computed).
	OverallRank *int       `json:"overallRank,omitempty"`
	Score       *float64   `json:"score"`
	Grade       *string    `json:"grade"`
	Titles      []TitleRef `json:"titles"`
	// Detail reports whether the breakdown is included (the caller may see
	// this member's numbers).
	Detail bool `json:"detail"`
	// Items is the breakdown, by item (omitted without Detail).
	Items []ItemScore `json:"items,omitempty"`
	// Explain is the weighting written out: (60 × 110 + 30 × 80) ÷ 90 = 100.
	Explain string `json:"explain,omitempty"`
}

func round2(x float64) float64 { return rules.RoundHalfEven(x, 2) }

func ptr[T any](v T) *T { return &v }

// Score scores every member with the card and returns the rows ranked:
// by score descending, then name, then id; members without a score last.
// Titles are given by rank among these members.
func Score(c *Card, members []Member) []Row {
	rows := make([]Row, len(members))
	for i := range members {
		rows[i] = scoreOne(c, &members[i])
	}
	Rank(rows)
	for i := range rows {
		rows[i].OverallRank = rows[i].Rank
		rows[i].Titles = titlesFor(c, rows[i])
	}
	return rows
}

// scoreOne computes one member's row.
func scoreOne(c *Card, m *Member) Row {
	d := c.Definition
	items := make([]ItemScore, len(d.Items))
	var env map[string]any // built on first use by an expr item
	for i, it := range d.Items {
		is := ItemScore{Key: it.Key, Type: it.Type, Weight: it.Weight, Cap: it.CapOf()}
		var in Input
		if i < len(m.Inputs) {
			in = m.Inputs[i]
		}
		var raw *float64
		switch it.Type {
		case TypeAttainment:
			is.Actual, is.Target, is.Attainment = in.Actual, in.Target, in.Attainment
			if in.Attainment != nil {
				raw = ptr(*in.Attainment * 100)
			}
		case TypeRating:
			if in.Ratings > 0 {
				is.Rating, is.Ratings = ptr(rules.RoundHalfEven(in.Rating, 4)), in.Ratings
				sc := it.Scale
				raw = ptr((in.Rating - sc.Min) / (sc.Max - sc.Min) * 100)
			}
		case TypeExpr:
			if env == nil {
				env = map[string]any{"score": map[string]any{}, "attainment": map[string]any{}, "rating": map[string]any{}}
			}
			var missing []string
			is.Inputs = map[string]any{}
			for _, r := range c.Refs[i] {
				name := r.Kind + "." + d.Items[r.Item].Key
				v, ok := refValue(r, items[r.Item])
				if !ok {
					missing = append(missing, name)
					is.Inputs[name] = nil
					continue
				}
				is.Inputs[name] = v
			}
			if len(missing) > 0 {
				in.Reason, in.Message = ReasonInputMissing, strings.Join(missing, ", ")+" has no value"
				break
			}
			for j := 0; j < i; j++ {
				prev := items[j]
				for _, kind := range []string{"score", "attainment", "rating"} {
					if v, ok := refValue(Ref{Kind: kind, Item: j}, prev); ok {
						env[kind].(map[string]any)[prev.Key] = v
					}
				}
			}
			v, err := c.Programs[i].Run(env)
			if err != nil {
				in.Reason, in.Message = ReasonFormulaError, err.Error()
				break
			}
			raw = ptr(v.(float64))
		}
		if raw == nil {
			is.Reason, is.Message = in.Reason, in.Message
			if is.Reason == "" {
				is.Reason = map[string]string{TypeAttainment: ReasonNoTarget, TypeRating: ReasonNoRating}[it.Type]
			}
			items[i] = is
			continue
		}
		r := *raw
		is.Raw = ptr(rules.RoundHalfEven(r, 4))
		if r > is.Cap {
			r, is.Capped = is.Cap, true
		}
		if r < 0 {
			r = 0
		}
		is.Score = ptr(round2(r))
		items[i] = is
	}
	row := Row{User: UserRef{ID: m.ID, Name: m.Name}, Items: items, Titles: []TitleRef{}}
	var wsum, total float64
	var terms []string
	for _, is := range items {
		if is.Score == nil {
			continue
		}
		wsum += is.Weight
		total += is.Weight * *is.Score
		terms = append(terms, num(is.Weight)+" × "+num(*is.Score))
	}
	if wsum <= 0 {
		return row
	}
	for i := range items {
		if items[i].Score != nil {
			items[i].Share = ptr(rules.RoundHalfEven(items[i].Weight/wsum, 6))
		}
	}
	score := round2(total / wsum)
	row.Score = &score
	row.Explain = fmt.Sprintf("(%s) ÷ %s = %s", strings.Join(terms, " + "), num(wsum), num(score))
	row.Grade = gradeOf(c.Definition, score)
	return row
}

// refValue is the value an expr item reads for ref from an earlier item's
// result; false when it has none.
func refValue(r Ref, is ItemScore) (float64, bool) {
	switch r.Kind {
	case "score":
		if is.Score != nil {
			return *is.Score, true
		}
	case "attainment":
		if is.Attainment != nil {
			return *is.Attainment, true
		}
	case "rating":
		if is.Rating != nil {
			return *is.Rating, true
		}
	}
	return 0, false
}

func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// gradeOf is the first grade whose min the score reaches, else the
// fallback grade (nil when there is none).
func gradeOf(d *Definition, score float64) *string {
	for _, g := range d.Grades {
		if score >= g.Min {
			return ptr(g.Grade)
		}
	}
	if d.FallbackGrade != "" {
		return ptr(d.FallbackGrade)
	}
	return nil
}

// Rank orders rows by score (descending), name, id — rows without a score
// last — and sets competition ranks (1, 2, 2, 4).
func Rank(rows []Row) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if (a.Score == nil) != (b.Score == nil) {
			return a.Score != nil
		}
		if a.Score != nil && *a.Score != *b.Score {
			return *a.Score > *b.Score
		}
		if a.User.Name != b.User.Name {
			return a.User.Name < b.User.Name
		}
		return a.User.ID < b.User.ID
	})
	for i := range rows {
		rows[i].Rank = nil
		if rows[i].Score == nil {
			continue
		}
		if i > 0 && rows[i-1].Score != nil && *rows[i-1].Score == *rows[i].Score {
			rows[i].Rank = rows[i-1].Rank
			continue
		}
		rows[i].Rank = ptr(i + 1)
	}
}

// titlesFor are the titles a row's overall rank and score earn.
func titlesFor(c *Card, r Row) []TitleRef {
	out := []TitleRef{}
	if r.OverallRank == nil || r.Score == nil {
		return out
	}
	for _, t := range c.Definition.Recognition {
		if *r.OverallRank <= t.Top && (t.MinScore == nil || *r.Score >= *t.MinScore) {
			out = append(out, TitleRef{Key: t.Key, Title: t.Title})
		}
	}
	return out
}

// finite reports whether x is a finite number.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
