package calc

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stride/engine/period"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/golden/*.json")

// golden is a worked example: a plan, the records or credits of one or more
// statement periods, and the expected statements. Every expected number is
// checked by hand; the arithmetic is in Why.
type golden struct {
	Why    []string        `json:"why"`
	Object json.RawMessage `json:"object,omitempty"` // object definition (default: dealObject)
	Plan   json.RawMessage `json:"plan"`
	Steps  []goldenStep    `json:"steps"`
}

type goldenStep struct {
	Rep            Rep              `json:"rep"`
	Period         string           `json:"period"`
	Quota          string           `json:"quota,omitempty"` // default: Period
	Target         *int64           `json:"target,omitempty"`
	ActualBefore   int64            `json:"actualBefore,omitempty"`
	ActualInPeriod int64            `json:"actualInPeriod,omitempty"`
	CreditedBefore map[string]int64 `json:"creditedBefore,omitempty"`
	// Records are credited with Plan.Credits; the rep's credits dated in
	// the period go into the input.
	Records []struct {
		ID   string          `json:"id"`
		Data json.RawMessage `json:"data"`
	} `json:"records,omitempty"`
	Teams []TeamAttainment `json:"teams,omitempty"`
	// Reversals: Paid absent means the sum of the earlier steps' lines on
	// the record (what engine/commission reads from earlier statements).
	Reversals []struct {
		Record     string `json:"record"`
		CreditDate string `json:"creditDate"`
		ReversedAt string `json:"reversedAt"`
		Paid       *int64 `json:"paid,omitempty"`
	} `json:"reversals,omitempty"`

	Want      *Result     `json:"want,omitempty"`
	WantError *RepError   `json:"wantError,omitempty"`
	Text      [][2]string `json:"text,omitempty"` // zh-CN and en of every line
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var g golden
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&g); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if len(g.Why) == 0 {
				t.Errorf("%s: explain the expected numbers in why", file)
			}
			objDef := dealObject
			if len(g.Object) > 0 {
				objDef = string(g.Object)
			}
			obj := compileObject(t, "deal", objDef)
			p, fe := Compile(testEngine, "t1", "golden", 1, decode(t, string(g.Plan)), obj)
			if len(fe) > 0 {
				t.Fatalf("compile: %+v", fe)
			}
			changed := false
			var earlier []Line
			for i := range g.Steps {
				st := &g.Steps[i]
				res, err := p.Calculate(goldenInput(t, p, st, earlier))
				var gotErr *RepError
				if err != nil {
					var ok bool
					if gotErr, ok = err.(*RepError); !ok {
						t.Fatalf("step %d: %T %v", i, err, err)
					}
				}
				var texts [][2]string
				for _, l := range res.Lines {
					texts = append(texts, [2]string{p.Text(l, "zh-CN"), p.Text(l, "en")})
				}
				if *update {
					st.Want, st.WantError, st.Text = nil, gotErr, texts
					if gotErr == nil {
						r := res
						st.Want = &r
					}
					changed = true
				} else {
					checkStep(t, i, st, res, gotErr, texts)
				}
				if err == nil {
					checkInvariants(t, res)
				}
				earlier = append(earlier, res.Lines...)
			}
			if changed {
				out, err := json.MarshalIndent(g, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, append(out, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func goldenInput(t *testing.T, p *Plan, st *goldenStep, earlier []Line) Input {
	t.Helper()
	in := Input{Rep: st.Rep, Period: window(t, st.Period), CreditedBefore: st.CreditedBefore,
		ActualBefore: st.ActualBefore, ActualInPeriod: st.ActualInPeriod, Teams: st.Teams}
	in.Quota = in.Period
	if st.Quota != "" {
		in.Quota = window(t, st.Quota)
	}
	if st.Target != nil {
		in.Target, in.HasTarget = *st.Target, true
	}
	for _, r := range st.Records {
		cs, err := p.Credits(r.ID, decode(t, string(r.Data)), shanghai)
		if err != nil {
			t.Fatalf("credits of %s: %v", r.ID, err)
		}
		for _, c := range cs {
			if c.Owner == st.Rep.ID && !c.Date.Before(in.Period.Start) && c.Date.Before(in.Period.End) {
				in.Credits = append(in.Credits, c)
			}
		}
	}
	for _, rv := range st.Reversals {
		r := Reversal{Record: rv.Record, Object: p.Object, CreditDate: day(t, rv.CreditDate), ReversedAt: day(t, rv.ReversedAt)}
		if rv.Paid != nil {
			r.Paid = *rv.Paid
		} else {
			for _, l := range earlier {
				if l.Record == rv.Record {
					r.Paid += l.Amount
				}
			}
		}
		in.Reversals = append(in.Reversals, r)
	}
	return in
}

// day is a date's midnight in the tests' tenant zone.
func day(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := period.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, shanghai)
}

func checkStep(t *testing.T, i int, st *goldenStep, res Result, gotErr *RepError, texts [][2]string) {
	t.Helper()
	if st.WantError != nil || gotErr != nil {
		if st.WantError == nil || gotErr == nil || *st.WantError != *gotErr {
			t.Errorf("step %d: error %+v, want %+v", i, gotErr, st.WantError)
		}
		return
	}
	if st.Want == nil {
		t.Fatalf("step %d: no want (run with -update)", i)
	}
	got, _ := json.MarshalIndent(res, "", "  ")
	want, _ := json.MarshalIndent(st.Want, "", "  ")
	if !bytes.Equal(got, want) {
		t.Errorf("step %d: result differs\n got: %s\nwant: %s", i, got, want)
	}
	if len(texts) != len(st.Text) {
		t.Errorf("step %d: %d texts, want %d", i, len(texts), len(st.Text))
		return
	}
	for j := range texts {
		if texts[j] != st.Text[j] {
			t.Errorf("step %d line %d text:\n got %q\nwant %q", i, j, texts[j], st.Text[j])
		}
	}
}

// checkInvariants holds for every result: the total is the sum of the
// lines and nothing is NaN.
func checkInvariants(t *testing.T, res Result) {
	t.Helper()
	var sum int64
	for _, l := range res.Lines {
		sum += l.Amount
	}
	if sum != res.Total {
		t.Errorf("total %d, sum of lines %d", res.Total, sum)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Errorf("result does not marshal (NaN?): %v", err)
	}
}
