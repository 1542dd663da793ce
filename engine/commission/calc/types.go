// Package calc is the pure commission calculator (DESIGN.md §7): it compiles
// a commission plan definition into a Plan, turns records into credit lines
// (with splits) and computes one rep's statement lines for one period. It
// reads no store and keeps no state, so the same inputs always give the same
// lines — which is what makes runs idempotent, simulations honest and golden
// tests possible. Storage, runs, lifecycle and the API live in
// engine/commission.
//
// Semantics (the worked rules, pinned by testdata/golden):
//
//   - Credits: a plan names its credited records: an object, a `when` guard,
//     a `base` formula (money, major units in the formula, minor units out),
//     a credit date field, an owner field and an optional split field
//     (percentages summing to 100). Split amounts are rounded to the minor
//     unit by largest remainder (ties: larger share, then owner id) so they
//     sum to the base exactly.
//   - Windows: a plan pays per statement period (Plan.Grain: month, quarter
//     or year). Its quota is for a quota window (Plan.QuotaGrain ≥ Grain,
//     default Grain). Attainment at the end of a statement period is the
//     rep's cumulative actual of the quota metric from the window start to
//     the period end / the window's target. A monthly-paid plan on a
//     quarterly quota therefore pays a quota bonus in the month the quarter's
//     attainment crosses the threshold.
//   - Rate rules are ordered; every rule whose `when` matches a credit line
//     pays that line (rules do not exclude each other; admins use `when` to
//     choose). Kinds: constant; tier — the whole base at the rate of the
//     highest threshold ≤ x (x = attainment by default, or an `on` formula);
//     marginal — progressive over the cumulative credited base of the quota
//     window: band boundaries are thresholds × quota, a line that straddles
//     a boundary is split into slices, each at its band's rate, lines taken
//     in credit date then record id order; expr — a rate formula per line.
//   - Caps: the per-line cap applies to the sum a credit line earned from
//     rate rules; then the per-period cap to everything earned in the period
//     except clawbacks and adjustments. Each reduction is its own line.
//   - SPIF: `when` → fixed amount per matching credit line. Quota bonus:
//     fixed amount per threshold crossed in this period (attainment before
//     the period < threshold ≤ attainment at its end). Team bonus: the same
//     crossing test on the rep's team's attainment, paying a fixed amount or
//     a rate of the rep's credited base in the period.
//   - Clawback: a credited record reversed (plan's clawback `when`) within N
//     days of its credit date gives a negative line equal to the commission
//     paid on it, in the reversal's period. The caller supplies what was
//     paid (engine/commission reads it from non-draft statements).
//   - Rounding: each line half-even to the minor unit with exact decimal
//     arithmetic (a rate is its shortest decimal string, multiplied in
//     integers); totals are sums of lines.
//
// Details the worked rules leave open:
//
//   - A rate or threshold is read as the decimal of 15 significant digits
//     (the spreadsheet rule forms uses for money), so a rate formula giving
//     0.05 * 1.1 pays 5.5 %, not 5.500000000000001 %. Rates and thresholds
//     written in a plan have at most 12 decimals.
//   - Marginal slices are differences of the rounded commission on the
//     cumulative base: a slice from cumulative a to b pays F(b) − F(a),
//     F(x) = the exact marginal commission on x rounded half-even once. So
//     the marginal total of a quota window is the same however the base is
//     split into lines, splits and periods (a slice may differ by a cent
//     from its own base × rate). A marginal table's basis is quota
//     (thresholds are attainment; the default), amount (thresholds in major
//     units, cumulative over the window) or line (thresholds in major units,
//     each line alone). Result.Credited returns each cumulative marginal
//     rule's base of the period, for the next period's CreditedBefore.
//   - A split credit line is a credit line: SPIFs pay their full amount to
//     each owner whose line matches (use credit.share in `when` to limit).
//   - A credit line below a tier table's first threshold gets a zero line
//     (band index −1), so the statement says why it earned nothing; so does
//     the part of a marginal line below the first band.
//
// # Formula environment
//
// Credit formulas (credits.when, credits.base) and the clawback's `when`
// see the record's fields by name, as metric formulas do (amount, stage,
// closeDate…; money in major units, dates as time.Time — forms.ToEnv).
// Rule formulas (rules[].when, tier `on`, expr rates, SPIF `when`) see the
// record's fields by name too, plus:
//
//	rep         {id, name, teams}                 who the statement is for
//	period      {key, start, end, quotaKey, quotaStart, quotaEnd}
//	attainment  float64, 1 = 100 %                quota window's attainment at the period's end
//	quota       float64                           the rep's target in major units (Target / QuotaScale)
//	credit      {base, recordBase, share, date}   this credit line: bases in major units, share in percent
//
// A credited object with a field of one of these names cannot be used by a
// plan with rule formulas (Compile reports name_collision). A formula that
// reads no record field and not credit is evaluated once per Calculate.
//
// # Line order
//
// Credit lines by credit date, record id (then object, owner, base); for each
// credit its rate lines in rule order (a marginal line's slices in band
// order), then its line cap, then its SPIFs in order. Then the period's
// lines: quota bonuses in order, team bonuses in order (teams by id), the
// period cap, clawbacks by reversal date and record id.
package calc

