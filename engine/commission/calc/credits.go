package calc

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"time"

	"stride/engine/forms"
	"stride/engine/period"
	"stride/engine/rules"
)

// RecordError is a problem with one record (a bad split, a formula failing
// on its values); a run reports it against the record and goes on.
type RecordError struct {
	Record  string `json:"record"`
	Code    string `json:"code"` // split_percent, formula_runtime, amount_out_of_range
	Pointer string `json:"pointer,omitempty"`
	Message string `json:"message"`
}

func (e *RecordError) Error() string { return e.Record + ": " + e.Message }

// percentUnits is the resolution of split percentages: 1/10000 of a
// percent, as in engine/tracking.
const percentUnits = 10000

// RecordData returns a copy of a record's data with its owner and creation
// time added under the names "owner" and "createdAt" — what Credits reads
// when the plan's ownerField is owner or its dateField createdAt (the
// record's own owner and creation time, which records.Record keeps outside
// Data). data is not modified.
func RecordData(data map[string]any, owner, createdAt string) map[string]any {
	out := make(map[string]any, len(data)+2)
	maps.Copy(out, data)
	out["owner"] = owner
	out["createdAt"] = createdAt
	return out
}

// Credits turns one record into credit lines: none when the plan's `when`
// is false or the record has no credit date or owner; else one per owner,
// the base split by the split field with largest remainder (ties: larger
// share, then owner id) so the shares sum to the base exactly. Credits are
// sorted by owner; their Data is the record as formulas see it.
//
// data is the record as formulas see it (objects' Schema.ToEnv) or as it is
// stored (records.Record.Data) — see envOf — plus, when the plan uses them,
// the record's owner under "owner" and its creation instant (RFC 3339 text
// or time.Time) under "createdAt" (RecordData adds both). tz is the
// tenant's zone, which places a date field's day. A bad split or a formula
// failing is a *RecordError.
func (p *Plan) Credits(id string, data map[string]any, tz *time.Location) ([]Credit, error) {
	if tz == nil {
		tz = time.UTC
	}
	env := p.envOf(data)
	data = env
	if p.credWhen != nil {
		ok, err := p.credWhen.run(env)
		if err != nil {
			return nil, formulaRecordError(id, p.credWhen.ptr, err)
		}
		if !ok {
			return nil, nil
		}
	}
	out, err := p.credBase.p.Run(env)
	if err != nil {
		return nil, formulaRecordError(id, p.credBase.ptr, err)
	}
	x, _ := out.(float64)
	base, fast := moneyMinor(x)
	if !fast {
		bv, err := forms.FromResult(forms.Field{Name: "base", Type: forms.TypeMoney}, x)
		if err != nil {
			return nil, &RecordError{Record: id, Code: "amount_out_of_range", Pointer: "/credits/base", Message: err.Error()}
		}
		base = bv.(int64)
	}
	date, ok := dateOf(data, p.DateField, p.dateType, tz)
	if !ok {
		return nil, nil
	}
	var shares []share
	if p.SplitField != "" {
		if shares, err = splitOf(data[p.SplitField]); err != nil {
			return nil, &RecordError{Record: id, Code: "split_percent", Pointer: "/" + p.SplitField, Message: err.Error()}
		}
	}
	if len(shares) == 0 {
		owner, _ := data[p.OwnerField].(string)
		if owner == "" {
			return nil, nil
		}
		return []Credit{{Record: id, Object: p.Object, Owner: owner, Date: date, Base: base, RecordBase: base, SharePct: 100, Data: env}}, nil
	}
	amounts := allocate(base, shares)
	credits := make([]Credit, 0, len(shares))
	for i, s := range shares {
		credits = append(credits, Credit{Record: id, Object: p.Object, Owner: s.user, Date: date, Base: amounts[i],
			RecordBase: base, SharePct: float64(s.percent) / percentUnits, Data: env})
	}
	slices.SortFunc(credits, func(a, b Credit) int { return cmp.Compare(a.Owner, b.Owner) })
	return credits, nil
}

// moneyMinor is forms.FromResult for money (major units in, minor units
// out) without its big-number arithmetic, for the common case: an amount
// that is a whole number of minor units (x is the double nearest n/100)
// below 10^12 major units, where the 15-digit decimal FromResult reads is
// exactly n/100. Otherwise it reports false and the caller asks forms.
// (A run credits every record of a period: FromResult's big.Rat costs more
// than the rest of crediting a record.)
func moneyMinor(x float64) (int64, bool) {
	if !(math.Abs(x) < 1e12) {
		return 0, false
	}
	n := math.Round(x * 100)
	if n/100 != x {
		return 0, false
	}
	return int64(n), true
}

