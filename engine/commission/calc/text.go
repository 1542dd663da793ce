package calc

import (
	"strconv"
	"strings"

	"stride/engine/rules"
)

// Text says a line in plain words, lang "zh-CN" (the default) or "en",
// amounts in yuan (¥). Rules are named by key; Plan.Text uses their names
// and the plan's currency.
func Text(l Line, lang string) string {
	return say(l, lang, "¥", func(k string) string { return k })
}

// Text says a line in plain words with the plan's rule names and currency.
func (p *Plan) Text(l Line, lang string) string {
	return say(l, lang, currencySymbol(p.Currency), func(k string) string { return p.Label(k, lang) })
}

func currencySymbol(code string) string {
	switch code {
	case "", "CNY", "JPY":
		return "¥"
	case "USD":
		return "$"
	case "EUR":
		return "€"
	case "GBP":
		return "£"
	case "HKD":
		return "HK$"
	}
	return code + " "
}

// sayer builds one line's text in one language.
type sayer struct {
	zh  bool
	sym string
	b   strings.Builder
}

func (s *sayer) w(zh, en string) {
	if s.zh {
		s.b.WriteString(zh)
	} else {
		s.b.WriteString(en)
	}
}

func (s *sayer) money(v int64) string { return Money(v, s.sym) }

func say(l Line, lang, sym string, label func(string) string) string {
	s := &sayer{zh: lang != "en", sym: sym}
	e := l.Explain
	if l.Record != "" {
		s.w(l.Record+"：", l.Record+": ")
	}
	switch l.Kind {
	case KindRate:
		s.base(l)
		switch {
		case l.Band != nil && e.CumBefore == nil:
			s.tier(l)
		case l.Band != nil && e.CumBefore != nil:
			s.marginal(l)
		case e.Formula != "" && l.Rate != nil && !isNumber(e.Formula):
			s.w("，费率 "+pct(*l.Rate)+"（公式："+e.Formula+"）", ", at "+pct(*l.Rate)+" (formula: "+e.Formula+")")
		case l.Rate != nil:
			s.w("，费率 "+pct(*l.Rate), ", at "+pct(*l.Rate))
		}
		s.w(" → "+s.money(l.Amount), " → "+s.money(l.Amount))
	case KindCapLine:
		s.w("单笔封顶 "+s.money(ptr(e.Cap))+"，费率提成合计 "+s.money(ptr(e.Earned))+"，扣减 "+s.money(-l.Amount)+" → "+s.money(l.Amount),
			"per-line cap "+s.money(ptr(e.Cap))+" on "+s.money(ptr(e.Earned))+" earned from rates, less "+s.money(-l.Amount)+" → "+s.money(l.Amount))
	case KindCapPeriod:
		s.w("本期封顶 "+s.money(ptr(e.Cap))+"，本期应得 "+s.money(ptr(e.Earned))+"，扣减 "+s.money(-l.Amount)+" → "+s.money(l.Amount),
			"Period cap "+s.money(ptr(e.Cap))+" on "+s.money(ptr(e.Earned))+" earned, less "+s.money(-l.Amount)+" → "+s.money(l.Amount))
	case KindSPIF:
		s.w("专项奖励「"+label(l.Rule)+"」（条件："+e.Formula+"） → "+s.money(l.Amount),
			"SPIF “"+label(l.Rule)+"” (when "+e.Formula+") → "+s.money(l.Amount))
	case KindQuotaBonus:
		s.w("达成奖「"+label(l.Rule)+"」：达成率由 "+pctp(e.Before)+" 升至 "+pctp(e.Attainment)+"，越过 "+pctp(e.Threshold)+" → "+s.money(l.Amount),
			"Quota bonus “"+label(l.Rule)+"”: attainment rose from "+pctp(e.Before)+" to "+pctp(e.Attainment)+", crossing "+pctp(e.Threshold)+" → "+s.money(l.Amount))
	case KindTeamBonus:
		s.w("团队奖「"+label(l.Rule)+"」（团队 "+e.Team+"）：团队达成率由 "+pctp(e.Before)+" 升至 "+pctp(e.Attainment)+"，越过 "+pctp(e.Threshold),
			"Team bonus “"+label(l.Rule)+"” (team "+e.Team+"): the team's attainment rose from "+pctp(e.Before)+" to "+pctp(e.Attainment)+", crossing "+pctp(e.Threshold))
		if l.Rate != nil {
			s.w("，按本期计提基数 "+s.money(l.Base)+" × "+pct(*l.Rate), ", at "+pct(*l.Rate)+" of the period's credited base "+s.money(l.Base))
		}
		s.w(" → "+s.money(l.Amount), " → "+s.money(l.Amount))
	case KindClawback:
		days, daysEn := "", ""
		if e.Days != nil {
			days = strconv.Itoa(*e.Days)
			daysEn = days + " days"
			if *e.Days == 1 || *e.Days == -1 {
				daysEn = days + " day"
			}
		}
		s.w(e.ReversedAt+" 冲销，距计提日 "+l.CreditDate+" "+days+" 天，在追回期内，追回已发提成 "+s.money(ptr(e.Paid))+" → "+s.money(l.Amount),
			"reversed on "+e.ReversedAt+", "+daysEn+" after its credit date "+l.CreditDate+", within the clawback window: the "+s.money(ptr(e.Paid))+" paid on it is taken back → "+s.money(l.Amount))
	case KindAdjustment:
		s.w("调整「"+label(l.Rule)+"」："+e.Note+" → "+s.money(l.Amount), "Adjustment “"+label(l.Rule)+"”: "+e.Note+" → "+s.money(l.Amount))
	default:
		s.w(label(l.Rule)+" → "+s.money(l.Amount), label(l.Rule)+" → "+s.money(l.Amount))
	}
	return s.b.String()
}

