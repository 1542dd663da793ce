package calc

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzCompile: any plan definition compiles or is refused with located
// problems, never a panic; a plan that compiles calculates a statement
// whose total is the sum of its lines (or fails with a RepError).
func FuzzCompile(f *testing.F) {
	f.Add(briefPlan)
	f.Add(planWith(`"rules": [{"key": "a", "rate": {"kind": "tier", "table": [[0, 0.01], [1, 0.02], [0.5, 0.03]]}}]`))
	f.Add(planWith(`"rules": [{"key": "a", "rate": {"kind": "marginal", "basis": "line", "table": [[0, 1000], [1e13, 0.000000000001]]}}]`))
	f.Add(planWith(`"rules": [{"key": "a", "rate": {"kind": "expr", "expr": "amount / discount"}}], "caps": {"perLine": 0, "perPeriod": 0}`))
	f.Add(planWith(`"teamBonuses": [{"key": "t", "threshold": 1e-12, "rate": 1000}], "quotaBonuses": [{"key": "q", "threshold": 1000, "amount": 9000000000000000}]`))
	files, _ := filepath.Glob("testdata/golden/*.json")
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var g golden
		if err := json.Unmarshal(raw, &g); err != nil {
			f.Fatal(err)
		}
		f.Add(string(g.Plan))
	}
	obj := compileObject(f, "deal", dealObject)
	data := obj.Schema.ToEnv(map[string]any{"amount": int64(123456789), "discount": 0.0, "stage": "won", "newLogo": true})
	f.Fuzz(func(t *testing.T, src string) {
		dec := json.NewDecoder(strings.NewReader(src))
		dec.UseNumber()
		var def map[string]any
		if dec.Decode(&def) != nil {
			return
		}
		p, fe := Compile(testEngine, "t", "fuzz", 0, def, obj)
		if p == nil {
			if len(fe) == 0 {
				t.Fatalf("%s: refused without a problem", src)
			}
			for _, e := range fe {
				if e.Code == "" || e.Message == "" || (e.Pointer != "" && !strings.HasPrefix(e.Pointer, "/")) {
					t.Fatalf("%s: bad problem %+v", src, e)
				}
			}
			return
		}
		if len(fe) > 0 {
			t.Fatalf("%s: compiled with problems %+v", src, fe)
		}
		for _, target := range []int64{0, 1, 10_000_000} {
			in := input(t, target, credit("D-1", 2, 100_000_000, data), credit("D-2", 3, -7, data), credit("D-3", 3, 1<<50, nil))
			in.ActualBefore = target / 2
			in.Teams = []TeamAttainment{{Team: "t1", Before: 0, Now: 2}}
			in.Reversals = []Reversal{{Record: "D-0", CreditDate: in.Period.Start, ReversedAt: in.Period.Start, Paid: 5}}
			res, err := p.Calculate(in)
			if err != nil {
				var re *RepError
				if !errors.As(err, &re) || re.Code == "" {
					t.Fatalf("%s: %v", src, err)
				}
				continue
			}
			var sum int64
			for _, l := range res.Lines {
				sum += l.Amount
				_ = Text(l, "zh-CN") + p.Text(l, "en")
			}
			if sum != res.Total {
				t.Fatalf("%s: total %d, lines %d", src, res.Total, sum)
			}
			if _, err := json.Marshal(res); err != nil {
				t.Fatalf("%s: %v", src, err)
			}
		}
	})
}

