package alloc

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"stride/engine/period"
)

func i64(v int64) *int64 { return &v }

// mix is 0.6×history.share + 0.4×potential.share, the example formula.
var mix = FormulaFunc{Src: "0.6*history.share + 0.4*potential.share", Fn: func(v map[string]any) (float64, error) {
	h := v["history"].(map[string]any)["share"].(float64)
	p := v["potential"].(map[string]any)["share"].(float64)
	return 0.6*h + 0.4*p, nil
}}

// byValue weighs a child by one input's value.
func byValue(name string) Formula {
	return FormulaFunc{Src: name + ".value", Fn: func(v map[string]any) (float64, error) {
		return v[name].(map[string]any)["value"].(float64), nil
	}}
}

func flat12() [12]float64 {
	var s [12]float64
	for i := range s {
		s[i] = 1
	}
	return s
}

func mustAllocate(t testing.TB, root *Node, spec Spec) *Result {
	t.Helper()
	r, err := Allocate(root, spec)
	if err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	if err := r.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
	return r
}

func errCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return fmt.Sprintf("not an *Error: %v", err)
}

// randomTree builds a tree of the given depth with up to fan children per
// node, random inputs (zeros included), and — when bounds is set — random
// locks, floors and caps that are feasible more often than not.
func randomTree(rng *rand.Rand, depth, fan int, g int64, bounds bool) *Node {
	id := 0
	budget := 1500
	var mk func(level int) *Node
	mk = func(level int) *Node {
		id++
		n := &Node{Key: fmt.Sprintf("n%04d", rng.IntN(1_000_000)*1000+id), Name: fmt.Sprint("node ", id), Inputs: map[string]float64{}}
		if rng.IntN(5) > 0 {
			n.Inputs["history"] = float64(rng.IntN(1000))
		}
		if rng.IntN(5) > 0 {
			n.Inputs["potential"] = float64(rng.IntN(50)) * 1.5
		}
		if bounds && level > 0 {
			switch rng.IntN(10) {
			case 0:
				n.Lock = i64(int64(rng.IntN(20)) * g)
			case 1:
				n.Floor = i64(int64(rng.IntN(10)) * g)
			case 2:
				n.Cap = i64(int64(rng.IntN(400)+1) * g)
			case 3:
				n.Floor = i64(int64(rng.IntN(5)) * g)
				n.Cap = i64(int64(rng.IntN(400)+5) * g)
			}
		}
		if level < depth {
			k := min(rng.IntN(fan+1), budget)
			budget -= k
			if level == 0 && k == 0 {
				k = 1
			}
			for range k {
				n.Children = append(n.Children, mk(level+1))
			}
		}
		return n
	}
	return mk(0)
}

func randomSpec(rng *rand.Rand) Spec {
	grans := []int64{1, 100, 10_000, 1_000_000}
	g := grans[rng.IntN(len(grans))]
	s := Spec{
		Calendar:         period.Calendar{FiscalStartMonth: time.Month(rng.IntN(12) + 1)},
		FiscalYear:       2020 + rng.IntN(10),
		Granularity:      g,
		Amount:           int64(rng.IntN(5_000_000)) * g,
		InputNames:       []string{"history", "potential"},
		EqualSplitOnZero: true,
	}
	for m := range s.Seasonality {
		if rng.IntN(4) > 0 {
			s.Seasonality[m] = float64(rng.IntN(100))
		}
	}
	s.Seasonality[rng.IntN(12)] += 1
	switch rng.IntN(3) {
	case 0:
		s.Default = mix
	case 1:
		s.Default = byValue("history")
	}
	if rng.IntN(3) == 0 {
		s.Dimension = []string{"a", "b", "c"}
		s.DimWeights = map[string]float64{"a": 3, "b": 0, "c": float64(rng.IntN(5))}
	}
	return s
}
