// Package objects stores custom object definitions (custom forms): a JSON
// Schema for the records plus UI hints and formulas, edited as a draft and
// published as immutable versions (DESIGN.md §4).
//
// A published version is compiled once per process into a Compiled value —
// the record schema, its typed formula environment and every formula
// program — and cached by (tenant, key, version). Versions never change, so
// the cache needs no invalidation and is safe across server instances.
package objects

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/period"
	"stride/engine/rules"
	"stride/engine/store"
)

const (
	collObjects  = "objects"
	collVersions = "object_versions"
)

// Collections are the tenant collections this package owns.
func Collections() []store.Collection {
	return []store.Collection{
		{Name: collObjects},
		{Name: collVersions, Indexes: []store.Index{{Name: "key_version", Fields: []string{"key", "version"}, Unique: true}}},
	}
}

// Status of an object's working copy.
const (
	StatusDraft     = "draft"
	StatusPublished = "published"
)

// Object is an object's working copy and publication state.
type Object struct {
	Key              string         `json:"key"`
	Label            map[string]any `json:"label,omitempty"`
	Version          int64          `json:"version"` // of the working copy, for If-Match
	Status           string         `json:"status"`
	PublishedVersion int64          `json:"publishedVersion"`
	Definition       map[string]any `json:"definition"`
	UpdatedAt        time.Time      `json:"updatedAt"`
	UpdatedBy        string         `json:"updatedBy"`
}

// VersionInfo describes one published version.
type VersionInfo struct {
	Key         string         `json:"key"`
	Version     int64          `json:"version"`
	PublishedAt time.Time      `json:"publishedAt"`
	PublishedBy string         `json:"publishedBy"`
	Definition  map[string]any `json:"definition,omitempty"`
}

// Service manages definitions of one process; it holds the compiled cache.
type Service struct {
	rules *rules.Engine
	cache sync.Map // cacheKey → *Compiled
}

type cacheKey struct {
	tenant, key string
	version     int64
}

// NewService returns an objects service compiling formulas with eng.
func NewService(eng *rules.Engine) *Service { return &Service{rules: eng} }

// Rules returns the rule engine the service compiles with.
func (s *Service) Rules() *rules.Engine { return s.rules }

func objectFromDoc(d store.Doc) Object {
	o := Object{Key: store.ID(d), Version: store.Version(d), PublishedVersion: store.Int(d["publishedVersion"])}
	o.Status, _ = d["status"].(string)
	o.Definition, _ = d["draft"].(map[string]any)
	o.Label, _ = o.Definition["label"].(map[string]any)
	o.UpdatedBy, _ = d["updatedBy"].(string)
	if s, ok := d["updatedAt"].(string); ok {
		o.UpdatedAt, _ = period.ParseInstant(s)
	}
	return o
}

