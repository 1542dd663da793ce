package alloc

import (
	"fmt"
	"time"
)

// Part is the slice of one ISO week that lies in one fiscal month: the unit
// weeks are allocated in. A week crossing a month boundary has two parts; the
// first and last weeks of the fiscal year have only their in-year days.
type Part struct {
	Week  string `json:"week"`  // ISO week key, e.g. "2026-W27"
	Month int    `json:"month"` // fiscal month index 0..11
	Start string `json:"start"` // first day, "2006-01-02"
	Days  int    `json:"days"`
}

// yearLayout is the calendar of one fiscal year: month keys, and the week
// parts of every month in time order.
type yearLayout struct {
	monthKeys  [12]string
	monthDays  [12]int64
	parts      []Part
	monthParts [13]int // parts of month m are parts[monthParts[m]:monthParts[m+1]]
	weeks      []string
	weekParts  [][]int
	partWeek   []int // week index of each part
}

func newLayout(fiscalYear int, start time.Month) *yearLayout {
	if start < time.January || start > time.December {
		start = time.January
	}
	l := &yearLayout{}
	first := time.Date(fiscalYear, start, 1, 0, 0, 0, 0, time.UTC)
	for m := 0; m < 12; m++ {
		ms := first.AddDate(0, m, 0)
		me := ms.AddDate(0, 1, 0)
		l.monthKeys[m] = fmt.Sprintf("%04d-%02d", ms.Year(), int(ms.Month()))
		l.monthParts[m] = len(l.parts)
		for d := ms; d.Before(me); d = d.AddDate(0, 0, 1) {
			wy, w := d.ISOWeek()
			key := fmt.Sprintf("%04d-W%02d", wy, w)
			if n := len(l.parts); n > 0 && l.parts[n-1].Week == key && l.parts[n-1].Month == m {
				l.parts[n-1].Days++
				continue
			}
			l.parts = append(l.parts, Part{Week: key, Month: m, Start: d.Format("2006-01-02"), Days: 1})
		}
		l.monthDays[m] = int64(me.Sub(ms).Hours()/24 + 0.5)
	}
	l.monthParts[12] = len(l.parts)
	for p, part := range l.parts {
		if n := len(l.weeks); n == 0 || l.weeks[n-1] != part.Week {
			l.weeks = append(l.weeks, part.Week)
			l.weekParts = append(l.weekParts, nil)
		}
		l.weekParts[len(l.weekParts)-1] = append(l.weekParts[len(l.weekParts)-1], p)
		l.partWeek = append(l.partWeek, len(l.weeks)-1)
	}
	return l
}

// layoutOf rebuilds the layout from a result's stored parts (for queries
// and checks on a result read back from storage).
func layoutOf(r *Result) *yearLayout {
	l := &yearLayout{monthKeys: r.Months, parts: r.Parts}
	m := 0
	for p, part := range r.Parts {
		for m <= part.Month && m < 12 {
			l.monthParts[m] = p
			m++
		}
		if n := len(l.weeks); n == 0 || l.weeks[n-1] != part.Week {
			l.weeks = append(l.weeks, part.Week)
			l.weekParts = append(l.weekParts, nil)
		}
		l.weekParts[len(l.weekParts)-1] = append(l.weekParts[len(l.weekParts)-1], p)
		l.partWeek = append(l.partWeek, len(l.weeks)-1)
		l.monthDays[part.Month] += int64(part.Days)
	}
	for ; m <= 12; m++ {
		l.monthParts[m] = len(r.Parts)
	}
	return l
}
