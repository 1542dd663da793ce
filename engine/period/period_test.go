package period

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func date(y int, m time.Month, d int, loc *time.Location) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

func TestParse(t *testing.T) {
	april := Calendar{FiscalStartMonth: time.April}
	cases := []struct {
		cal        Calendar
		key        string
		grain      Grain
		start, end time.Time
	}{
		{Calendar{}, "2026", Year, date(2026, 1, 1, time.UTC), date(2027, 1, 1, time.UTC)},
		{april, "2026", Year, date(2026, 4, 1, time.UTC), date(2027, 4, 1, time.UTC)},
		{Calendar{}, "2026-Q3", Quarter, date(2026, 7, 1, time.UTC), date(2026, 10, 1, time.UTC)},
		{april, "2026-Q1", Quarter, date(2026, 4, 1, time.UTC), date(2026, 7, 1, time.UTC)},
		{april, "2026-Q3", Quarter, date(2026, 10, 1, time.UTC), date(2027, 1, 1, time.UTC)},
		{april, "2026-Q4", Quarter, date(2027, 1, 1, time.UTC), date(2027, 4, 1, time.UTC)},
		{april, "2026-11", Month, date(2026, 11, 1, time.UTC), date(2026, 12, 1, time.UTC)},
		{Calendar{}, "2026-12", Month, date(2026, 12, 1, time.UTC), date(2027, 1, 1, time.UTC)},
		{Calendar{}, "2026-W47", Week, date(2026, 11, 16, time.UTC), date(2026, 11, 23, time.UTC)},
		{Calendar{}, "2026-W01", Week, date(2025, 12, 29, time.UTC), date(2026, 1, 5, time.UTC)},
		// 2026 starts on a Thursday: it has 53 ISO weeks, the last reaching into 2027.
		{Calendar{}, "2026-W53", Week, date(2026, 12, 28, time.UTC), date(2027, 1, 4, time.UTC)},
		{Calendar{}, "2020-W53", Week, date(2020, 12, 28, time.UTC), date(2021, 1, 4, time.UTC)},
		{Calendar{}, "2026-11-23", Day, date(2026, 11, 23, time.UTC), date(2026, 11, 24, time.UTC)},
		{Calendar{}, "2028-02-29", Day, date(2028, 2, 29, time.UTC), date(2028, 3, 1, time.UTC)},
		{Calendar{Location: shanghai}, "2026-11-23", Day, date(2026, 11, 23, shanghai), date(2026, 11, 24, shanghai)},
		{Calendar{Location: shanghai, FiscalStartMonth: time.April}, "2026", Year, date(2026, 4, 1, shanghai), date(2027, 4, 1, shanghai)},
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			p, err := c.cal.Parse(c.key)
			if err != nil {
				t.Fatal(err)
			}
			if p.Grain != c.grain || p.Key != c.key || !p.Start.Equal(c.start) || !p.End.Equal(c.end) {
				t.Fatalf("got %s %s [%s, %s), want %s [%s, %s)", p.Grain, p.Key, p.Start, p.End, c.grain, c.start, c.end)
			}
			if p.Start.Location() != c.cal.loc() {
				t.Fatalf("start in %s, want %s", p.Start.Location(), c.cal.loc())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"":            "want a four-digit year first",
		"26":          "want a four-digit year first",
		"0000":        "year 0000 is out of range",
		"2026-Q0":     "quarter must be Q1 to Q4",
		"2026-Q5":     "quarter must be Q1 to Q4",
		"2026-13":     "month must be 01 to 12",
		"2026-00":     "month must be 01 to 12",
		"2026-W00":    "week must be W01 to W53 in 2026",
		"2026-W54":    "week must be W01 to W53 in 2026",
		"2027-W53":    "week must be W01 to W52 in 2027",
		"2026-02-29":  "day must be 01 to 28",
		"2026-04-31":  "day must be 01 to 30",
		"2026-1":      "want YYYY, YYYY-Qn, YYYY-MM, YYYY-Www or YYYY-MM-DD",
		"2026-W1":     "want YYYY, YYYY-Qn, YYYY-MM, YYYY-Www or YYYY-MM-DD",
		"2026-q3":     "want YYYY, YYYY-Qn, YYYY-MM, YYYY-Www or YYYY-MM-DD",
		"2026-11-23 ": "want YYYY, YYYY-Qn, YYYY-MM, YYYY-Www or YYYY-MM-DD",
		"+026":        "want a four-digit year first",
		"2026-1a":     "want YYYY, YYYY-Qn, YYYY-MM, YYYY-Www or YYYY-MM-DD",
		"2026-11-2x":  "want YYYY, YYYY-Qn, YYYY-MM, YYYY-Www or YYYY-MM-DD",
	}
	for key, want := range cases {
		_, err := Calendar{}.Parse(key)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", key)
			continue
		}
		if !errors.Is(err, ErrInvalidKey) || !strings.HasSuffix(err.Error(), ": "+want) {
			t.Errorf("Parse(%q) = %v, want …: %s", key, err, want)
		}
	}
}

