package tracking

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"stride/engine/apperr"
	"stride/engine/records"
	"stride/engine/store"
)

func TestContributions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	obj, err := e.app.Objects.Published(e.ctx, e.db, "demo", "order")
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	metric := func(src string) *Metric {
		var def map[string]any
		if err := json.Unmarshal([]byte(src), &def); err != nil {
			t.Fatal(err)
		}
		m, fe := e.tr.compile(e.ctx, e.db, "demo", "m", 0, def)
		if len(fe) > 0 {
			t.Fatalf("%s: %+v", src, fe)
		}
		return m
	}
	split := func(pairs ...any) []any {
		var out []any
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, map[string]any{"user": pairs[i], "percent": pairs[i+1]})
		}
		return out
	}
	base := `"label": {"en": "x"}, "object": "order", "ownerField": "owner", `
	cases := []struct {
		name   string
		metric string
		data   map[string]any
		owner  string
		want   []Contribution
	}{
		{"money as is", `{` + base + `"value": "amount", "dateField": "closeDate"}`,
			map[string]any{"amount": int64(12345), "closeDate": "2026-03-31"}, "u1",
			[]Contribution{{Key{"m", "u1", "2026-03-31"}, Cell{12345, 1}}}},
		{"money rounds half-even once (1.005 → 1.00)", `{` + base + `"value": "amount * 1.005", "unit": "money", "dateField": "closeDate"}`,
			map[string]any{"amount": int64(100), "closeDate": "2026-03-31"}, "u1",
			[]Contribution{{Key{"m", "u1", "2026-03-31"}, Cell{100, 1}}}},
		{"money rounds half-even once (3.015 → 3.02)", `{` + base + `"value": "amount * 1.005", "unit": "money", "dateField": "closeDate"}`,
			map[string]any{"amount": int64(300), "closeDate": "2026-03-31"}, "u1",
			[]Contribution{{Key{"m", "u1", "2026-03-31"}, Cell{302, 1}}}},
		{"a third of a yuan", `{` + base + `"value": "amount / 3", "unit": "money", "dateField": "closeDate"}`,
			map[string]any{"amount": int64(100), "closeDate": "2026-03-31"}, "u1",
			[]Contribution{{Key{"m", "u1", "2026-03-31"}, Cell{33, 1}}}},
		{"number with precision 1", `{` + base + `"value": "score * 1.5", "precision": 1, "dateField": "closeDate"}`,
			map[string]any{"score": 0.25, "closeDate": "2026-03-31"}, "u1", // 0.375 → 0.4
			[]Contribution{{Key{"m", "u1", "2026-03-31"}, Cell{4, 1}}}},
		{"count metric", `{` + base + `"dateField": "closeDate"}`,
			map[string]any{"closeDate": "2026-03-31"}, "u1",
			[]Contribution{{Key{"m", "u1", "2026-03-31"}, Cell{100, 1}}}},
		{"where false", `{` + base + `"where": "amount > 100", "value": "amount", "dateField": "closeDate"}`,
			map[string]any{"amount": int64(100), "closeDate": "2026-03-31"}, "u1", nil},
		{"no date", `{` + base + `"value": "amount", "dateField": "closeDate"}`,
			map[string]any{"amount": int64(100)}, "u1", nil},
		{"odd split of one fen goes to the largest remainder", `{` + base + `"value": "amount", "dateField": "closeDate", "splitField": "splits"}`,
			map[string]any{"amount": int64(1), "closeDate": "2026-03-31", "splits": split("a", 33.33, "b", 33.33, "c", 33.34)}, "u1",
			[]Contribution{{Key{"m", "a", "2026-03-31"}, Cell{0, 1}}, {Key{"m", "b", "2026-03-31"}, Cell{0, 1}}, {Key{"m", "c", "2026-03-31"}, Cell{1, 1}}}},
		{"odd split of one yuan", `{` + base + `"value": "amount", "dateField": "closeDate", "splitField": "splits"}`,
			map[string]any{"amount": int64(100), "closeDate": "2026-03-31", "splits": split("c", 33.34, "a", 33.33, "b", 33.33)}, "u1",
			[]Contribution{{Key{"m", "a", "2026-03-31"}, Cell{33, 1}}, {Key{"m", "b", "2026-03-31"}, Cell{33, 1}}, {Key{"m", "c", "2026-03-31"}, Cell{34, 1}}}},
		{"tie goes to the smaller user id", `{` + base + `"value": "amount", "dateField": "closeDate", "splitField": "splits"}`,
			map[string]any{"amount": int64(1), "closeDate": "2026-03-31", "splits": split("z", int64(50), "y", int64(50))}, "u1",
			[]Contribution{{Key{"m", "y", "2026-03-31"}, Cell{1, 1}}, {Key{"m", "z", "2026-03-31"}, Cell{0, 1}}}},
		{"negative amounts split symmetrically", `{` + base + `"value": "amount", "dateField": "closeDate", "splitField": "splits"}`,
			map[string]any{"amount": int64(-101), "closeDate": "2026-03-31", "splits": split("y", int64(50), "z", int64(50))}, "u1",
			[]Contribution{{Key{"m", "y", "2026-03-31"}, Cell{-51, 1}}, {Key{"m", "z", "2026-03-31"}, Cell{-50, 1}}}},
		{"duplicate users merge", `{` + base + `"value": "amount", "dateField": "closeDate", "splitField": "splits"}`,
			map[string]any{"amount": int64(10), "closeDate": "2026-03-31", "splits": split("y", int64(30), "z", int64(40), "y", int64(30))}, "u1",
			[]Contribution{{Key{"m", "y", "2026-03-31"}, Cell{6, 1}}, {Key{"m", "z", "2026-03-31"}, Cell{4, 1}}}},
		{"empty split credits the owner", `{` + base + `"value": "amount", "dateField": "closeDate", "splitField": "splits"}`,
			map[string]any{"amount": int64(10), "closeDate": "2026-03-31", "splits": []any{}}, "u1",
			[]Contribution{{Key{"m", "u1", "2026-03-31"}, Cell{10, 1}}}},
		{"date-time just before midnight in Shanghai", `{"label": {"en": "x"}, "object": "order", "ownerField": "seller", "value": "amount", "dateField": "paidAt"}`,
			map[string]any{"amount": int64(5), "paidAt": "2026-01-31T15:59:59.999Z", "seller": "s"}, "u1",
			[]Contribution{{Key{"m", "s", "2026-01-31"}, Cell{5, 1}}}},
		{"date-time at midnight in Shanghai is the next day (and month)", `{"label": {"en": "x"}, "object": "order", "ownerField": "seller", "value": "amount", "dateField": "paidAt"}`,
			map[string]any{"amount": int64(5), "paidAt": "2026-01-31T16:00:00.000Z", "seller": "s"}, "u1",
			[]Contribution{{Key{"m", "s", "2026-02-01"}, Cell{5, 1}}}},
		{"owner field empty", `{"label": {"en": "x"}, "object": "order", "ownerField": "seller", "value": "amount", "dateField": "paidAt"}`,
			map[string]any{"amount": int64(5), "paidAt": "2026-01-31T16:00:00.000Z"}, "u1", nil},
		{"createdAt in the tenant zone", `{` + base + `"dateField": "createdAt"}`,
			map[string]any{}, "u1", []Contribution{{Key{"m", "u1", "2026-07-01"}, Cell{100, 1}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := metric(c.metric)
			rec := &records.Record{ID: "r1", Owner: c.owner, Data: c.data, CreatedAt: "2026-06-30T16:00:00.000Z"}
			got, err := Contributions(m, obj, rec, sh)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %+v\nwant %+v", got, c.want)
			}
			rec.Deleted = true
			if got, _ := Contributions(m, obj, rec, sh); len(got) != 0 {
				t.Fatalf("a deleted record contributes %+v", got)
			}
		})
	}
}