func formulaRecordError(id, ptr string, err error) *RecordError {
	return &RecordError{Record: id, Code: "formula_runtime", Pointer: ptr, Message: fmt.Sprintf("%s: %v", ptr, err)}
}

// dateOf reads a record's date field as an instant: a date is its midnight
// in tz, a date-time its instant, createdAt the record's creation time.
func dateOf(data map[string]any, field string, typ forms.FieldType, tz *time.Location) (time.Time, bool) {
	switch v := data[field].(type) {
	case time.Time:
		if v.IsZero() {
			return time.Time{}, false // a missing field, as ToEnv gives it
		}
		if typ == forms.TypeDate {
			y, m, d := v.Date()
			return time.Date(y, m, d, 0, 0, 0, 0, tz).UTC(), true
		}
		return v.UTC(), true
	case string:
		if v == "" {
			return time.Time{}, false
		}
		if typ == forms.TypeDate {
			t, err := period.ParseDate(v)
			if err != nil {
				return time.Time{}, false
			}
			y, m, d := t.Date()
			return time.Date(y, m, d, 0, 0, 0, 0, tz).UTC(), true
		}
		t, err := period.ParseInstant(v)
		return t, err == nil
	}
	return time.Time{}, false
}

// Reversed reports whether a record counts as reversed (the plan's clawback
// `when`) and when (its clawback date field; a date field as its midnight
// in UTC — use ReversedIn to place it in the tenant's zone). A plan without
// clawback reports false.
func (p *Plan) Reversed(data map[string]any) (time.Time, bool, error) {
	return p.ReversedIn(data, time.UTC)
}

// ReversedIn is Reversed with a date field's day placed in tz (the
// tenant's zone), so the reversal falls in the right period.
func (p *Plan) ReversedIn(data map[string]any, tz *time.Location) (time.Time, bool, error) {
	cb := p.Clawback
	if cb == nil {
		return time.Time{}, false, nil
	}
	if tz == nil {
		tz = time.UTC
	}
	data = p.envOf(data)
	ok, err := cb.when.run(data)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%s: %w", cb.when.ptr, err)
	}
	if !ok {
		return time.Time{}, false, nil
	}
	at, dated := dateOf(data, cb.DateField, cb.dateType, tz)
	if !dated {
		// Reversed but without a date: it cannot be placed in a period.
		return time.Time{}, false, nil
	}
	return at, true, nil
}

type share struct {
	user    string
	percent int64 // in 1/percentUnits of a percent
}

// splitOf reads a credit list {user, percent} as engine/tracking does:
// duplicate users merged, percents (to 1/10000 of a percent) summing to
// exactly 100; zero shares dropped. Sorted by user.
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
		p := asFloat(o["percent"])
		if user == "" || math.IsNaN(p) || math.IsInf(p, 0) || p < 0 || p > 100 {
			return nil, fmt.Errorf("every share needs a user and a percent between 0 and 100")
		}
		// p has at most 4 decimals almost always: p × 10000 is then within
		// float noise of an integer, which is what the exact half-even
		// rounding (as engine/tracking does it) gives too, without big.Rat.
		x := p * percentUnits
		u := int64(math.Round(x))
		if math.Abs(x-math.Round(x)) > 1e-6 {
			u = int64(math.Round(rules.RoundHalfEven(p, 4) * percentUnits))
		}
		by[user] += u
		total += u
	}
	if total != 100*percentUnits {
		return nil, fmt.Errorf("the percents sum to %s, not 100", strconv.FormatFloat(float64(total)/percentUnits, 'f', -1, 64))
	}
	out := make([]share, 0, len(by))
	for u, p := range by {
		if p > 0 {
			out = append(out, share{u, p})
		}
	}
	slices.SortFunc(out, func(a, b share) int { return cmp.Compare(a.user, b.user) })
	return out, nil
}

