package calc

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
)

// Exact money arithmetic.
//
// A rate or threshold is read as the decimal a person would write — the
// float64 printed with 15 significant digits and trailing zeros dropped,
// the rule forms uses for money (so 0.05 * 1.1 is the decimal 0.055, not
// 0.05500000000000001) — and kept as an integer p over 10^k. Money times a
// rate is then an integer product over a power of ten, rounded half-even
// once: no float ever touches an amount, so the same inputs give the same
// cents on every machine.

// maxMinor bounds every amount: integers a float64 (and a browser) holds
// exactly, as forms bounds money fields.
const maxMinor = 1<<53 - 1

// maxDecimals bounds the decimal places of rates and thresholds written in a
// plan, so the products of marginal bands stay within 128 bits.
const maxDecimals = 12

// maxRate bounds a rate computed by a formula at run time (10000 = 1,000,000 %).
const maxRate = 1e4

var pow10 = func() [20]uint64 {
	var p [20]uint64
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// dec is a non-negative decimal p / 10^k.
type dec struct {
	p uint64
	k int
}

var errNotFinite = errors.New("not a finite number")

// decOf reads x as its decimal of 15 significant digits. x must be finite,
// ≥ 0 and small enough that p fits in 64 bits (x < 10^19).
func decOf(x float64) (dec, error) {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return dec{}, errNotFinite
	case x < 0:
		return dec{}, errors.New("negative")
	case x == 0:
		return dec{}, nil
	case x >= 1e19:
		return dec{}, errors.New("too large")
	}
	s := strconv.FormatFloat(x, 'e', 14, 64) // d.dddddddddddddde±XX
	mant, expStr, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	trimmed := strings.TrimRight(digits, "0")
	if trimmed == "" {
		return dec{}, nil
	}
	// value = digits × 10^(exp−14); dropping n trailing zeros adds n.
	e := exp - 14 + (len(digits) - len(trimmed))
	p, _ := strconv.ParseUint(trimmed, 10, 64)
	if e >= 0 {
		for ; e > 0; e-- {
			hi, lo := bits.Mul64(p, 10)
			if hi != 0 {
				return dec{}, errors.New("too large")
			}
			p = lo
		}
		return dec{p: p}, nil
	}
	return dec{p: p, k: -e}, nil
}

// float returns d as the nearest float64.
func (d dec) float() float64 {
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

// String writes d as a plain decimal ("0.055").
func (d dec) String() string {
	s := strconv.FormatUint(d.p, 10)
	if d.k == 0 {
		return s
	}
	if len(s) <= d.k {
		s = strings.Repeat("0", d.k-len(s)+1) + s
	}
	return s[:len(s)-d.k] + "." + s[len(s)-d.k:]
}

// errAmount is an amount beyond maxMinor.
var errAmount = errors.New("the amount is too large")

// mulDec returns base × d rounded half-even to an integer (minor units).
func mulDec(base int64, d dec) (int64, error) {
	if d.p == 0 || base == 0 {
		return 0, nil
	}
	neg := base < 0
	b := uint64(base)
	if neg {
		b = uint64(-base)
	}
	hi, lo := bits.Mul64(b, d.p)
	var q uint64
	switch {
	case d.k == 0:
		if hi != 0 {
			return 0, errAmount
		}
		q = lo
	case d.k < len(pow10) && hi < pow10[d.k]:
		den := pow10[d.k]
		var r uint64
		q, r = bits.Div64(hi, lo, den)
		if r > den-r || (r == den-r && q&1 == 1) {
			q++
		}
	default:
		return mulDecBig(base, d)
	}
	if q > maxMinor {
		return 0, errAmount
	}
	if neg {
		return -int64(q), nil
	}
	return int64(q), nil
}

// mulDecBig is mulDec for products beyond 128 bits or rates with more than
// 19 decimals (only formula-computed rates get there).
func mulDecBig(base int64, d dec) (int64, error) {
	num := new(big.Int).Mul(big.NewInt(base), new(big.Int).SetUint64(d.p))
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.k)), nil)
	q := halfEvenQuo(num, den)
	if !q.IsInt64() || q.Int64() > maxMinor || q.Int64() < -maxMinor {
		return 0, errAmount
	}
	return q.Int64(), nil
}

// halfEvenQuo returns num/den rounded half to even (den > 0).
func halfEvenQuo(num, den *big.Int) *big.Int {
	q, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	twice := new(big.Int).Lsh(new(big.Int).Abs(rem), 1)
	if c := twice.Cmp(den); c > 0 || (c == 0 && q.Bit(0) == 1) {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

// cmpShare compares actual with d × target exactly (target > 0): −1, 0 or
// +1 as actual is below, at or above the threshold amount.
func cmpShare(actual int64, d dec, target int64) int {
	a := new(big.Int).Mul(big.NewInt(actual), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.k)), nil))
	t := new(big.Int).Mul(new(big.Int).SetUint64(d.p), big.NewInt(target))
	return a.Cmp(t)
}

// u128 is an unsigned 128-bit integer.
type u128 struct{ hi, lo uint64 }

func (a u128) add(b u128) u128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, _ := bits.Add64(a.hi, b.hi, c)
	return u128{hi, lo}
}

func mul64(a, b uint64) u128 {
	hi, lo := bits.Mul64(a, b)
	return u128{hi, lo}
}

// quoHalfEven returns a / den rounded half-even; ok is false when the
// quotient does not fit in 64 bits.
func (a u128) quoHalfEven(den uint64) (uint64, bool) {
	if a.hi >= den {
		return 0, false
	}
	q, r := bits.Div64(a.hi, a.lo, den)
	if r > den-r || (r == den-r && q&1 == 1) {
		if q == math.MaxUint64 {
			return 0, false
		}
		q++
	}
	return q, true
}

// formatDec prints a float rate or threshold as its decimal (for messages).
func formatDec(x float64) string {
	d, err := decOf(x)
	if err != nil {
		return fmt.Sprint(x)
	}
	return d.String()
}
