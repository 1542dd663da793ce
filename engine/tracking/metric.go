// Package tracking keeps metrics — sums and counts of records by (metric,
// owner, day) — exact, incremental and recomputable (DESIGN.md §5).
//
// A metric definition is a configuration document (kind "metric"). Every
// record write goes through a records.Hook: BeforeWrite marks the record in
// an outbox (before the record is stored), AfterWrite drains the outbox. A
// single projector per tenant (an in-process mutex plus a lease document)
// turns each outbox entry into a journal entry of old→new deltas and applies
// it to month buckets idempotently, so a crash between any two steps is
// healed by replaying the journal past the checkpoint. Reconcile recomputes
// every bucket from the records and reports (and repairs) drift.
package tracking

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"stride/engine/apperr"
	"stride/engine/config"
	"stride/engine/forms"
	"stride/engine/objects"
	"stride/engine/records"
	"stride/engine/rules"
	"stride/engine/store"
	"stride/engine/tenant"
)

// Units of a metric's stored sums.
const (
	UnitMoney  = "money"  // minor units (分, cents)
	UnitNumber = "number" // value × 10^precision
)

// Metric is a compiled published metric version.
type Metric struct {
	Key        string
	Version    int64
	Object     string
	Where      *rules.Program // nil: every record counts
	Value      *rules.Program // nil: count metric, value 1
	Unit       string
	Precision  int   // decimal digits of stored sums (2 for money)
	Scale      int64 // stored units per 1 (100 for money)
	DateField  string
	DateType   forms.FieldType // date, datetime, or "" for createdAt
	OwnerField string
	SplitField string
	Definition map[string]any
	// Derived is the formula of a derived metric (nil: a tracked metric).
	// A derived metric has no object, no rollups and no records of its own.
	Derived *Derived
	// Dimension is a string field of the object: the metric's rollups also
	// keep cells per value of it, under DimensionKey(key, value).
	Dimension string

	// open is the open-pipeline weight of a record (see OpenWeight), bound
	// to a call's context; nil: the metric has no open cells.
	open func(rec *records.Record) (percent float64, isOpen bool)
}

// Tracker is the tracking service. One per process.
type Tracker struct {
	objects *objects.Service
	tenants *tenant.Registry
	metrics *config.Store
	holder  string // lease holder id of this process

	// Async makes writes hand projection to a background drainer per tenant
	// instead of draining inside the write; set it before the first write.
	Async bool

	mu       sync.Mutex
	locks    map[string]*sync.Mutex   // tenant → projector mutex
	kicks    map[string]chan struct{} // tenant → background drainer
	cache    sync.Map                 // metricKey{tenant,key,version} → *Metric
	tzs      sync.Map                 // tenant → *time.Location
	declared sync.Map                 // tenant → true
	pending  sync.Map                 // tenant → pendingSeen (projector_batch.go)

	// openWeight weighs open pipeline records (SetOpenWeight).
	openWeight OpenWeight

	// failAt, when set (tests only), is called before each projector step
	// and may abort the projector by returning an error.
	failAt func(step string) error
}

type metricKey struct {
	tenant, key string
	version     int64
}

// New returns a tracker over the object definitions; tenants supplies each
// tenant's time zone (nil: Asia/Shanghai for every tenant).
func New(objs *objects.Service, tenants *tenant.Registry) *Tracker {
	t := &Tracker{objects: objs, tenants: tenants, locks: map[string]*sync.Mutex{}, kicks: map[string]chan struct{}{},
		holder: fmt.Sprintf("p%d-%d", time.Now().UnixNano(), holderSeq.Add(1))}
	t.metrics = config.New(config.Kind{Name: "metric", Validate: func(ctx context.Context, db store.DB, tenant, key string, def map[string]any) []apperr.FieldError {
		_, fe := t.compile(ctx, db, tenant, key, 0, def)
		return fe
	}})
	return t
}

// Collections are the tenant collections this package owns.
func (t *Tracker) Collections() []store.Collection {
	out := t.metrics.Collections()
	return append(out,
		store.Collection{Name: collOutbox},
		store.Collection{Name: collApplied, Indexes: []store.Index{{Name: "object", Fields: []string{"object"}}}},
		store.Collection{Name: collJournal, Indexes: []store.Index{{Name: "seq", Fields: []string{"seq"}}}},
		store.Collection{Name: collState},
		store.Collection{Name: collRollup, Indexes: []store.Index{{Name: "metric_owner", Fields: []string{"metric", "owner", "month"}}}},
	)
}

func (t *Tracker) declare(ctx context.Context, db store.DB, tenant string) error {
	if _, ok := t.declared.Load(tenant); ok {
		return nil
	}
	for _, c := range t.Collections() {
		if err := db.Declare(ctx, c); err != nil {
			return fmt.Errorf("declare %s: %w", c.Name, err)
		}
	}
	t.declared.Store(tenant, true)
	return nil
}