import (
	"time"
)

// Line kinds.
const (
	KindRate       = "rate"
	KindCapLine    = "cap_line"
	KindCapPeriod  = "cap_period"
	KindSPIF       = "spif"
	KindQuotaBonus = "quota_bonus"
	KindTeamBonus  = "team_bonus"
	KindClawback   = "clawback"
	KindAdjustment = "adjustment" // made by engine/commission (locked periods, disputes)
)

// Credit is one owner's share of one credited record.
type Credit struct {
	Record     string    `json:"record"`     // record id
	Object     string    `json:"object"`     // object key
	Owner      string    `json:"owner"`      // user id credited
	Date       time.Time `json:"date"`       // credit date (UTC instant; periods in the tenant zone)
	Base       int64     `json:"base"`       // this owner's base, minor units
	RecordBase int64     `json:"recordBase"` // the whole record's base before the split
	SharePct   float64   `json:"sharePct"`   // 100 when not split
	// Data is the record as formulas see it (forms.Schema.ToEnv); the
	// calculator reads it for `when`, `on` and expr rates.
	Data map[string]any `json:"-"`
}

// Rep is who a statement is for.
type Rep struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Teams []string `json:"teams"` // team ids the rep belongs to in the period
}

// Input is everything one rep's statement for one period depends on. The
// caller (engine/commission) gathers it from records, rollups and targets.
type Input struct {
	Rep    Rep
	Period Window // the statement period
	Quota  Window // the quota window containing Period (== Period when QuotaGrain == Grain)
	// Target is the rep's target for the quota window (minor units of the
	// quota metric); HasTarget false means none was found, which is an error
	// for plans that need attainment (tier on attainment, marginal, quota
	// bonus) and fine for the others.
	Target    int64
	HasTarget bool
	// ActualBefore is the quota metric's actual from the window start to the
	// period start; ActualInPeriod within the period.
	ActualBefore   int64
	ActualInPeriod int64
	// CreditedBefore is the credited base of the window before the period,
	// per rate rule key (marginal bands continue where earlier periods left off).
	CreditedBefore map[string]int64
	// Credits in the period, any order (the calculator sorts by date, record id).
	Credits []Credit
	// Teams: attainment of each team of the rep before and at the end of
	// the period (for team bonuses).
	Teams []TeamAttainment
	// Reversals of records credited earlier, reversed in this period.
	Reversals []Reversal
	// QuotaScale is the quota metric's stored units per unit (100 for
	// money, 10^precision for numbers; 0 means 100): formulas see
	// quota = Target / QuotaScale.
	QuotaScale int64
}

// Window is a period with its key (engine/period keys such as 2026-03).
type Window struct {
	Key   string    `json:"key"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"` // exclusive
}

// TeamAttainment is a team's attainment before the period and at its end.
type TeamAttainment struct {
	Team   string  `json:"team"`
	Before float64 `json:"before"`
	Now    float64 `json:"now"`
}

// Reversal is a credited record found reversed in this period.
type Reversal struct {
	Record     string    `json:"record"`
	Object     string    `json:"object"`
	CreditDate time.Time `json:"creditDate"`
	ReversedAt time.Time `json:"reversedAt"`
	Paid       int64     `json:"paid"` // commission paid on the record to this rep so far (net of earlier clawbacks)
}