func TestAllocateSumsExactly(t *testing.T) {
	t.Parallel()
	shares := []share{{"a", 333300}, {"b", 333300}, {"c", 333400}}
	for v := int64(-1000); v <= 1000; v++ {
		var sum int64
		for _, x := range allocate(v, shares) {
			sum += x
		}
		if sum != v {
			t.Fatalf("allocate(%d) sums to %d", v, sum)
		}
	}
}

func TestMetricValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	save := func(src string) []apperr.FieldError {
		var def map[string]any
		if err := json.Unmarshal([]byte(src), &def); err != nil {
			t.Fatal(err)
		}
		_, err := e.tr.Save(e.ctx, e.db, "demo", e.admin.UserID, "bad", def, 0)
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Kind != apperr.KindInvalid {
			t.Fatalf("%s: want a 422, got %v", src, err)
		}
		return ae.Fields
	}
	has := func(fe []apperr.FieldError, ptr string) apperr.FieldError {
		for _, f := range fe {
			if f.Pointer == ptr {
				return f
			}
		}
		t.Fatalf("no error at %s in %+v", ptr, fe)
		return apperr.FieldError{}
	}
	has(save(`{"label": {"en": "x"}, "object": "order", "dateField": "closeDate", "ownerField": "owner", "bogus": 1}`), "/bogus")
	has(save(`{"label": {"en": "x"}, "object": "nope", "dateField": "closeDate", "ownerField": "owner"}`), "/object")
	fe := save(`{"label": {"en": "x"}, "object": "order", "dateField": "closDate", "ownerField": "amount", "splitField": "name"}`)
	if f := has(fe, "/dateField"); f.Hint == "" {
		t.Errorf("no did-you-mean hint: %+v", f)
	}
	has(fe, "/ownerField")
	has(fe, "/splitField")
	fe = save(`{"label": {"en": "x"}, "object": "order", "dateField": "closeDate", "ownerField": "owner",
		"where": "amount", "value": "name +\n amout"}`)
	has(fe, "/where")
	if f := has(fe, "/value"); f.Line != 2 || f.Column == 0 {
		t.Errorf("formula error without location: %+v", f)
	}
	// An object that exists only as a draft is refused.
	var def map[string]any
	_ = json.Unmarshal([]byte(orderDef), &def)
	if _, err := e.app.Objects.Save(e.ctx, e.db, "demo", e.admin.UserID, "draftonly", def, 0); err != nil {
		t.Fatal(err)
	}
	has(save(`{"label": {"en": "x"}, "object": "draftonly", "dateField": "closeDate", "ownerField": "owner"}`), "/object")
}

func TestSplitRefusedAtWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "revenue")
	_, _, err := e.app.Records.Create(e.ctx, e.db, e.admin, "order", map[string]any{"name": "x", "amount": json.Number("100"),
		"closeDate": "2026-03-01", "splits": []any{map[string]any{"user": "a", "percent": json.Number("50")}, map[string]any{"user": "b", "percent": json.Number("40")}}}, "")
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.KindInvalid || len(ae.Fields) == 0 || ae.Fields[0].Pointer != "/splits" {
		t.Fatalf("want a 422 at /splits, got %v", err)
	}
	if n, _ := e.db.Count(e.ctx, "rec_order", store.Query{}); n != 0 {
		t.Fatalf("the refused record was stored")
	}
}