// allocate splits value over the shares by the largest remainder method:
// floors first, then one minor unit each to the largest remainders, ties to
// the larger share, then to the smaller user id. The result sums exactly to
// value; a negative value is split as its magnitude, negated.
func allocate(value int64, shares []share) []int64 {
	neg := value < 0
	v := new(big.Int).SetInt64(value)
	v.Abs(v)
	total := big.NewInt(100 * percentUnits)
	out := make([]int64, len(shares))
	rems := make([]int64, len(shares)) // < total, fits
	var given int64
	for i, s := range shares {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(v, big.NewInt(s.percent)), total, new(big.Int))
		out[i], rems[i] = q.Int64(), r.Int64()
		given += out[i]
	}
	left := v.Int64() - given
	idx := make([]int, len(shares))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if c := cmp.Compare(rems[b], rems[a]); c != 0 {
			return c
		}
		if c := cmp.Compare(shares[b].percent, shares[a].percent); c != 0 {
			return c
		}
		return cmp.Compare(shares[a].user, shares[b].user)
	})
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

// envOf returns a record as formulas see it. data already in that form —
// every declared field present with its formula type (money and numbers
// float64, integers int, dates time.Time, …), as Schema.ToEnv makes it — is
// used as is; anything else is taken for stored data (money as int64
// minor units, dates as text, fields missing) and converted with ToEnv,
// keeping the owner and createdAt names. The two forms cannot be confused:
// stored money is an integer, formula money a float64, and ToEnv gives
// every field a value.
func (p *Plan) envOf(data map[string]any) map[string]any {
	if p.isEnv(data) {
		return data
	}
	env := p.obj.Schema.ToEnv(data)
	for _, k := range []string{"owner", "createdAt"} {
		if _, declared := p.obj.Fields[k]; !declared {
			if v, ok := data[k]; ok {
				env[k] = v
			}
		}
	}
	return env
}

func (p *Plan) isEnv(data map[string]any) bool {
	if data == nil {
		return false
	}
	for _, name := range p.obj.FieldOrder {
		v, ok := data[name]
		if !ok {
			return false
		}
		switch p.obj.Fields[name].Type {
		case forms.TypeMoney, forms.TypeNumber:
			_, ok = v.(float64)
		case forms.TypeInteger:
			_, ok = v.(int)
		case forms.TypeString:
			_, ok = v.(string)
		case forms.TypeBoolean:
			_, ok = v.(bool)
		case forms.TypeDate, forms.TypeDateTime:
			_, ok = v.(time.Time)
		case forms.TypeArray:
			_, ok = v.([]any)
		case forms.TypeObject:
			_, ok = v.(map[string]any)
		}
		if !ok {
			return false
		}
	}
	return true
}

// ErrNeedsPeriod is returned by RuleBases when a marginal rule's `when`
// reads the period context (rep, period, attainment or quota), which
// credits alone do not give.
var ErrNeedsPeriod = errors.New("a marginal rule's when reads rep, period, attainment or quota: its earlier credited base cannot be recomputed from credits alone; sum Result.Credited of the earlier statements")

// RuleBases sums, for each cumulative marginal rule (basis quota or
// amount), the base of the credits it pays (its `when` holds): the
// CreditedBefore of a later period, recomputed from the quota window's
// earlier credits of one rep. See ErrNeedsPeriod.
func (p *Plan) RuleBases(credits []Credit) (map[string]int64, error) {
	out := map[string]int64{}
	var idx []int
	for i := range p.Rules {
		r := &p.Rules[i]
		if r.Kind != RateMarginal || r.Basis == BasisLine {
			continue
		}
		if r.when != nil && len(r.when.ctx) > 0 {
			return nil, ErrNeedsPeriod
		}
		out[r.Key] = 0
		idx = append(idx, i)
	}
	if len(idx) == 0 {
		return out, nil
	}
	in := Input{}
	rn := run{p: p, in: &in, loc: time.UTC}
	if p.nFormulas > 0 {
		rn.onceVal, rn.onceDone = make([]any, p.nFormulas), make([]bool, p.nFormulas)
	}
	for ci := range credits {
		c := &credits[ci]
		for _, i := range idx {
			r := &p.Rules[i]
			if r.when != nil {
				ok, err := rn.evalBool(r.when, c)
				if err != nil {
					return nil, &RecordError{Record: c.Record, Code: "formula_runtime", Pointer: r.when.ptr, Message: err.Error()}
				}
				if !ok {
					continue
				}
			}
			out[r.Key] += c.Base
		}
	}
	return out, nil
}

// run evaluates a record condition on a record as formulas see it: natively
// when it can, else with its program.
func (f *formula) run(env map[string]any) (bool, error) {
	if f.native != nil {
		if v, ok := f.native(env); ok {
			return v, nil
		}
	}
	out, err := f.p.Run(env)
	if err != nil {
		return false, err
	}
	b, _ := out.(bool)
	return b, nil
}
