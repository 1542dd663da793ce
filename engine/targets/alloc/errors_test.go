package alloc

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestErrors(t *testing.T) {
	base := func() Spec {
		return Spec{FiscalYear: 2026, Amount: 5_000_000, Granularity: 100, Seasonality: flat12(), Default: byValue("history"), InputNames: []string{"history"}}
	}
	kid := func(key string, h float64) *Node { return &Node{Key: key, Inputs: map[string]float64{"history": h}} }
	tree := func(kids ...*Node) *Node { return &Node{Key: "team", Children: kids} }
	withLock := func(n *Node, v int64) *Node { n.Lock = i64(v); return n }
	withFloor := func(n *Node, v int64) *Node { n.Floor = i64(v); return n }
	withCap := func(n *Node, v int64) *Node { n.Cap = i64(v); return n }
	first := func() *Result { return mustAllocate(t, tree(kid("a", 1), kid("b", 1)), base()) }
	cases := []struct {
		name    string
		root    *Node
		spec    func(s *Spec)
		code    string
		node    string
		message string
		numbers map[string]any
	}{
		{"negative weight", tree(kid("a", 1), kid("b", -2)), nil, CodeNegativeWeight, "b",
			`weight -2 from formula "history.value" is negative`, map[string]any{"weight": -2.0, "formula": "history.value"}},
		{"NaN weight", tree(kid("a", 1), kid("b", 1)), func(s *Spec) {
			s.Default = FormulaFunc{Src: "0/0", Fn: func(map[string]any) (float64, error) { return math.NaN(), nil }}
		}, CodeInvalidWeight, "a", `weight NaN from formula "0/0" is not a finite number`, map[string]any{"weight": "NaN", "formula": "0/0"}},
		{"all zero weights", tree(kid("a", 0), kid("b", 0)), nil, CodeZeroWeights, "team",
			"every weight among the children of team is 0, so 5,000,000 cannot be split (opt into an equal split to allow it)",
			map[string]any{"children": []string{"a", "b"}, "amount": int64(5_000_000)}},
		{"lock above parent", tree(withLock(kid("a", 1), 6_000_000), kid("b", 1)), nil, CodeLockExceedsParent, "team",
			"locked children total 6,000,000 > parent 5,000,000", map[string]any{"locked": int64(6_000_000), "parent": int64(5_000_000), "frozenOthers": int64(0)}},
		{"every child locked below parent", tree(withLock(kid("a", 1), 1_000_000), withLock(kid("b", 1), 1_000_000)), nil, CodeLocksBelowParent, "team",
			"every child is locked and the locks total 2,000,000 < parent 5,000,000", map[string]any{"locked": int64(2_000_000), "parent": int64(5_000_000)}},
		{"floors above parent", tree(withFloor(kid("a", 1), 3_000_000), withFloor(kid("b", 1), 3_000_000)), nil, CodeFloorsExceedParent, "team",
			"floors total 6,000,000 > parent 5,000,000 less locks 0", map[string]any{"floors": int64(6_000_000), "parent": int64(5_000_000), "locked": int64(0)}},
		{"caps below parent", tree(withCap(kid("a", 1), 1_000_000), withCap(kid("b", 1), 1_000_000)), nil, CodeCapsBelowParent, "team",
			"caps total 2,000,000 < parent 5,000,000 less locks 0", map[string]any{"caps": int64(2_000_000), "parent": int64(5_000_000), "locked": int64(0)}},
		{"weighted children capped", tree(withCap(kid("a", 1), 1_000_000), kid("b", 0)), func(s *Spec) { s.EqualSplitOnZero = true }, CodeCapsBelowParent, "team",
			"4,000,000 of 5,000,000 cannot be placed: every child with a weight above 0 is at its cap", map[string]any{"unplaced": int64(4_000_000), "parent": int64(5_000_000)}},
		{"floor above cap", tree(withCap(withFloor(kid("a", 1), 300), 200)), nil, CodeFloorAboveCap, "a",
			"floor 300 > cap 200", map[string]any{"floor": int64(300), "cap": int64(200)}},
		{"amount not a multiple", tree(kid("a", 1)), func(s *Spec) { s.Amount = 5_000_050 }, CodeNotMultiple, "",
			"amount 5,000,050 is not a multiple of the granularity 100", map[string]any{"field": "amount", "amount": int64(5_000_050), "granularity": int64(100)}},
		{"lock not a multiple", tree(withLock(kid("a", 1), 150)), nil, CodeNotMultiple, "a",
			"lock 150 is not a multiple of the granularity 100", map[string]any{"field": "lock", "amount": int64(150), "granularity": int64(100)}},
		{"zero granularity", tree(kid("a", 1)), func(s *Spec) { s.Granularity = 0 }, CodeInvalidAmount, "",
			"granularity 0 must be greater than 0", map[string]any{"granularity": int64(0)}},
		{"all-zero seasonality", tree(kid("a", 1)), func(s *Spec) { s.Seasonality = [12]float64{} }, CodeSeasonality, "",
			"seasonality weights of the months to allocate are all 0", nil},
		{"negative seasonality", tree(kid("a", 1)), func(s *Spec) { s.Seasonality[2] = -1 }, CodeSeasonality, "",
			"seasonality weight of month 3 is -1; want a finite number ≥ 0", map[string]any{"month": 2, "weight": "-1"}},
		{"root months off", tree(kid("a", 1)), func(s *Spec) { s.RootMonths = []int64{100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} }, CodeSeasonality, "",
			"root months total 100 ≠ amount 5,000,000", map[string]any{"monthsTotal": int64(100), "amount": int64(5_000_000)}},
		{"formula error", tree(kid("a", 1)), func(s *Spec) {
			s.Default = FormulaFunc{Src: "boom()", Fn: func(map[string]any) (float64, error) { return 0, errors.New("boom") }}
		}, CodeFormula, "a", `formula "boom()" failed: boom`, map[string]any{"formula": "boom()"}},
		{"lock below its frozen part", tree(withLock(kid("a", 1), 100), kid("b", 1)), func(s *Spec) { s.Frozen, s.FrozenMonths = first(), 6 }, CodeFrozenExceeds, "a",
			"lock 100 is below the 1,250,200 already kept in frozen months", map[string]any{"lock": int64(100), "frozen": int64(1_250_200)}},
		{"frozen of another year", tree(kid("a", 1)), func(s *Spec) { s.Frozen, s.FrozenMonths, s.FiscalYear = first(), 3, 2027 }, CodeFrozenMismatch, "",
			"the previous allocation is for fiscal year 2026 starting 2026-01, not 2027 starting 2027-01", map[string]any{"frozenYear": 2026, "fiscalYear": 2027}},
		{"duplicate key", tree(kid("a", 1), kid("a", 2)), nil, CodeInvalidTree, "a",
			`key "a" appears more than once in the tree`, map[string]any{"key": "a"}},
		{"repeated dimension value", tree(kid("a", 1)), func(s *Spec) { s.Dimension = []string{"x", "x"} }, CodeInvalidDimension, "",
			`dimension value "x" is empty or repeated`, map[string]any{"value": "x"}},
		{"zero dimension weights", tree(kid("a", 1)), func(s *Spec) { s.Dimension, s.DimWeights = []string{"x", "y"}, map[string]float64{"x": 0} }, CodeZeroWeights, "team",
			"every dimension weight of team is 0, so 5,000,000 cannot be split (opt into an equal split to allow it)", map[string]any{"dimension": []string{"x", "y"}, "amount": int64(5_000_000)}},
		{"bad fiscal start", tree(kid("a", 1)), func(s *Spec) { s.Calendar.FiscalStartMonth = 13 }, CodeInvalidCalendar, "",
			"fiscal start month 13 is not between 1 and 12", map[string]any{"fiscalStartMonth": 13}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := base()
			if c.spec != nil {
				c.spec(&s)
			}
			r, err := Allocate(c.root, s)
			if err == nil {
				t.Fatalf("no error; result root %d", r.Nodes[r.Root].Annual)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not an *Error: %v", err)
			}
			if e.Code != c.code || e.Node != c.node || e.Message != c.message {
				t.Fatalf("got %s / %q / %q\nwant %s / %q / %q", e.Code, e.Node, e.Message, c.code, c.node, c.message)
			}
			if !reflect.DeepEqual(e.Numbers, c.numbers) {
				t.Fatalf("numbers %#v, want %#v", e.Numbers, c.numbers)
			}
		})
	}
}

