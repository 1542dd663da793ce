package tracking

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"stride/engine/apperr"
	"stride/engine/forms"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/records"
	"stride/engine/rules"
)

var holderSeq atomic.Int64

// Cell is a sum and a count. Sum is in the metric's stored unit (minor units
// for money, value × 10^precision otherwise); Count is the number of
// (record, credited user) pairs behind it.
type Cell struct {
	Sum   int64 `json:"sum"`
	Count int64 `json:"count"`
}

// Key addresses one rollup cell.
type Key struct {
	Metric string `json:"metric"`
	Owner  string `json:"owner"`
	Day    string `json:"day"` // YYYY-MM-DD in the tenant's time zone
}

// Contribution is one record's part of one cell.
type Contribution struct {
	Key
	Cell
}

// percentUnits is the resolution of split percentages: 1/10000 of a percent.
const percentUnits = 10000

// Contributions returns the record's exact contributions to metric m: none if
// the record is deleted, fails where, or has no date or owner. The value is
// rounded half-even once to the stored unit, then split by the largest
// remainder method so the shares sum exactly to it (ties to the smaller user
// id). Contributions are sorted by owner then day.
//
// A record that fails where but is open in a pipeline (see
// Tracker.SetOpenWeight) contributes instead to the metric's open-pipeline
// cells (OpenKey): its value weighted by its stage's probability, rounded
// half-even once, on the same owner(s), day and dimension as if where held —
// so a weighted forecast is actual + the open cells, read from rollups.
func Contributions(m *Metric, obj *objects.Compiled, rec *records.Record, tz *time.Location) ([]Contribution, error) {
	if rec == nil || rec.Deleted {
		return nil, nil
	}
	env := obj.Schema.ToEnv(rec.Data)
	if m.Where != nil {
		ok, err := m.Where.Run(env)
		if err != nil {
			return nil, fmt.Errorf("metric %s: where: %w", m.Key, err)
		}
		if b, _ := ok.(bool); !b {
			return openContributions(m, env, rec, tz)
		}
	}
	value, err := valueOf(m, env)
	if err != nil {
		return nil, err
	}
	return spread(m, value, "", rec, tz)
}

// openContributions are an open record's weighted contributions (see
// Contributions); none when no weight is set or the record is not open.
func openContributions(m *Metric, env map[string]any, rec *records.Record, tz *time.Location) ([]Contribution, error) {
	if m.open == nil {
		return nil, nil
	}
	pct, open := m.open(rec)
	if !open || !(pct > 0) {
		return nil, nil
	}
	value, err := valueOf(m, env)
	if err != nil {
		return nil, err
	}
	w, err := weighted(value, pct)
	if err != nil {
		return nil, fmt.Errorf("metric %s: open weight: %w", m.Key, err)
	}
	return spread(m, w, openSuffix, rec, tz)
}

// valueOf is the record's value in the metric's stored unit.
func valueOf(m *Metric, env map[string]any) (int64, error) {
	if m.Value == nil {
		return m.Scale, nil
	}
	out, err := m.Value.Run(env)
	if err != nil {
		return 0, fmt.Errorf("metric %s: value: %w", m.Key, err)
	}
	x, ok := toFloat(out)
	if !ok {
		return 0, fmt.Errorf("metric %s: value is not a finite number", m.Key)
	}
	value, err := scaled(x, m)
	if err != nil {
		return 0, fmt.Errorf("metric %s: value: %w", m.Key, err)
	}
	return value, nil
}

// spread places value on the record's day and owner (or splits it among its
// credit list), under the metric's key plus suffix, repeated under the
// dimension value's key plus suffix.
func spread(m *Metric, value int64, suffix string, rec *records.Record, tz *time.Location) ([]Contribution, error) {
	day := dayOf(m, rec, tz)
	if day == "" {
		return nil, nil
	}
	owner := rec.Owner
	if m.OwnerField != "owner" {
		owner, _ = rec.Data[m.OwnerField].(string)
	}
	var shares []share
	if m.SplitField != "" {
		var err error
		if shares, err = splitOf(rec.Data[m.SplitField]); err != nil {
			return nil, err
		}
	}
	key := m.Key + suffix
	var out []Contribution
	if len(shares) == 0 {
		if owner == "" {
			return nil, nil
		}
		out = []Contribution{{Key{key, owner, day}, Cell{value, 1}}}
	} else {
		amounts := allocate(value, shares)
		out = make([]Contribution, 0, len(shares))
		for i, s := range shares {
			out = append(out, Contribution{Key{key, s.user, day}, Cell{amounts[i], 1}})
		}
	}
	// A dimension repeats each contribution in the cell of the record's
	// value, so a breakdown reads like any other metric.
	if v, _ := rec.Data[m.Dimension].(string); m.Dimension != "" && v != "" {
		dk := DimensionKey(m.Key, v) + suffix
		for _, c := range out[:len(out):len(out)] {
			c.Metric = dk
			out = append(out, c)
		}
	}
	return out, nil
}

