package records

import (
	"testing"

	"stride/engine/forms"
)

func TestParseScalar(t *testing.T) {
	cases := []struct {
		typ  forms.FieldType
		in   string
		want any
		err  bool
	}{
		{forms.TypeInteger, "42", int64(42), false},
		{forms.TypeMoney, "1250000", int64(1250000), false},
		{forms.TypeMoney, "12.5", nil, true},
		{forms.TypeNumber, "0.25", 0.25, false},
		{forms.TypeNumber, "abc", nil, true},
		{forms.TypeBoolean, "true", true, false},
		{forms.TypeBoolean, "yes", nil, true},
		{forms.TypeDate, "2026-11-23", "2026-11-23", false},
		{forms.TypeDate, "2026-02-30", nil, true},
		{forms.TypeString, "华东", "华东", false},
		{forms.TypeArray, "x", nil, true},
	}
	for _, c := range cases {
		got, err := parseScalar(forms.Field{Name: "f", Type: c.typ}, c.in)
		if (err != nil) != c.err || (!c.err && got != c.want) {
			t.Errorf("parseScalar(%s, %q) = %#v, %v", c.typ, c.in, got, err)
		}
	}
}