// TestCheckCatchesViolations makes sure Check is not vacuous: each
// corruption of a valid result is reported.
func TestCheckCatchesViolations(t *testing.T) {
	mk := func() *Result {
		root := &Node{Key: "team", Children: []*Node{{Key: "a", Inputs: map[string]float64{"history": 1}}, {Key: "b", Inputs: map[string]float64{"history": 2}}}}
		s := Spec{FiscalYear: 2026, Amount: 1_200_000, Granularity: 100, Seasonality: flat12(), Default: byValue("history"), InputNames: []string{"history"}, Dimension: []string{"x", "y"}}
		return mustAllocate(t, root, s)
	}
	corrupt := map[string]func(r *Result){
		"annual moved between children": func(r *Result) { r.Nodes["a"].Annual += 100; r.Nodes["b"].Annual -= 100 },
		"month moved between months":    func(r *Result) { r.Nodes["a"].Months[0] += 100; r.Nodes["a"].Months[1] -= 100 },
		"cell off by two units": func(r *Result) {
			r.Nodes["a"].Months[0] += 200
			r.Nodes["b"].Months[0] -= 200
			r.Nodes["a"].Months[1] -= 200
			r.Nodes["b"].Months[1] += 200
		},
		"week not the sum of its parts": func(r *Result) { r.Nodes["a"].Weeks[3].Amount += 100 },
		"not a multiple":                func(r *Result) { r.Nodes["a"].Parts[0] += 1 },
		"dimension off":                 func(r *Result) { r.Nodes["a"].Dims["x"].Annual += 100 },
		"order broken":                  func(r *Result) { r.Order[1], r.Order[2] = r.Order[2], r.Order[1] },
	}
	for name, f := range corrupt {
		r := mk()
		f(r)
		if err := r.Check(); err == nil {
			t.Errorf("%s: Check found nothing", name)
		}
	}
}

// TestJSON: every exported type marshals (no funcs, no locations) and a
// result survives a round trip unchanged.
func TestJSON(t *testing.T) {
	s := Spec{FiscalYear: 2026, Amount: 1_200, Granularity: 100, Seasonality: flat12(), Default: mix, InputNames: []string{"history", "potential"}}
	root := &Node{Key: "co", Children: []*Node{{Key: "a", Lock: i64(500), Inputs: map[string]float64{"history": 1}}, {Key: "b", Inputs: map[string]float64{"history": 1}}}}
	r := mustAllocate(t, root, s)
	for _, v := range []any{s, root, r, mix, &Error{Code: CodeFormula, Numbers: map[string]any{"x": 1}}} {
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("%T: %v", v, err)
		}
	}
	b, _ := json.Marshal(r)
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, &back) {
		t.Fatal("result changed in a JSON round trip")
	}
	if !strings.Contains(string(b), `"fiscalYear":2026`) || !strings.Contains(string(b), `"rule":"locked"`) {
		t.Fatalf("unexpected JSON: %.300s", b)
	}
}
