package targets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/period"
	"stride/engine/rules"
	"stride/engine/store"
	"stride/engine/targets/alloc"
)

// nodeSource returns a node's allocation (nil, nil when absent).
type nodeSource func(key string) (*alloc.Alloc, error)

// storedNodes reads a published version's nodes one by one.
func storedNodes(ctx context.Context, db store.DB, key string, v int64, level string) nodeSource {
	return func(node string) (*alloc.Alloc, error) {
		d, err := db.Get(ctx, collAlloc, allocID(key, v, level, node))
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("load allocation of %s: %w", node, err)
		}
		return allocFrom(d["alloc"])
	}
}

func resultNodes(r *alloc.Result) nodeSource {
	return func(node string) (*alloc.Alloc, error) { return r.Nodes[node], nil }
}

// header returns the stored layout of one level of a version (a Result
// without nodes), which the queries of alloc.Result need.
func (s *Service) header(ctx context.Context, db store.DB, key string, v int64, level string) (*alloc.Result, error) {
	d, err := db.Get(ctx, collVersions, versionID(key, v))
	if errors.Is(err, store.ErrNotFound) {
		return nil, apperr.NotFound("target plan %q has no version %d", key, v)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s v%d: %w", key, v, err)
	}
	layouts, _ := d["layouts"].(map[string]any)
	h, ok := layouts[level]
	if !ok {
		return nil, apperr.NotFound("target plan %q has no %s level in version %d", key, level, v)
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	var r alloc.Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("stored layout of %s v%d: %w", key, v, err)
	}
	return &r, nil
}

