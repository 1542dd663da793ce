package alloc

import "math"

// finish converts every node to minor units, derives weeks from parts and
// splits each node along the dimension.
func (a *allocator) finish(r *work, res *Result) error {
	g := a.g
	var visit func(w *work) error
	visit = func(w *work) error {
		al := w.a
		al.Annual = w.annual * g
		for m := range 12 {
			al.Months[m] = w.months[m] * g
		}
		if len(a.spec.Dimension) > 0 {
			if err := a.dims(w); err != nil {
				return err
			}
		}
		for p := range al.Parts {
			al.Parts[p] *= g
		}
		al.Weeks = a.weeksOf(al.Parts)
		for _, c := range w.kids {
			if err := visit(c); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(r)
}

func (a *allocator) weeksOf(parts []int64) []WeekAmount {
	ws := a.takeWeeks(len(a.lay.weeks))
	if a.weekKeys == nil {
		a.weekKeys = make([]WeekAmount, len(a.lay.weeks))
		for k, key := range a.lay.weeks {
			a.weekKeys[k].Key = key
		}
	}
	copy(ws, a.weekKeys) // one bulk copy rather than a write per key
	for p, v := range parts {
		ws[a.lay.partWeek[p]].Amount += v
	}
	return ws
}

// dims splits node w (still in units) along the dimension: the annual by
// the largest-remainder method over the weights, then dims × months and,
// per month, dims × week parts by controlled rounding.
func (a *allocator) dims(w *work) error {
	vals := a.spec.Dimension
	nd := len(vals)
	weights := w.n.DimWeights
	if len(weights) == 0 {
		weights = a.spec.DimWeights
	}
	dw := make([]float64, nd)
	var sum, wmax float64
	for k, v := range vals {
		dw[k] = weights[v]
		sum += dw[k]
		wmax = max(wmax, dw[k])
	}
	if len(weights) == 0 || (sum == 0 && (a.spec.EqualSplitOnZero || w.annual == 0)) {
		for k := range dw {
			dw[k] = 1
		}
		sum, wmax = float64(nd), 1
	} else if sum == 0 {
		return newErr(CodeZeroWeights, w.n.Key, map[string]any{"dimension": vals, "amount": w.annual * a.g},
			"every dimension weight of %s is 0, so %s cannot be split (opt into an equal split to allow it)", w.n.Key, money(w.annual*a.g))
	}
	// Normalise by the largest weight so huge weights cannot overflow the sum.
	sum = 0
	for k := range dw {
		dw[k] /= wmax
		sum += dw[k]
	}
	raw := make([]float64, nd)
	annual := make([]int64, nd)
	for k := range dw {
		raw[k] = float64(w.annual) * (dw[k] / sum)
	}
	var err error
	if a.idx, err = lrmFloat(w.annual, raw, dw, nil, nil, annual, a.idx); err != nil {
		return err
	}
	cell := make([]int64, nd*12)
	if err := a.rd.round2D(annual, w.months[:], w.annual, cell); err != nil {
		return err
	}
	nparts := len(a.lay.parts)
	parts := make([]int64, nd*nparts)
	rows := make([]int64, nd)
	for m := range 12 {
		lo, hi := a.lay.monthParts[m], a.lay.monthParts[m+1]
		nc := hi - lo
		for k := range nd {
			rows[k] = cell[k*12+m]
		}
		pc := a.cells(nd * nc)
		if err := a.rd.round2D(rows, w.parts[lo:hi], w.months[m], pc); err != nil {
			return err
		}
		for k := range nd {
			copy(parts[k*nparts+lo:k*nparts+hi], pc[k*nc:(k+1)*nc])
		}
	}
	g := a.g
	w.a.Dims = make(map[string]*DimAlloc, nd)
	for k, v := range vals {
		d := &DimAlloc{Annual: annual[k] * g, Share: dw[k] / sum, Raw: raw[k] * float64(g), Parts: parts[k*nparts : (k+1)*nparts : (k+1)*nparts]}
		if math.IsNaN(d.Share) {
			d.Share = 0
		}
		for m := range 12 {
			d.Months[m] = cell[k*12+m] * g
		}
		for p := range d.Parts {
			d.Parts[p] *= g
		}
		d.Weeks = a.weeksOf(d.Parts)
		w.a.Dims[v] = d
	}
	return nil
}
