package alloc

import (
	"errors"
	"testing"
	"time"

	"stride/engine/period"
)

func TestAmountAndExpected(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	cal := period.Calendar{Location: shanghai, FiscalStartMonth: time.April}
	// 3,650,000: every day of the year 2026-04 … 2027-03 is worth 10,000.
	months := []int64{300_000, 310_000, 300_000, 310_000, 310_000, 300_000, 310_000, 300_000, 310_000, 310_000, 280_000, 310_000}
	root := &Node{Key: "co", Children: []*Node{{Key: "a"}, {Key: "b"}}}
	r := mustAllocate(t, root, Spec{Calendar: cal, FiscalYear: 2026, Amount: 3_650_000, Granularity: 100, RootMonths: months,
		Dimension: []string{"x", "y"}, DimWeights: map[string]float64{"x": 1, "y": 1}})
	p := func(key string) period.Period {
		pp, err := cal.Parse(key)
		if err != nil {
			t.Fatal(err)
		}
		return pp
	}
	amounts := []struct {
		key  string
		want int64
	}{
		{"2026", 3_650_000}, {"2026-Q1", 910_000}, {"2026-Q4", 900_000}, {"2027-02", 280_000},
		{"2026-W14", 50_000}, // Wed 1 – Sun 5 April 2026: 5 in-year days
		{"2027-W13", 30_000}, // Mon 29 – Wed 31 March 2027: 3 in-year days
	}
	for _, c := range amounts {
		got, err := r.Amount("co", p(c.key))
		if err != nil || got != c.want {
			t.Errorf("Amount(co, %s) = %d, %v; want %d", c.key, got, err, c.want)
		}
		x, _ := r.DimAmount("co", "x", p(c.key))
		y, _ := r.DimAmount("co", "y", p(c.key))
		if x+y != c.want {
			t.Errorf("dimensions of %s total %d, want %d", c.key, x+y, c.want)
		}
	}
	at := time.Date(2026, time.May, 11, 12, 0, 0, 0, shanghai) // 10.5 days into May
	expected := []struct {
		key  string
		want int64
	}{
		{"2026", 300_000 + 105_000},    // April in full + 10.5 days of May
		{"2026-Q1", 300_000 + 105_000}, // same quarter
		{"2026-05", 105_000},
		{"2026-06", 0},
		{"2026-W19", 70_000}, // Mon 4 – Sun 10 May: complete by the 11th
		{"2026-W20", 5_000},  // half of Monday 11 May
	}
	for _, c := range expected {
		got, err := r.Expected("co", p(c.key), at)
		if err != nil || got != c.want {
			t.Errorf("Expected(co, %s) = %d, %v; want %d", c.key, got, err, c.want)
		}
	}
	// Half of a 10,000 day, then rounding half to even of 1/3 day.
	got, _ := r.Expected("co", p("2026-W20"), time.Date(2026, time.May, 11, 8, 0, 0, 0, shanghai))
	if got != 3_333 {
		t.Errorf("a third of a day of 10,000 = %d, want 3,333", got)
	}
	if _, err := r.Amount("co", p("2027")); !errors.Is(err, ErrPeriod) {
		t.Errorf("another year: %v", err)
	}
	if _, err := r.Amount("nobody", p("2026")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown node: %v", err)
	}
	if _, err := r.DimAmount("co", "z", p("2026")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown dimension value: %v", err)
	}
}