// loadResult reads a whole level of a published version.
func (s *Service) loadResult(ctx context.Context, db store.DB, key string, v int64, level string) (*alloc.Result, error) {
	r, err := s.header(ctx, db, key, v, level)
	if err != nil {
		return nil, err
	}
	r.Nodes, r.Order = map[string]*alloc.Alloc{}, nil
	err = db.Scan(ctx, collAlloc, store.Query{Where: []store.Cond{
		{Field: "plan", Op: store.Eq, Value: key}, {Field: "version", Op: store.Eq, Value: v},
		{Field: "level", Op: store.Eq, Value: level}}}, func(d store.Doc) error {
		a, err := allocFrom(d["alloc"])
		if err != nil {
			return err
		}
		r.Nodes[a.Key] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load %s v%d %s: %w", key, v, level, err)
	}
	if r.Nodes[r.Root] == nil {
		return nil, apperr.NotFound("target plan %q has no version %d at level %s", key, v, level)
	}
	var walk func(string)
	walk = func(k string) {
		r.Order = append(r.Order, k)
		for _, c := range r.Nodes[k].Children {
			walk(c)
		}
	}
	walk(r.Root)
	return r, nil
}

// one returns the header carrying just node a, for alloc's queries.
func one(h *alloc.Result, a *alloc.Alloc) *alloc.Result {
	r := *h
	r.Nodes = map[string]*alloc.Alloc{a.Key: a}
	return &r
}

// TreeQuery selects a view of a plan.
type TreeQuery struct {
	Version int64  // 0: the version in force
	Level   string // default target
	Period  string // default the fiscal year
	Node    string // default the root
	Actuals bool   // add actuals and attainment (reads rollups)
}

// TreeRow is one node in a tree view.
type TreeRow struct {
	Key         string             `json:"key"`
	Name        string             `json:"name"`
	Kind        string             `json:"kind"` // company, team, user
	Depth       int                `json:"depth"`
	Parent      string             `json:"parent,omitempty"`
	Amount      int64              `json:"amount"` // over the period
	Annual      int64              `json:"annual"`
	Months      [12]int64          `json:"months"`
	Explain     alloc.Explanation  `json:"explain"`
	Lock        *int64             `json:"lock,omitempty"`
	Floor       *int64             `json:"floor,omitempty"`
	Cap         *int64             `json:"cap,omitempty"`
	Inputs      map[string]float64 `json:"inputs,omitempty"`
	Dims        []DimAmount        `json:"dims,omitempty"`
	Proposal    *Proposal          `json:"proposal,omitempty"`
	Actual      *int64             `json:"actual,omitempty"`
	Attainment  *float64           `json:"attainment,omitempty"`
	HasChildren bool               `json:"hasChildren"`
}

// DimAmount is a node's amount for one dimension value.
type DimAmount struct {
	Key    string `json:"key"`
	Amount int64  `json:"amount"`
}

// Tree is a node of a plan with its children, for one level and period.
type Tree struct {
	Plan     string      `json:"plan"`
	Version  int64       `json:"version"`
	Level    string      `json:"level"`
	Levels   []string    `json:"levels"`
	Metric   string      `json:"metric"`
	Unit     string      `json:"unit"`
	Scale    int64       `json:"scale"`
	Period   PeriodInfo  `json:"period"`
	Node     TreeRow     `json:"node"`
	Children []TreeRow   `json:"children"`
	Path     []PathEntry `json:"path"`
}

// PeriodInfo names a period.
type PeriodInfo struct {
	Key   string    `json:"key"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// PathEntry is an ancestor, for breadcrumbs.
type PathEntry struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

func kindOf(key string) string {
	switch {
	case key == "company":
		return "company"
	case strings.HasPrefix(key, "team:"):
		return "team"
	}
	return "user"
}

// Tree returns a node and its children with amounts over a period and the
// explanation of each, from the version in force (or the one asked for).
// What p may not see is a 404.
func (s *Service) Tree(ctx context.Context, db store.DB, tenantName string, p *auth.Principal, key string, q TreeQuery) (*Tree, error) {
	pl, err := s.Get(ctx, db, key)
	if err != nil {
		return nil, err
	}
	v := q.Version
	if v == 0 {
		v = pl.PublishedVersion
	}
	if v == 0 {
		return nil, apperr.New(apperr.KindInvalid, "target_plan_not_published", "target plan %q has no published version yet; preview it with allocate?dryRun=true", key)
	}
	vi, err := s.Version(ctx, db, key, v)
	if err != nil {
		return nil, err
	}
	d, fe := decode(vi.Definition)
	if len(fe) > 0 {
		return nil, fmt.Errorf("stored version %s v%d does not decode: %s", key, v, fe[0].Message)
	}
	level := q.Level
	if level == "" {
		level = LevelTarget
	}
	if _, ok := d.Amounts[level]; !ok {
		return nil, apperr.Invalid("unknown level", apperr.FieldError{Pointer: "/query/level", Code: "unknown_level",
			Message: fmt.Sprintf("the plan has no %s level (it has %s)", level, strings.Join(d.levels(), ", "))})
	}
	props, err := s.proposals(ctx, db, key)
	if err != nil {
		return nil, err
	}
	h, err := s.header(ctx, db, key, v, level)
	if err != nil {
		return nil, err
	}
	return s.tree2(ctx, db, tenantName, p, d, v, level, h, storedNodes(ctx, db, key, v, level), q, props)
}

// tree2 builds a tree view from any node source (a stored version or a
// preview).
func (s *Service) tree2(ctx context.Context, db store.DB, tenantName string, p *auth.Principal, d *Definition, v int64, level string, h *alloc.Result, src nodeSource, q TreeQuery, props map[string]*Proposal) (*Tree, error) {
	cal, err := s.calendar(ctx, tenantName)
	if err != nil {
		return nil, err
	}
	year, err := cal.Parse(strconv.Itoa(d.FiscalYear))
	if err != nil {
		return nil, err
	}
	per := year
	if q.Period != "" {
		per, err = cal.Parse(q.Period)
		if err != nil {
			return nil, apperr.Invalid("bad period", apperr.FieldError{Pointer: "/query/period", Code: "period", Message: err.Error()})
		}
	}
	see, err := s.visible(ctx, db, p)
	if err != nil {
		return nil, err
	}
	nodeKey := q.Node
	if nodeKey == "" {
		nodeKey, err = s.defaultNode(src, d.root(), see)
		if err != nil {
			return nil, err
		}
	}
	n, err := src(nodeKey)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, apperr.NotFound("%s is not a node of target plan %q", nodeKey, d.Key)
	}
	if !see(nodeKey) {
		return nil, apperr.NotFound("%s is not a node of target plan %q", nodeKey, d.Key)
	}
	m, err := s.tracker.Metric(ctx, db, tenantName, d.Metric)
	if err != nil {
		return nil, err
	}
	row := func(a *alloc.Alloc) (TreeRow, error) {
		one := one(h, a)
		amt, err := one.Amount(a.Key, per)
		if err != nil {
			return TreeRow{}, apperr.Invalid("bad period", apperr.FieldError{Pointer: "/query/period", Code: "period", Message: err.Error()})
		}
		r := TreeRow{Key: a.Key, Name: a.Name, Kind: kindOf(a.Key), Depth: a.Level, Parent: a.Parent, Amount: amt,
			Annual: a.Annual, Months: a.Months, Explain: a.Explain, HasChildren: len(a.Children) > 0, Proposal: props[a.Key]}
		if ns := d.Nodes[a.Key]; ns != nil {
			if l, ok := ns.Locks[level]; ok {
				r.Lock = &l
			}
			if level == LevelTarget {
				r.Floor, r.Cap = ns.Floor, ns.Cap
			}
		}
		if len(a.Explain.Inputs) > 0 {
			r.Inputs = map[string]float64{}
			for _, in := range a.Explain.Inputs {
				r.Inputs[in.Name] = in.Value
			}
		}
		for _, dv := range h.Dimension {
			amt, err := one.DimAmount(a.Key, dv, per)
			if err != nil {
				continue
			}
			r.Dims = append(r.Dims, DimAmount{Key: dv, Amount: amt})
		}
		if q.Actuals {
			act, err := s.actualOf(ctx, db, tenantName, d.Metric, a.Key, per)
			if err != nil {
				return TreeRow{}, err
			}
			r.Actual = &act
			if amt > 0 {
				att := float64(act) / float64(amt)
				r.Attainment = &att
			}
		}
		return r, nil
	}
	t := &Tree{Plan: d.Key, Version: v, Level: level, Levels: d.levels(), Metric: d.Metric, Unit: m.Unit, Scale: m.Scale,
		Period: PeriodInfo{Key: per.Key, Start: per.Start, End: per.End}, Children: []TreeRow{}, Path: []PathEntry{}}
	if t.Node, err = row(n); err != nil {
		return nil, err
	}
	for _, c := range n.Children {
		ca, err := src(c)
		if err != nil {
			return nil, err
		}
		if ca == nil || !see(c) {
			continue
		}
		r, err := row(ca)
		if err != nil {
			return nil, err
		}
		t.Children = append(t.Children, r)
	}
	for k := n.Parent; k != ""; {
		a, err := src(k)
		if err != nil || a == nil {
			break
		}
		if see(k) {
			t.Path = append([]PathEntry{{Key: k, Name: a.Name}}, t.Path...)
		}
		k = a.Parent
	}
	return t, nil
}

// defaultNode is the highest node p may see, breadth first from the root:
// the root for admins, a manager's region, a rep's own node.
func (s *Service) defaultNode(src nodeSource, root string, see func(string) bool) (string, error) {
	queue := []string{root}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		if see(k) {
			return k, nil
		}
		a, err := src(k)
		if err != nil {
			return "", err
		}
		if a != nil {
			queue = append(queue, a.Children...)
		}
	}
	return root, nil // nothing visible: the root, which answers 404
}

// actualOf is a node's actual of the metric over a period.
func (s *Service) actualOf(ctx context.Context, db store.DB, tenantName, metric, node string, per period.Period) (int64, error) {
	if err := s.tracker.Sync(ctx, db, tenantName); err != nil {
		return 0, err
	}
	from, to := period.FormatDate(per.Start), lastDay(per)
	switch kindOf(node) {
	case "user":
		c, err := s.tracker.Actual(ctx, db, tenantName, metric, []string{node[5:]}, from, to)
		return c.Sum, err
	case "team":
		c, err := s.tracker.TeamActual(ctx, db, tenantName, metric, node[5:], from, to)
		return c.Sum, err
	}
	users, err := auth.ListUsers(ctx, db)
	if err != nil {
		return 0, err
	}
	ids := make([]string, 0, len(users))
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	c, err := s.tracker.Actual(ctx, db, tenantName, metric, ids, from, to)
	return c.Sum, err
}

// visible returns what nodes p may see: everything for admins, finance and
// integrations; for managers the teams they manage and everything below;
// for everyone their own user node (and a viewer's own team subtree).
func (s *Service) visible(ctx context.Context, db store.DB, p *auth.Principal) (func(string) bool, error) {
	if p == nil || p.Integration || p.IsAdmin() || p.Has(auth.RoleFinance) {
		return func(string) bool { return true }, nil
	}
	vis, err := auth.VisibilityOf(ctx, db, p)
	if err != nil {
		return nil, err
	}
	teams, err := auth.ListTeams(ctx, db)
	if err != nil {
		return nil, err
	}
	var roots []string
	for _, t := range teams {
		if p.Has(auth.RoleManager) && contains(t.Managers, p.UserID) {
			roots = append(roots, t.ID)
		}
	}
	if p.Has(auth.RoleViewer) {
		mine, err := auth.TeamOn(ctx, db, p.UserID, period.FormatDate(time.Now()))
		if err != nil {
			return nil, err
		}
		roots = append(roots, mine...)
	}
	okTeam := map[string]bool{}
	for _, id := range auth.Subtree(teams, roots) {
		okTeam[id] = true
	}
	return func(k string) bool {
		switch kindOf(k) {
		case "team":
			return okTeam[k[5:]]
		case "user":
			return vis.Allows(k[5:])
		}
		return false
	}, nil
}

// Preview allocates a definition (or the saved draft when def is nil)
// without saving anything and returns the tree view of the asked node.
func (s *Service) Preview(ctx context.Context, db store.DB, tenantName string, p *auth.Principal, key string, def map[string]any, q TreeQuery) (*Tree, error) {
	if def == nil {
		pl, err := s.Get(ctx, db, key)
		if err != nil {
			return nil, err
		}
		def = pl.Definition
	}
	def["key"] = key
	d, fe := decode(def)
	if len(fe) > 0 {
		return nil, apperr.Invalid(fmt.Sprintf("the target plan has %d problem(s)", len(fe)), fe...)
	}
	if fe := d.checkStatic(); len(fe) > 0 {
		return nil, apperr.Invalid(fmt.Sprintf("the target plan has %d problem(s)", len(fe)), fe...)
	}
	if _, err := s.tracker.Metric(ctx, db, tenantName, d.Metric); err != nil {
		return nil, apperr.Invalid("unknown metric", apperr.FieldError{Pointer: "/metric", Code: "unknown_metric", Message: fmt.Sprintf("%q is not a published metric", d.Metric)})
	}
	a, err := s.allocate(ctx, db, tenantName, key, d)
	if err != nil {
		return nil, err
	}
	level := q.Level
	if level == "" {
		level = LevelTarget
	}
	r, ok := a.Levels[level]
	if !ok {
		return nil, apperr.Invalid("unknown level", apperr.FieldError{Pointer: "/query/level", Code: "unknown_level",
			Message: fmt.Sprintf("the plan has no %s level", level)})
	}
	props, err := s.proposals(ctx, db, key)
	if err != nil {
		return nil, err
	}
	return s.tree2(ctx, db, tenantName, p, d, 0, level, r, resultNodes(r), q, props)
}

// Change is one changed value between two definitions.
type Change struct {
	Path string `json:"path"`
	Old  any    `json:"old"`
	New  any    `json:"new"`
}

// NodeChange is one node whose amount changed between two versions.
type NodeChange struct {
	Key   string `json:"key"`
	Name  string `json:"name"`
	Old   int64  `json:"old"`
	New   int64  `json:"new"`
	Delta int64  `json:"delta"`
}

// Diff compares two versions.
type Diff struct {
	From       VersionInfo             `json:"from"`
	To         VersionInfo             `json:"to"`
	Definition []Change                `json:"definition"`
	Nodes      map[string][]NodeChange `json:"nodes"` // by level, largest change first
}

// Diff compares two published versions: what changed in the definition and
// which nodes' annual amounts moved, by level.
func (s *Service) Diff(ctx context.Context, db store.DB, tenantName, key string, from, to int64) (*Diff, error) {
	a, err := s.Version(ctx, db, key, from)
	if err != nil {
		return nil, err
	}
	b, err := s.Version(ctx, db, key, to)
	if err != nil {
		return nil, err
	}
	out := &Diff{From: a, To: b, Definition: []Change{}, Nodes: map[string][]NodeChange{}}
	diffValues("", a.Definition, b.Definition, &out.Definition)
	out.From.Definition, out.To.Definition = nil, nil
	for _, level := range Levels {
		ra, errA := s.loadResult(ctx, db, key, from, level)
		rb, errB := s.loadResult(ctx, db, key, to, level)
		if errA != nil || errB != nil {
			continue // the level exists in one version only: its totals show it
		}
		changes := []NodeChange{}
		seen := map[string]bool{}
		for _, k := range append(append([]string{}, ra.Order...), rb.Order...) {
			if seen[k] {
				continue
			}
			seen[k] = true
			var o, n int64
			name := ""
			if x := ra.Nodes[k]; x != nil {
				o, name = x.Annual, x.Name
			}
			if x := rb.Nodes[k]; x != nil {
				n, name = x.Annual, x.Name
			}
			if o != n {
				changes = append(changes, NodeChange{Key: k, Name: name, Old: o, New: n, Delta: n - o})
			}
		}
		sort.SliceStable(changes, func(i, j int) bool {
			ai, aj := abs(changes[i].Delta), abs(changes[j].Delta)
			if ai != aj {
				return ai > aj
			}
			return changes[i].Key < changes[j].Key
		})
		out.Nodes[level] = changes
	}
	return out, nil
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// diffValues lists the JSON Pointer paths whose values differ.
func diffValues(path string, a, b any, out *[]Change) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	// A setting added or removed shows as its leaves, not as one object.
	if a == nil && bok {
		am, aok = map[string]any{}, true
	}
	if b == nil && aok {
		bm, bok = map[string]any{}, true
	}
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for _, k := range sortedKeys(keys) {
			diffValues(path+"/"+escapePointer(k), am[k], bm[k], out)
		}
		return
	}
	// Lists of the same length compare item by item (a stage's SLA shows as
	// /stages/0/slaDays, not as the whole list).
	if al, ok := a.([]any); ok {
		if bl, ok := b.([]any); ok && len(al) == len(bl) {
			for i := range al {
				diffValues(path+"/"+strconv.Itoa(i), al[i], bl[i], out)
			}
			return
		}
	}
	if !reflect.DeepEqual(normalise(a), normalise(b)) {
		*out = append(*out, Change{Path: path, Old: a, New: b})
	}
}

// normalise makes stored numbers (int64 or float64) comparable.
func normalise(v any) any {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int:
		return float64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalise(e)
		}
		return out
	}
	return v
}

// FormulaCheck type-checks one allocation formula for the editor.
func (s *Service) FormulaCheck(src string, attributes []string) error {
	d := &Definition{Attributes: attributes}
	_, err := s.rules.Check(src, env(d.inputNames()), rules.Number)
	return err
}

// DiffValues appends to out the JSON Pointer paths (under path) whose values
// differ between a and b; added or removed settings show as their leaves.
func DiffValues(path string, a, b any, out *[]Change) { diffValues(path, a, b, out) }

// Normalize returns a definition in the form Save stores it (decoded and
// re-encoded: empty settings dropped), for comparing definitions; a
// definition that does not decode is returned unchanged.
func Normalize(def map[string]any) map[string]any {
	d, fe := decode(def)
	if len(fe) > 0 {
		return def
	}
	return d.toMap()
}

// Visible returns which node keys (team:<id>, user:<id>, company) p may see,
// for read paths that list nodes of a plan (diffs, proposals, the working
// copy's per-node settings): the rule of Tree.
func (s *Service) Visible(ctx context.Context, db store.DB, p *auth.Principal) (func(string) bool, error) {
	return s.visible(ctx, db, p)
}