// Line is one statement line. Every amount is in minor units and rounded
// once, here.
type Line struct {
	Rule       string      `json:"rule"`             // rule key (rate rule, spif, bonus …) or "cap:line", "cap:period", "clawback"
	Kind       string      `json:"kind"`             // Kind* constants
	Record     string      `json:"record,omitempty"` // credited record ("" for period-level lines)
	Object     string      `json:"object,omitempty"`
	CreditDate string      `json:"creditDate,omitempty"` // YYYY-MM-DD in the tenant zone
	Base       int64       `json:"base"`                 // the amount the rate applied to (slice base for marginal)
	Rate       *float64    `json:"rate,omitempty"`
	Band       *Band       `json:"band,omitempty"`
	Amount     int64       `json:"amount"`
	Explain    Explanation `json:"explanation"`
}

// Band is the marginal or tier band a line was paid in.
type Band struct {
	Index     int     `json:"index"`
	Threshold float64 `json:"threshold"`    // attainment fraction where the band starts
	From      int64   `json:"from"`         // band start in minor units (threshold × quota) for marginal
	To        *int64  `json:"to,omitempty"` // band end (nil: open)
	// Until is the threshold where the band ends (the next row's; nil: open).
	Until *float64 `json:"until,omitempty"`
}

// Explanation is how a line was produced, structured so the UI and exports
// can say it in plain words in either language (Text renders it).
type Explanation struct {
	Formula    string   `json:"formula,omitempty"` // the rule's formula or table as written
	Attainment *float64 `json:"attainment,omitempty"`
	Quota      *int64   `json:"quota,omitempty"`
	CumBefore  *int64   `json:"cumBefore,omitempty"` // cumulative credited base before this line (marginal)
	SharePct   float64  `json:"sharePct,omitempty"`
	RecordBase int64    `json:"recordBase,omitempty"`
	Cap        *int64   `json:"cap,omitempty"`
	Earned     *int64   `json:"earned,omitempty"` // what was earned before a cap reduced it
	Threshold  *float64 `json:"threshold,omitempty"`
	Team       string   `json:"team,omitempty"`
	Before     *float64 `json:"before,omitempty"` // attainment before the period (bonuses)
	ReversedAt string   `json:"reversedAt,omitempty"`
	Days       *int     `json:"days,omitempty"`
	Note       string   `json:"note,omitempty"` // adjustment / dispute reason
	// Value is what a tier with an `on` formula was chosen by.
	Value *float64 `json:"value,omitempty"`
	// Paid is what a clawback reverses: the commission paid on the record.
	Paid *int64 `json:"paid,omitempty"`
}

// Result is one rep's statement for one period.
type Result struct {
	Rep        string  `json:"rep"`
	Period     string  `json:"period"`
	Attainment float64 `json:"attainment"`
	Target     int64   `json:"target"`
	Lines      []Line  `json:"lines"`
	Total      int64   `json:"total"` // sum of Lines
	// Credited is the base each cumulative marginal rule (basis quota or
	// amount) credited in this period, by rule key: add it to
	// CreditedBefore for the next period of the same quota window.
	Credited map[string]int64 `json:"credited,omitempty"`
}

// RepError is a per-rep failure of a run (the rest of the run completes).
type RepError struct {
	Rep     string `json:"rep"`
	Code    string `json:"code"` // missing_quota, formula_runtime, …
	Message string `json:"message"`
}

func (e *RepError) Error() string { return e.Rep + ": " + e.Message }

// The functions the package provides (implemented in calc.go, compile.go):
//
//	// Compile validates a plan definition (schemas/commission_plan.schema.json
//	// plus semantic checks: tiers sorted and not overlapping, rates finite and
//	// ≥ 0, caps ≥ 0, formulas type-checked against the credited object's
//	// schema) and compiles its formulas. Errors carry JSON pointers into def.
//	func Compile(eng *rules.Engine, tenant, key string, version int64, def map[string]any, obj *objects.Compiled) (*Plan, []apperr.FieldError)
//
//	// Credits turns one record into credit lines (none when `when` is false),
//	// split by the split field with largest remainder.
//	func (p *Plan) Credits(id string, data map[string]any, tz *time.Location) ([]Credit, error)
//
//	// Reversed reports whether a record counts as reversed and when.
//	func (p *Plan) Reversed(data map[string]any) (time.Time, bool, error)
//
//	// Calculate computes one rep's statement for one period; a *RepError for
//	// per-rep problems (missing quota, a formula failing at run time).
//	func (p *Plan) Calculate(in Input) (Result, error)
//
//	// Text says a line in plain words, lang "zh-CN" or "en".
//	func Text(l Line, lang string) string
