package calc

// schedule is a marginal table over an amount axis in minor units: band i
// runs from bounds[i] to bounds[i+1] (the last is open) at rates[i]; below
// bounds[0] nothing is paid.
//
// F(x), the commission due on a cumulative amount x, is computed exactly
// over a common denominator 10^K and rounded half-even once. A line moving
// the cumulative amount from a to b is paid F(b) − F(a) — split into one
// line per band it crosses, each slice paid F(end) − F(start) — so the sum
// over any lines, in any order, split any way, within a window is exactly
// F(total): splitting a deal or crediting it a month later never gains or
// loses a cent of marginal commission.
type schedule struct {
	bounds []int64
	rates  []dec
	num    []uint64 // rates[i] as numerators over 10^k
	prefix []u128   // numerator of the commission on bounds[i]
	k      int
	den    uint64
}

// newSchedule builds a schedule; bounds must be non-decreasing and ≥ 0 and
// rates have at most maxDecimals decimals (Compile checks both).
func newSchedule(bounds []int64, rates []dec) schedule {
	s := schedule{bounds: bounds, rates: rates}
	for _, r := range rates {
		s.k = max(s.k, r.k)
	}
	s.den = pow10[s.k]
	s.num = make([]uint64, len(rates))
	for i, r := range rates {
		s.num[i] = r.p * pow10[s.k-r.k]
	}
	s.prefix = make([]u128, len(bounds))
	for i := 1; i < len(bounds); i++ {
		s.prefix[i] = s.prefix[i-1].add(mul64(uint64(bounds[i]-bounds[i-1]), s.num[i-1]))
	}
	return s
}

// band returns the band x falls in: the last i with bounds[i] ≤ x, or −1
// below the first boundary.
func (s *schedule) band(x int64) int {
	i := -1
	for j, b := range s.bounds {
		if b > x {
			break
		}
		i = j
	}
	return i
}

// at returns F(x), the rounded commission on cumulative amount x.
func (s *schedule) at(x int64) (int64, error) {
	i := s.band(x)
	if i < 0 {
		return 0, nil
	}
	n := s.prefix[i].add(mul64(uint64(x-s.bounds[i]), s.num[i]))
	q, ok := n.quoHalfEven(s.den)
	if !ok || q > maxMinor {
		return 0, errAmount
	}
	return int64(q), nil
}

// end returns where band i ends (bounds[i+1]) and whether it is closed.
func (s *schedule) end(i int) (int64, bool) {
	if i+1 < len(s.bounds) {
		return s.bounds[i+1], true
	}
	return 0, false
}