func TestOf(t *testing.T) {
	april := Calendar{Location: shanghai, FiscalStartMonth: time.April}
	// 2026-03-31T16:00Z is 2026-04-01 00:00 in Shanghai: the first instant of FY2026.
	fyStart := time.Date(2026, 3, 31, 16, 0, 0, 0, time.UTC)
	justBefore := fyStart.Add(-time.Nanosecond)
	cases := []struct {
		cal   Calendar
		t     time.Time
		grain Grain
		key   string
	}{
		{april, fyStart, Year, "2026"},
		{april, justBefore, Year, "2025"},
		{april, fyStart, Quarter, "2026-Q1"},
		{april, justBefore, Quarter, "2025-Q4"},
		{april, fyStart, Month, "2026-04"},
		{april, justBefore, Month, "2026-03"},
		{april, fyStart, Day, "2026-04-01"},
		{april, justBefore, Day, "2026-03-31"},
		{Calendar{}, fyStart, Day, "2026-03-31"},
		{april, time.Date(2027, 2, 10, 0, 0, 0, 0, shanghai), Quarter, "2026-Q4"},
		{april, time.Date(2027, 2, 10, 0, 0, 0, 0, shanghai), Year, "2026"},
		// Midnight in Shanghai is 16:00 UTC the day before.
		{Calendar{Location: shanghai}, time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC), Day, "2026-11-23"},
		{Calendar{Location: shanghai}, time.Date(2026, 11, 22, 15, 59, 59, 999e6, time.UTC), Day, "2026-11-22"},
		// ISO weeks across year ends.
		{Calendar{}, date(2026, 1, 1, time.UTC), Week, "2026-W01"},
		{Calendar{}, date(2025, 12, 29, time.UTC), Week, "2026-W01"},
		{Calendar{}, date(2027, 1, 3, time.UTC), Week, "2026-W53"},
		{Calendar{}, date(2027, 1, 4, time.UTC), Week, "2027-W01"},
		{Calendar{}, date(2021, 1, 3, time.UTC), Week, "2020-W53"},
		{Calendar{}, date(2024, 12, 30, time.UTC), Week, "2025-W01"},
		{Calendar{}, date(2026, 11, 23, time.UTC), Week, "2026-W48"},
		{Calendar{}, date(2026, 11, 22, time.UTC), Week, "2026-W47"},
		// Out-of-range fiscal start means January.
		{Calendar{FiscalStartMonth: 13}, date(2026, 2, 1, time.UTC), Year, "2026"},
	}
	for _, c := range cases {
		p := c.cal.Of(c.t, c.grain)
		if p.Key != c.key || p.Grain != c.grain {
			t.Errorf("Of(%s, %s) = %s %s, want %s", c.t, c.grain, p.Grain, p.Key, c.key)
			continue
		}
		if !p.Contains(c.t) {
			t.Errorf("Of(%s, %s) = [%s, %s) does not contain it", c.t, c.grain, p.Start, p.End)
		}
		back, err := c.cal.Parse(p.Key)
		if err != nil || back != p {
			t.Errorf("Parse(%s) = %v, %v; want %v", p.Key, back, err, p)
		}
	}
}