// List returns every object's working copy, by key.
func (s *Service) List(ctx context.Context, db store.DB) ([]Object, error) {
	out := []Object{}
	err := db.Scan(ctx, collObjects, store.Query{}, func(d store.Doc) error {
		out = append(out, objectFromDoc(d))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list objects: %w", err)
	}
	return out, nil
}

// Get returns an object's working copy.
func (s *Service) Get(ctx context.Context, db store.DB, key string) (Object, error) {
	d, err := db.Get(ctx, collObjects, key)
	if errors.Is(err, store.ErrNotFound) {
		return Object{}, apperr.NotFound("object %q does not exist", key)
	}
	if err != nil {
		return Object{}, fmt.Errorf("load object %s: %w", key, err)
	}
	return objectFromDoc(d), nil
}

// Save validates def completely (schema, hints and every formula) and stores
// it as the object's draft. Nothing is written if anything is wrong.
// ifVersion 0 skips the optimistic check.
func (s *Service) Save(ctx context.Context, db store.DB, tenantName, actor, key string, def map[string]any, ifVersion int64) (Object, error) {
	if k, ok := def["key"]; ok && k != key {
		return Object{}, apperr.Invalid("the definition's key differs from the URL",
			apperr.FieldError{Pointer: "/key", Code: "const", Message: fmt.Sprintf("must be %q, as in the URL", key)})
	}
	def["key"] = key
	if _, fe := s.compile(tenantName, key, 0, def); len(fe) > 0 {
		return Object{}, apperr.Invalid(fmt.Sprintf("the definition has %d problem(s)", len(fe)), fe...)
	}
	now := period.FormatInstant(time.Now())
	cur, err := db.Get(ctx, collObjects, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if ifVersion != 0 {
			return Object{}, apperr.Conflict("version_conflict", "object %q does not exist yet", key)
		}
		d := store.Doc{store.KeyID: key, "status": StatusDraft, "draft": def, "publishedVersion": int64(0), "updatedAt": now, "updatedBy": actor}
		v, err := db.Insert(ctx, collObjects, d)
		if errors.Is(err, store.ErrDuplicate) {
			return Object{}, apperr.Conflict("version_conflict", "object %q was created concurrently; reload and retry", key)
		}
		if err != nil {
			return Object{}, fmt.Errorf("create object %s: %w", key, err)
		}
		d[store.KeyVersion] = v
		return objectFromDoc(d), audit.Append(ctx, db, actor, "object.create", "object:"+key, nil)
	case err != nil:
		return Object{}, fmt.Errorf("load object %s: %w", key, err)
	}
	if ifVersion != 0 && store.Version(cur) != ifVersion {
		return Object{}, apperr.Conflict("version_conflict", "the object was changed by someone else; reload it").With("current", store.Version(cur))
	}
	cur["draft"], cur["status"], cur["updatedAt"], cur["updatedBy"] = def, StatusDraft, now, actor
	v, err := db.Replace(ctx, collObjects, cur, store.Version(cur))
	if errors.Is(err, store.ErrConflict) {
		return Object{}, apperr.Conflict("version_conflict", "the object was changed by someone else; reload it")
	}
	if err != nil {
		return Object{}, fmt.Errorf("save object %s: %w", key, err)
	}
	cur[store.KeyVersion] = v
	return objectFromDoc(cur), audit.Append(ctx, db, actor, "object.save", "object:"+key, nil)
}

// Publish turns the draft into the next immutable version. Publishing an
// object with no draft changes is a no-op that returns the current state.
//
// Without transactions the two writes are ordered so a crash between them is
// harmless: the version document is inserted first (idempotently, keyed by
// key@version); the working copy then points at it. A retry finds the version
// already there and completes the second step.
func (s *Service) Publish(ctx context.Context, db store.DB, tenantName, actor, key string) (Object, error) {
	cur, err := db.Get(ctx, collObjects, key)
	if errors.Is(err, store.ErrNotFound) {
		return Object{}, apperr.NotFound("object %q does not exist", key)
	}
	if err != nil {
		return Object{}, fmt.Errorf("load object %s: %w", key, err)
	}
	o := objectFromDoc(cur)
	if o.Status == StatusPublished {
		return o, nil
	}
	next := o.PublishedVersion + 1
	if _, fe := s.compile(tenantName, key, next, o.Definition); len(fe) > 0 {
		// The draft was valid when saved; formulas can only fail now if the
		// function library changed underneath.
		return Object{}, apperr.Invalid("the draft no longer validates; save it again to see why", fe...)
	}
	now := period.FormatInstant(time.Now())
	_, err = db.Insert(ctx, collVersions, store.Doc{
		store.KeyID: versionID(key, next), "key": key, "version": next, "definition": o.Definition,
		"publishedAt": now, "publishedBy": actor,
	})
	if err != nil && !errors.Is(err, store.ErrDuplicate) {
		return Object{}, fmt.Errorf("publish object %s v%d: %w", key, next, err)
	}
	cur["status"], cur["publishedVersion"], cur["updatedAt"], cur["updatedBy"] = StatusPublished, next, now, actor
	v, err := db.Replace(ctx, collObjects, cur, store.Version(cur))
	if errors.Is(err, store.ErrConflict) {
		return Object{}, apperr.Conflict("version_conflict", "the object was changed while publishing; reload and publish again")
	}
	if err != nil {
		return Object{}, fmt.Errorf("publish object %s: %w", key, err)
	}
	cur[store.KeyVersion] = v
	return objectFromDoc(cur), audit.Append(ctx, db, actor, "object.publish", "object:"+key, map[string]any{"version": next})
}

func versionID(key string, v int64) string { return key + "@" + strconv.FormatInt(v, 10) }

// Versions lists published versions, oldest first, without definitions.
func (s *Service) Versions(ctx context.Context, db store.DB, key string) ([]VersionInfo, error) {
	out := []VersionInfo{}
	err := db.Scan(ctx, collVersions, store.Query{Where: []store.Cond{{Field: "key", Op: store.Eq, Value: key}},
		Sort: []store.SortKey{{Field: "version"}}}, func(d store.Doc) error {
		vi := versionFromDoc(d)
		vi.Definition = nil
		out = append(out, vi)
		return nil
	})
	return out, err
}

func versionFromDoc(d store.Doc) VersionInfo {
	vi := VersionInfo{Version: store.Int(d["version"])}
	vi.Key, _ = d["key"].(string)
	vi.PublishedBy, _ = d["publishedBy"].(string)
	vi.Definition, _ = d["definition"].(map[string]any)
	if s, ok := d["publishedAt"].(string); ok {
		vi.PublishedAt, _ = period.ParseInstant(s)
	}
	return vi
}

// Published returns the compiled version in force for key. An object never
// published is a 422: records cannot be written against a draft.
func (s *Service) Published(ctx context.Context, db store.DB, tenantName, key string) (*Compiled, error) {
	d, err := db.Get(ctx, collObjects, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apperr.NotFound("object %q does not exist", key)
	}
	if err != nil {
		return nil, fmt.Errorf("load object %s: %w", key, err)
	}
	v := store.Int(d["publishedVersion"])
	if v == 0 {
		return nil, apperr.New(apperr.KindInvalid, "object_not_published", "object %q has no published version yet; publish it first", key)
	}
	return s.Version(ctx, db, tenantName, key, v)
}

// Version returns a compiled published version.
func (s *Service) Version(ctx context.Context, db store.DB, tenantName, key string, version int64) (*Compiled, error) {
	ck := cacheKey{tenantName, key, version}
	if c, ok := s.cache.Load(ck); ok {
		return c.(*Compiled), nil
	}
	d, err := db.Get(ctx, collVersions, versionID(key, version))
	if errors.Is(err, store.ErrNotFound) {
		return nil, apperr.NotFound("object %q has no version %d", key, version)
	}
	if err != nil {
		return nil, fmt.Errorf("load object %s v%d: %w", key, version, err)
	}
	def, _ := d["definition"].(map[string]any)
	c, fe := s.compile(tenantName, key, version, def)
	if len(fe) > 0 {
		return nil, fmt.Errorf("published object %s v%d does not compile: %s", key, version, fe[0].Message)
	}
	s.cache.Store(ck, c)
	return c, nil
}

// Check compiles a definition without saving it (for the formula editor).
func (s *Service) Check(def map[string]any) (*Compiled, []apperr.FieldError) {
	key, _ := def["key"].(string)
	return s.compile("", key, 0, def)
}

// FromJSON decodes a definition strictly enough for compile: numbers as
// json.Number so integers in the schema stay exact.
func FromJSON(b []byte) (map[string]any, error) {
	var def map[string]any
	if err := json.Unmarshal(b, &def); err != nil {
		return nil, err
	}
	return def, nil
}

// sortedKeys returns m's keys in order, for deterministic error lists.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
