package forms

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"stride/engine/period"
)

// ToEnv returns the formula values of a record in storage form (as
// Normalize returns it): money as float64 in major units, integers as int,
// numbers as float64, dates and date-times as time.Time (dates at midnight
// UTC, date-times in UTC), arrays as []any and objects as maps, recursively.
//
// Every declared field gets a value: a missing or null field gets the zero
// value of its type (0, 0.0, "", false, the zero time.Time, an empty list,
// an object of zero values), so formulas have spreadsheet semantics — an
// empty cell counts as zero or blank instead of failing the formula. A value
// of the wrong type (which Validate would have rejected) also reads as the
// zero value. Members the schema does not declare are left out. The caller
// owns the returned map.
func (s *Schema) ToEnv(data map[string]any) map[string]any {
	return envObject(s.fields, data)
}

func envObject(fields []Field, data map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		out[f.Name] = envValue(f, data[f.Name])
	}
	return out
}

func envValue(f Field, v any) any {
	switch f.Type {
	case TypeInteger:
		if i, ok := asInt64(v); ok && i >= math.MinInt && i <= math.MaxInt {
			return int(i)
		}
		return 0
	case TypeNumber:
		if n, ok := asNumber(v); ok {
			return n
		}
		return 0.0
	case TypeMoney:
		if n, ok := asNumber(v); ok {
			return n / MinorPerMajor
		}
		return 0.0
	case TypeString:
		s, _ := v.(string)
		return s
	case TypeBoolean:
		b, _ := v.(bool)
		return b
	case TypeDate:
		switch x := v.(type) {
		case time.Time:
			return x
		case string:
			if t, err := period.ParseDate(x); err == nil {
				return t
			}
		}
		return time.Time{}
	case TypeDateTime:
		switch x := v.(type) {
		case time.Time:
			return x
		case string:
			if t, err := period.ParseInstant(x); err == nil {
				return t
			}
		}
		return time.Time{}
	case TypeArray:
		arr, _ := v.([]any)
		out := make([]any, len(arr))
		for i, e := range arr {
			if f.Items != nil {
				out[i] = envValue(*f.Items, e)
			} else {
				out[i] = normalizeAny(e)
			}
		}
		return out
	case TypeObject:
		m, _ := v.(map[string]any)
		return envObject(f.Fields, m)
	}
	return v
}

// FromResult converts a formula's result for field f to storage form:
// money from major units (float64 or int) to int64 minor units rounded
// half-even; integers to int64 (the value must be whole); numbers to float64;
// dates to "2006-01-02" (in the time's own location) and date-times to the
// canonical UTC instant. A nil result means "no value" and stays nil. NaN,
// infinities and values of the wrong type are errors.
func FromResult(f Field, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch f.Type {
	case TypeMoney:
		x, ok := asNumber(v)
		if !ok {
			return nil, fmt.Errorf("%s: expected an amount, but got %s", f.Name, typeName(v))
		}
		minor, err := toMinor(x)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		return minor, nil
	case TypeInteger:
		x, ok := asNumber(v)
		if !ok {
			return nil, fmt.Errorf("%s: expected a whole number, but got %s", f.Name, typeName(v))
		}
		if i, ok := asInt64(v); ok {
			return i, nil
		}
		return nil, fmt.Errorf("%s: expected a whole number, but got %s", f.Name, strconv.FormatFloat(x, 'g', -1, 64))
	case TypeNumber:
		x, ok := asNumber(v)
		if !ok {
			return nil, fmt.Errorf("%s: expected a number, but got %s", f.Name, typeName(v))
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%s: the result is not a finite number", f.Name)
		}
		return x, nil
	case TypeString:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, fmt.Errorf("%s: expected text, but got %s", f.Name, typeName(v))
	case TypeBoolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, fmt.Errorf("%s: expected true or false, but got %s", f.Name, typeName(v))
	case TypeDate:
		switch x := v.(type) {
		case time.Time:
			return period.FormatDate(x), nil
		case string:
			if _, err := period.ParseDate(x); err == nil {
				return x, nil
			}
		}
		return nil, fmt.Errorf("%s: expected a date, but got %s", f.Name, typeName(v))
	case TypeDateTime:
		switch x := v.(type) {
		case time.Time:
			return period.FormatInstant(x), nil
		case string:
			if t, err := period.ParseInstant(x); err == nil {
				return period.FormatInstant(t), nil
			}
		}
		return nil, fmt.Errorf("%s: expected a date and time, but got %s", f.Name, typeName(v))
	}
	return nil, fmt.Errorf("%s: a computed %s field is not supported", f.Name, f.Type)
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "text"
	case bool:
		return "a boolean"
	case time.Time:
		return "a time"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	if _, ok := asNumber(v); ok {
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}

var errNotFinite = errors.New("the amount is not a finite number")

// toMinor converts an amount in major units to minor units, rounding half to
// even. The amount is first read as the decimal a person would write (see
// decimalOf), so 1.015 rounds as the decimal 1.015 (to 1.02) rather than as
// its binary approximation 1.01499999….
func toMinor(major float64) (int64, error) {
	if math.IsNaN(major) || math.IsInf(major, 0) {
		return 0, errNotFinite
	}
	r := decimalOf(major, 2)
	r.Mul(r, big.NewRat(MinorPerMajor, 1))
	n := roundHalfEven(r)
	if !n.IsInt64() || n.Int64() > maxSafeMinor || n.Int64() < -maxSafeMinor {
		return 0, fmt.Errorf("the amount %s is too large", strconv.FormatFloat(major, 'f', -1, 64))
	}
	return n.Int64(), nil
}

// decimalOf returns x as the decimal of 15 significant digits a spreadsheet
// shows — which drops the binary noise of float arithmetic (3 × 1.005 is
// 3.015, not 3.0149999999999997) — or of up to 17 digits when x is so large
// that 15 do not reach the given number of decimals.
func decimalOf(x float64, decimals int) *big.Rat {
	prec := 15
	if ax := math.Abs(x); ax >= 1 {
		if need := int(math.Floor(math.Log10(ax))) + 2 + decimals; need > prec {
			prec = min(need, 17)
		}
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(x, 'e', prec-1, 64))
	if !ok {
		return new(big.Rat)
	}
	return r
}

// roundHalfEven rounds r to the nearest integer, ties to even.
func roundHalfEven(r *big.Rat) *big.Int {
	num, den := r.Num(), r.Denom() // den > 0
	q, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	twice := new(big.Int).Mul(new(big.Int).Abs(rem), big.NewInt(2))
	switch c := twice.Cmp(den); {
	case c > 0, c == 0 && q.Bit(0) == 1:
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}