// base says the credited base: the record's base and the rep's share of it.
func (s *sayer) base(l Line) {
	e := l.Explain
	whole := l.Base
	if e.CumBefore != nil && e.RecordBase != 0 && e.SharePct == 100 {
		whole = e.RecordBase // a marginal slice of an unsplit line
	}
	switch {
	case e.SharePct != 0 && e.SharePct != 100:
		share := l.Base
		if e.CumBefore != nil {
			share = -1 // the slice is said below; the share is not in the line
		}
		if share >= 0 {
			s.w("计提基数 "+s.money(e.RecordBase)+" × "+num(e.SharePct)+"% 分成 = "+s.money(share),
				"base "+s.money(e.RecordBase)+" × "+num(e.SharePct)+"% share = "+s.money(share))
		} else {
			s.w("计提基数 "+s.money(e.RecordBase)+" 的 "+num(e.SharePct)+"% 分成",
				"a "+num(e.SharePct)+"% share of base "+s.money(e.RecordBase))
		}
	default:
		s.w("计提基数 "+s.money(whole), "base "+s.money(whole))
	}
}

// tier says the tier a line was paid in.
func (s *sayer) tier(l Line) {
	b, e := l.Band, l.Explain
	n := strconv.Itoa(b.Index + 1)
	if e.Value != nil {
		// chosen by an `on` formula: plain numbers
		rng := num(b.Threshold) + "–" + optNum(b.Until)
		if b.Until == nil {
			rng = "≥ " + num(b.Threshold)
		}
		if b.Index < 0 {
			s.w("，取值 "+num(*e.Value)+" 未达到第 1 档（< "+optNum(b.Until)+"），不计提成",
				", value "+num(*e.Value)+" is below tier 1 (< "+optNum(b.Until)+"): no commission")
			return
		}
		s.w("，取值 "+num(*e.Value)+" 位于第 "+n+" 档（"+rng+"，费率 "+pct(*l.Rate)+"）",
			", value "+num(*e.Value)+" is in tier "+n+" ("+rng+", rate "+pct(*l.Rate)+")")
		return
	}
	if b.Index < 0 {
		s.w("，本期达成 "+pctp(e.Attainment)+"，未达到第 1 档（达成 < "+pctp(b.Until)+"），不计提成",
			", attainment "+pctp(e.Attainment)+" is below tier 1 (< "+pctp(b.Until)+"): no commission")
		return
	}
	s.w("，位于第 "+n+" 档（达成 "+pctRange(b.Threshold, b.Until)+"，本期达成 "+pctp(e.Attainment)+"，费率 "+pct(*l.Rate)+"）",
		", in tier "+n+" (attainment "+pctRange(b.Threshold, b.Until)+", reached "+pctp(e.Attainment)+", rate "+pct(*l.Rate)+")")
}

// marginal says the band a marginal slice was paid in.
func (s *sayer) marginal(l Line) {
	b, e := l.Band, l.Explain
	n := strconv.Itoa(b.Index + 1)
	onQuota := e.Quota != nil
	span := s.money(b.From) + "–"
	if b.To != nil {
		span += s.money(*b.To)
	} else {
		span = "≥ " + s.money(b.From)
	}
	cum := s.money(*e.CumBefore)
	if b.Index < 0 {
		lim := "< " + s.money(ptr(b.To))
		if onQuota {
			lim = "达成 < " + pctp(b.Until) + "，即 " + lim
		}
		limEn := "< " + s.money(ptr(b.To))
		if onQuota {
			limEn = "attainment < " + pctp(b.Until) + ", " + limEn
		}
		s.w("，其中 "+s.money(l.Base)+" 低于第 1 档（"+lim+"；累计自 "+cum+" 起），不计提成",
			"; "+s.money(l.Base)+" of it is below band 1 ("+limEn+"; cumulative from "+cum+"): no commission")
		return
	}
	rz, re := span, span
	if onQuota {
		rz = "达成 " + pctRange(b.Threshold, b.Until) + "，即 " + span
		re = "attainment " + pctRange(b.Threshold, b.Until) + ", " + span
	}
	s.w("，其中 "+s.money(l.Base)+" 落在第 "+n+" 档（"+rz+"；累计自 "+cum+" 起，费率 "+pct(*l.Rate)+"）",
		"; "+s.money(l.Base)+" of it falls in band "+n+" ("+re+"; cumulative from "+cum+", rate "+pct(*l.Rate)+")")
}

func ptr[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil
}

// Money formats minor units with a currency symbol and thousands
// separators: Money(1234567, "¥") = "¥12,345.67", negatives as "-¥…".
func Money(v int64, sym string) string {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	whole := strconv.FormatUint(u/100, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.WriteString(sym)
	for i, ch := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	cents := u % 100
	b.WriteByte('.')
	b.WriteByte(byte('0' + cents/10))
	b.WriteByte(byte('0' + cents%10))
	return b.String()
}

// pct formats a rate or attainment fraction as a percentage with up to two
// decimals: 0.055 → "5.5%", 1.123456 → "112.35%".
func pct(x float64) string {
	return num(rules.RoundHalfEven(x*100, 2)) + "%"
}

func pctp(x *float64) string {
	if x == nil {
		return "?"
	}
	return pct(*x)
}

func pctRange(from float64, until *float64) string {
	if until == nil {
		return "≥ " + pct(from)
	}
	return pct(from) + "–" + pct(*until)
}

func num(x float64) string {
	return strconv.FormatFloat(rules.RoundHalfEven(x, 4), 'f', -1, 64)
}

func optNum(x *float64) string {
	if x == nil {
		return "?"
	}
	return num(*x)
}
