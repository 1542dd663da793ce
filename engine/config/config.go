// Package config stores configuration documents of one kind (objects,
// pipelines, metrics, …) with the lifecycle every kind shares (DESIGN.md §4):
// a working copy edited as a draft, validated in full on every save, and
// published as immutable numbered versions, with every change audited.
//
// What a kind means is not this package's business: a Kind supplies the
// validation, and the domain package compiles published versions into
// whatever it needs (and may cache them: versions never change).
package config

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/period"
	"stride/engine/store"
)

// Status of a working copy.
const (
	StatusDraft     = "draft"
	StatusPublished = "published"
)

// Kind describes one kind of configuration document.
type Kind struct {
	// Name is the kind's name: it names the collections ("cfg_<name>",
	// "cfg_<name>_versions"), audit actions ("<name>.save") and messages.
	Name string
	// Validate checks a whole definition before it is saved or published and
	// returns every problem, with pointers into the definition. tenant is ""
	// when checking outside a tenant.
	Validate func(ctx context.Context, db store.DB, tenant, key string, def map[string]any) []apperr.FieldError
}

// Doc is a configuration document's working copy and publication state.
type Doc struct {
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

// Store keeps the documents of one kind.
type Store struct {
	kind               Kind
	collDocs, collVers string

	mu        sync.Mutex
	published map[store.DB]publishedSet // per database, see PublishedVersions
	// gen counts invalidations per database: a scan that started before a
	// publish must not cache its (stale) answer after the publish cleared
	// the cache.
	gen map[store.DB]uint64
}

// KeyVersion is a document key and its version in force.
type KeyVersion struct {
	Key     string
	Version int64
}

type publishedSet struct {
	at   time.Time
	list []KeyVersion
}

// PublishedTTL bounds how long PublishedVersions may serve a cached answer.
// A publish through this process is seen at once; one made by another
// server instance is seen within PublishedTTL.
var PublishedTTL = 2 * time.Second

// New returns the store of a kind.
func New(k Kind) *Store {
	return &Store{kind: k, collDocs: "cfg_" + k.Name, collVers: "cfg_" + k.Name + "_versions"}
}

// Kind returns the kind's name.
func (s *Store) Kind() string { return s.kind.Name }

// PublishedVersions returns, by key, every document that has a version in
// force. Write paths ask this on every record write (which pipelines and
// metrics apply?), so the answer is cached per database for PublishedTTL.
func (s *Store) PublishedVersions(ctx context.Context, db store.DB) ([]KeyVersion, error) {
	s.mu.Lock()
	if p, ok := s.published[db]; ok && time.Since(p.at) < PublishedTTL {
		s.mu.Unlock()
		return p.list, nil
	}
	gen := s.gen[db]
	s.mu.Unlock()
	var list []KeyVersion
	err := db.Scan(ctx, s.collDocs, store.Query{Where: []store.Cond{{Field: "publishedVersion", Op: store.Gt, Value: int64(0)}}},
		func(d store.Doc) error {
			list = append(list, KeyVersion{Key: store.ID(d), Version: store.Int(d["publishedVersion"])})
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("list published %s: %w", s.kind.Name, err)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Key < list[j].Key })
	s.mu.Lock()
	if s.published == nil {
		s.published = map[store.DB]publishedSet{}
	}
	if s.gen[db] == gen {
		s.published[db] = publishedSet{at: time.Now(), list: list}
	}
	s.mu.Unlock()
	return list, nil
}

func (s *Store) forgetPublished(db store.DB) {
	s.mu.Lock()
	delete(s.published, db)
	if s.gen == nil {
		s.gen = map[store.DB]uint64{}
	}
	s.gen[db]++
	s.mu.Unlock()
}

// Collections are the tenant collections of this kind.
func (s *Store) Collections() []store.Collection {
	return []store.Collection{
		{Name: s.collDocs},
		{Name: s.collVers, Indexes: []store.Index{{Name: "key_version", Fields: []string{"key", "version"}, Unique: true}}},
	}
}

func docFrom(d store.Doc) Doc {
	o := Doc{Key: store.ID(d), Version: store.Version(d), PublishedVersion: store.Int(d["publishedVersion"])}
	o.Status, _ = d["status"].(string)
	o.Definition, _ = d["draft"].(map[string]any)
	o.Label, _ = o.Definition["label"].(map[string]any)
	o.UpdatedBy, _ = d["updatedBy"].(string)
	if s, ok := d["updatedAt"].(string); ok {
		o.UpdatedAt, _ = period.ParseInstant(s)
	}
	return o
}

// List returns every working copy, by key.
func (s *Store) List(ctx context.Context, db store.DB) ([]Doc, error) {
	out := []Doc{}
	err := db.Scan(ctx, s.collDocs, store.Query{}, func(d store.Doc) error {
		out = append(out, docFrom(d))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.kind.Name, err)
	}
	return out, nil
}

// Get returns a working copy.
func (s *Store) Get(ctx context.Context, db store.DB, key string) (Doc, error) {
	d, err := db.Get(ctx, s.collDocs, key)
	if errors.Is(err, store.ErrNotFound) {
		return Doc{}, apperr.NotFound("%s %q does not exist", s.kind.Name, key)
	}
	if err != nil {
		return Doc{}, fmt.Errorf("load %s %s: %w", s.kind.Name, key, err)
	}
	return docFrom(d), nil
}

// Save validates def in full and stores it as the draft. Nothing is written
// if anything is wrong. ifVersion 0 skips the optimistic check.
func (s *Store) Save(ctx context.Context, db store.DB, tenant, actor, key string, def map[string]any, ifVersion int64) (Doc, error) {
	if k, ok := def["key"]; ok && k != key {
		return Doc{}, apperr.Invalid("the definition's key differs from the URL",
			apperr.FieldError{Pointer: "/key", Code: "const", Message: fmt.Sprintf("must be %q, as in the URL", key)})
	}
	def["key"] = key
	if fe := s.kind.Validate(ctx, db, tenant, key, def); len(fe) > 0 {
		return Doc{}, apperr.Invalid(fmt.Sprintf("the definition has %d problem(s)", len(fe)), fe...)
	}
	now := period.FormatInstant(time.Now())
	cur, err := db.Get(ctx, s.collDocs, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if ifVersion != 0 {
			return Doc{}, apperr.Conflict("version_conflict", "%s %q does not exist yet", s.kind.Name, key)
		}
		d := store.Doc{store.KeyID: key, "status": StatusDraft, "draft": def, "publishedVersion": int64(0), "updatedAt": now, "updatedBy": actor}
		v, err := db.Insert(ctx, s.collDocs, d)
		if errors.Is(err, store.ErrDuplicate) {
			return Doc{}, apperr.Conflict("version_conflict", "%s %q was created concurrently; reload and retry", s.kind.Name, key)
		}
		if err != nil {
			return Doc{}, fmt.Errorf("create %s %s: %w", s.kind.Name, key, err)
		}
		d[store.KeyVersion] = v
		return docFrom(d), audit.Append(ctx, db, actor, s.kind.Name+".create", s.kind.Name+":"+key, nil)
	case err != nil:
		return Doc{}, fmt.Errorf("load %s %s: %w", s.kind.Name, key, err)
	}
	if ifVersion != 0 && store.Version(cur) != ifVersion {
		return Doc{}, apperr.Conflict("version_conflict", "the %s was changed by someone else; reload it", s.kind.Name).With("current", store.Version(cur))
	}
	cur["draft"], cur["status"], cur["updatedAt"], cur["updatedBy"] = def, StatusDraft, now, actor
	v, err := db.Replace(ctx, s.collDocs, cur, store.Version(cur))
	if errors.Is(err, store.ErrConflict) {
		return Doc{}, apperr.Conflict("version_conflict", "the %s was changed by someone else; reload it", s.kind.Name)
	}
	if err != nil {
		return Doc{}, fmt.Errorf("save %s %s: %w", s.kind.Name, key, err)
	}
	cur[store.KeyVersion] = v
	return docFrom(cur), audit.Append(ctx, db, actor, s.kind.Name+".save", s.kind.Name+":"+key, nil)
}

// Publish turns the draft into the next immutable version. Publishing with
// no draft changes is a no-op that returns the current state.
//
// Without transactions the two writes are ordered so a crash between them is
// harmless: the version document is inserted first (keyed key@version, so a
// retry finds it); the working copy then points at it.
func (s *Store) Publish(ctx context.Context, db store.DB, tenant, actor, key string) (Doc, error) {
	cur, err := db.Get(ctx, s.collDocs, key)
	if errors.Is(err, store.ErrNotFound) {
		return Doc{}, apperr.NotFound("%s %q does not exist", s.kind.Name, key)
	}
	if err != nil {
		return Doc{}, fmt.Errorf("load %s %s: %w", s.kind.Name, key, err)
	}
	o := docFrom(cur)
	if o.Status == StatusPublished {
		return o, nil
	}
	// Revalidate: what a draft refers to (an object, a field) may have
	// changed since it was saved.
	if fe := s.kind.Validate(ctx, db, tenant, key, o.Definition); len(fe) > 0 {
		return Doc{}, apperr.Invalid("the draft no longer validates; fix it and save again", fe...)
	}
	next := o.PublishedVersion + 1
	now := period.FormatInstant(time.Now())
	_, err = db.Insert(ctx, s.collVers, store.Doc{
		store.KeyID: versionID(key, next), "key": key, "version": next, "definition": o.Definition,
		"publishedAt": now, "publishedBy": actor,
	})
	if err != nil && !errors.Is(err, store.ErrDuplicate) {
		return Doc{}, fmt.Errorf("publish %s %s v%d: %w", s.kind.Name, key, next, err)
	}
	cur["status"], cur["publishedVersion"], cur["updatedAt"], cur["updatedBy"] = StatusPublished, next, now, actor
	defer s.forgetPublished(db) // whatever happened, the next read looks again
	v, err := db.Replace(ctx, s.collDocs, cur, store.Version(cur))
	if errors.Is(err, store.ErrConflict) {
		return Doc{}, apperr.Conflict("version_conflict", "the %s was changed while publishing; reload and publish again", s.kind.Name)
	}
	if err != nil {
		return Doc{}, fmt.Errorf("publish %s %s: %w", s.kind.Name, key, err)
	}
	cur[store.KeyVersion] = v
	return docFrom(cur), audit.Append(ctx, db, actor, s.kind.Name+".publish", s.kind.Name+":"+key, map[string]any{"version": next})
}

func versionID(key string, v int64) string { return key + "@" + strconv.FormatInt(v, 10) }

// Versions lists published versions, oldest first, without definitions.
func (s *Store) Versions(ctx context.Context, db store.DB, key string) ([]VersionInfo, error) {
	out := []VersionInfo{}
	err := db.Scan(ctx, s.collVers, store.Query{Where: []store.Cond{{Field: "key", Op: store.Eq, Value: key}},
		Sort: []store.SortKey{{Field: "version"}}}, func(d store.Doc) error {
		vi := versionFrom(d)
		vi.Definition = nil
		out = append(out, vi)
		return nil
	})
	return out, err
}

func versionFrom(d store.Doc) VersionInfo {
	vi := VersionInfo{Version: store.Int(d["version"])}
	vi.Key, _ = d["key"].(string)
	vi.PublishedBy, _ = d["publishedBy"].(string)
	vi.Definition, _ = d["definition"].(map[string]any)
	if s, ok := d["publishedAt"].(string); ok {
		vi.PublishedAt, _ = period.ParseInstant(s)
	}
	return vi
}

// PublishedVersion returns the number of the version in force. A document
// never published is a 422: nothing may run on a draft.
func (s *Store) PublishedVersion(ctx context.Context, db store.DB, key string) (int64, error) {
	d, err := db.Get(ctx, s.collDocs, key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, apperr.NotFound("%s %q does not exist", s.kind.Name, key)
	}
	if err != nil {
		return 0, fmt.Errorf("load %s %s: %w", s.kind.Name, key, err)
	}
	v := store.Int(d["publishedVersion"])
	if v == 0 {
		return 0, apperr.New(apperr.KindInvalid, s.kind.Name+"_not_published", "%s %q has no published version yet; publish it first", s.kind.Name, key)
	}
	return v, nil
}

// Version returns a published version's definition.
func (s *Store) Version(ctx context.Context, db store.DB, key string, version int64) (map[string]any, error) {
	d, err := db.Get(ctx, s.collVers, versionID(key, version))
	if errors.Is(err, store.ErrNotFound) {
		return nil, apperr.NotFound("%s %q has no version %d", s.kind.Name, key, version)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s %s v%d: %w", s.kind.Name, key, version, err)
	}
	def, _ := d["definition"].(map[string]any)
	return def, nil
}