// SetInstance names this server instance for the projector lease. A
// restarted instance with the same name takes its lease back at once
// instead of waiting for it to expire; two live instances must never share a
// name. Call it before the first drain.
func (t *Tracker) SetInstance(name string) {
	if name != "" {
		t.holder = name
	}
}

// Definitions returns the configuration store of metric definitions
// (Save/Get/List/Versions…). Publishing through it does not rebuild: use
// Tracker.Publish.
func (t *Tracker) Definitions() *config.Store { return t.metrics }

// Save validates def in full and stores it as the metric's draft.
func (t *Tracker) Save(ctx context.Context, db store.DB, tenant, actor, key string, def map[string]any, ifVersion int64) (config.Doc, error) {
	return t.metrics.Save(ctx, db, tenant, actor, key, def, ifVersion)
}

// Publish publishes the draft as the next version and rebuilds the metric's
// rollups from the records.
func (t *Tracker) Publish(ctx context.Context, db store.DB, tenant, actor, key string) (config.Doc, error) {
	d, err := t.metrics.Publish(ctx, db, tenant, actor, key)
	if err != nil {
		return d, err
	}
	return d, t.Rebuild(ctx, db, tenant, key)
}

// Check compiles a definition without saving it (for the editor).
func (t *Tracker) Check(ctx context.Context, db store.DB, tenant string, def map[string]any) []apperr.FieldError {
	key, _ := def["key"].(string)
	_, fe := t.compile(ctx, db, tenant, key, 0, def)
	return fe
}

// Metric returns the compiled published version of a metric. A dimension
// key (DimensionKey) or an open-pipeline key (OpenKey) returns its metric.
func (t *Tracker) Metric(ctx context.Context, db store.DB, tenant, key string) (*Metric, error) {
	key = baseKey(key)
	v, err := t.metrics.PublishedVersion(ctx, db, key)
	if err != nil {
		return nil, err
	}
	return t.metricVersion(ctx, db, tenant, key, v)
}

func (t *Tracker) metricVersion(ctx context.Context, db store.DB, tenant, key string, v int64) (*Metric, error) {
	mk := metricKey{tenant, key, v}
	if m, ok := t.cache.Load(mk); ok {
		return t.bindOpen(ctx, db, tenant, m.(*Metric)), nil
	}
	def, err := t.metrics.Version(ctx, db, key, v)
	if err != nil {
		return nil, err
	}
	m, fe := t.compile(ctx, db, tenant, key, v, def)
	if len(fe) > 0 {
		return nil, fmt.Errorf("published metric %s v%d does not compile: %s %s", key, v, fe[0].Pointer, fe[0].Message)
	}
	t.cache.Store(mk, m)
	return t.bindOpen(ctx, db, tenant, m), nil
}

