// Package alloc is the exact core of target decomposition: it turns a root
// annual amount and an org tree into annual, monthly, weekly and
// per-dimension targets for every node, in integer minor units (分), such
// that every level and every period sums exactly.
//
// # Method
//
// Amounts are worked in units of the plan's granularity G. Top-down, each
// parent's annual amount is split over its children by formula weights:
// locked children take their lock, floors and caps are met by water-filling
// (clamp the side that violates most, re-spread the rest, repeat), and the
// free amount is rounded by the largest-remainder method (ties: larger
// weight, then smaller key). Children are always processed in key order, so
// the result does not depend on the order children are given in.
//
// Months and week parts are split by controlled rounding of the table
// children × periods, whose raw cells are childAnnual·parentMonth/parentAnnual
// (and childMonth·parentPart/parentMonth for week parts): every cell is the
// floor or the ceiling of its raw value, computed exactly in 128-bit integer
// arithmetic, and rows and columns sum exactly to both margins. A week is
// the sum of its parts — the days it has in each fiscal month — so a week
// crossing a month boundary takes its days from each month.
//
// # Dimensions
//
// A plan may split each node's target along a dimension (product line,
// channel, key account). Per node, the dimension values sum exactly to the
// node's amount for the year and every month and week. Children's amounts
// for a dimension value need not sum to their parent's amount for it: each
// node's dimension split follows its own weights (DimWeights), and forcing
// both margins would overconstrain the table.
//
// # Frozen months
//
// A mid-year re-spread passes the previous allocation as Spec.Frozen: nodes
// present in it (whose parent is also kept) keep their first FrozenMonths
// months and those months' week parts; the rest of each parent's annual
// amount is allocated over the remaining months as above, with locks, floors
// and caps applying to the whole year (frozen part + remaining part). A
// child new since the previous allocation takes its share, by weight, of
// whatever part of its parent's frozen months no kept sibling carries.
// Dimension splits are recomputed, not frozen.
package alloc

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"stride/engine/period"
)

// Formula gives a child's weight from its variables. The plan layer compiles
// expr formulas (engine/rules) and adapts them to this interface; tests may
// use plain Go funcs (see FormulaFunc).
type Formula interface {
	Source() string
	Weight(vars map[string]any) (float64, error)
}

// FormulaFunc adapts a Go function to Formula.
type FormulaFunc struct {
	Src string                                     `json:"source"`
	Fn  func(vars map[string]any) (float64, error) `json:"-"`
}

// Source returns the formula's text.
func (f FormulaFunc) Source() string { return f.Src }

// Weight calls the function.
func (f FormulaFunc) Weight(vars map[string]any) (float64, error) { return f.Fn(vars) }

// Node is an org node. Amounts are int64 minor units (分).
type Node struct {
	Key        string             `json:"key"` // "company", "team:east", "user:u1"
	Name       string             `json:"name,omitempty"`
	Inputs     map[string]float64 `json:"inputs,omitempty"`     // history, potential, headcount, tenureMonths, custom attributes; missing = 0
	Lock       *int64             `json:"lock,omitempty"`       // locked annual amount (a multiple of Granularity); wins over Floor and Cap
	Floor      *int64             `json:"floor,omitempty"`      // lower bound on the annual amount (a multiple of Granularity)
	Cap        *int64             `json:"cap,omitempty"`        // upper bound on the annual amount (a multiple of Granularity)
	DimWeights map[string]float64 `json:"dimWeights,omitempty"` // optional per-node weights of dimension values (else Spec.DimWeights)
	Children   []*Node            `json:"children,omitempty"`
}

