package calc

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"stride/engine/forms"
)

// moneyMinor must agree with forms.FromResult whenever it answers.
func TestMoneyMinorAgreesWithForms(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := []float64{0, math.Copysign(0, -1), 0.01, -0.01, 0.005, 0.015, 1.005, 3 * 1.005, 0.1 + 0.2, 123456.78, -99.99,
		999999999999.99, 1e12, 1e12 - 0.01, 12345678901.23, math.NaN(), math.Inf(1), 1e-9, 5e15}
	for range 200000 {
		switch r.IntN(4) {
		case 0:
			vals = append(vals, float64(r.Int64N(1e14)-5e13)/100)
		case 1:
			vals = append(vals, r.Float64()*math.Pow(10, float64(r.IntN(14))))
		case 2:
			vals = append(vals, float64(r.Int64N(1e6))/100*float64(r.IntN(3)+1)*1.1)
		default:
			vals = append(vals, float64(r.Int64N(1e9))/1000)
		}
	}
	fast := 0
	for _, x := range vals {
		n, ok := moneyMinor(x)
		if !ok {
			continue
		}
		fast++
		want, err := forms.FromResult(forms.Field{Name: "x", Type: forms.TypeMoney}, x)
		if err != nil {
			t.Fatalf("%v: fast path %d, forms fails: %v", x, n, err)
		}
		if want.(int64) != n {
			t.Fatalf("%v: fast path %d, forms %d", x, n, want)
		}
	}
	if fast < len(vals)/4 { // the cent-grid values at least
		t.Fatalf("fast path taken %d of %d times", fast, len(vals))
	}
}

// CalculateTo gives Calculate's result in the caller's (dirty) buffer;
// RecordFields names the record fields rule formulas read.
func TestCalculateToAndRecordFields(t *testing.T) {
	p := mustCompile(t, planWith(`"rules": [
		{"key": "ctx", "when": "rep.id == 'u1' && attainment >= 1", "rate": {"kind": "constant", "value": 0.01}},
		{"key": "share", "when": "credit.share == 100 && stage == 'won'", "rate": {"kind": "constant", "value": 0.02}},
		{"key": "on", "rate": {"kind": "tier", "on": "amount", "table": [[0, 0.03], [500, 0.04]]}}]`))
	if got := p.RecordFields(); !reflect.DeepEqual(got, []string{"amount", "stage"}) {
		t.Fatalf("record fields %v", got)
	}
	env := p.obj.Schema.ToEnv(decode(t, `{"amount": 60000, "stage": "won"}`))
	in := input(t, 100000, credit("D-1", 2, 60000, env), credit("D-2", 3, 60000, nil))
	want, err := p.Calculate(in)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]Line, 7, 64)
	for i := range buf {
		buf[i] = Line{Rule: "stale", Amount: 99}
	}
	got, err := p.CalculateTo(in, buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || &got.Lines[0] != &buf[:1][0] {
		t.Fatalf("CalculateTo %+v, Calculate %+v", got, want)
	}
}
