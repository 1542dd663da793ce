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
	"fmt"
	"sort"
	"sync"

	"stride/engine/apperr"
	"stride/engine/config"
	"stride/engine/rules"
	"stride/engine/store"
)

// Object is an object definition's working copy and publication state.
type Object = config.Doc

// VersionInfo describes one published version of an object.
type VersionInfo = config.VersionInfo

// Status of an object's working copy.
const (
	StatusDraft     = config.StatusDraft
	StatusPublished = config.StatusPublished
)

// Service manages object definitions; it holds the compiled-version cache.
type Service struct {
	rules *rules.Engine
	docs  *config.Store
	cache sync.Map // cacheKey → *Compiled
}

type cacheKey struct {
	tenant, key string
	version     int64
}

// NewService returns an objects service compiling formulas with eng.
func NewService(eng *rules.Engine) *Service {
	s := &Service{rules: eng}
	s.docs = config.New(config.Kind{Name: "object", Validate: func(_ context.Context, _ store.DB, tenant, key string, def map[string]any) []apperr.FieldError {
		_, fe := s.compile(tenant, key, 0, def)
		return fe
	}})
	return s
}

// Collections are the tenant collections this package owns.
func (s *Service) Collections() []store.Collection { return s.docs.Collections() }

// Rules returns the rule engine the service compiles with.
func (s *Service) Rules() *rules.Engine { return s.rules }

// List returns every object's working copy, by key.
func (s *Service) List(ctx context.Context, db store.DB) ([]Object, error) {
	return s.docs.List(ctx, db)
}

// Get returns an object's working copy.
func (s *Service) Get(ctx context.Context, db store.DB, key string) (Object, error) {
	return s.docs.Get(ctx, db, key)
}

// Save validates def completely (schema, hints and every formula) and stores
// it as the object's draft. Nothing is written if anything is wrong.
// ifVersion 0 skips the optimistic check.
func (s *Service) Save(ctx context.Context, db store.DB, tenantName, actor, key string, def map[string]any, ifVersion int64) (Object, error) {
	return s.docs.Save(ctx, db, tenantName, actor, key, def, ifVersion)
}

// Publish turns the draft into the next immutable version.
func (s *Service) Publish(ctx context.Context, db store.DB, tenantName, actor, key string) (Object, error) {
	return s.docs.Publish(ctx, db, tenantName, actor, key)
}

// Versions lists published versions, oldest first, without definitions.
func (s *Service) Versions(ctx context.Context, db store.DB, key string) ([]VersionInfo, error) {
	return s.docs.Versions(ctx, db, key)
}

// Published returns the compiled version in force for key. An object never
// published is a 422: records cannot be written against a draft.
func (s *Service) Published(ctx context.Context, db store.DB, tenantName, key string) (*Compiled, error) {
	v, err := s.docs.PublishedVersion(ctx, db, key)
	if err != nil {
		return nil, err
	}
	return s.Version(ctx, db, tenantName, key, v)
}

// Version returns a compiled published version.
func (s *Service) Version(ctx context.Context, db store.DB, tenantName, key string, version int64) (*Compiled, error) {
	ck := cacheKey{tenantName, key, version}
	if c, ok := s.cache.Load(ck); ok {
		return c.(*Compiled), nil
	}
	def, err := s.docs.Version(ctx, db, key, version)
	if err != nil {
		return nil, err
	}
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

// sortedKeys returns m's keys in order, for deterministic error lists.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