// Spec is everything an allocation depends on besides the tree. The root's
// own Lock, Floor and Cap are ignored: its annual amount is Amount. Its JSON
// form (for logs and previews) leaves out the calendar, formulas and the
// previous allocation, which the plan layer stores on their own.
type Spec struct {
	Calendar         period.Calendar    `json:"-"`                          // time zone + fiscal start month; months are fiscal months 0..11
	FiscalYear       int                `json:"fiscalYear"`                 // as period keys name it (see engine/period)
	Amount           int64              `json:"amount"`                     // root annual amount, multiple of Granularity
	Granularity      int64              `json:"granularity"`                // > 0, e.g. 100 (1 yuan) or 1_000_000 (10,000 yuan)
	Seasonality      [12]float64        `json:"seasonality"`                // root month weights ≥ 0, not all 0 (ignored if RootMonths set)
	RootMonths       []int64            `json:"rootMonths,omitempty"`       // optional: explicit root month amounts (len 12, multiples of G, sum = Amount)
	Frozen           *Result            `json:"-"`                          // optional previous allocation: its first FrozenMonths months are kept for every node present in it
	FrozenMonths     int                `json:"frozenMonths,omitempty"`     // 0..12
	Formulas         map[int]Formula    `json:"-"`                          // by the children's depth (1 = children of the root)
	Default          Formula            `json:"-"`                          // used for depths without an entry; nil: equal weights
	InputNames       []string           `json:"inputNames,omitempty"`       // variables exposed to formulas, each as {"value": v, "share": v/Σsiblings (0 if Σ=0)}
	EqualSplitOnZero bool               `json:"equalSplitOnZero,omitempty"` // all-zero weights among siblings → equal split instead of an error
	Dimension        []string           `json:"dimension,omitempty"`        // ordered dimension values; empty = no dimension split
	DimWeights       map[string]float64 `json:"dimWeights,omitempty"`
}

// Input is one formula input of a node: its value and its share among all
// its siblings.
type Input struct {
	Value float64 `json:"value"`
	Share float64 `json:"share"`
}

// NamedInput is one formula input of a node, by name.
type NamedInput struct {
	Name string
	Input
}

// Inputs are a node's formula inputs sorted by name. It is a slice rather
// than a map because an allocation explains every one of its 10,000s of
// nodes and a map per node dominated its cost; in JSON it is the object
// {"history": {"value":…, "share":…}, …} either way.
type Inputs []NamedInput

// Get returns the input called name.
func (in Inputs) Get(name string) (Input, bool) {
	i, ok := slices.BinarySearchFunc(in, name, func(x NamedInput, n string) int { return strings.Compare(x.Name, n) })
	if !ok {
		return Input{}, false
	}
	return in[i].Input, true
}

