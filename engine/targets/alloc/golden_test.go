package alloc

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stride/engine/period"
)

var update = flag.Bool("update", false, "rewrite the golden allocation files under testdata/")

// goldenInput is a worked example as data: the plan and the tree.
type goldenInput struct {
	Description      string             `json:"description"`
	FiscalYear       int                `json:"fiscalYear"`
	FiscalStartMonth int                `json:"fiscalStartMonth"`
	Amount           int64              `json:"amount"`
	Granularity      int64              `json:"granularity"`
	Seasonality      [12]float64        `json:"seasonality"`
	RootMonths       []int64            `json:"rootMonths,omitempty"`
	Formula          string             `json:"formula"` // "mix", "history" or "" (equal split)
	InputNames       []string           `json:"inputNames"`
	EqualSplitOnZero bool               `json:"equalSplitOnZero"`
	Dimension        []string           `json:"dimension,omitempty"`
	DimWeights       map[string]float64 `json:"dimWeights,omitempty"`
	Tree             *Node              `json:"tree"`
}

func (in goldenInput) spec() Spec {
	s := Spec{
		Calendar:         period.Calendar{FiscalStartMonth: time.Month(in.FiscalStartMonth)},
		FiscalYear:       in.FiscalYear,
		Amount:           in.Amount,
		Granularity:      in.Granularity,
		Seasonality:      in.Seasonality,
		RootMonths:       in.RootMonths,
		InputNames:       in.InputNames,
		EqualSplitOnZero: in.EqualSplitOnZero,
		Dimension:        in.Dimension,
		DimWeights:       in.DimWeights,
	}
	switch in.Formula {
	case "mix":
		s.Default = mix
	case "history":
		s.Default = byValue("history")
	}
	return s
}

func loadGolden(t *testing.T, name string) (goldenInput, *Result) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".input.json"))
	if err != nil {
		t.Fatal(err)
	}
	var in goldenInput
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return in, mustAllocate(t, in.Tree, in.spec())
}

// TestGolden compares each worked example's allocation with its reviewed
// expected output, byte for byte. Regenerate with `go test -run TestGolden
// -update` and review the diff by hand.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.input.json")
	if len(files) < 6 {
		t.Fatalf("found %d worked examples, want at least 6", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".input.json")
		t.Run(name, func(t *testing.T) {
			_, r := loadGolden(t, name)
			got, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("allocation differs from %s (run with -update and review the diff)", path)
			}
			// The stored form reads back into a result that still checks.
			var back Result
			if err := json.Unmarshal(want, &back); err != nil {
				t.Fatal(err)
			}
			if err := back.Check(); err != nil {
				t.Fatalf("golden file fails Check: %v", err)
			}
		})
	}
}

// The worked examples' key numbers, asserted by hand so that a wrong
// -update cannot slip through.
func TestGoldenKeyNumbers(t *testing.T) {
	t.Run("two regions mix", func(t *testing.T) {
		_, r := loadGolden(t, "two_regions_mix")
		// east: 0.6×0.6 + 0.4×0.25 = 0.46; west: 0.6×0.4 + 0.4×0.75 = 0.54.
		if e, w := r.Nodes["region:east"].Annual, r.Nodes["region:west"].Annual; e != 460_000_000 || w != 540_000_000 {
			t.Fatalf("east %d west %d, want 460,000,000 and 540,000,000", e, w)
		}
	})
	t.Run("largest remainder ties", func(t *testing.T) {
		_, r := loadGolden(t, "lrm_ties")
		want := map[string]int64{"a": 0, "b": 2, "c": 2, "x": 3, "y": 2, "z": 2}
		for k, v := range want {
			if got := r.Nodes[k].Annual; got != v {
				t.Errorf("%s = %d, want %d", k, got, v)
			}
		}
	})
	t.Run("april fiscal year", func(t *testing.T) {
		_, r := loadGolden(t, "april_fiscal")
		if r.Months[0] != "2026-04" || r.Months[11] != "2027-03" {
			t.Fatalf("months %v", r.Months)
		}
		cal := period.Calendar{FiscalStartMonth: time.April}
		q4, _ := cal.Parse("2026-Q4") // January–March 2027
		root := r.Nodes[r.Root]
		got, err := r.Amount(r.Root, q4)
		if err != nil || got != root.Months[9]+root.Months[10]+root.Months[11] {
			t.Fatalf("Q4 = %d, %v", got, err)
		}
		if r.Nodes[r.Root].Weeks[0].Key != "2026-W14" {
			t.Fatalf("first week %s, want 2026-W14 (2026-03-30 … 2026-04-05)", root.Weeks[0].Key)
		}
	})
	t.Run("week spanning two months", func(t *testing.T) {
		_, r := loadGolden(t, "week_spanning_months")
		// 2026-W05 is Mon 26 January – Sun 1 February: 6 days in January, 1 in February.
		var parts []Part
		var sum int64
		root := r.Nodes[r.Root]
		for p, part := range r.Parts {
			if part.Week == "2026-W05" {
				parts = append(parts, part)
				sum += root.Parts[p]
			}
		}
		if len(parts) != 2 || parts[0].Days != 6 || parts[1].Days != 1 || parts[0].Month != 0 || parts[1].Month != 1 {
			t.Fatalf("parts of 2026-W05: %+v", parts)
		}
		w, _ := period.Calendar{}.Parse("2026-W05")
		got, _ := r.Amount(r.Root, w)
		// January 3,100 yuan over 31 days → 600 for 6 days; February 2,800 over 28 → 100.
		if got != sum || got != 70_000 {
			t.Fatalf("2026-W05 = %d (parts %d), want 70,000", got, sum)
		}
	})
	t.Run("lock with re-spread", func(t *testing.T) {
		_, r := loadGolden(t, "lock_respread")
		if r.Nodes["user:b"].Annual != 500_000 || r.Nodes["user:b"].Explain.Rule != RuleLocked {
			t.Fatalf("b %+v", r.Nodes["user:b"])
		}
		// 1,000,000 − 500,000 locked = 500,000 re-spread 1:4 over a and c.
		if r.Nodes["user:a"].Annual != 100_000 || r.Nodes["user:c"].Annual != 400_000 {
			t.Fatalf("a %d c %d", r.Nodes["user:a"].Annual, r.Nodes["user:c"].Annual)
		}
	})
	t.Run("floor and cap", func(t *testing.T) {
		_, r := loadGolden(t, "floor_cap")
		want := map[string]struct {
			v    int64
			rule string
		}{"user:a": {100_000, RuleFloor}, "user:b": {300_000, RuleCap}, "user:c": {300_000, RuleFormula}, "user:d": {300_000, RuleFormula}}
		for k, w := range want {
			if al := r.Nodes[k]; al.Annual != w.v || al.Explain.Rule != w.rule {
				t.Errorf("%s = %d (%s), want %d (%s)", k, al.Annual, al.Explain.Rule, w.v, w.rule)
			}
		}
	})
}
