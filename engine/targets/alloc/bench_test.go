package alloc

import (
	"fmt"
	"math"
	"testing"
)

// benchOrg is company → 20 regions → 500 teams → 9,479 reps: 10,000 nodes.
func benchOrg() *Node {
	root := &Node{Key: "company", Name: "Company"}
	rep := 0
	for r := range 20 {
		region := &Node{Key: fmt.Sprintf("region:%02d", r), Inputs: map[string]float64{"history": float64(1000 + 37*r), "potential": float64(500 + 11*r)}}
		root.Children = append(root.Children, region)
		for t := range 25 {
			team := &Node{Key: fmt.Sprintf("team:%02d-%02d", r, t), Inputs: map[string]float64{"history": float64(100 + 7*t), "potential": float64(50 + 3*t)}}
			region.Children = append(region.Children, team)
			n := 18
			if r*25+t < 479 {
				n = 19
			}
			for range n {
				rep++
				team.Children = append(team.Children, &Node{Key: fmt.Sprintf("user:%05d", rep), Inputs: map[string]float64{"history": float64(rep*7919%1000 + 1), "potential": float64(rep*104729%500 + 1)}})
			}
		}
	}
	return root
}

func benchSpec() Spec {
	return Spec{
		FiscalYear:  2026,
		Amount:      1_000_000_000, // 10,000,000 yuan in 分
		Granularity: 100,
		Seasonality: [12]float64{6, 7, 9, 8, 8, 9, 7, 7, 9, 9, 10, 11},
		Default:     mix,
		InputNames:  []string{"history", "potential"},
	}
}

// BenchmarkAllocate10k is the exact allocation of a 10,000-node org to
// year, months and weeks.
func BenchmarkAllocate10k(b *testing.B) {
	root, spec := benchOrg(), benchSpec()
	if n := countNodes(root); n != 10_000 {
		b.Fatalf("org has %d nodes", n)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Allocate(root, spec); err != nil {
			b.Fatal(err)
		}
	}
}

// floatAlloc is one node of the baseline: float amounts, no rounding.
type floatAlloc struct {
	annual float64
	months [12]float64
	parts  []float64
	weeks  []float64
}

// proportional is the baseline: the same formula evaluated with the same
// variables, then plain float proportions of year → months → week parts →
// weeks, with no exactness and no rounding.
func proportional(root *Node, spec Spec) map[string]*floatAlloc {
	lay := newLayout(spec.FiscalYear, spec.Calendar.FiscalStartMonth)
	out := make(map[string]*floatAlloc, 10_000)
	mk := func(n *Node) *floatAlloc {
		fa := &floatAlloc{parts: make([]float64, len(lay.parts)), weeks: make([]float64, len(lay.weeks))}
		out[n.Key] = fa
		return fa
	}
	r := mk(root)
	r.annual = float64(spec.Amount)
	var ws float64
	for _, s := range spec.Seasonality {
		ws += s
	}
	for m := range 12 {
		r.months[m] = r.annual * spec.Seasonality[m] / ws
		for p := lay.monthParts[m]; p < lay.monthParts[m+1]; p++ {
			r.parts[p] = r.months[m] * float64(lay.parts[p].Days) / float64(lay.monthDays[m])
		}
	}
	var rec func(n *Node, level int, fa *floatAlloc)
	rec = func(n *Node, level int, fa *floatAlloc) {
		for k, wp := range lay.weekParts {
			for _, p := range wp {
				fa.weeks[k] += fa.parts[p]
			}
		}
		if len(n.Children) == 0 {
			return
		}
		names := spec.InputNames
		sums := make([]float64, len(names))
		for k, name := range names {
			for _, c := range n.Children {
				sums[k] += c.Inputs[name]
			}
		}
		w := make([]float64, len(n.Children))
		var wsum float64
		// The variables are reused across children, as Allocate does, so
		// the comparison is of the splitting, not of map building.
		vars := make(map[string]any, len(names)+1)
		inner := make([]map[string]any, len(names))
		for k, name := range names {
			inner[k] = map[string]any{}
			vars[name] = inner[k]
		}
		node := map[string]any{}
		vars["node"] = node
		for i, c := range n.Children {
			for k, name := range names {
				v := c.Inputs[name]
				sh := 0.0
				if sums[k] != 0 {
					sh = v / sums[k]
				}
				inner[k]["value"], inner[k]["share"] = v, sh
			}
			node["key"], node["name"], node["level"] = c.Key, c.Name, level+1
			w[i], _ = spec.Default.Weight(vars)
			wsum += w[i]
		}
		for i, c := range n.Children {
			ca := mk(c)
			s := w[i] / wsum
			ca.annual = fa.annual * s
			for m := range 12 {
				ca.months[m] = fa.months[m] * s
			}
			for p := range fa.parts {
				ca.parts[p] = fa.parts[p] * s
			}
			rec(c, level+1, ca)
		}
	}
	rec(root, 0, r)
	return out
}

// BenchmarkProportional10k is the baseline for BenchmarkAllocate10k.
func BenchmarkProportional10k(b *testing.B) {
	root, spec := benchOrg(), benchSpec()
	b.ReportAllocs()
	for b.Loop() {
		if len(proportional(root, spec)) != 10_000 {
			b.Fatal("wrong size")
		}
	}
}

// BenchmarkProportionalResult10k is the baseline plus building the same
// result shape as Allocate (an Alloc per node in a map, amounts rounded
// one by one with math.Round — so nothing sums exactly —, keyed weeks, an
// explanation with its inputs). Not a goal: it shows how much of
// Allocate's time is the exported result rather than exactness.
func BenchmarkProportionalResult10k(b *testing.B) {
	root, spec := benchOrg(), benchSpec()
	lay := newLayout(spec.FiscalYear, spec.Calendar.FiscalStartMonth)
	b.ReportAllocs()
	for b.Loop() {
		fs := proportional(root, spec)
		res := &Result{Nodes: make(map[string]*Alloc, len(fs)), Months: lay.monthKeys, Parts: lay.parts}
		var rec func(n *Node, parent string, level int)
		rec = func(n *Node, parent string, level int) {
			fa := fs[n.Key]
			al := &Alloc{Key: n.Key, Name: n.Name, Parent: parent, Level: level, Annual: int64(math.Round(fa.annual)),
				Parts: make([]int64, len(fa.parts)), Weeks: make([]WeekAmount, len(fa.weeks))}
			for m := range 12 {
				al.Months[m] = int64(math.Round(fa.months[m]))
			}
			for p, v := range fa.parts {
				al.Parts[p] = int64(math.Round(v))
			}
			for k, v := range fa.weeks {
				al.Weeks[k] = WeekAmount{Key: lay.weeks[k], Amount: int64(math.Round(v))}
			}
			in := make(Inputs, 0, len(spec.InputNames))
			for _, name := range spec.InputNames {
				in = append(in, NamedInput{Name: name, Input: Input{Value: n.Inputs[name]}})
			}
			al.Explain = Explanation{Rule: RuleFormula, Inputs: in, Raw: fa.annual, Rounded: al.Annual}
			res.Nodes[n.Key] = al
			res.Order = append(res.Order, n.Key)
			for _, c := range n.Children {
				al.Children = append(al.Children, c.Key)
				rec(c, n.Key, level+1)
			}
		}
		rec(root, "", 0)
		if len(res.Nodes) != 10_000 {
			b.Fatal("wrong size")
		}
	}
}