// MarshalJSON writes the inputs as an object keyed by name.
func (in Inputs) MarshalJSON() ([]byte, error) {
	if in == nil {
		return []byte("null"), nil
	}
	m := make(map[string]Input, len(in))
	for _, x := range in {
		m[x.Name] = x.Input
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the object form back, sorted by name.
func (in *Inputs) UnmarshalJSON(b []byte) error {
	var m map[string]Input
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		*in = nil
		return nil
	}
	out := make(Inputs, 0, len(m))
	for k, v := range m {
		out = append(out, NamedInput{Name: k, Input: v})
	}
	slices.SortFunc(out, func(a, b NamedInput) int { return strings.Compare(a.Name, b.Name) })
	*in = out
	return nil
}

// The rules an Explanation can name.
const (
	RuleRoot    = "root"    // the plan's amount
	RuleFormula = "formula" // proportional to the formula's weight
	RuleEqual   = "equal"   // equal split (no formula, or all weights zero and the plan opts in)
	RuleLocked  = "locked"  // a manager's lock
	RuleFloor   = "floor"   // clamped up to the floor
	RuleCap     = "cap"     // clamped down to the cap
	RuleFrozen  = "frozen"  // every month kept from the previous allocation
)

// Explanation of one node's annual amount.
type Explanation struct {
	Rule    string  `json:"rule"` // root | formula | equal | locked | floor | cap | frozen
	Formula string  `json:"formula,omitempty"`
	Inputs  Inputs  `json:"inputs,omitempty"`
	Weight  float64 `json:"weight"`
	Share   float64 `json:"share"`            // of the amount distributed among the unlocked, unclamped siblings
	Pool    int64   `json:"pool"`             // that amount: the parent's (remaining) amount less locks and clamped siblings
	Raw     float64 `json:"raw"`              // minor units before rounding
	Rounded int64   `json:"rounded"`          // the annual amount
	Frozen  int64   `json:"frozen,omitempty"` // part of the annual kept from the previous allocation
}

// WeekAmount is a node's amount for one ISO week (its in-year days only).
type WeekAmount struct {
	Key    string `json:"key"` // as engine/period names weeks, e.g. "2026-W27"
	Amount int64  `json:"amount"`
}

// DimAlloc is a node's amount for one dimension value.
type DimAlloc struct {
	Annual int64        `json:"annual"`
	Months [12]int64    `json:"months"`
	Weeks  []WeekAmount `json:"weeks"`
	Parts  []int64      `json:"parts"`
	Share  float64      `json:"share"` // weight / Σ weights
	Raw    float64      `json:"raw"`   // annual before rounding, minor units
}

// Alloc is one node's allocation.
type Alloc struct {
	Key      string               `json:"key"`
	Name     string               `json:"name,omitempty"`
	Parent   string               `json:"parent,omitempty"`
	Level    int                  `json:"level"`
	Annual   int64                `json:"annual"`
	Months   [12]int64            `json:"months"` // fiscal order
	Weeks    []WeekAmount         `json:"weeks"`  // every ISO week touching the fiscal year, in order
	Parts    []int64              `json:"parts"`  // aligned with Result.Parts
	Dims     map[string]*DimAlloc `json:"dims,omitempty"`
	Explain  Explanation          `json:"explain"`
	Children []string             `json:"children,omitempty"` // in the tree's order
	Frozen   bool                 `json:"frozen,omitempty"`   // first Result.FrozenMonths months kept from the previous allocation
}

// Result is a complete allocation. It holds everything its queries and
// Check need, so it can be stored as JSON and read back.
type Result struct {
	Root             string            `json:"root"`
	Nodes            map[string]*Alloc `json:"nodes"`
	Order            []string          `json:"order"` // preorder
	FiscalYear       int               `json:"fiscalYear"`
	FiscalStartMonth int               `json:"fiscalStartMonth"`
	Granularity      int64             `json:"granularity"`
	FrozenMonths     int               `json:"frozenMonths,omitempty"`
	Months           [12]string        `json:"months"` // month keys in fiscal order
	Parts            []Part            `json:"parts"`  // week parts in time order
	Dimension        []string          `json:"dimension,omitempty"`
}

// Error codes. Each Error carries one.
const (
	CodeNegativeWeight     = "negative_weight"
	CodeInvalidWeight      = "invalid_weight" // NaN or ±Inf
	CodeZeroWeights        = "zero_weights"
	CodeLockExceedsParent  = "lock_exceeds_parent"
	CodeLocksBelowParent   = "locks_below_parent" // every child locked, locks total less than the parent
	CodeFloorsExceedParent = "floors_exceed_parent"
	CodeCapsBelowParent    = "caps_below_parent"
	CodeFloorAboveCap      = "floor_above_cap"
	CodeNotMultiple        = "not_multiple"
	CodeInvalidAmount      = "invalid_amount" // negative amount, granularity ≤ 0
	CodeSeasonality        = "seasonality"
	CodeFormula            = "formula"
	CodeFrozenExceeds      = "frozen_exceeds"
	CodeFrozenMismatch     = "frozen_mismatch" // previous allocation of another year or calendar, or FrozenMonths out of range
	CodeInvalidTree        = "invalid_tree"    // nil node, empty or duplicate key
	CodeInvalidDimension   = "invalid_dimension"
	CodeInvalidCalendar    = "invalid_calendar"
)

// Error is an input problem: a stable code, the node concerned ("" for the
// plan), an English message with the numbers, and the numbers themselves.
type Error struct {
	Code    string         `json:"code"`
	Node    string         `json:"node,omitempty"`
	Message string         `json:"message"`
	Numbers map[string]any `json:"numbers,omitempty"`
}

// Error returns the message, prefixed with the node when there is one.
func (e *Error) Error() string {
	if e.Node == "" {
		return e.Message
	}
	return e.Node + ": " + e.Message
}

func newErr(code, node string, nums map[string]any, format string, args ...any) *Error {
	return &Error{Code: code, Node: node, Message: fmt.Sprintf(format, args...), Numbers: nums}
}

// money formats minor units with thousands separators: 6000000 → "6,000,000".
func money(v int64) string {
	s := fmt.Sprint(v)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
