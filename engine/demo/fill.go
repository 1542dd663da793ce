package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"time"

	"stride/engine/period"
)

// filler gives a record plausible field values from its JSON Schema, with
// a few name-based heuristics (seats, price, discount, close date, …) so
// that a template's guards and required fields are met the way a real rep
// would meet them, and validation still decides what is acceptable.
type filler struct {
	oi    objectInfo
	rng   *rand.Rand
	names *namer
	// code is the owner's code (a store code) for coded fields.
	code string
	// reqBy is the first stage requiring a field; stageAt when the record
	// being filled enters each stage (a date a stage requires is the day
	// the record enters it, so date-order guards hold).
	reqBy   map[string]string
	stageAt map[string]time.Time
}

var (
	competitors = []string{"纷享销客", "销售易", "Salesforce", "HubSpot", "自研系统", "Excel + 微信群"}
	cities      = []string{"上海", "北京", "深圳", "杭州", "广州", "成都", "南京", "苏州", "武汉", "西安"}
	products    = []string{"CRM", "协同办公", "BI 分析", "客服系统", "营销自动化", "合同管理"}
	notes       = []string{"客户内部预算调整", "决策链变化,项目搁置", "竞品报价更低", "功能差距:需要本地化部署", "客户选择延后到下一财年"}
)

func lower(s string) string { return strings.ToLower(s) }

func has(name string, parts ...string) bool {
	n := lower(name)
	for _, p := range parts {
		if strings.Contains(n, p) {
			return true
		}
	}
	return false
}

// gatedFor reports whether a visibleIf-gated field becomes visible when the
// record enters stage (its condition names the stage).
func (f *filler) gatedFor(field, stage string) bool {
	src := f.oi.visibleIf[field]
	return strings.Contains(src, "'"+stage+"'") || strings.Contains(src, `"`+stage+`"`)
}

// deal returns the fields a deal is created with and fills the patches of
// its steps (fields that only become visible in a later stage, reversals).
func (f *filler) deal(d *dealPlan, p *plan, company string, sizeMul float64, loc *time.Location) map[string]any {
	closeAt := d.closeAt(f.rng)
	stageReq := map[string]bool{}
	for _, s := range p.open {
		for _, r := range s.required {
			stageReq[r] = true
		}
	}
	if p.won != nil {
		for _, r := range p.won.required {
			stageReq[r] = true
		}
	}
	f.reqBy, f.stageAt = map[string]string{}, map[string]time.Time{p.open[0].key: d.created}
	for _, s := range append(append([]stageInfo{}, p.open...), *p.won) {
		for _, r := range s.required {
			if _, ok := f.reqBy[r]; !ok {
				f.reqBy[r] = s.key
			}
		}
	}
	for _, s := range d.steps {
		if _, ok := f.stageAt[s.to]; s.to != "" && !ok {
			f.stageAt[s.to] = s.at
		}
	}
	defer func() { f.reqBy, f.stageAt = nil, nil }()
	data := map[string]any{}
	for _, name := range f.oi.order {
		if name == f.oi.stageField || name == f.oi.titleField || f.oi.computed[name] || f.oi.visibleIf[name] != "" {
			continue
		}
		prop := f.oi.props[name]
		if ro, _ := prop["readOnly"].(bool); ro {
			continue
		}
		must := f.oi.required[name] || stageReq[name] || f.oi.requiredIf[name]
		if v, ok := f.value(name, prop, must, d, closeAt, company, sizeMul, loc); ok {
			data[name] = v
		}
	}
	f.conditional(data, d, closeAt, company, sizeMul, loc)
	// A choice a stage's guard asks for (sampleResult == 'passed') is
	// made the way the guard wants for the stages the deal enters.
	for _, s := range append(append([]stageInfo{}, p.open...), *p.won) {
		if _, entered := f.stageAt[s.key]; !entered || s.guard == "" {
			continue
		}
		chosen := map[string]bool{}
		for _, m := range guardChoice.FindAllStringSubmatch(s.guard, -1) {
			if _, ok := data[m[1]].(string); ok && m[1] != f.oi.stageField && !chosen[m[1]] {
				chosen[m[1]] = true
				if enum, _ := f.oi.props[m[1]]["enum"].([]any); slices.Contains(enum, any(m[2])) {
					data[m[1]] = m[2]
				}
			}
		}
	}
	if _, ok := data["paidAmount"]; ok {
		// Paid in full: the amount is quantity × price × (1 − discount).
		q, _ := data["quantity"].(int64)
		pr, _ := data["unitPrice"].(int64)
		disc := num(data["discountPercent"])
		data["paidAmount"] = int64(math.Ceil(float64(q) * float64(pr) * (1 - disc/100)))
	}
	if f.oi.titleField != "" {
		title := company + " " + products[f.rng.IntN(len(products))]
		for _, q := range []string{"seats", "quantity", "qty"} {
			if n, ok := data[q].(int64); ok {
				title += fmt.Sprintf(" %d%s", n, map[bool]string{true: "席", false: "件"}[q == "seats"])
				break
			}
		}
		data[f.oi.titleField] = title
	}
	data[f.oi.stageField] = p.open[0].key
	if name, _ := cancelField(f.oi); name != "" {
		// A deal starts in force: the cancellation value is the reversal's.
		data[name] = inForce(f.oi.props[name])
	}
	for i := range d.steps {
		s := &d.steps[i]
		if s.kind == "reverse" && s.to == "" {
			s.patch = f.reversal(p, data, s.at, loc)
			continue
		}
		for _, name := range f.oi.order {
			if f.oi.visibleIf[name] == "" || !f.gatedFor(name, s.to) {
				continue
			}
			if v, ok := f.value(name, f.oi.props[name], true, d, s.at, company, sizeMul, loc); ok {
				if s.patch == nil {
					s.patch = map[string]any{}
				}
				s.patch[name] = v
			}
		}
	}
	return data
}

