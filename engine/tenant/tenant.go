// Package tenant maps tenant names to their databases and keeps the list of
// tenants in the system database (one database per tenant, DESIGN.md §3).
package tenant

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"stride/engine/apperr"
	"stride/engine/period"
	"stride/engine/store"
)

// collTenants holds one document per tenant in the system database.
const collTenants = "tenants"

// Tenant is a customer's space.
type Tenant struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Locale      string `json:"locale"`
	TimeZone    string `json:"timeZone"`
	// FiscalStartMonth is the month (1–12) the fiscal year starts in; 0
	// means January. Targets, progress periods and quarters follow it.
	FiscalStartMonth int       `json:"fiscalStartMonth,omitempty"`
	CreatedAt        time.Time `json:"createdAt"`
}

// Registry opens tenant databases and declares their collections once per process.
type Registry struct {
	store store.Store
	colls []store.Collection

	mu       sync.Mutex
	declared map[string]store.DB
}

// New returns a registry over st. colls are the collections every tenant
// database has; the domain packages contribute them.
func New(st store.Store, colls []store.Collection) *Registry {
	return &Registry{store: st, colls: colls, declared: map[string]store.DB{}}
}

// AddCollections adds collections every tenant database has. Call it while
// wiring, before the first database is opened.
func (r *Registry) AddCollections(colls ...store.Collection) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.colls = append(r.colls, colls...)
}

// System opens the system database with its collections declared.
func (r *Registry) System(ctx context.Context, colls ...store.Collection) (store.DB, error) {
	db, err := r.store.DB(ctx, store.SystemDB)
	if err != nil {
		return nil, fmt.Errorf("open system database: %w", err)
	}
	all := append([]store.Collection{{Name: collTenants}}, colls...)
	for _, c := range all {
		if err := db.Declare(ctx, c); err != nil {
			return nil, fmt.Errorf("declare system collection %s: %w", c.Name, err)
		}
	}
	return db, nil
}

// DB opens an existing tenant's database. An unknown tenant is a not-found error.
func (r *Registry) DB(ctx context.Context, name string) (store.DB, error) {
	r.mu.Lock()
	db, ok := r.declared[name]
	r.mu.Unlock()
	if ok {
		return db, nil
	}
	if _, err := r.Get(ctx, name); err != nil {
		return nil, err
	}
	return r.open(ctx, name)
}

func (r *Registry) open(ctx context.Context, name string) (store.DB, error) {
	db, err := r.store.DB(ctx, "t_"+name)
	if err != nil {
		return nil, fmt.Errorf("open tenant %s: %w", name, err)
	}
	for _, c := range r.colls {
		if err := db.Declare(ctx, c); err != nil {
			return nil, fmt.Errorf("declare %s in tenant %s: %w", c.Name, name, err)
		}
	}
	r.mu.Lock()
	r.declared[name] = db
	r.mu.Unlock()
	return db, nil
}

// Get returns the tenant record.
func (r *Registry) Get(ctx context.Context, name string) (Tenant, error) {
	if !store.NamePattern.MatchString(name) {
		return Tenant{}, apperr.NotFound("unknown tenant %q", name)
	}
	sys, err := r.store.DB(ctx, store.SystemDB)
	if err != nil {
		return Tenant{}, err
	}
	d, err := sys.Get(ctx, collTenants, name)
	if errors.Is(err, store.ErrNotFound) {
		return Tenant{}, apperr.NotFound("unknown tenant %q", name)
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("load tenant %s: %w", name, err)
	}
	t := Tenant{Name: name}
	t.DisplayName, _ = d["displayName"].(string)
	t.Locale, _ = d["locale"].(string)
	t.TimeZone, _ = d["timeZone"].(string)
	t.FiscalStartMonth = int(store.Int(d["fiscalStartMonth"]))
	if s, ok := d["createdAt"].(string); ok {
		t.CreatedAt, _ = period.ParseInstant(s)
	}
	return t, nil
}

// Create registers a new tenant and prepares its database. A taken name is a conflict.
func (r *Registry) Create(ctx context.Context, t Tenant) (store.DB, error) {
	// Tenant database names get a "t_" prefix, so the name itself is limited
	// to what still fits the store's name pattern.
	if !store.NamePattern.MatchString("t_"+t.Name) || !store.NamePattern.MatchString(t.Name) {
		return nil, apperr.Invalid("invalid tenant name", apperr.FieldError{Pointer: "/name", Code: "pattern",
			Message: "use 1–38 lower-case letters, digits or _, starting with a letter"})
	}
	if t.Locale == "" {
		t.Locale = "zh-CN"
	}
	if t.TimeZone == "" {
		t.TimeZone = "Asia/Shanghai"
	}
	if _, err := time.LoadLocation(t.TimeZone); err != nil {
		return nil, apperr.Invalid("invalid time zone", apperr.FieldError{Pointer: "/timeZone", Code: "time_zone", Message: err.Error()})
	}
	if t.FiscalStartMonth < 0 || t.FiscalStartMonth > 12 {
		return nil, apperr.Invalid("invalid fiscal start month", apperr.FieldError{Pointer: "/fiscalStartMonth", Code: "range", Message: "a month from 1 to 12"})
	}
	sys, err := r.System(ctx)
	if err != nil {
		return nil, err
	}
	// Prepare the database first: a tenant row must never point at a database
	// without its collections (a crash in between leaves only an empty database,
	// which the next Create reuses).
	db, err := r.open(ctx, t.Name)
	if err != nil {
		return nil, err
	}
	_, err = sys.Insert(ctx, collTenants, store.Doc{
		store.KeyID: t.Name, "displayName": t.DisplayName, "locale": t.Locale,
		"timeZone": t.TimeZone, "fiscalStartMonth": int64(t.FiscalStartMonth), "createdAt": period.FormatInstant(time.Now()),
	})
	if errors.Is(err, store.ErrDuplicate) {
		return nil, apperr.Conflict("tenant_exists", "tenant %q already exists", t.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("register tenant %s: %w", t.Name, err)
	}
	return db, nil
}

// List returns every tenant name.
func (r *Registry) List(ctx context.Context) ([]string, error) {
	sys, err := r.System(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	err = sys.Scan(ctx, collTenants, store.Query{}, func(d store.Doc) error {
		names = append(names, store.ID(d))
		return nil
	})
	return names, err
}

// Calendar returns the tenant's calendar: its time zone (UTC if the stored
// zone no longer loads) and fiscal start month (January by default).
func (t Tenant) Calendar() period.Calendar {
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	m := time.January
	if t.FiscalStartMonth >= 1 && t.FiscalStartMonth <= 12 {
		m = time.Month(t.FiscalStartMonth)
	}
	return period.Calendar{Location: loc, FiscalStartMonth: m}
}

// Drop deletes a tenant and its database. The tenant row goes first, so a
// crash in between leaves only an orphan database that Create reuses.
func (r *Registry) Drop(ctx context.Context, name string) error {
	if _, err := r.Get(ctx, name); err != nil {
		return err
	}
	sys, err := r.System(ctx)
	if err != nil {
		return err
	}
	if err := sys.Delete(ctx, collTenants, name, 0); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("drop tenant %s: %w", name, err)
	}
	r.mu.Lock()
	delete(r.declared, name)
	r.mu.Unlock()
	if err := r.store.DropDB(ctx, "t_"+name); err != nil {
		return fmt.Errorf("drop tenant database %s: %w", name, err)
	}
	return nil
}
