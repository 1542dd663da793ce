// Package period is Stride's calendar: period grains, period keys, fiscal
// years, elapsed fractions and the canonical text forms of instants and dates.
//
// # Keys
//
// Every period has a canonical key, which Calendar.Parse reads and
// Calendar.Of writes:
//
//	2026        fiscal year 2026
//	2026-Q3     third quarter of fiscal year 2026
//	2026-11     November 2026 (calendar month)
//	2026-W47    ISO 8601 week 47 of ISO week-year 2026 (weeks start on Monday)
//	2026-11-23  one calendar day
//
// Years are written with exactly four digits (0001–9999).
//
// # Fiscal years
//
// A Calendar's fiscal year starts on the first day of FiscalStartMonth and is
// named after the calendar year in which it starts ("starting-year" naming).
// With an April start, fiscal year 2026 runs from 2026-04-01 up to 2027-04-01
// and its Q1 is April–June 2026, Q4 January–March 2027. With the default
// January start, fiscal years and quarters are calendar years and quarters.
// Months, weeks and days never depend on the fiscal start.
//
// # Time zones
//
// Periods are computed in the calendar's Location (the tenant's time zone, UTC
// when nil): a period's Start and End are local midnights there, and End is
// exclusive. Instants are stored as UTC text (FormatInstant); plain dates as
// "2006-01-02" (FormatDate).
package period

import (
	"errors"
	"fmt"
	"time"
)

// Grain is the length of a period.
type Grain string

// The grains, from the shortest.
const (
	Day     Grain = "day"
	Week    Grain = "week" // ISO 8601 week, Monday to Sunday
	Month   Grain = "month"
	Quarter Grain = "quarter" // fiscal quarter
	Year    Grain = "year"    // fiscal year
)

// Grains lists every grain from the shortest to the longest.
var Grains = []Grain{Day, Week, Month, Quarter, Year}

// ErrInvalidKey is wrapped by every error Parse returns for a malformed key.
var ErrInvalidKey = errors.New("invalid period key")

// ParseGrain returns the grain named s ("day", "week", "month", "quarter" or
// "year").
func ParseGrain(s string) (Grain, error) {
	g := Grain(s)
	if !g.Valid() {
		return "", fmt.Errorf("unknown period grain %q (want day, week, month, quarter or year)", s)
	}
	return g, nil
}

// Valid reports whether g is one of the defined grains.
func (g Grain) Valid() bool {
	switch g {
	case Day, Week, Month, Quarter, Year:
		return true
	}
	return false
}

// Calendar computes periods in one time zone with one fiscal-year start.
// The zero Calendar is the calendar year in UTC.
type Calendar struct {
	// Location is the time zone periods are computed in; nil means UTC.
	Location *time.Location
	// FiscalStartMonth is the month the fiscal year starts in; zero means
	// January. Of treats a value outside 1–12 as January; use Validate to
	// reject it when the calendar comes from configuration.
	FiscalStartMonth time.Month
}

// Validate reports whether the calendar's fiscal start month is in range.
func (c Calendar) Validate() error {
	if c.FiscalStartMonth < 0 || c.FiscalStartMonth > time.December {
		return fmt.Errorf("fiscal start month %d is not between 1 and 12", int(c.FiscalStartMonth))
	}
	return nil
}

func (c Calendar) loc() *time.Location {
	if c.Location == nil {
		return time.UTC
	}
	return c.Location
}

func (c Calendar) startMonth() time.Month {
	if c.FiscalStartMonth < time.January || c.FiscalStartMonth > time.December {
		return time.January
	}
	return c.FiscalStartMonth
}

// Period is one day, week, month, fiscal quarter or fiscal year: the instants
// from Start (inclusive) to End (exclusive), both in the calendar's zone.
type Period struct {
	Grain Grain
	Key   string
	Start time.Time
	End   time.Time
}

// Contains reports whether t falls within the period.
func (p Period) Contains(t time.Time) bool {
	return !t.Before(p.Start) && t.Before(p.End)
}

// Elapsed returns the fraction of p that has passed at now: 0 before it
// starts, 1 once it has ended, and in between the share of its real duration
// (so a day with a daylight-saving jump counts its true 23 or 25 hours).
func Elapsed(p Period, now time.Time) float64 {
	if !now.After(p.Start) {
		return 0
	}
	if !now.Before(p.End) {
		return 1
	}
	return float64(now.Sub(p.Start)) / float64(p.End.Sub(p.Start))
}

// Of returns the period of grain g that contains t. An unknown grain is
// treated as Day.
func (c Calendar) Of(t time.Time, g Grain) Period {
	loc := c.loc()
	t = t.In(loc)
	y, m, d := t.Date()
	switch g {
	case Year:
		fy := fiscalYear(y, m, c.startMonth())
		return c.year(fy)
	case Quarter:
		s := c.startMonth()
		fy := fiscalYear(y, m, s)
		q := (int(m)-int(s)+12)%12/3 + 1
		return c.quarter(fy, q)
	case Month:
		return c.month(y, m)
	case Week:
		wy, w := t.ISOWeek()
		return c.week(wy, w)
	default:
		return c.day(y, m, d)
	}
}