// DimensionKey is the metric key of a dimension value's cells:
// "<metric>@<value>", with '%', '|' (the rollup id separator) and '#' (which
// starts OpenKey's suffix) escaped.
func DimensionKey(metric, value string) string {
	return metric + "@" + dimEscaper.Replace(value)
}

var dimEscaper = strings.NewReplacer("%", "%25", "|", "%7C", "#", "%23")

// scaled rounds a formula value half-even to the metric's stored unit.
func scaled(x float64, m *Metric) (int64, error) {
	if m.Unit == UnitMoney {
		v, err := forms.FromResult(forms.Field{Name: "value", Type: forms.TypeMoney}, x)
		if err != nil {
			return 0, err
		}
		return v.(int64), nil
	}
	r := rules.RoundHalfEven(x, m.Precision) * float64(m.Scale)
	if math.IsNaN(r) || math.Abs(r) > 1<<53 {
		return 0, fmt.Errorf("the value %v is out of range", x)
	}
	return int64(math.Round(r)), nil
}

func toFloat(v any) (float64, bool) {
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	default:
		return 0, false
	}
	return f, !math.IsNaN(f) && !math.IsInf(f, 0)
}

// dayOf places a record on a day in tz ("" when it has no date).
func dayOf(m *Metric, rec *records.Record, tz *time.Location) string {
	var raw string
	if m.DateField == "createdAt" {
		raw = rec.CreatedAt
	} else {
		raw, _ = rec.Data[m.DateField].(string)
	}
	if raw == "" {
		return ""
	}
	if m.DateType == forms.TypeDate {
		if _, err := period.ParseDate(raw); err != nil {
			return ""
		}
		return raw // a calendar date has no time zone
	}
	t, err := period.ParseInstant(raw)
	if err != nil {
		return ""
	}
	return period.FormatDate(t.In(tz))
}

type share struct {
	user    string
	percent int64 // in 1/percentUnits of a percent
}

// splitOf reads a credit list, merging duplicate users, sorted by user. Its
// percents must sum to exactly 100.
func splitOf(v any) ([]share, error) {
	list, _ := v.([]any)
	if len(list) == 0 {
		return nil, nil
	}
	by := map[string]int64{}
	var total int64
	for _, e := range list {
		o, _ := e.(map[string]any)
		user, _ := o["user"].(string)
		p, ok := toFloat(o["percent"])
		if user == "" || !ok || p < 0 {
			return nil, errSplit("every share needs a user and a percent of at least 0")
		}
		u := int64(math.Round(rules.RoundHalfEven(p, 4) * percentUnits))
		by[user] += u
		total += u
	}
	if total != 100*percentUnits {
		return nil, errSplit(fmt.Sprintf("the percents sum to %s, not 100", strconv.FormatFloat(float64(total)/percentUnits, 'f', -1, 64)))
	}
	out := make([]share, 0, len(by))
	for u, p := range by {
		out = append(out, share{u, p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].user < out[j].user })
	return out, nil
}

type splitError struct{ msg string }

func (e *splitError) Error() string { return e.msg }

func errSplit(msg string) error { return &splitError{msg} }

// allocate splits value over the shares (sorted by user) by the largest
// remainder method: floors first, then one unit each to the largest
// remainders, ties to the earlier user. The result sums exactly to value.
func allocate(value int64, shares []share) []int64 {
	neg := value < 0
	v := new(big.Int).SetInt64(value)
	if neg {
		v.Neg(v)
	}
	total := big.NewInt(100 * percentUnits)
	out := make([]int64, len(shares))
	rems := make([]*big.Int, len(shares))
	var given int64
	for i, s := range shares {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(v, big.NewInt(s.percent)), total, new(big.Int))
		out[i], rems[i] = q.Int64(), r
		given += out[i]
	}
	left := v.Int64() - given
	idx := make([]int, len(shares))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return rems[idx[a]].Cmp(rems[idx[b]]) > 0 })
	for k := 0; int64(k) < left; k++ {
		out[idx[k]]++
	}
	if neg {
		for i := range out {
			out[i] = -out[i]
		}
	}
	return out
}

// CheckSplit validates a record's credit list for metrics splitting by field:
// nil if valid, else a 422 pointing at the field.
func CheckSplit(field string, data map[string]any) error {
	if _, err := splitOf(data[field]); err != nil {
		return apperr.Invalid("the credit split is invalid",
			apperr.FieldError{Pointer: "/" + field, Code: "split_percent", Message: err.Error()})
	}
	return nil
}
