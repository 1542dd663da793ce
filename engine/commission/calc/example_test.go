package calc_test

import (
	"encoding/json"
	"fmt"
	"time"

	"stride/engine/commission/calc"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/rules"
)

// A deal split 70/30, paid on a marginal table above quota: compile the
// plan against the credited object, credit the record, calculate the rep's
// statement and say its lines.
func Example() {
	eng := rules.New(rules.Options{})
	var objDef, planDef map[string]any
	_ = json.Unmarshal([]byte(`{"key": "deal", "label": {"zh-CN": "合同", "en": "Deal"}, "schema": {"type": "object", "properties": {
		"amount": {"type": "integer", "format": "money"}, "closeDate": {"type": "string", "format": "date"},
		"splits": {"type": "array", "items": {"type": "object", "properties": {"user": {"type": "string"}, "percent": {"type": "number"}}}}}}}`), &objDef)
	_ = json.Unmarshal([]byte(`{"name": {"zh-CN": "销售提成", "en": "Sales commission"}, "quota": {"metric": "won_revenue"},
		"credits": {"object": "deal", "base": "amount", "dateField": "closeDate", "splitField": "splits"},
		"rules": [{"key": "base", "name": {"zh-CN": "累进提成", "en": "Marginal"}, "rate": {"kind": "marginal", "table": [[0, 0.04], [1.0, 0.06]]}}]}`), &planDef)
	obj, _ := objects.NewService(eng).Check(objDef)
	plan, problems := calc.Compile(eng, "acme", "sales", 0, planDef, obj)
	if len(problems) > 0 {
		fmt.Println(problems)
		return
	}

	tz, _ := time.LoadLocation("Asia/Shanghai")
	credits, _ := plan.Credits("D-102", map[string]any{"amount": int64(1234567), "closeDate": "2026-03-10",
		"splits": []any{map[string]any{"user": "li", "percent": 70}, map[string]any{"user": "wang", "percent": 30}}}, tz)
	march, _ := period.Calendar{Location: tz}.Parse("2026-03")
	w := calc.Window{Key: march.Key, Start: march.Start, End: march.End}
	res, err := plan.Calculate(calc.Input{Rep: calc.Rep{ID: "li"}, Period: w, Quota: w,
		Target: 500000, HasTarget: true, ActualInPeriod: credits[0].Base, Credits: credits[:1]})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range res.Lines {
		fmt.Println(plan.Text(l, "zh-CN"))
		fmt.Println(plan.Text(l, "en"))
	}
	fmt.Println(calc.Money(res.Total, "¥"))
	// Output:
	// 合同 D-102：计提基数 ¥12,345.67 的 70% 分成，其中 ¥5,000.00 落在第 1 档（达成 0%–100%，即 ¥0.00–¥5,000.00；累计自 ¥0.00 起，费率 4%） → ¥200.00
	// Deal D-102: a 70% share of base ¥12,345.67; ¥5,000.00 of it falls in band 1 (attainment 0%–100%, ¥0.00–¥5,000.00; cumulative from ¥0.00, rate 4%) → ¥200.00
	// 合同 D-102：计提基数 ¥12,345.67 的 70% 分成，其中 ¥3,641.97 落在第 2 档（达成 ≥ 100%，即 ≥ ¥5,000.00；累计自 ¥5,000.00 起，费率 6%） → ¥218.52
	// Deal D-102: a 70% share of base ¥12,345.67; ¥3,641.97 of it falls in band 2 (attainment ≥ 100%, ≥ ¥5,000.00; cumulative from ¥5,000.00, rate 6%) → ¥218.52
	// ¥418.52
}
