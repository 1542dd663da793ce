package alloc

import (
	"fmt"
	"slices"
)

// Check re-verifies every exactness invariant of the result and returns nil
// when all hold: the tree is consistent; every amount is ≥ 0 and a multiple
// of the granularity; a node's months sum to its annual, its week parts to
// its months, its weeks are the sums of their parts; children sum to their
// parent for the year, every month and every week part; every rounded cell
// (month, week part, dimension) is the floor or ceiling of its raw value —
// except the root's months, which come from the plan's seasonality or
// explicit months, and cells kept from a previous allocation;
// and dimension values sum to their node for the year, months and parts.
func (r *Result) Check() error {
	if r == nil || r.Nodes[r.Root] == nil {
		return fmt.Errorf("check: root %q missing", r.Root)
	}
	g := r.Granularity
	if g <= 0 {
		return fmt.Errorf("check: granularity %d", g)
	}
	lay := layoutOf(r)

	seen := map[string]bool{}
	for _, k := range r.Order {
		if seen[k] {
			return fmt.Errorf("check: %s twice in order", k)
		}
		seen[k] = true
	}
	if len(seen) != len(r.Nodes) {
		return fmt.Errorf("check: order lists %d nodes, result has %d", len(seen), len(r.Nodes))
	}
	// Preorder: walk from the root and compare.
	var pre []string
	var walk func(k string, depth int) error
	walk = func(k string, depth int) error {
		al := r.Nodes[k]
		if al == nil {
			return fmt.Errorf("check: child %s missing", k)
		}
		if al.Level != depth {
			return fmt.Errorf("check: %s level %d, want %d", k, al.Level, depth)
		}
		pre = append(pre, k)
		for _, c := range al.Children {
			if cl := r.Nodes[c]; cl == nil || cl.Parent != k {
				return fmt.Errorf("check: %s's child %s does not name it as parent", k, c)
			}
			if err := walk(c, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(r.Root, 0); err != nil {
		return err
	}
	if !slices.Equal(pre, r.Order) {
		return fmt.Errorf("check: order is not the preorder of the tree")
	}
	for _, k := range r.Order {
		al := r.Nodes[k]
		if err := r.checkSeries(lay, k, al.Annual, &al.Months, al.Parts, al.Weeks); err != nil {
			return err
		}
		if err := r.checkDims(lay, al); err != nil {
			return err
		}
		if err := r.checkChildren(lay, al); err != nil {
			return err
		}
	}
	root := r.Nodes[r.Root]
	for m := range 12 {
		if root.Frozen && m < r.FrozenMonths {
			continue
		}
		lo, hi := lay.monthParts[m], lay.monthParts[m+1]
		for p := lo; p < hi; p++ {
			if !within(root.Parts[p]/g, root.Months[m]/g, int64(r.Parts[p].Days), lay.monthDays[m]) {
				return fmt.Errorf("check: root part %d of %s = %d is not a rounding of its days' share", p, r.Months[m], root.Parts[p])
			}
		}
	}

	return nil
}

// within reports whether cell is floor or ceil of a·b/c (c = 0: cell = 0).
func within(cell, a, b, c int64) bool {
	if c == 0 {
		return cell == 0
	}
	q, rem := mulDiv(a, b, c)
	return cell == q || (rem != 0 && cell == q+1)
}

func (r *Result) checkSeries(lay *yearLayout, what string, annual int64, months *[12]int64, parts []int64, weeks []WeekAmount) error {
	g := r.Granularity
	if annual < 0 || annual%g != 0 {
		return fmt.Errorf("check: %s annual %d is negative or not a multiple of %d", what, annual, g)
	}
	if len(parts) != len(r.Parts) {
		return fmt.Errorf("check: %s has %d week parts, want %d", what, len(parts), len(r.Parts))
	}
	var sum int64
	for m := range 12 {
		v := months[m]
		if v < 0 || v%g != 0 {
			return fmt.Errorf("check: %s month %s = %d is negative or not a multiple of %d", what, r.Months[m], v, g)
		}
		sum += v
		var ps int64
		for p := lay.monthParts[m]; p < lay.monthParts[m+1]; p++ {
			if parts[p] < 0 || parts[p]%g != 0 {
				return fmt.Errorf("check: %s part %d = %d is negative or not a multiple of %d", what, p, parts[p], g)
			}
			ps += parts[p]
		}
		if ps != v {
			return fmt.Errorf("check: %s week parts of %s total %d ≠ month %d", what, r.Months[m], ps, v)
		}
	}
	if sum != annual {
		return fmt.Errorf("check: %s months total %d ≠ annual %d", what, sum, annual)
	}
	if len(weeks) != len(lay.weeks) {
		return fmt.Errorf("check: %s has %d weeks, want %d", what, len(weeks), len(lay.weeks))
	}
	for k, w := range weeks {
		var s int64
		for _, p := range lay.weekParts[k] {
			s += parts[p]
		}
		if w.Key != lay.weeks[k] || w.Amount != s {
			return fmt.Errorf("check: %s week %s = %d, want %s = %d (its parts)", what, w.Key, w.Amount, lay.weeks[k], s)
		}
	}
	return nil
}

func (r *Result) checkChildren(lay *yearLayout, al *Alloc) error {
	if len(al.Children) == 0 {
		return nil
	}
	g := r.Granularity
	kids := make([]*Alloc, len(al.Children))
	for i, c := range al.Children {
		kids[i] = r.Nodes[c]
	}
	s := 0
	if al.Frozen {
		s = r.FrozenMonths
	}
	var annual int64
	for _, c := range kids {
		annual += c.Annual
	}
	if annual != al.Annual {
		return fmt.Errorf("check: children of %s total %d ≠ its annual %d", al.Key, annual, al.Annual)
	}
	past := func(x *Alloc) int64 {
		var v int64
		for m := 0; m < s; m++ {
			v += x.Months[m]
		}
		return v
	}
	pRest := (al.Annual - past(al)) / g
	for m := range 12 {
		var sum int64
		for _, c := range kids {
			sum += c.Months[m]
			if m >= s && !within(c.Months[m]/g, (c.Annual-past(c))/g, al.Months[m]/g, pRest) {
				return fmt.Errorf("check: %s month %s = %d is not a rounding of its raw share", c.Key, r.Months[m], c.Months[m])
			}
		}
		if sum != al.Months[m] {
			return fmt.Errorf("check: children of %s total %d in %s ≠ its %d", al.Key, sum, r.Months[m], al.Months[m])
		}
		lo, hi := lay.monthParts[m], lay.monthParts[m+1]
		for p := lo; p < hi; p++ {
			col, tot, sum := al.Parts[p], al.Months[m], int64(0)
			for _, c := range kids {
				sum += c.Parts[p]
				if m < s && c.Frozen {
					col -= c.Parts[p]
					tot -= c.Months[m]
				}
			}
			if sum != al.Parts[p] {
				return fmt.Errorf("check: children of %s total %d in week part %d ≠ its %d", al.Key, sum, p, al.Parts[p])
			}
			for _, c := range kids {
				if m < s && c.Frozen {
					continue
				}
				if !within(c.Parts[p]/g, c.Months[m]/g, col/g, tot/g) {
					return fmt.Errorf("check: %s week part %d of %s = %d is not a rounding of its raw share", c.Key, p, r.Months[m], c.Parts[p])
				}
			}
		}
	}
	return nil
}

func (r *Result) checkDims(lay *yearLayout, al *Alloc) error {
	if len(r.Dimension) == 0 {
		if len(al.Dims) != 0 {
			return fmt.Errorf("check: %s has dimension amounts without a dimension", al.Key)
		}
		return nil
	}
	if len(al.Dims) != len(r.Dimension) {
		return fmt.Errorf("check: %s has %d dimension values, want %d", al.Key, len(al.Dims), len(r.Dimension))
	}
	g := r.Granularity
	var annual int64
	var months [12]int64
	parts := make([]int64, len(r.Parts))
	for _, v := range r.Dimension {
		d := al.Dims[v]
		if d == nil {
			return fmt.Errorf("check: %s lacks dimension value %q", al.Key, v)
		}
		if err := r.checkSeries(lay, al.Key+"/"+v, d.Annual, &d.Months, d.Parts, d.Weeks); err != nil {
			return err
		}
		annual += d.Annual
		for m := range 12 {
			months[m] += d.Months[m]
			if !within(d.Months[m]/g, d.Annual/g, al.Months[m]/g, al.Annual/g) {
				return fmt.Errorf("check: %s/%s month %s = %d is not a rounding of its raw share", al.Key, v, r.Months[m], d.Months[m])
			}
			for p := lay.monthParts[m]; p < lay.monthParts[m+1]; p++ {
				if !within(d.Parts[p]/g, d.Months[m]/g, al.Parts[p]/g, al.Months[m]/g) {
					return fmt.Errorf("check: %s/%s week part %d = %d is not a rounding of its raw share", al.Key, v, p, d.Parts[p])
				}
			}
		}
		for p := range parts {
			parts[p] += d.Parts[p]
		}
	}
	if annual != al.Annual || months != al.Months || !slices.Equal(parts, al.Parts) {
		return fmt.Errorf("check: dimension values of %s do not sum to it", al.Key)
	}
	return nil
}