// fiscalYear names the fiscal year containing calendar month m of year y.
func fiscalYear(y int, m, start time.Month) int {
	if m < start {
		return y - 1
	}
	return y
}

func (c Calendar) year(fy int) Period {
	start := time.Date(fy, c.startMonth(), 1, 0, 0, 0, 0, c.loc())
	return Period{Grain: Year, Key: fmt.Sprintf("%04d", fy), Start: start, End: start.AddDate(1, 0, 0)}
}

func (c Calendar) quarter(fy, q int) Period {
	start := time.Date(fy, c.startMonth()+time.Month(3*(q-1)), 1, 0, 0, 0, 0, c.loc())
	return Period{Grain: Quarter, Key: fmt.Sprintf("%04d-Q%d", fy, q), Start: start, End: start.AddDate(0, 3, 0)}
}

func (c Calendar) month(y int, m time.Month) Period {
	start := time.Date(y, m, 1, 0, 0, 0, 0, c.loc())
	return Period{Grain: Month, Key: fmt.Sprintf("%04d-%02d", y, int(m)), Start: start, End: start.AddDate(0, 1, 0)}
}

func (c Calendar) week(wy, w int) Period {
	start := isoWeekStart(wy, w, c.loc())
	return Period{Grain: Week, Key: fmt.Sprintf("%04d-W%02d", wy, w), Start: start, End: start.AddDate(0, 0, 7)}
}

func (c Calendar) day(y int, m time.Month, d int) Period {
	start := time.Date(y, m, d, 0, 0, 0, 0, c.loc())
	return Period{Grain: Day, Key: fmt.Sprintf("%04d-%02d-%02d", y, int(m), d), Start: start, End: start.AddDate(0, 0, 1)}
}

// isoWeekStart returns the Monday that starts ISO week w of week-year wy:
// week 1 is the week containing January 4th.
func isoWeekStart(wy, w int, loc *time.Location) time.Time {
	jan4 := time.Date(wy, time.January, 4, 0, 0, 0, 0, loc)
	offset := (int(jan4.Weekday()) + 6) % 7 // days since Monday
	return time.Date(wy, time.January, 4-offset+7*(w-1), 0, 0, 0, 0, loc)
}

// WeeksInYear returns the number of ISO weeks (52 or 53) of ISO week-year y.
// A year has 53 weeks when it starts on a Thursday, or is a leap year
// starting on a Wednesday (2020, 2026, 2032…).
func WeeksInYear(y int) int {
	_, w := time.Date(y, time.December, 28, 0, 0, 0, 0, time.UTC).ISOWeek()
	return w
}

// Parse reads a canonical period key (see the package documentation) in the
// calendar. Year and quarter keys are fiscal; the result's Key equals the
// input.
func (c Calendar) Parse(key string) (Period, error) {
	p, err := c.parse(key)
	if err != nil {
		return Period{}, fmt.Errorf("%w %q: %s", ErrInvalidKey, key, err)
	}
	return p, nil
}

func (c Calendar) parse(key string) (Period, error) {
	y, ok := digits(key, 0, 4)
	if !ok {
		return Period{}, errors.New("want a four-digit year first")
	}
	if y < 1 {
		return Period{}, errors.New("year 0000 is out of range")
	}
	rest := key[4:]
	switch {
	case rest == "":
		return c.year(y), nil
	case len(rest) == 3 && rest[:2] == "-Q":
		q, ok := digits(rest, 2, 1)
		if !ok || q < 1 || q > 4 {
			return Period{}, errors.New("quarter must be Q1 to Q4")
		}
		return c.quarter(y, q), nil
	case len(rest) == 4 && rest[:2] == "-W":
		w, ok := digits(rest, 2, 2)
		if !ok || w < 1 || w > WeeksInYear(y) {
			return Period{}, fmt.Errorf("week must be W01 to W%02d in %04d", WeeksInYear(y), y)
		}
		return c.week(y, w), nil
	case len(rest) == 3 && rest[0] == '-' && isDigits(rest[1:]):
		m, _ := digits(rest, 1, 2)
		if m < 1 || m > 12 {
			return Period{}, errors.New("month must be 01 to 12")
		}
		return c.month(y, time.Month(m)), nil
	case len(rest) == 6 && rest[0] == '-' && rest[3] == '-' && isDigits(rest[1:3]) && isDigits(rest[4:]):
		m, _ := digits(rest, 1, 2)
		if m < 1 || m > 12 {
			return Period{}, errors.New("month must be 01 to 12")
		}
		d, _ := digits(rest, 4, 2)
		if d < 1 || d > daysIn(y, time.Month(m)) {
			return Period{}, fmt.Errorf("day must be 01 to %02d", daysIn(y, time.Month(m)))
		}
		return c.day(y, time.Month(m), d), nil
	}
	return Period{}, errors.New("want YYYY, YYYY-Qn, YYYY-MM, YYYY-Www or YYYY-MM-DD")
}