// guardChoice matches "field == 'value'" in a guard.
var guardChoice = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*==\s*'([^']*)'`)

// condPart matches one term of a simple condition: field == 'value'.
var condPart = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*==\s*'([^']*)'\s*$`)

// holds evaluates a condition made of "field == 'value'" terms joined by
// ||, the form templates use for fields shown by another field's choice
// (dealer when channel == 'dealer'); anything else is false.
func holds(src string, data map[string]any) bool {
	for _, term := range strings.Split(src, "||") {
		m := condPart.FindStringSubmatch(term)
		if m == nil {
			return false
		}
		if v, _ := data[m[1]].(string); v == m[2] {
			return true
		}
	}
	return false
}

// conditional fills the fields a visibleIf on another (non-stage) field
// shows, as a rep would once the form shows them.
func (f *filler) conditional(data map[string]any, d *dealPlan, closeAt time.Time, company string, sizeMul float64, loc *time.Location) {
	for _, name := range f.oi.order {
		src := f.oi.visibleIf[name]
		if src == "" || f.oi.computed[name] || (f.oi.stageField != "" && strings.Contains(src, f.oi.stageField)) || !holds(src, data) {
			continue
		}
		if v, ok := f.value(name, f.oi.props[name], true, d, closeAt, company, sizeMul, loc); ok {
			data[name] = v
		}
	}
}

// inForce is the value of a status field meaning "not reversed": its
// default, else its first value that is no cancellation.
func inForce(prop map[string]any) any {
	if d, ok := prop["default"]; ok {
		return d
	}
	enum, _ := prop["enum"].([]any)
	for _, v := range enum {
		if s, _ := v.(string); !isCancel(s) {
			return v
		}
	}
	return nil
}

// record returns the fields of a flat record dated at.
func (f *filler) record(at time.Time, company string, sizeMul float64, loc *time.Location) map[string]any {
	d := &dealPlan{created: at, outcome: "won"}
	d.steps = []step{{at: at, kind: "win"}}
	data := map[string]any{}
	for _, name := range f.oi.order {
		if f.oi.computed[name] || f.oi.visibleIf[name] != "" {
			continue
		}
		prop := f.oi.props[name]
		if ro, _ := prop["readOnly"].(bool); ro {
			continue
		}
		must := f.oi.required[name] || f.oi.requiredIf[name]
		if v, ok := f.value(name, prop, must, d, at, company, sizeMul, loc); ok {
			data[name] = v
		}
	}
	f.conditional(data, d, at, company, sizeMul, loc)
	if f.oi.titleField != "" && data[f.oi.titleField] == nil {
		data[f.oi.titleField] = company
	}
	f.consistent(data)
	return data
}

// consistent makes the usual retail figures of one record agree: tickets
// of ¥120–350, footfall 2.5–5 times the tickets, member and online sales a
// share of the sales, a few returns.
func (f *filler) consistent(data map[string]any) {
	sales, ok := data["salesAmount"].(int64)
	if !ok {
		return
	}
	r := f.rng
	set := func(k string, v int64) {
		if _, ok := data[k]; ok {
			data[k] = v
		}
	}
	tx := max(1, sales/100/int64(120+r.IntN(230)))
	set("transactions", tx)
	set("traffic", tx*int64(25+r.IntN(25))/10)
	set("memberSales", sales*int64(35+r.IntN(25))/100)
	set("onlineSales", sales*int64(5+r.IntN(15))/100)
	set("returnsAmount", sales*int64(r.IntN(30))/1000)
}

