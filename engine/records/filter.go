package records

import (
	"fmt"
	"strconv"

	"stride/engine/forms"
	"stride/engine/period"
)

// parseScalar converts a query-string value to the stored type of a field,
// so that comparisons happen between numbers, not strings.
func parseScalar(f forms.Field, s string) (any, error) {
	switch f.Type {
	case forms.TypeInteger, forms.TypeMoney:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s expects a whole number, got %q", f.Name, s)
		}
		return n, nil
	case forms.TypeNumber:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%s expects a number, got %q", f.Name, s)
		}
		return x, nil
	case forms.TypeBoolean:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%s expects true or false, got %q", f.Name, s)
		}
		return b, nil
	case forms.TypeDate:
		if _, err := period.ParseDate(s); err != nil {
			return nil, fmt.Errorf("%s expects a date like 2026-11-23, got %q", f.Name, s)
		}
		return s, nil
	case forms.TypeString, forms.TypeDateTime:
		return s, nil
	}
	return nil, fmt.Errorf("cannot filter on %s (a %s field)", f.Name, f.Type)
}