// digits parses s[i:i+n] as an unsigned decimal of exactly n ASCII digits.
func digits(s string, i, n int) (int, bool) {
	if len(s) < i+n {
		return 0, false
	}
	v := 0
	for _, ch := range []byte(s[i : i+n]) {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		v = v*10 + int(ch-'0')
	}
	return v, true
}

func isDigits(s string) bool {
	_, ok := digits(s, 0, len(s))
	return ok
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Canonical text layouts of stored times.
const (
	// InstantLayout is how instants are stored: UTC with milliseconds.
	InstantLayout = "2006-01-02T15:04:05.000Z"
	// DateLayout is how plain calendar dates are stored.
	DateLayout = "2006-01-02"
)

// FormatInstant returns t in the canonical stored form: UTC, millisecond
// precision (finer digits are truncated), e.g. "2026-11-23T06:00:00.000Z".
func FormatInstant(t time.Time) string {
	return t.UTC().Format(InstantLayout)
}

// ParseInstant reads an RFC 3339 timestamp with any offset (the canonical
// stored form among them) and returns it in UTC.
func ParseInstant(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid instant %q: want RFC 3339 such as 2026-11-23T06:00:00.000Z", s)
	}
	return t.UTC(), nil
}

// FormatDate returns t's calendar date in t's own location as "2006-01-02".
func FormatDate(t time.Time) string {
	return t.Format(DateLayout)
}

// ParseDate reads a "2006-01-02" date and returns its midnight in UTC, the
// zone-less representation of a calendar date.
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	return t, nil
}

// DaysBetween returns the number of calendar days from a's date to b's date,
// each taken in its own location (negative when b is earlier).
func DaysBetween(a, b time.Time) int {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	// Julian day numbers of the two civil dates; exact for any year.
	return julianDay(by, bm, bd) - julianDay(ay, am, ad)
}

// julianDay returns the Julian day number of a proleptic Gregorian date.
func julianDay(y int, m time.Month, d int) int {
	a := (14 - int(m)) / 12
	yy := y + 4800 - a
	mm := int(m) + 12*a - 3
	return d + (153*mm+2)/5 + 365*yy + floorDiv(yy, 4) - floorDiv(yy, 100) + floorDiv(yy, 400) - 32045
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Previous returns the period of the same grain just before p (the month
// before, the fiscal quarter before, …), for growth over the previous period.
func (p Period) Previous() Period {
	switch p.Grain {
	case Year:
		return p.shifted(-1, 0, 0)
	case Quarter:
		return p.shifted(0, -3, 0)
	case Month:
		return p.shifted(0, -1, 0)
	case Week:
		return p.shifted(0, 0, -7)
	}
	return p.shifted(0, 0, -1)
}

// YearBefore returns the same period a year earlier, for year-over-year
// comparisons: the same month, quarter, fiscal year or day of the previous
// year, and for an ISO week the week 52 weeks earlier (same weekdays).
func (p Period) YearBefore() Period {
	if p.Grain == Week {
		return p.shifted(0, 0, -364)
	}
	return p.shifted(-1, 0, 0)
}

// shifted moves p's bounds by years, months and days (in p's zone) and
// renames it.
func (p Period) shifted(y, m, d int) Period {
	q := Period{Grain: p.Grain, Start: p.Start.AddDate(y, m, d), End: p.End.AddDate(y, m, d)}
	if p.Grain == Day {
		q.End = q.Start.AddDate(0, 0, 1) // 29 February of a leap year → 1 March
	}
	switch p.Grain {
	case Year:
		q.Key = fmt.Sprintf("%04d", atoiPrefix(p.Key)+y)
	case Quarter:
		fy, n := atoiPrefix(p.Key), int(p.Key[len(p.Key)-1]-'0')
		n += y*4 + m/3
		for n < 1 {
			n += 4
			fy--
		}
		q.Key = fmt.Sprintf("%04d-Q%d", fy, n)
	case Month:
		q.Key = q.Start.Format("2006-01")
	case Week:
		wy, w := q.Start.ISOWeek()
		q.Key = fmt.Sprintf("%04d-W%02d", wy, w)
	default:
		q.Key = q.Start.Format(DateLayout)
	}
	return q
}

func atoiPrefix(key string) int {
	n := 0
	for i := 0; i < len(key) && i < 4; i++ {
		n = n*10 + int(key[i]-'0')
	}
	return n
}
