package alloc

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"stride/engine/period"
)

// ErrNotFound is wrapped when a query names a node or dimension value the
// result does not have.
var ErrNotFound = errors.New("not found")

// ErrPeriod is wrapped when a query's period is not a year, quarter, month
// or week of the plan's fiscal year.
var ErrPeriod = errors.New("period outside the plan year")

// series is the amounts of one node, or of one node's dimension value.
type series struct {
	annual int64
	months *[12]int64
	weeks  []WeekAmount
	parts  []int64
}

func (r *Result) node(key string) (*Alloc, error) {
	al := r.Nodes[key]
	if al == nil {
		return nil, fmt.Errorf("node %q: %w", key, ErrNotFound)
	}
	return al, nil
}

// Amount returns node key's target for p: the plan's fiscal year, one of
// its quarters (the sum of its months), months, or weeks (in-year days
// only).
func (r *Result) Amount(key string, p period.Period) (int64, error) {
	al, err := r.node(key)
	if err != nil {
		return 0, err
	}
	return r.amount(series{al.Annual, &al.Months, al.Weeks, al.Parts}, p)
}

// DimAmount returns node key's target for dimension value dim over p.
func (r *Result) DimAmount(key, dim string, p period.Period) (int64, error) {
	al, err := r.node(key)
	if err != nil {
		return 0, err
	}
	d := al.Dims[dim]
	if d == nil {
		return 0, fmt.Errorf("dimension value %q of node %q: %w", dim, key, ErrNotFound)
	}
	return r.amount(series{d.Annual, &d.Months, d.Weeks, d.Parts}, p)
}

func (r *Result) amount(s series, p period.Period) (int64, error) {
	switch p.Grain {
	case period.Year:
		if p.Key != fmt.Sprintf("%04d", r.FiscalYear) {
			break
		}
		return s.annual, nil
	case period.Quarter:
		q, ok := r.quarter(p.Key)
		if !ok {
			break
		}
		return s.months[3*q] + s.months[3*q+1] + s.months[3*q+2], nil
	case period.Month:
		for m, k := range r.Months {
			if k == p.Key {
				return s.months[m], nil
			}
		}
	case period.Week:
		for _, w := range s.weeks {
			if w.Key == p.Key {
				return w.Amount, nil
			}
		}
	}
	return 0, fmt.Errorf("%s %q: %w %04d", p.Grain, p.Key, ErrPeriod, r.FiscalYear)
}

// quarter returns the 0-based fiscal quarter a "YYYY-Qn" key names in the
// plan year.
func (r *Result) quarter(key string) (int, bool) {
	if len(key) != 7 || key[4:6] != "-Q" {
		return 0, false
	}
	y, err := strconv.Atoi(key[:4])
	if err != nil || y != r.FiscalYear || key[6] < '1' || key[6] > '4' {
		return 0, false
	}
	return int(key[6] - '1'), true
}

// Expected returns the part of node key's target for p that is due by at:
// the months (for a year or quarter) or week parts (for a week) that ended
// before at in full, plus the current one pro-rated by its elapsed time
// (period.Elapsed) and rounded half to even to a minor unit. A month is
// pro-rated as a whole. Periods are computed in p's time zone.
func (r *Result) Expected(key string, p period.Period, at time.Time) (int64, error) {
	al, err := r.node(key)
	if err != nil {
		return 0, err
	}
	loc := p.Start.Location()
	lay := layoutOf(r)
	type unit struct {
		amount     int64
		start, end time.Time
	}
	var units []unit
	monthUnit := func(m int) (unit, error) {
		start, err := time.ParseInLocation("2006-01", r.Months[m], loc)
		if err != nil {
			return unit{}, err
		}
		return unit{al.Months[m], start, start.AddDate(0, 1, 0)}, nil
	}
	switch p.Grain {
	case period.Year, period.Quarter, period.Month:
		if _, err := r.Amount(key, p); err != nil {
			return 0, err
		}
		lo, hi := 0, 12
		if p.Grain == period.Quarter {
			q, _ := r.quarter(p.Key)
			lo, hi = 3*q, 3*q+3
		} else if p.Grain == period.Month {
			for m, k := range r.Months {
				if k == p.Key {
					lo, hi = m, m+1
				}
			}
		}
		for m := lo; m < hi; m++ {
			u, err := monthUnit(m)
			if err != nil {
				return 0, err
			}
			units = append(units, u)
		}
	case period.Week:
		found := false
		for k, wk := range lay.weeks {
			if wk != p.Key {
				continue
			}
			found = true
			for _, pi := range lay.weekParts[k] {
				part := r.Parts[pi]
				start, err := time.ParseInLocation("2006-01-02", part.Start, loc)
				if err != nil {
					return 0, err
				}
				units = append(units, unit{al.Parts[pi], start, start.AddDate(0, 0, part.Days)})
			}
		}
		if !found {
			return 0, fmt.Errorf("%s %q: %w %04d", p.Grain, p.Key, ErrPeriod, r.FiscalYear)
		}
	default:
		return 0, fmt.Errorf("%s %q: %w %04d", p.Grain, p.Key, ErrPeriod, r.FiscalYear)
	}
	var due int64
	for _, u := range units {
		e := period.Elapsed(period.Period{Start: u.start, End: u.end}, at)
		switch {
		case e >= 1:
			due += u.amount
		case e > 0:
			due += int64(math.RoundToEven(float64(u.amount) * e))
		}
	}
	return due, nil
}
