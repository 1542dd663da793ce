package commission

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"stride/engine/commission/calc"
	"stride/engine/store"
)

// The stored form of a statement's computed lines.
//
// A statement of a busy rep has thousands of lines, and in the API's shape
// each repeats what it shares with its neighbours (rule, kind, object, the
// band, the rule's formula, attainment, quota…) under long keys — about
// 400 bytes a line, which made writing statements most of a run and would
// pass MongoDB's 16 MB document limit near 40,000 lines. So the computed
// lines are stored as a table (lineTable):
//
//   - templates: the distinct invariant parts of the lines, each a line in
//     the API's JSON shape with its per-line fields left out, in order of
//     first use;
//   - rows: one text row per line — the template's index, then the per-line
//     fields (record, credit date, base, amount, rate, and the explanation's
//     cumulative base, share, record base, earned, value, paid, reversal
//     date and days) — about 50 bytes a line.
//
// Rows are separated by ';' and fields by ','; trailing empty fields are
// left out; an empty field is nil for the pointer fields and zero for the
// others. Strings are percent-encoded outside printable ASCII and for
// '%' ',' ';' '"' '\' so the rows need no escaping as a JSON string (a
// store copies them as is). Numbers are decimal (floats in their shortest
// round-trip form), so decoding gives back exactly the lines encoded.
//
// Line ids are not stored: they are a function of the computed lines (see
// lineIDs) and are derived again on read. Adjustment lines, few and each
// different, are stored in the API's shape in the statement's
// "adjustments" array, after which they come in Statement.Lines (computed
// lines always come first: runs write them first and adjustments are
// appended).
//
// hash is the SHA-256 of the templates' JSON and the rows: two tables with
// the same hash hold the same lines, which is how a run sees that a draft
// did not change without decoding it.
type lineTable struct {
	templates []calc.Line
	tmplJSON  []byte // templates as JSON (what is stored and hashed)
	rows      string
	hash      string
	n         int  // number of lines
	hashOnly  bool // the lines were dropped (Statement.forget)
}

// lineFormat is the version of the stored table.
const lineFormat = 1

// Number of fields of the types the table encodes: a new field in calc.Line,
// calc.Explanation or calc.Band must be placed in a template or in the row
// (TestLineTableCoversEveryField fails until it is).
const (
	lineFields        = 10
	explanationFields = 16
	bandFields        = 5
)

// tmplKey identifies a template: every invariant field of a line by value
// (floats by their bits, so 0 and -0, which encode differently, differ).
type tmplKey struct {
	rule, kind, object, formula, team, note string
	band                                    bool
	bandIndex                               int
	bandFrom                                int64
	bandThreshold                           uint64
	bandTo, bandUntil                       optBits
	att, threshold, before                  optBits
	quota, cap                              optBits
}

type optBits struct {
	ok bool
	v  uint64
}

func fbits(p *float64) optBits {
	if p == nil {
		return optBits{}
	}
	return optBits{true, math.Float64bits(*p)}
}

func ibits(p *int64) optBits {
	if p == nil {
		return optBits{}
	}
	return optBits{true, uint64(*p)}
}

func keyOf(l *calc.Line) tmplKey {
	e := &l.Explain
	k := tmplKey{rule: l.Rule, kind: l.Kind, object: l.Object, formula: e.Formula, team: e.Team, note: e.Note,
		att: fbits(e.Attainment), threshold: fbits(e.Threshold), before: fbits(e.Before), quota: ibits(e.Quota), cap: ibits(e.Cap)}
	if b := l.Band; b != nil {
		k.band, k.bandIndex, k.bandFrom, k.bandThreshold = true, b.Index, b.From, math.Float64bits(b.Threshold)
		k.bandTo, k.bandUntil = ibits(b.To), fbits(b.Until)
	}
	return k
}

// template is a line's invariant part.
func template(l *calc.Line) calc.Line {
	e := l.Explain
	return calc.Line{Rule: l.Rule, Kind: l.Kind, Object: l.Object, Band: l.Band,
		Explain: calc.Explanation{Formula: e.Formula, Attainment: e.Attainment, Quota: e.Quota, Cap: e.Cap,
			Threshold: e.Threshold, Team: e.Team, Before: e.Before, Note: e.Note}}
}

