package alloc

import (
	"math/rand/v2"
	"testing"
)

func TestSmoke(t *testing.T) {
	root := &Node{Key: "company", Children: []*Node{
		{Key: "east", Inputs: map[string]float64{"history": 600, "potential": 100}},
		{Key: "west", Inputs: map[string]float64{"history": 400, "potential": 300}},
	}}
	r := mustAllocate(t, root, Spec{FiscalYear: 2026, Amount: 1_000_000_000, Granularity: 100, Seasonality: flat12(), Default: mix, InputNames: []string{"history", "potential"}})
	if r.Nodes["east"].Annual+r.Nodes["west"].Annual != 1_000_000_000 {
		t.Fatal(r.Nodes["east"].Annual)
	}
}

func TestRandomSmoke(t *testing.T) {
	for seed := range 300 {
		rng := rand.New(rand.NewPCG(uint64(seed), 1))
		spec := randomSpec(rng)
		root := randomTree(rng, 1+rng.IntN(4), 1+rng.IntN(8), spec.Granularity, rng.IntN(2) == 0)
		r, err := Allocate(root, spec)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("seed %d: %v", seed, err)
			}
			continue
		}
		if err := r.Check(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}
