package alloc

import (
	"errors"
	"math"
	"math/bits"
	"slices"
)

// mulDiv returns floor(a*b/c) and its remainder for a, b ≥ 0 and c > 0 when
// the quotient fits in an int64 (always so here: a or b is at most c). The
// 128-bit product keeps every rank-1 cell exact whatever the amounts.
func mulDiv(a, b, c int64) (q, r int64) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi == 0 {
		return int64(lo / uint64(c)), int64(lo % uint64(c))
	}
	qq, rr := bits.Div64(hi, lo, uint64(c))
	return int64(qq), int64(rr)
}

// errRounding is returned when a rounding cannot meet its margins. The
// theory says this never happens for consistent margins; it exists so that a
// bug shows as an error rather than a wrong number.
var errRounding = errors.New("alloc: internal rounding error: margins are inconsistent")

// rounder holds scratch space reused across the many small tables of one
// allocation, so the hot path does not allocate.
type rounder struct {
	rem     []int64
	sel     []bool
	idx     []int32
	bucket  []int32
	tmp     []int32
	bk      []int32
	rowOf   []int32 // row of each cell
	rowDef  []int64
	colDef  []int64
	prev    []int32 // BFS: predecessor of a column (row index) / of a row (column index)
	prevRow []int32
	seenRow []bool
	seenCol []bool
	queue   []int32
}

// grow returns s resized to n, zeroed.
func grow[T any](s []T, n int) []T {
	s = resize(s, n)
	clear(s)
	return s
}

// resize returns s resized to n with unspecified contents, for scratch the
// caller overwrites in full.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// round2D is controlled rounding of the rank-1 table raw[i][j] =
// rows[i]·cols[j]/total (Σrows = Σcols = total): it writes into out (row
// major) integers with row sums = rows, column sums = cols, each cell the
// floor or the ceiling of its raw value (so never negative). It floors every
// cell, then hands the row and column deficits to cells with a fractional
// part, largest fraction first (ties: row, then column — rows come in key
// order, so this is deterministic), and settles what the greedy pass leaves
// with augmenting paths of a bipartite flow. A feasible integral flow exists
// because the fractional parts themselves are a feasible fractional one.
func (rd *rounder) round2D(rows, cols []int64, total int64, out []int64) error {
	nr, nc := len(rows), len(cols)
	n := nr * nc
	if total == 0 {
		clear(out[:n])
		return nil
	}
	rd.rem = resize(rd.rem, n)
	rd.rowDef = resize(rd.rowDef, nr)
	rd.colDef = resize(rd.colDef, nc)
	copy(rd.rowDef, rows)
	copy(rd.colDef, cols)
	rd.idx = rd.idx[:0]
	inv := 1 / float64(total)
	small := total < 1<<31 // then r·c < 2^62: the product fits, the float quotient is off by at most one
	rd.rowOf = resize(rd.rowOf, n)
	for i, r := range rows {
		base := i * nc
		for j, c := range cols {
			rd.rowOf[base+j] = int32(i)
			var q, m int64
			if small {
				// A float estimate corrected by one step avoids a 64-bit
				// division per cell, the hot loop's cost.
				x := r * c
				q = int64(float64(x) * inv)
				m = x - q*total
				if m < 0 {
					q--
					m += total
				} else if m >= total {
					q++
					m -= total
				}
			} else {
				q, m = mulDiv(r, c, total)
			}
			out[base+j] = q
			rd.rem[base+j] = m
			rd.rowDef[i] -= q
			rd.colDef[j] -= q
			if m != 0 {
				rd.idx = append(rd.idx, int32(base+j))
			}
		}
	}
	left := int64(0)
	for _, d := range rd.rowDef {
		left += d
	}
	if left == 0 {
		return nil
	}
	rd.sortCells(n, total)
	rd.sel = grow(rd.sel, n)
	for _, k := range rd.idx {
		i := int(rd.rowOf[k]) // no division in the hot loop
		j := int(k) - i*nc
		if rd.rowDef[i] > 0 && rd.colDef[j] > 0 {
			out[k]++
			rd.sel[k] = true
			rd.rowDef[i]--
			rd.colDef[j]--
			left--
			if left == 0 {
				return nil
			}
		}
	}
	for left > 0 {
		if !rd.augment(nr, nc, out) {
			return errRounding
		}
		left--
	}
	return nil
}

// sortCells orders rd.idx by remainder, largest first, then by index. It
// is the allocation's hottest loop, so instead of a comparison sort it
// distributes the cells into as many buckets as there are cells by a
// monotone (float) image of the remainder — a counting sort — and then
// insertion-sorts each small bucket exactly: the order is the same as a
// full sort's.
func (rd *rounder) sortCells(n int, total int64) {
	idx := rd.idx
	nb := len(idx)
	if nb < 2 {
		return
	}
	scale := float64(nb) / float64(total)
	rd.bucket = grow(rd.bucket, nb+1)
	rd.tmp = resize(rd.tmp, nb)
	rd.bk = resize(rd.bk, nb)
	for c, k := range idx {
		b := nb - 1 - int(float64(rd.rem[k])*scale) // larger remainders first
		b = min(max(b, 0), nb-1)
		rd.bk[c] = int32(b)
		rd.bucket[b+1]++
	}
	for b := 1; b <= nb; b++ {
		rd.bucket[b] += rd.bucket[b-1]
	}
	for c, k := range idx {
		b := rd.bk[c]
		rd.tmp[rd.bucket[b]] = k
		rd.bucket[b]++
	}
	// rd.bucket[b] is now the end of bucket b; sort runs of equal buckets.
	rem := rd.rem
	tmp := rd.tmp
	for i := 1; i < nb; i++ {
		k := tmp[i]
		j := i
		for j > 0 {
			p := tmp[j-1]
			if rem[p] > rem[k] || (rem[p] == rem[k] && p < k) {
				break
			}
			tmp[j] = p
			j--
		}
		tmp[j] = k
	}
	copy(idx, tmp)
}

