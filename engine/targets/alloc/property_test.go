package alloc

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"stride/engine/period"
)

// periodsOf lists the plan year, its quarters, months and weeks as periods.
func periodsOf(t *testing.T, spec Spec, r *Result) []period.Period {
	t.Helper()
	keys := []string{fmt.Sprintf("%04d", spec.FiscalYear)}
	for q := 1; q <= 4; q++ {
		keys = append(keys, fmt.Sprintf("%04d-Q%d", spec.FiscalYear, q))
	}
	keys = append(keys, r.Months[:]...)
	for _, w := range r.Nodes[r.Root].Weeks {
		keys = append(keys, w.Key)
	}
	ps := make([]period.Period, len(keys))
	for i, k := range keys {
		p, err := spec.Calendar.Parse(k)
		if err != nil {
			t.Fatal(err)
		}
		ps[i] = p
	}
	return ps
}

func shuffled(rng *rand.Rand, n *Node) *Node {
	c := *n
	c.Children = make([]*Node, len(n.Children))
	for i, k := range n.Children {
		c.Children[i] = shuffled(rng, k)
	}
	rng.Shuffle(len(c.Children), func(i, j int) { c.Children[i], c.Children[j] = c.Children[j], c.Children[i] })
	return &c
}

func walkNodes(n *Node, f func(n *Node, parent *Node)) {
	var rec func(n, p *Node)
	rec = func(n, p *Node) {
		f(n, p)
		for _, c := range n.Children {
			rec(c, n)
		}
	}
	rec(n, nil)
}

// TestPropertyRandomTrees allocates random trees, weights (zeros
// included), granularities, bounds, locks, seasonality (zero months
// included) and fiscal starts, and checks every promise of the package.
func TestPropertyRandomTrees(t *testing.T) {
	runs, ok := 400, 0
	if testing.Short() {
		runs = 60
	}
	for seed := range runs {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		spec := randomSpec(rng)
		depth, fan := 1+rng.IntN(4), 1+rng.IntN(30)
		if depth >= 3 {
			fan = 1 + rng.IntN(8)
		}
		root := randomTree(rng, depth, fan, spec.Granularity, rng.IntN(2) == 0)
		r, err := Allocate(root, spec)
		if err != nil {
			if _, isErr := err.(*Error); !isErr {
				t.Fatalf("seed %d: untyped error %v", seed, err)
			}
			continue
		}
		ok++
		if err := r.Check(); err != nil {
			t.Fatalf("seed %d: Check: %v", seed, err)
		}
		ps := periodsOf(t, spec, r)
		g := spec.Granularity
		walkNodes(root, func(n, parent *Node) {
			al := r.Nodes[n.Key]
			if parent != nil {
				switch {
				case n.Lock != nil && al.Annual != *n.Lock:
					t.Fatalf("seed %d: %s locked at %d, got %d", seed, n.Key, *n.Lock, al.Annual)
				case n.Lock == nil && n.Floor != nil && al.Annual < *n.Floor:
					t.Fatalf("seed %d: %s below floor", seed, n.Key)
				case n.Lock == nil && n.Cap != nil && al.Annual > *n.Cap:
					t.Fatalf("seed %d: %s above cap", seed, n.Key)
				}
				if e := al.Explain; (e.Rule == RuleFormula || e.Rule == RuleEqual) && math.Abs(float64(e.Rounded)-e.Raw) >= float64(g)*(1+1e-9) {
					t.Fatalf("seed %d: %s rounded %d is more than one unit from raw %v", seed, n.Key, e.Rounded, e.Raw)
				}
			}
			if len(n.Children) == 0 {
				return
			}
			for _, p := range ps {
				want, err := r.Amount(n.Key, p)
				if err != nil {
					t.Fatal(err)
				}
				var sum int64
				for _, c := range n.Children {
					v, err := r.Amount(c.Key, p)
					if err != nil {
						t.Fatal(err)
					}
					sum += v
				}
				if sum != want {
					t.Fatalf("seed %d: children of %s total %d in %s, parent %d", seed, n.Key, sum, p.Key, want)
				}
			}
		})
		if root := r.Nodes[r.Root]; root.Annual != spec.Amount {
			t.Fatalf("seed %d: root %d ≠ amount %d", seed, root.Annual, spec.Amount)
		}
		// Same input, same result; shuffled children, same amounts.
		again := mustAllocate(t, root, spec)
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("seed %d: two runs differ", seed)
		}
		sh := mustAllocate(t, shuffled(rng, root), spec)
		for k, a := range r.Nodes {
			b := sh.Nodes[k]
			if a.Annual != b.Annual || a.Months != b.Months || !reflect.DeepEqual(a.Parts, b.Parts) || !reflect.DeepEqual(a.Dims, b.Dims) || !reflect.DeepEqual(a.Explain, b.Explain) {
				t.Fatalf("seed %d: %s differs when children are shuffled", seed, k)
			}
		}
	}
	if ok < runs/2 {
		t.Fatalf("only %d of %d random plans allocated; the generator makes too many impossible ones", ok, runs)
	}
	t.Logf("%d of %d random plans allocated", ok, runs)
}

// TestPropertyFrozen re-spreads random plans mid-year with changed inputs
// and amount: frozen months are kept, everything still sums exactly.
func TestPropertyFrozen(t *testing.T) {
	ok := 0
	for seed := range 150 {
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		spec := randomSpec(rng)
		spec.Dimension = nil
		root := randomTree(rng, 1+rng.IntN(3), 1+rng.IntN(6), spec.Granularity, false)
		first, err := Allocate(root, spec)
		if err != nil {
			continue
		}
		fz := rng.IntN(13)
		walkNodes(root, func(n, _ *Node) {
			n.Inputs["history"] = float64(rng.IntN(1000))
		})
		// A new rep joins somewhere.
		root.Children = append(root.Children, &Node{Key: "zz-new", Inputs: map[string]float64{"history": 10}})
		spec2 := spec
		spec2.Frozen, spec2.FrozenMonths = first, fz
		var past int64
		for m := 0; m < fz; m++ {
			past += first.Nodes[first.Root].Months[m]
		}
		spec2.Amount = past + int64(rng.IntN(1_000_000))*spec.Granularity
		r, err := Allocate(root, spec2)
		if err != nil {
			if _, isErr := err.(*Error); !isErr {
				t.Fatalf("seed %d: %v", seed, err)
			}
			continue
		}
		ok++
		if err := r.Check(); err != nil {
			t.Fatalf("seed %d (frozen %d): %v", seed, fz, err)
		}
		for k, a := range r.Nodes {
			prev := first.Nodes[k]
			if prev == nil {
				continue
			}
			for m := 0; m < fz; m++ {
				if a.Months[m] != prev.Months[m] {
					t.Fatalf("seed %d: %s month %d changed from %d to %d", seed, k, m, prev.Months[m], a.Months[m])
				}
			}
			for p, part := range r.Parts {
				if part.Month < fz && a.Parts[p] != prev.Parts[p] {
					t.Fatalf("seed %d: %s week part %d changed", seed, k, p)
				}
			}
		}
	}
	if ok < 50 {
		t.Fatalf("only %d frozen re-spreads succeeded", ok)
	}
}
