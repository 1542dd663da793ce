package alloc

import (
	"fmt"
	"testing"
	"time"

	"stride/engine/period"
)

// fuzzPlan decodes bytes into a small plan: each byte read drives one
// choice, and running out of bytes reads zeros.
func fuzzPlan(data []byte) (*Node, Spec) {
	pos := 0
	next := func() int {
		if pos >= len(data) {
			return 0
		}
		b := data[pos]
		pos++
		return int(b)
	}
	grans := []int64{1, 7, 100, 1_000_000}
	g := grans[next()%len(grans)]
	s := Spec{
		Calendar:         period.Calendar{FiscalStartMonth: time.Month(next() % 14)},
		FiscalYear:       2000 + next()%60,
		Granularity:      g,
		Amount:           int64(next()*256+next()) * g,
		InputNames:       []string{"history"},
		EqualSplitOnZero: next()%2 == 0,
		FrozenMonths:     next() % 13,
	}
	for m := range s.Seasonality {
		s.Seasonality[m] = float64(next() % 4)
	}
	switch next() % 3 {
	case 0:
		s.Default = byValue("history")
	case 1:
		s.Default = mix
		s.InputNames = append(s.InputNames, "potential")
	}
	if next()%4 == 0 {
		s.Dimension = []string{"p", "q"}
		s.DimWeights = map[string]float64{"p": float64(next() % 3), "q": float64(next() % 3)}
	}
	id := 0
	var mk func(depth int) *Node
	mk = func(depth int) *Node {
		id++
		n := &Node{Key: fmt.Sprintf("k%d", id), Inputs: map[string]float64{"history": float64(next() % 50), "potential": float64(next() % 5)}}
		switch next() % 8 {
		case 0:
			n.Lock = i64(int64(next()) * g)
		case 1:
			n.Floor = i64(int64(next()) * g)
		case 2:
			n.Cap = i64(int64(next()*4) * g)
		}
		if depth < 3 {
			for range next() % 5 {
				n.Children = append(n.Children, mk(depth+1))
			}
		}
		return n
	}
	return mk(0), s
}

// FuzzAllocate: no panic, an *Error or a result that checks; and a second
// pass that keeps the first allocation's months frozen checks too.
func FuzzAllocate(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{2, 4, 26, 10, 0, 0, 6, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 0, 9, 4, 3, 5, 3, 3, 1, 7, 2, 2, 8, 1})
	f.Add([]byte{1, 1, 1, 200, 200, 1, 12, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 0, 1, 2, 0, 4, 0, 10, 5, 1, 3, 0, 3, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		root, s := fuzzPlan(data)
		fz := s.FrozenMonths
		s.FrozenMonths = 0
		r, err := Allocate(root, s)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if err := r.Check(); err != nil {
			t.Fatalf("Check: %v", err)
		}
		s.Frozen, s.FrozenMonths = r, fz
		r2, err := Allocate(root, s)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("untyped error (frozen): %v", err)
			}
			return
		}
		if err := r2.Check(); err != nil {
			t.Fatalf("Check (frozen %d): %v", fz, err)
		}
	})
}