// reversal is the patch that reverses part of a won deal at the given
// time: a cancellation (with its date, when the object has one), else a
// smaller quantity or amount.
func (f *filler) reversal(p *plan, data map[string]any, at time.Time, loc *time.Location) map[string]any {
	if name, v := cancelField(f.oi); name != "" {
		patch := map[string]any{name: v}
		for _, d := range f.oi.order {
			if f.oi.props[d]["format"] == "date" && has(d, "cancel", "refund", "revers") {
				patch[d] = dateOf(at, loc)
			}
		}
		return patch
	}
	for _, name := range f.oi.order {
		if f.oi.computed[name] {
			continue
		}
		if n, ok := data[name].(int64); ok && has(name, "seat", "quantity", "qty") && n > 1 {
			cut := int64(math.Max(1, math.Round(float64(n)*(0.2+0.3*f.rng.Float64()))))
			return map[string]any{name: n - cut}
		}
	}
	for _, name := range f.oi.order {
		if n, ok := data[name].(int64); ok && !f.oi.computed[name] && f.oi.props[name]["format"] == "money" && n > 100 {
			return map[string]any{name: n * int64(50+f.rng.IntN(30)) / 100}
		}
	}
	return nil
}

// value draws a value for one field; ok is false when the field is left
// empty (optional fields the heuristics know nothing about).
func (f *filler) value(name string, prop map[string]any, must bool, d *dealPlan, closeAt time.Time, company string, sizeMul float64, loc *time.Location) (any, bool) {
	r := f.rng
	typ, _ := prop["type"].(string)
	format, _ := prop["format"].(string)
	lo, hasLo := prop["minimum"]
	hi, hasHi := prop["maximum"]
	inRange := func(x float64) float64 {
		if hasLo {
			x = math.Max(x, num(lo))
		}
		if hasHi {
			x = math.Min(x, num(hi))
		}
		return x
	}
	if enum, ok := prop["enum"].([]any); ok && len(enum) > 0 {
		if def, ok := prop["default"]; ok && r.Float64() < 0.7 {
			return def, true
		}
		return enum[r.IntN(len(enum))], true
	}
	switch typ {
	case "boolean":
		return true, true
	case "integer":
		var x float64
		switch {
		case format == "money" && has(name, "price", "单价"):
			x = []float64{600, 900, 1200, 1500, 1800, 2400}[r.IntN(6)] * 100
		case format == "money":
			x = math.Round(80000*sizeMul*math.Exp(0.6*r.NormFloat64())/100) * 100 * 100
		case has(name, "seat", "quantity", "qty", "units", "volume"):
			x = math.Round(40 * sizeMul * math.Exp(0.7*r.NormFloat64()))
			x = math.Max(x, 5)
		case has(name, "month", "term"):
			x = []float64{12, 12, 12, 24, 36}[r.IntN(5)]
		case has(name, "percent", "probability"):
			x = float64(10 * r.IntN(11))
		case hasLo && hasHi:
			x = num(lo) + math.Floor(r.Float64()*(num(hi)-num(lo)+1))
		default:
			if !must {
				return nil, false
			}
			x = float64(1 + r.IntN(100))
		}
		return int64(inRange(x)), true
	case "number":
		var x float64
		switch {
		case has(name, "discount"):
			u := r.Float64()
			switch {
			case u < 0.55:
				x = 15 * r.Float64()
			case u < 0.9:
				x = 15 + 15*r.Float64()
			default:
				x = 30.5 + 9.5*r.Float64()
			}
			x = math.Round(x*2) / 2
		case hasLo && hasHi:
			x = math.Round((num(lo)+r.Float64()*(num(hi)-num(lo)))*100) / 100
		default:
			if !must {
				return nil, false
			}
			x = math.Round(r.Float64()*10000) / 100
		}
		return inRange(x), true
	case "string":
		switch format {
		case "date":
			if has(name, "close") {
				return dateOf(closeAt, loc), true
			}
			if st, ok := f.reqBy[name]; ok {
				if t, ok := f.stageAt[st]; ok {
					if has(name, "valid", "until", "expir") {
						t = t.Add(time.Duration(120+r.IntN(60)) * 24 * time.Hour)
					}
					return dateOf(t, loc), true
				}
			}
			if has(name, "valid", "until", "expir") {
				return dateOf(closeAt.Add(time.Duration(120+r.IntN(60))*24*time.Hour), loc), true
			}
			if f.oi.dateFields[name] || has(name, "close") {
				return dateOf(closeAt, loc), true
			}
			span := closeAt.Sub(d.created)
			if span < 0 {
				span = 0
			}
			return dateOf(d.created.Add(time.Duration(r.Float64()*float64(span))), loc), true
		case "date-time":
			return period.FormatInstant(closeAt), true
		case "uri":
			if !must {
				return nil, false
			}
			return "https://example.com", true
		case "email":
			if !must {
				return nil, false
			}
			return "demo@example.com", true
		}
		if strings.HasSuffix(name, "No") {
			// A document number (payment, invoice, contract, approval):
			// letters and digits, which the usual patterns accept.
			return fmt.Sprintf("%s%s%04d", strings.ToUpper(name[:min(2, len(name))]), closeAt.In(loc).Format("20060102"), r.IntN(10000)), true
		}
		if _, ok := prop["pattern"]; ok {
			if has(name, "code") && f.code != "" {
				return f.code, true // a store's code: ^[A-Z0-9-]…
			}
			return nil, false // nothing generic satisfies an arbitrary pattern
		}
		var s string
		switch {
		case has(name, "customer", "account", "company", "hospital", "dealer", "client", "store"):
			s = company
		case has(name, "contact", "decision", "maker", "person"):
			_, who := f.names.person()
			s = who + []string{"(CIO)", "(销售VP)", "(采购总监)", "(IT负责人)", "(CEO)"}[r.IntN(5)]
		case has(name, "competitor"):
			if !must && r.Float64() < 0.5 {
				return nil, false
			}
			s = competitors[r.IntN(len(competitors))]
		case has(name, "city"):
			s = cities[r.IntN(len(cities))]
		case has(name, "note", "remark", "comment", "description", "reason"):
			s = notes[r.IntN(len(notes))]
		default:
			if !must {
				return nil, false
			}
			s = "示例 " + name
		}
		if ml, ok := prop["maxLength"]; ok && len([]rune(s)) > int(num(ml)) {
			s = string([]rune(s)[:int(num(ml))])
		}
		return s, true
	}
	return nil, false
}

