package calc

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"stride/engine/rules"
)

// Native conditions give the program's answer whenever they decide, on
// random conditions over random records — including records with missing
// fields and values of the wrong type, where they must step aside.
func TestNativeMatchesExpr(t *testing.T) {
	obj := compileObject(t, "deal", dealObject)
	r := rand.New(rand.NewPCG(9, 10))
	nums := []string{"amount", "discount", "seats", "0", "1", "-2", "0.5", "100000", "-0.25", "3"}
	strs := []string{"stage", "name", "'won'", "'lost'", "''", "'Won'"}
	var gen func(depth int) string
	gen = func(depth int) string {
		k := r.IntN(9)
		if depth > 3 {
			k = r.IntN(4)
		}
		switch k {
		case 0:
			return nums[r.IntN(3)] + " " + []string{"==", "!=", "<", "<=", ">", ">="}[r.IntN(6)] + " " + nums[r.IntN(len(nums))]
		case 1:
			return strs[r.IntN(2)] + " " + []string{"==", "!=", "<", ">="}[r.IntN(4)] + " " + strs[r.IntN(len(strs))]
		case 2:
			return []string{"newLogo", "true", "false", "newLogo == false"}[r.IntN(4)]
		case 3:
			if r.IntN(2) == 0 {
				return strs[r.IntN(2)] + " in ['won', 'lost', 'open']"
			}
			return nums[r.IntN(3)] + " in [0, 1, 0.5, 100000]"
		case 4, 5:
			return "(" + gen(depth+1) + ") " + []string{"&&", "||", "and", "or"}[r.IntN(4)] + " (" + gen(depth+1) + ")"
		case 6:
			return []string{"!", "not "}[r.IntN(2)] + "(" + gen(depth+1) + ")"
		case 7:
			return "1 < seats < 5"
		}
		return strs[r.IntN(2)] + " not in ['won']"
	}
	records := func() map[string]any {
		m := obj.Schema.ToEnv(map[string]any{
			"amount":   []int64{0, 1, 100000, 10000000, -500}[r.IntN(5)],
			"discount": []float64{0, 0.5, 0.25, 1}[r.IntN(4)],
			"seats":    int64(r.IntN(8)),
			"stage":    []string{"won", "lost", "open", "", "Won"}[r.IntN(5)],
			"name":     []string{"won", "a", ""}[r.IntN(3)],
			"newLogo":  r.IntN(2) == 0,
		})
		switch r.IntN(6) {
		case 0:
			delete(m, []string{"amount", "stage", "newLogo", "seats"}[r.IntN(4)])
		case 1:
			m["amount"] = int64(5) // stored form: not a formula value
		case 2:
			m["stage"] = nil
		}
		return m
	}
	native, decided := 0, 0
	for range 3000 {
		src := gen(0)
		if strings.Contains(src, "not in") && r.IntN(2) == 0 {
			src = "stage not in ['won', 'open']"
		}
		prog, err := testEngine.Check(src, obj.Env, rules.Bool)
		if err != nil {
			continue // the checker refuses it (e.g. string < number): never compiled
		}
		nb := compileNative(src, obj.Fields)
		if nb == nil {
			continue
		}
		native++
		for range 20 {
			m := records()
			v, ok := nb(m)
			if !ok {
				continue
			}
			decided++
			out, err := prog.Run(m)
			if err != nil {
				t.Fatalf("%s on %v: native %v, program failed: %v", src, m, v, err)
			}
			if out != v {
				t.Fatalf("%s on %v: native %v, program %v", src, m, v, out)
			}
		}
	}
	if native < 1000 || decided < 10000 {
		t.Fatalf("only %d native formulas, %d decisions", native, decided)
	}
	t.Logf("%d native formulas, %d decisions compared", native, decided)
}

func TestNativeShapes(t *testing.T) {
	obj := compileObject(t, "deal", dealObject)
	for src, want := range map[string]bool{
		"stage == 'won'":                  true,
		"amount >= 100000 && !newLogo":    true,
		"stage in ['won', 'paid']":        true,
		"-1 < discount":                   true,
		"amount * 2 > 5":                  false, // arithmetic: the program
		"len(stage) > 2":                  false, // functions: the program
		"closeDate > now()":               false,
		"splits[0].percent > 50":          false,
		"let x = amount; x > 5":           false,
		"attainment > 1":                  false, // not a record field
		fmt.Sprintf("seats == %d", 1<<60): false, // beyond exact float64
	} {
		if got := compileNative(src, obj.Fields) != nil; got != want {
			t.Errorf("%s: native %v, want %v", src, got, want)
		}
	}
}
