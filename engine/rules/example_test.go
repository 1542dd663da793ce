package rules_test

import (
	"fmt"

	"github.com/expr-lang/expr/types"

	"stride/engine/rules"
)

func Example() {
	e := rules.New(rules.Options{})
	env := types.Map{"amount": types.Float64, "stage": types.String}

	// Compile once, when the admin saves the formula; the program is cached
	// under the configuration's key and version.
	key := rules.Key{Tenant: "demo", Config: "object:deal:commission", Version: 3}
	p, err := e.Compile(key, `tier(amount, [[0, 0.05], [100000, 0.08]]) + (stage == "won" ? 500 : 0)`, env, rules.Number)
	if err != nil {
		panic(err)
	}
	value, reads, err := p.Explain(map[string]any{"amount": 125000.0, "stage": "won"})
	fmt.Println(value, reads, err)
	fmt.Println(p.Type(), p.Reads())

	// Mistakes are reported with a stable code, a position and a hint.
	_, err = e.Check(`amout * 0.1`, env, rules.Number)
	fe, _ := rules.AsFormulaError(err)
	fmt.Println(fe.Code, fe.Message, fe.Line, fe.Column, fe.Hint)

	// Hostile formulas hit a limit instead of the server.
	p, _ = e.Check(`map(1..100000000, # * 2)`, env, rules.Any)
	_, err = p.Run(map[string]any{"amount": 0.0, "stage": ""})
	fe, _ = rules.AsFormulaError(err)
	fmt.Println(fe.Code)
	// Output:
	// 10500 map[amount:125000 stage:won] <nil>
	// float64 [amount stage]
	// formula_unknown_name unknown name amout 1 1 did you mean amount?
	// formula_limit_exceeded
}
