package calc

import (
	"encoding/json"
	"testing"
)

const briefPlan = `{"name":{"zh-CN":"销售提成方案","en":"Sales commission"},"currency":"CNY",
 "grain":"month","quotaGrain":"quarter",
 "quota":{"metric":"won_revenue","level":"target"},
 "assign":{"roles":["rep"],"teams":[],"users":[]}, "effectiveFrom":"2026-01-01","effectiveTo":null,
 "credits":{"object":"deal","when":"stage == 'won'","base":"amount","dateField":"closeDate","ownerField":"owner","splitField":"splits"},
 "rules":[{"key":"base","name":{"zh-CN":"基础提成","en":"Base rate"},"when":"true","rate":{"kind":"marginal","table":[[0,0.04],[1.0,0.06],[1.5,0.08]]}},
          {"key":"new_logo","when":"newLogo","rate":{"kind":"constant","value":0.01}},
          {"key":"tiered","rate":{"kind":"tier","table":[[0,0.03],[0.8,0.05],[1.0,0.07]]}},
          {"key":"custom","rate":{"kind":"expr","expr":"amount > 100000 ? 0.06 : 0.05"}}],
 "caps":{"perLine":5000000,"perPeriod":20000000},
 "spifs":[{"key":"big_deal","name":{"en":"Big deal"},"when":"amount >= 1000000","amount":200000}],
 "quotaBonuses":[{"key":"q100","threshold":1.0,"amount":500000},{"key":"q120","threshold":1.2,"amount":800000}],
 "teamBonuses":[{"key":"team100","threshold":1.0,"amount":100000}] ,
 "clawback":{"when":"status == 'refunded'","withinDays":90,"dateField":"refundedAt"}}`

func TestSmoke(t *testing.T) {
	p := mustCompile(t, briefPlan)
	if !p.NeedsAttainment {
		t.Fatal("needs attainment")
	}
	data := decode(t, `{"amount": 1234567, "stage": "won", "closeDate": "2026-02-10", "newLogo": true,
		"splits": [{"user": "u1", "percent": 70}, {"user": "u2", "percent": 30}]}`)
	cs, err := p.Credits("D-102", data, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Rep: Rep{ID: "u1"}, Period: window(t, "2026-02"), Quota: window(t, "2026-Q1"),
		Target: 1000000, HasTarget: true, ActualBefore: 500000, ActualInPeriod: 700000, Credits: cs[:1]}
	res, err := p.Calculate(in)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	t.Logf("%s", b)
	for _, l := range res.Lines {
		t.Log(Text(l, "zh-CN"))
		t.Log(p.Text(l, "en"))
	}
}