func TestWeeksInYear(t *testing.T) {
	long := map[int]bool{2004: true, 2009: true, 2015: true, 2020: true, 2026: true, 2032: true}
	for y := 2000; y <= 2035; y++ {
		want := 52
		if long[y] {
			want = 53
		}
		if got := WeeksInYear(y); got != want {
			t.Errorf("WeeksInYear(%d) = %d, want %d", y, got, want)
		}
	}
}

func TestElapsed(t *testing.T) {
	p, err := Calendar{Location: shanghai}.Parse("2026-11")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		now  time.Time
		want float64
	}{
		{p.Start.Add(-time.Hour), 0},
		{p.Start, 0},
		{date(2026, 11, 16, shanghai), 0.5},
		{p.End.Add(-time.Nanosecond), 1 - 1/float64(p.End.Sub(p.Start))},
		{p.End, 1},
		{p.End.AddDate(1, 0, 0), 1},
	}
	for _, c := range cases {
		if got := Elapsed(p, c.now); got != c.want {
			t.Errorf("Elapsed(%s) = %v, want %v", c.now, got, c.want)
		}
	}
	// A daylight-saving day is measured in real hours.
	ny := mustZone("America/New_York")
	d, _ := Calendar{Location: ny}.Parse("2026-03-08") // 23 hours long
	if got := Elapsed(d, d.Start.Add(23*time.Hour/2)); got != 0.5 {
		t.Errorf("DST day half elapsed = %v", got)
	}
	if got := d.End.Sub(d.Start); got != 23*time.Hour {
		t.Errorf("DST day lasts %v", got)
	}
}

func TestParseGrain(t *testing.T) {
	for _, g := range Grains {
		if got, err := ParseGrain(string(g)); err != nil || got != g {
			t.Errorf("ParseGrain(%s) = %v, %v", g, got, err)
		}
	}
	if _, err := ParseGrain("fortnight"); err == nil || err.Error() != `unknown period grain "fortnight" (want day, week, month, quarter or year)` {
		t.Errorf("ParseGrain(fortnight) = %v", err)
	}
}

func TestCalendarValidate(t *testing.T) {
	if err := (Calendar{}).Validate(); err != nil {
		t.Error(err)
	}
	if err := (Calendar{FiscalStartMonth: 13}).Validate(); err == nil || err.Error() != "fiscal start month 13 is not between 1 and 12" {
		t.Errorf("Validate = %v", err)
	}
}

func TestInstants(t *testing.T) {
	in := time.Date(2026, 11, 23, 14, 0, 0, 123456789, shanghai)
	s := FormatInstant(in)
	if s != "2026-11-23T06:00:00.123Z" {
		t.Fatalf("FormatInstant = %s", s)
	}
	back, err := ParseInstant(s)
	if err != nil || !back.Equal(in.Truncate(time.Millisecond)) || back.Location() != time.UTC {
		t.Fatalf("ParseInstant = %v, %v", back, err)
	}
	if got, err := ParseInstant("2026-11-23T14:00:00+08:00"); err != nil || FormatInstant(got) != "2026-11-23T06:00:00.000Z" {
		t.Fatalf("offset instant = %v, %v", got, err)
	}
	for _, bad := range []string{"", "2026-11-23", "2026-11-23T06:00:00", "yesterday"} {
		if _, err := ParseInstant(bad); err == nil {
			t.Errorf("ParseInstant(%q) succeeded", bad)
		}
	}
}

func TestDates(t *testing.T) {
	d, err := ParseDate("2026-11-23")
	if err != nil || !d.Equal(date(2026, 11, 23, time.UTC)) {
		t.Fatalf("ParseDate = %v, %v", d, err)
	}
	if s := FormatDate(time.Date(2026, 11, 23, 23, 30, 0, 0, shanghai)); s != "2026-11-23" {
		t.Fatalf("FormatDate = %s", s)
	}
	for _, bad := range []string{"2026-11-31", "2026/11/23", "20261123", ""} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) succeeded", bad)
		}
	}
}

