package alerts

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"stride/engine/apperr"
	"stride/engine/rules"
)

// Template is message text with {{formula}} placeholders. Each placeholder
// is an expr formula over the rule's environment, compiled and type-checked
// when the rule is saved and evaluated within the rules engine's limits: a
// template can compute (round(daysInStage), amount / 10000) but can reach
// nothing the formula environment does not offer.
type Template struct {
	parts []part
}

type part struct {
	text string
	prog *rules.Program
	at   int // byte offset of the placeholder, for errors
}

type templateError struct {
	offset int
	err    error
}

func (e *templateError) Error() string { return e.err.Error() }

// parseTemplate splits src and compiles every placeholder with compile.
func parseTemplate(src string, compile func(string) (*rules.Program, error)) (*Template, error) {
	t := &Template{}
	rest, off := src, 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, part{text: rest})
			}
			return t, nil
		}
		if i > 0 {
			t.parts = append(t.parts, part{text: rest[:i]})
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, &templateError{offset: off + i, err: fmt.Errorf("a {{ placeholder is not closed with }}")}
		}
		src := strings.TrimSpace(rest[i+2 : i+2+j])
		p, err := compile(src)
		if err != nil {
			return nil, &templateError{offset: off + i, err: err}
		}
		t.parts = append(t.parts, part{prog: p, at: off + i})
		adv := i + 2 + j + 2
		rest, off = rest[adv:], off+adv
	}
}

func templateProblem(ptr string, err error) apperr.FieldError {
	te, _ := err.(*templateError)
	if te == nil {
		return rules.Problem(ptr, err)
	}
	fe := rules.Problem(ptr, te.err)
	if fe.Code == "formula_error" {
		fe.Code = "template_syntax"
	}
	fe.Message = fmt.Sprintf("placeholder at character %d: %s", te.offset+1, fe.Message)
	return fe
}

func (t *Template) reads() []string {
	var out []string
	for _, p := range t.parts {
		if p.prog != nil {
			out = append(out, p.prog.Reads()...)
		}
	}
	return out
}

// Render evaluates the placeholders. A placeholder failing at run time shows
// as "?" so that the message still goes out.
func (t *Template) Render(vars map[string]any) string {
	if t == nil {
		return ""
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := p.prog.Run(vars)
		if err != nil {
			b.WriteString("?")
			continue
		}
		b.WriteString(format(v))
	}
	return b.String()
}

// format shows a value the way a person reads it: whole numbers without
// decimals, others with at most 2, with thousands separators; dates as dates.
func format(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case float64:
		return formatNumber(x)
	case float32:
		return formatNumber(float64(x))
	case int:
		return formatNumber(float64(x))
	case int64:
		return formatNumber(float64(x))
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 {
			return x.Format("2006-01-02")
		}
		return x.Format("2006-01-02 15:04")
	case bool:
		if x {
			return "是"
		}
		return "否"
	}
	return fmt.Sprint(v)
}

func formatNumber(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "—"
	}
	s := strconv.FormatFloat(rules.RoundHalfEven(x, 2), 'f', -1, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}