// lineEncoder encodes tables; it keeps its buffers between calls (one per
// goroutine).
type lineEncoder struct {
	lines []calc.Line // the calculator's lines, reused
	index map[tmplKey]int
	buf   []byte
	last  tmplKey
	lastI int
}

// encode encodes computed lines (calc's order) as a table.
func (enc *lineEncoder) encode(lines []calc.Line) (*lineTable, error) {
	if enc.index == nil {
		enc.index = map[tmplKey]int{}
	}
	clear(enc.index)
	enc.lastI = -1
	t := &lineTable{n: len(lines)}
	b := enc.buf[:0]
	for i := range lines {
		l := &lines[i]
		k := keyOf(l)
		ti := enc.lastI
		if ti < 0 || k != enc.last {
			var ok bool
			if ti, ok = enc.index[k]; !ok {
				ti = len(t.templates)
				enc.index[k] = ti
				t.templates = append(t.templates, template(l))
			}
			enc.last, enc.lastI = k, ti
		}
		if i > 0 {
			b = append(b, ';')
		}
		w := tableRow{b: strconv.AppendInt(b, int64(ti), 10)}
		w.mark = len(w.b)
		e := &l.Explain
		w.str(l.Record)
		w.str(l.CreditDate)
		w.int(l.Base)
		w.int(l.Amount)
		w.floatP(l.Rate)
		w.intP(e.CumBefore)
		w.float(e.SharePct)
		w.int(e.RecordBase)
		w.intP(e.Earned)
		w.floatP(e.Value)
		w.intP(e.Paid)
		w.str(e.ReversedAt)
		w.b = append(w.b, ',')
		if e.Days != nil {
			w.b = strconv.AppendInt(w.b, int64(*e.Days), 10)
			w.mark = len(w.b)
		}
		b = w.b[:w.mark]
	}
	enc.buf = b
	t.rows = string(b)
	var err error
	if t.tmplJSON, err = json.Marshal(t.templates); err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write(t.tmplJSON)
	h.Write([]byte{0})
	h.Write(b)
	t.hash = hex.EncodeToString(h.Sum(nil)[:16])
	return t, nil
}

// tableRow appends a row's fields, each after a ',', remembering where
// the last non-empty one ends (trailing empty fields are cut).
type tableRow struct {
	b    []byte
	mark int
}

func (w *tableRow) done(n int) {
	if len(w.b) > n {
		w.mark = len(w.b)
	}
}

func (w *tableRow) str(s string) {
	w.b = append(w.b, ',')
	n := len(w.b)
	w.b = appendEscaped(w.b, s)
	w.done(n)
}

func (w *tableRow) int(v int64) {
	w.b = append(w.b, ',')
	if v != 0 {
		w.b = strconv.AppendInt(w.b, v, 10)
		w.mark = len(w.b)
	}
}

func (w *tableRow) intP(p *int64) {
	w.b = append(w.b, ',')
	if p != nil {
		w.b = strconv.AppendInt(w.b, *p, 10)
		w.mark = len(w.b)
	}
}

func (w *tableRow) float(v float64) {
	w.b = append(w.b, ',')
	if math.Float64bits(v) != 0 {
		w.b = strconv.AppendFloat(w.b, v, 'g', -1, 64)
		w.mark = len(w.b)
	}
}

func (w *tableRow) floatP(p *float64) {
	w.b = append(w.b, ',')
	if p != nil {
		w.b = strconv.AppendFloat(w.b, *p, 'g', -1, 64)
		w.mark = len(w.b)
	}
}

const hexDigits = "0123456789ABCDEF"

// appendEscaped percent-encodes bytes outside printable ASCII and the
// table's own punctuation.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '%' || c == ',' || c == ';' || c == '"' || c == '\\' {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}

func unescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			out = append(out, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", errors.New("truncated escape")
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", err
		}
		out = append(out, byte(v))
		i += 2
	}
	return string(out), nil
}

type pint struct {
	ok bool
	v  int64
}

type pfloat struct {
	ok bool
	v  float64
}