// augment finds one path row(deficit) → col → row → … → col(deficit) that
// alternates unselected fractional cells (to add 1) and selected ones (to
// take the 1 back), and flips it; breadth-first, lowest indices first.
func (rd *rounder) augment(nr, nc int, out []int64) bool {
	rd.seenRow = grow(rd.seenRow, nr)
	rd.seenCol = grow(rd.seenCol, nc)
	rd.prev = grow(rd.prev, nc)
	rd.prevRow = grow(rd.prevRow, nr)
	q := rd.queue[:0]
	for i := 0; i < nr; i++ {
		if rd.rowDef[i] > 0 {
			rd.seenRow[i] = true
			rd.prevRow[i] = -1
			q = append(q, int32(i))
		}
	}
	for h := 0; h < len(q); h++ {
		i := int(q[h])
		for j := 0; j < nc; j++ {
			k := i*nc + j
			if rd.seenCol[j] || rd.rem[k] == 0 || rd.sel[k] {
				continue
			}
			rd.seenCol[j] = true
			rd.prev[j] = int32(i)
			if rd.colDef[j] > 0 {
				rd.flip(j, nc, out)
				rd.queue = q
				return true
			}
			for i2 := 0; i2 < nr; i2++ {
				if !rd.seenRow[i2] && rd.sel[i2*nc+j] {
					rd.seenRow[i2] = true
					rd.prevRow[i2] = int32(j)
					q = append(q, int32(i2))
				}
			}
		}
	}
	rd.queue = q
	return false
}

func (rd *rounder) flip(j, nc int, out []int64) {
	rd.colDef[j]--
	for {
		i := int(rd.prev[j])
		k := i*nc + j
		out[k]++
		rd.sel[k] = true
		pj := rd.prevRow[i]
		if pj < 0 {
			rd.rowDef[i]--
			return
		}
		j = int(pj)
		k = i*nc + j
		out[k]--
		rd.sel[k] = false
	}
}

// lrmInt splits total by integer weights with the largest-remainder method,
// exactly (ties: larger weight, then lower index).
func (rd *rounder) lrmInt(total int64, weights []int64, out []int64) {
	var sum int64
	for _, w := range weights {
		sum += w
	}
	n := len(weights)
	if sum == 0 || total == 0 {
		clear(out[:n])
		return
	}
	rd.rem = resize(rd.rem, n)
	rd.idx = rd.idx[:0]
	left := total
	for i, w := range weights {
		q, m := mulDiv(total, w, sum)
		out[i] = q
		rd.rem[i] = m
		left -= q
		rd.idx = append(rd.idx, int32(i))
	}
	rem := rd.rem
	slices.SortFunc(rd.idx, func(a, b int32) int {
		switch {
		case rem[a] != rem[b]:
			if rem[a] > rem[b] {
				return -1
			}
			return 1
		case weights[a] != weights[b]:
			if weights[a] > weights[b] {
				return -1
			}
			return 1
		}
		return int(a - b)
	})
	for _, i := range rd.idx[:left] {
		out[i]++
	}
}

// lrmFloat rounds raw shares (Σraw ≈ total, float) to integers summing to
// total exactly with the largest-remainder method: floors first, then one
// unit each to the largest fractional remainders (ties: larger weight, then
// lower index). lo and hi (hi < 0: none), when given, bound each result;
// the raw values already lie within them, so only float noise can push a
// floor or ceiling across, and the bounds stop that. The loop makes the
// result exact even when float error leaves Σfloor(raw) off by more than
// the number of items.
func lrmFloat(total int64, raw, weight []float64, lo, hi []int64, out []int64, idx []int32) ([]int32, error) {
	n := len(raw)
	left := total
	for i, r := range raw {
		f := math.Floor(r)
		v := int64(f)
		if f < 0 || math.IsNaN(f) {
			v = 0
		}
		if lo != nil && v < lo[i] {
			v = lo[i]
		}
		if hi != nil && hi[i] >= 0 && v > hi[i] {
			v = hi[i]
		}
		out[i] = v
		left -= v
	}
	if left == 0 {
		return idx, nil
	}
	idx = idx[:0]
	for i := 0; i < n; i++ {
		idx = append(idx, int32(i))
	}
	frac := func(i int32) float64 { return raw[i] - math.Floor(raw[i]) }
	slices.SortFunc(idx, func(a, b int32) int {
		fa, fb := frac(a), frac(b)
		switch {
		case fa != fb:
			if fa > fb {
				return -1
			}
			return 1
		case weight[a] != weight[b]:
			if weight[a] > weight[b] {
				return -1
			}
			return 1
		}
		return int(a - b)
	})
	for left != 0 {
		moved := false
		if left > 0 {
			for _, i := range idx {
				if left == 0 {
					break
				}
				if hi != nil && hi[i] >= 0 && out[i] >= hi[i] {
					continue
				}
				out[i]++
				left--
				moved = true
			}
		} else {
			for k := len(idx) - 1; k >= 0 && left < 0; k-- {
				i := idx[k]
				if out[i] <= 0 || (lo != nil && out[i] <= lo[i]) {
					continue
				}
				out[i]--
				left++
				moved = true
			}
		}
		if !moved {
			return idx, errRounding
		}
	}
	return idx, nil
}