// Published returns every published tracked metric (the ones with rollups),
// by key. Derived metrics are left out: they have nothing to project,
// rebuild or reconcile.
func (t *Tracker) Published(ctx context.Context, db store.DB, tenant string) ([]*Metric, error) {
	all, err := t.PublishedAll(ctx, db, tenant)
	if err != nil {
		return nil, err
	}
	out := all[:0:0]
	for _, m := range all {
		if m.Derived == nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// PublishedAll returns every published metric, tracked and derived, by key.
func (t *Tracker) PublishedAll(ctx context.Context, db store.DB, tenant string) ([]*Metric, error) {
	docs, err := t.metrics.PublishedVersions(ctx, db) // by key, cached
	if err != nil {
		return nil, err
	}
	var out []*Metric
	for _, d := range docs {
		m, err := t.metricVersion(ctx, db, tenant, d.Key, d.Version)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (t *Tracker) metricsOf(ctx context.Context, db store.DB, tenant, object string) ([]*Metric, error) {
	all, err := t.Published(ctx, db, tenant)
	if err != nil {
		return nil, err
	}
	var out []*Metric
	for _, m := range all {
		if m.Object == object {
			out = append(out, m)
		}
	}
	return out, nil
}

// compile validates a definition in full against the published object.
func (t *Tracker) compile(ctx context.Context, db store.DB, tenant, key string, version int64, def map[string]any) (*Metric, []apperr.FieldError) {
	var fe []apperr.FieldError
	for _, e := range forms.ValidateConfig("metric", def) {
		fe = append(fe, apperr.FieldError{Pointer: e.Pointer, Code: e.Code, Message: e.Message})
	}
	if len(fe) > 0 {
		return nil, fe
	}
	m := &Metric{Key: key, Version: version, Definition: def, Precision: 2}
	m.Unit, _ = def["unit"].(string)
	if p, ok := def["precision"]; ok {
		m.Precision = int(store.Int(p))
	}
	if _, ok := def["derived"]; ok {
		switch m.Unit {
		case "":
			m.Unit = UnitNumber
		case UnitMoney:
			m.Precision = 2
		case UnitCount:
			m.Precision = 0
		case UnitPercent:
			if _, ok := def["precision"]; !ok {
				m.Precision = 4
			}
		}
		m.Scale = int64(math.Pow10(m.Precision))
		if fe := t.compileDerived(ctx, db, tenant, key, version, def, m); len(fe) > 0 {
			return nil, fe
		}
		return m, nil
	}
	if m.Unit == UnitPercent || m.Unit == UnitCount {
		fe = append(fe, apperr.FieldError{Pointer: "/unit", Code: "invalid",
			Message: "percent and count are units of derived metrics; a tracked metric is money or number"})
	}
	m.Object, _ = def["object"].(string)
	m.DateField, _ = def["dateField"].(string)
	m.OwnerField, _ = def["ownerField"].(string)
	m.SplitField, _ = def["splitField"].(string)
	m.Dimension, _ = def["dimension"].(string)
	obj, err := t.objects.Published(ctx, db, tenant, m.Object)
	if err != nil {
		msg := "the object does not exist or is not published"
		if ae, ok := apperr.As(err); !ok || (ae.Kind != apperr.KindNotFound && ae.Kind != apperr.KindInvalid) {
			msg = err.Error()
		}
		return nil, []apperr.FieldError{{Pointer: "/object", Code: "unknown_object", Message: msg}}
	}
	unknown := func(ptr, name, want string) {
		fe = append(fe, apperr.FieldError{Pointer: ptr, Code: "unknown_field",
			Message: fmt.Sprintf("%q is not %s of object %s", name, want, m.Object), Hint: rules.DidYouMean(name, obj.FieldOrder)})
	}
	switch f, ok := obj.Fields[m.DateField]; {
	case m.DateField == "createdAt":
	case !ok || (f.Type != forms.TypeDate && f.Type != forms.TypeDateTime):
		unknown("/dateField", m.DateField, "a date or date-time field (or createdAt)")
	default:
		m.DateType = f.Type
	}
	if f, ok := obj.Fields[m.OwnerField]; m.OwnerField != "owner" && (!ok || f.Type != forms.TypeString) {
		unknown("/ownerField", m.OwnerField, "a string field (or owner)")
	}
	if m.Dimension != "" {
		if f, ok := obj.Fields[m.Dimension]; !ok || f.Type != forms.TypeString {
			unknown("/dimension", m.Dimension, "a string field")
		}
	}
	if m.SplitField != "" {
		if f, ok := obj.Fields[m.SplitField]; !ok || !isSplitField(f) {
			unknown("/splitField", m.SplitField, "an array field of objects {user: string, percent: number}")
		}
	}
	check := func(ptr, src string, want rules.Result) *rules.Program {
		var p *rules.Program
		var err error
		if version == 0 {
			p, err = t.objects.Rules().Check(src, obj.Env, want)
		} else {
			p, err = t.objects.Rules().Compile(rules.Key{Tenant: tenant, Config: "metric:" + key + ":" + ptr[1:], Version: version}, src, obj.Env, want)
		}
		if err != nil {
			fe = append(fe, rules.Problem(ptr, err))
			return nil
		}
		return p
	}
	if src, ok := def["where"].(string); ok {
		m.Where = check("/where", src, rules.Bool)
	}
	if src, ok := def["value"].(string); ok {
		m.Value = check("/value", src, rules.Number)
		if m.Unit == "" {
			if f, ok := obj.Fields[strings.TrimSpace(src)]; ok && f.Type == forms.TypeMoney {
				m.Unit = UnitMoney
			}
		}
	} else if m.Unit == UnitMoney {
		fe = append(fe, apperr.FieldError{Pointer: "/unit", Code: "invalid", Message: "a count metric (no value) cannot be money"})
	}
	if m.Unit == "" {
		m.Unit = UnitNumber
	}
	if m.Unit == UnitMoney {
		m.Precision = 2
	}
	m.Scale = int64(math.Pow10(m.Precision))
	if len(fe) > 0 {
		return nil, fe
	}
	return m, nil
}

// isSplitField reports whether f is an array of objects with a string user
// and a numeric percent.
func isSplitField(f forms.Field) bool {
	if f.Type != forms.TypeArray || f.Items == nil || f.Items.Type != forms.TypeObject {
		return false
	}
	var user, pct bool
	for _, sf := range f.Items.Fields {
		switch {
		case sf.Name == "user" && sf.Type == forms.TypeString:
			user = true
		case sf.Name == "percent" && (sf.Type == forms.TypeNumber || sf.Type == forms.TypeInteger):
			pct = true
		}
	}
	return user && pct
}

// location returns the tenant's time zone.
func (t *Tracker) location(ctx context.Context, tenantName string) (*time.Location, error) {
	if l, ok := t.tzs.Load(tenantName); ok {
		return l.(*time.Location), nil
	}
	name := "Asia/Shanghai"
	if t.tenants != nil {
		tn, err := t.tenants.Get(ctx, tenantName)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		if tn.TimeZone != "" {
			name = tn.TimeZone
		}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("tenant %s time zone: %w", tenantName, err)
	}
	t.tzs.Store(tenantName, loc)
	return loc, nil
}

func isNotFound(err error) bool {
	if errors.Is(err, store.ErrNotFound) {
		return true
	}
	ae, ok := apperr.As(err)
	return ok && ae.Kind == apperr.KindNotFound
}