// namer draws Chinese names with pinyin usernames, unique within a run.
type namer struct {
	rng  *rand.Rand
	used map[string]int
}

var (
	surnames = [][2]string{{"张", "zhang"}, {"王", "wang"}, {"李", "li"}, {"赵", "zhao"}, {"刘", "liu"}, {"陈", "chen"}, {"杨", "yang"}, {"黄", "huang"},
		{"吴", "wu"}, {"周", "zhou"}, {"徐", "xu"}, {"孙", "sun"}, {"马", "ma"}, {"朱", "zhu"}, {"胡", "hu"}, {"郭", "guo"}, {"何", "he"}, {"林", "lin"}, {"罗", "luo"}, {"高", "gao"}}
	givens = [][2]string{{"伟", "wei"}, {"芳", "fang"}, {"娜", "na"}, {"敏", "min"}, {"静", "jing"}, {"磊", "lei"}, {"洋", "yang"}, {"勇", "yong"}, {"艳", "yan"}, {"杰", "jie"},
		{"娟", "juan"}, {"涛", "tao"}, {"明", "ming"}, {"超", "chao"}, {"秀英", "xiuying"}, {"华", "hua"}, {"平", "ping"}, {"刚", "gang"}, {"晓东", "xiaodong"}, {"鹏", "peng"},
		{"雪", "xue"}, {"浩然", "haoran"}, {"思远", "siyuan"}, {"佳怡", "jiayi"}}
	coPrefix = []string{"华信", "云帆", "博远", "启明", "天成", "鼎新", "智联", "星河", "远航", "恒泰", "海纳", "卓越", "中科", "瑞达", "新锐", "领航", "蓝鲸", "锦程", "万象", "青藤"}
	coSuffix = []string{"科技", "网络", "信息技术", "软件", "数据", "智能", "电子商务", "教育科技", "医疗科技", "金融服务"}
)

func newNamer(rng *rand.Rand) *namer { return &namer{rng: rng, used: map[string]int{}} }

// person draws a name: username (pinyin) and display name.
func (n *namer) person() (string, string) {
	s, g := surnames[n.rng.IntN(len(surnames))], givens[n.rng.IntN(len(givens))]
	return g[1] + "." + s[1], s[0] + g[0]
}

// next draws a person whose username was not used yet in this run.
func (n *namer) next() (string, string) {
	u, d := n.person()
	n.used[u]++
	if k := n.used[u]; k > 1 {
		u = fmt.Sprintf("%s%d", u, k)
		d = fmt.Sprintf("%s%d", d, k)
	}
	return u, d
}

// companies draws k distinct-enough company names.
func (n *namer) companies(k int) []string {
	out := make([]string, k)
	for i := range out {
		out[i] = fmt.Sprintf("%s%s%s有限公司", cities[n.rng.IntN(len(cities))], coPrefix[n.rng.IntN(len(coPrefix))], coSuffix[n.rng.IntN(len(coSuffix))])
	}
	return out
}