func parseInt(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// value is the table as stored: {v, hash, templates, rows}.
func (t *lineTable) value() (map[string]any, error) {
	if t.hashOnly {
		return nil, errors.New("the statement's lines were not kept")
	}
	var ts any
	if err := json.Unmarshal(t.tmplJSON, &ts); err != nil {
		return nil, err
	}
	return map[string]any{"v": int64(lineFormat), "hash": t.hash, "templates": ts, "rows": t.rows}, nil
}

// tableFrom reads a stored table (without decoding its rows).
func tableFrom(v map[string]any) (*lineTable, error) {
	if store.Int(v["v"]) != lineFormat {
		return nil, fmt.Errorf("unknown line table format %v", v["v"])
	}
	t := &lineTable{}
	t.hash, _ = v["hash"].(string)
	t.rows, _ = v["rows"].(string)
	var err error
	if t.tmplJSON, err = json.Marshal(v["templates"]); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(t.tmplJSON, &t.templates); err != nil {
		return nil, err
	}
	// The hash is of the templates as the encoder wrote them; a store may
	// give them back with keys in another order, so keep the encoder's.
	if t.tmplJSON, err = json.Marshal(t.templates); err != nil {
		return nil, err
	}
	if t.rows != "" {
		t.n = strings.Count(t.rows, ";") + 1
	}
	return t, nil
}

// decode returns the lines of the table.
func (t *lineTable) decode() ([]calc.Line, error) {
	if t.hashOnly {
		return nil, errors.New("the statement's lines were not kept")
	}
	out := make([]calc.Line, 0, t.n)
	if t.rows == "" {
		return out, nil
	}
	var ints []int64
	var floats []float64
	i64 := func(v int64) *int64 {
		if len(ints) == cap(ints) {
			ints = make([]int64, 0, 256)
		}
		ints = append(ints, v)
		return &ints[len(ints)-1]
	}
	f64 := func(v float64) *float64 {
		if len(floats) == cap(floats) {
			floats = make([]float64, 0, 256)
		}
		floats = append(floats, v)
		return &floats[len(floats)-1]
	}
	rows := t.rows
	for rows != "" {
		row, rest, _ := strings.Cut(rows, ";")
		rows = rest
		var f [14]string
		n := 0
		for n < len(f) {
			v, more, found := strings.Cut(row, ",")
			f[n] = v
			n++
			if !found {
				row = ""
				break
			}
			row = more
		}
		if row != "" {
			return nil, fmt.Errorf("line %d: too many fields", len(out))
		}
		ti, err := strconv.Atoi(f[0])
		if err != nil || ti < 0 || ti >= len(t.templates) {
			return nil, fmt.Errorf("line %d: bad template %q", len(out), f[0])
		}
		l := t.templates[ti]
		if l.Record, err = unescape(f[1]); err == nil {
			l.CreditDate, err = unescape(f[2])
		}
		if err == nil {
			l.Explain.ReversedAt, err = unescape(f[12])
		}
		var p [3]pint
		var q [2]pfloat
		if err == nil {
			l.Base, err = parseInt(f[3])
		}
		if err == nil {
			l.Amount, err = parseInt(f[4])
		}
		if err == nil {
			l.Explain.RecordBase, err = parseInt(f[8])
		}
		if err == nil && f[7] != "" {
			l.Explain.SharePct, err = strconv.ParseFloat(f[7], 64)
		}
		for j, s := range [...]string{f[6], f[9], f[11]} {
			if err == nil && s != "" {
				p[j].ok = true
				p[j].v, err = strconv.ParseInt(s, 10, 64)
			}
		}
		for j, s := range [...]string{f[5], f[10]} {
			if err == nil && s != "" {
				q[j].ok = true
				q[j].v, err = strconv.ParseFloat(s, 64)
			}
		}
		var days int
		if err == nil && f[13] != "" {
			days, err = strconv.Atoi(f[13])
			l.Explain.Days = &days
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", len(out), err)
		}
		if p[0].ok {
			l.Explain.CumBefore = i64(p[0].v)
		}
		if p[1].ok {
			l.Explain.Earned = i64(p[1].v)
		}
		if p[2].ok {
			l.Explain.Paid = i64(p[2].v)
		}
		if q[0].ok {
			l.Rate = f64(q[0].v)
		}
		if q[1].ok {
			l.Explain.Value = f64(q[1].v)
		}
		out = append(out, l)
	}
	return out, nil
}
