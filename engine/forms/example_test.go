package forms_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"stride/engine/forms"
)

func Example() {
	sch, err := forms.Compile([]byte(`{
		"type": "object",
		"properties": {
			"name":       {"type": "string", "minLength": 1},
			"amount":     {"type": "integer", "format": "money", "minimum": 0},
			"closeDate":  {"type": "string", "format": "date"},
			"commission": {"type": "integer", "format": "money", "readOnly": true}
		},
		"required": ["name", "amount", "commission"]
	}`))
	if err != nil {
		panic(err)
	}

	// Records arrive as JSON with exact numbers.
	dec := json.NewDecoder(strings.NewReader(`{"name": "华东医院设备采购", "amount": "12500"}`))
	dec.UseNumber()
	var bad map[string]any
	_ = dec.Decode(&bad)
	for _, fe := range sch.Validate(bad) {
		fmt.Println(fe.Pointer, fe.Code, fe.Message)
	}

	dec = json.NewDecoder(strings.NewReader(`{"name": "华东医院设备采购", "amount": 1250000}`))
	dec.UseNumber()
	var in map[string]any
	_ = dec.Decode(&in)
	fmt.Println(sch.Validate(in) == nil)

	// Storage form, then formula values: money in yuan, missing fields zero.
	stored := sch.Normalize(in)
	env := sch.ToEnv(stored)
	fmt.Println(stored["amount"], env["amount"], env["closeDate"], env["commission"])

	// A formula's result goes back to fen, rounded half to even.
	commission, _ := sch.Field("commission")
	v, _ := forms.FromResult(commission, env["amount"].(float64)*0.0333)
	fmt.Println(v)
	// Output:
	// /amount type expected integer, but got string
	// true
	// 1250000 12500 0001-01-01 00:00:00 +0000 UTC 0
	// 41625
}