func TestDaysBetween(t *testing.T) {
	cases := []struct {
		a, b time.Time
		want int
	}{
		{date(2026, 11, 23, time.UTC), date(2026, 11, 23, time.UTC), 0},
		{date(2026, 11, 23, time.UTC), date(2026, 11, 24, time.UTC), 1},
		{date(2026, 11, 24, time.UTC), date(2026, 11, 23, time.UTC), -1},
		{date(2026, 1, 1, time.UTC), date(2027, 1, 1, time.UTC), 365},
		{date(2028, 1, 1, time.UTC), date(2029, 1, 1, time.UTC), 366},
		{date(1, 1, 1, time.UTC), date(9999, 12, 31, time.UTC), 3652058},
		// Calendar days, not 24-hour spans: 23:59 to 00:01 is one day.
		{time.Date(2026, 11, 23, 23, 59, 0, 0, time.UTC), time.Date(2026, 11, 24, 0, 1, 0, 0, time.UTC), 1},
		// Each time is read in its own zone.
		{time.Date(2026, 11, 23, 23, 0, 0, 0, shanghai), time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC), 0},
		// Across a DST change the answer stays whole.
		{date(2026, 3, 7, mustZone("America/New_York")), date(2026, 3, 9, mustZone("America/New_York")), 2},
	}
	for _, c := range cases {
		if got := DaysBetween(c.a, c.b); got != c.want {
			t.Errorf("DaysBetween(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"2026", "2026-Q3", "2026-11", "2026-W47", "2026-W53", "2026-11-23", "2026-Q5", "9999-12-31", "0001-W01", "2026-02-29"} {
		f.Add(s, 1)
	}
	f.Fuzz(func(t *testing.T, key string, start int) {
		cal := Calendar{Location: shanghai, FiscalStartMonth: time.Month(start%12 + 1)}
		if start < 0 {
			cal.FiscalStartMonth = time.Month(-start%12 + 1)
		}
		p, err := cal.Parse(key)
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("error %v does not wrap ErrInvalidKey", err)
			}
			return
		}
		if p.Key != key {
			t.Fatalf("Parse(%q).Key = %q", key, p.Key)
		}
		if !p.Start.Before(p.End) {
			t.Fatalf("empty period %v", p)
		}
		if got := cal.Of(p.Start, p.Grain); got != p {
			t.Fatalf("Of(Start) = %v, want %v", got, p)
		}
		if got := cal.Of(p.End.Add(-time.Nanosecond), p.Grain); got != p {
			t.Fatalf("Of(End-1ns) = %v, want %v", got, p)
		}
	})
}

// TestPreviousAndYearBefore: growth and year-over-year periods keep the
// grain, cross year ends and fiscal years, and keep keys consistent with
// Parse.
func TestPreviousAndYearBefore(t *testing.T) {
	april := Calendar{FiscalStartMonth: time.April, Location: shanghai}
	cal := Calendar{Location: shanghai}
	cases := []struct {
		cal            Calendar
		key            string
		prev, lastYear string
	}{
		{cal, "2026-01", "2025-12", "2025-01"},
		{cal, "2026-Q1", "2025-Q4", "2025-Q1"},
		{april, "2026-Q1", "2025-Q4", "2025-Q1"}, // fiscal: April–June 2026 → January–March 2026
		{cal, "2026", "2025", "2025"},
		{cal, "2026-W01", "2025-W52", "2025-W01"},
		{cal, "2024-03-01", "2024-02-29", "2023-03-01"},
	}
	for _, c := range cases {
		p, err := c.cal.Parse(c.key)
		if err != nil {
			t.Fatal(err)
		}
		for name, got := range map[string]Period{c.prev: p.Previous(), c.lastYear: p.YearBefore()} {
			want, err := c.cal.Parse(name)
			if err != nil {
				t.Fatal(err)
			}
			if got.Key != want.Key || !got.Start.Equal(want.Start) || !got.End.Equal(want.End) || got.Grain != want.Grain {
				t.Errorf("%s: got %s [%v, %v), want %s [%v, %v)", c.key, got.Key, got.Start, got.End, want.Key, want.Start, want.End)
			}
		}
	}
}
