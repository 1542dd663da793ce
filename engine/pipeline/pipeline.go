// Package pipeline is the "pipeline" configuration kind and what it drives
// (DESIGN.md §4, §5): the ordered stages records of an object move through,
// transitions checked against each stage's required fields and guard, the
// stage history every governed record keeps, and the read-side funnel and
// stuck-record computations over that history.
//
// # Definitions
//
// A pipeline (schemas/pipeline.schema.json) names an object, the string
// field holding the stage, an optional match formula choosing which records
// it governs (several pipelines per object, e.g. new business and renewal)
// and the stages in order. Saving type-checks every formula: match against
// the record's fields, enterIf against the record's fields plus from, to
// (strings) and user ({id, username, roles}); a record field named from, to
// or user is shadowed by the guard's variable. Published versions are
// compiled once and cached by (tenant, key, version, object version).
//
// # Which pipeline governs a record
//
// A record is governed by the pipeline recorded in its Meta["pipeline"] when
// that pipeline is still published; otherwise (a new record, or one created
// before any pipeline existed) by ForRecord: the first published pipeline of
// its object, by key, whose match is true.
//
// # Stage history
//
// Meta["stageHistory"] is a list of {stage, enteredAt, exitedAt, by, note}
// (instants in the canonical stored form, exitedAt null while open), stored
// atomically with the record. The Hook starts it on create; Transition closes
// the open entry and opens the next. A record that predates its pipeline
// gets an implicit first entry (its stage since its creation) on its first
// transition.
//
// # Wiring
//
// The application declares Service.Collections() in every tenant database
// and calls Service.Attach(records) once: Transition then writes through the
// records service (validation, computed fields and every hook apply, with
// Via "transition"), and the Hook keeps the history on creates and refuses
// direct stage edits on patches. A published pipeline that no longer fits a
// republished object (a field it names is gone) refuses the writes it
// governs with 422 pipeline_broken until it is fixed and republished, rather
// than letting records go without history.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/expr-lang/expr/types"

	"stride/engine/apperr"
	"stride/engine/config"
	"stride/engine/forms"
	"stride/engine/objects"
	"stride/engine/records"
	"stride/engine/rules"
	"stride/engine/store"
)

// Pipeline is a pipeline definition's working copy and publication state.
type Pipeline = config.Doc

// VersionInfo describes one published version of a pipeline.
type VersionInfo = config.VersionInfo

// Terminal kinds of a stage.
const (
	TerminalWon  = "won"
	TerminalLost = "lost"
)

// Meta keys the package keeps on governed records.
const (
	MetaHistory  = "stageHistory"
	MetaPipeline = "pipeline"
)

// Stage is one compiled stage.
type Stage struct {
	Key         string
	Label       map[string]string
	Probability float64
	// SLADays is the stage's SLA in days; HasSLA reports whether it has one.
	SLADays        int
	HasSLA         bool
	RequiredFields []string
	// EnterIf is the guard, nil when the stage has none; Message is the
	// text shown when it refuses, by language.
	EnterIf  *rules.Program
	Message  map[string]string
	Terminal string // "", TerminalWon or TerminalLost
}

// Compiled is a published pipeline version ready to govern records.
type Compiled struct {
	Key           string
	Version       int64
	Definition    map[string]any
	Object        string
	ObjectVersion int64
	StageField    string
	AllowBackward bool
	// Match selects the records the pipeline governs; nil = all.
	Match  *rules.Program
	Stages []Stage
	index  map[string]int
}

// Stage returns the stage with that key and its position.
func (c *Compiled) Stage(key string) (*Stage, int, bool) {
	i, ok := c.index[key]
	if !ok {
		return nil, -1, false
	}
	return &c.Stages[i], i, true
}

// Service manages pipeline definitions and their compiled-version cache.
type Service struct {
	objs  *objects.Service
	rules *rules.Engine
	docs  *config.Store
	defs  sync.Map // defKey → published definition
	cache sync.Map // cacheKey → *Compiled
	recs  *records.Service
	// published runs after a version is published (OnPublish).
	published func(ctx context.Context, db store.DB, tenant, object string) error
	// now is the clock of transitions and history; time.Now by default.
	now func() time.Time
}

type defKey struct {
	tenant, key string
	version     int64
}

type cacheKey struct {
	defKey
	objV int64
}

// New returns a pipeline service over the object definitions, compiling
// formulas with eng.
func New(objs *objects.Service, eng *rules.Engine) *Service {
	s := &Service{objs: objs, rules: eng, now: time.Now}
	s.docs = config.New(config.Kind{Name: "pipeline", Validate: func(ctx context.Context, db store.DB, tenant, key string, def map[string]any) []apperr.FieldError {
		_, fe := s.compile(ctx, db, tenant, key, 0, def)
		return fe
	}})
	return s
}

// SetClock replaces the clock used for stage history (tests). Call it
// before the service is used. A write under a records.Backdated context is
// stamped at that context's instant instead (the demo generator).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Collections are the tenant collections this package owns.
func (s *Service) Collections() []store.Collection { return s.docs.Collections() }

// List returns every pipeline's working copy, by key.
func (s *Service) List(ctx context.Context, db store.DB) ([]Pipeline, error) {
	return s.docs.List(ctx, db)
}

// Get returns a pipeline's working copy.
func (s *Service) Get(ctx context.Context, db store.DB, key string) (Pipeline, error) {
	return s.docs.Get(ctx, db, key)
}

// Save validates def completely (object, fields, stages and every formula)
// and stores it as the draft. ifVersion 0 skips the optimistic check.
func (s *Service) Save(ctx context.Context, db store.DB, tenant, actor, key string, def map[string]any, ifVersion int64) (Pipeline, error) {
	return s.docs.Save(ctx, db, tenant, actor, key, def, ifVersion)
}

// Publish turns the draft into the next immutable version, then runs the
// OnPublish hook for the object the pipeline governed before and the one it
// governs now. A failing hook is reported after the version is published
// (the hook's derived data can be recomputed: reconcile).
func (s *Service) Publish(ctx context.Context, db store.DB, tenant, actor, key string) (Pipeline, error) {
	var before string
	if v, err := s.docs.PublishedVersion(ctx, db, key); err == nil {
		if def, err := s.docs.Version(ctx, db, key, v); err == nil {
			before, _ = def["object"].(string)
		}
	}
	p, err := s.docs.Publish(ctx, db, tenant, actor, key)
	if err != nil || s.published == nil {
		return p, err
	}
	now, _ := p.Definition["object"].(string)
	objects := []string{now}
	if before != "" && before != now {
		objects = append(objects, before)
	}
	for _, object := range objects {
		if err := s.published(ctx, db, tenant, object); err != nil {
			return p, fmt.Errorf("after publishing pipeline %s: %w", key, err)
		}
	}
	return p, nil
}

// OnPublish sets fn to run after a pipeline is published, once for each
// object whose records it governed or now governs: what depends on stage
// probabilities (the tracker's open-pipeline rollups) is rebuilt there.
// Call it before serving.
func (s *Service) OnPublish(fn func(ctx context.Context, db store.DB, tenant, object string) error) {
	s.published = fn
}

// OpenProbability reports whether a stored record of object is open in the
// pipeline governing it — neither ungoverned nor in a terminal stage — and
// its stage's probability in percent. It is the tracker's OpenWeight.
func (s *Service) OpenProbability(ctx context.Context, db store.DB, tenant, object string, rec *records.Record) (float64, bool) {
	c, err := s.governing(ctx, db, tenant, object, rec.Data, rec.Meta)
	if err != nil || c == nil || c.Object != object {
		return 0, false
	}
	stage, _ := rec.Data[c.StageField].(string)
	st, _, ok := c.Stage(stage)
	if !ok || st.Terminal != "" {
		return 0, false
	}
	return st.Probability, true
}

// Versions lists published versions, oldest first, without definitions.
func (s *Service) Versions(ctx context.Context, db store.DB, key string) ([]VersionInfo, error) {
	return s.docs.Versions(ctx, db, key)
}

// Published returns the compiled version in force for key (a 422 if it was
// never published).
func (s *Service) Published(ctx context.Context, db store.DB, tenant, key string) (*Compiled, error) {
	v, err := s.docs.PublishedVersion(ctx, db, key)
	if err != nil {
		return nil, err
	}
	return s.Version(ctx, db, tenant, key, v)
}

// Version returns a compiled published version. It is compiled against the
// version of its object in force, and cached by both versions (a published
// definition never changes; its object may be republished).
func (s *Service) Version(ctx context.Context, db store.DB, tenant, key string, version int64) (*Compiled, error) {
	dk := defKey{tenant, key, version}
	var def map[string]any
	if d, ok := s.defs.Load(dk); ok {
		def = d.(map[string]any)
	} else {
		var err error
		if def, err = s.docs.Version(ctx, db, key, version); err != nil {
			return nil, err
		}
		s.defs.Store(dk, def)
	}
	object, _ := def["object"].(string)
	obj, err := s.objs.Published(ctx, db, tenant, object)
	if err != nil {
		return nil, fmt.Errorf("pipeline %s v%d: %w", key, version, err)
	}
	ck := cacheKey{defKey: dk, objV: obj.Version}
	if c, ok := s.cache.Load(ck); ok {
		return c.(*Compiled), nil
	}
	c, fe := s.compile(ctx, db, tenant, key, version, def)
	if len(fe) > 0 {
		return nil, apperr.New(apperr.KindInvalid, "pipeline_broken",
			"published pipeline %s v%d no longer fits its object (%s: %s); fix and republish it", key, version, fe[0].Pointer, fe[0].Message)
	}
	s.cache.Store(ck, c)
	return c, nil
}

// Check compiles a definition without saving it (for the pipeline editor).
func (s *Service) Check(ctx context.Context, db store.DB, tenant string, def map[string]any) (*Compiled, []apperr.FieldError) {
	key, _ := def["key"].(string)
	return s.compile(ctx, db, tenant, key, 0, def)
}

// ForRecord returns the pipeline governing a record of object with the given
// data (storage form): the first published pipeline of the object, by key,
// whose match is true. It returns nil, nil when none governs the record.
func (s *Service) ForRecord(ctx context.Context, db store.DB, tenant, object string, data map[string]any) (*Compiled, error) {
	docs, err := s.docs.PublishedVersions(ctx, db) // by key, cached
	if err != nil {
		return nil, err
	}
	var env map[string]any
	for _, d := range docs {
		c, err := s.Version(ctx, db, tenant, d.Key, d.Version)
		if err != nil {
			return nil, err
		}
		if c.Object != object {
			continue
		}
		if c.Match == nil {
			return c, nil
		}
		if env == nil {
			obj, err := s.objs.Published(ctx, db, tenant, object)
			if err != nil {
				return nil, err
			}
			env = obj.Schema.ToEnv(data)
		}
		ok, err := c.Match.Run(env)
		if err != nil {
			return nil, apperr.New(apperr.KindInvalid, "pipeline_match_error",
				"could not decide whether pipeline %s governs this record: %v", c.Key, err)
		}
		if ok == true {
			return c, nil
		}
	}
	return nil, nil
}

// governing returns the pipeline governing a stored record: the one its
// meta names if still published for the object, else ForRecord.
func (s *Service) governing(ctx context.Context, db store.DB, tenant, object string, data, meta map[string]any) (*Compiled, error) {
	if key, _ := meta[MetaPipeline].(string); key != "" {
		c, err := s.Published(ctx, db, tenant, key)
		if err == nil && c.Object == object {
			return c, nil
		}
		// A pipeline since deleted or unpublished no longer governs: fall back.
		if ae, ok := apperr.As(err); err != nil && (!ok || (ae.Kind != apperr.KindNotFound && ae.Code != "pipeline_not_published")) {
			return nil, err
		}
	}
	return s.ForRecord(ctx, db, tenant, object, data)
}

// guardEnv is the type of the variables a guard sees besides the record.
var userType = types.Map{"id": types.String, "username": types.String, "roles": types.Array(types.String)}

// GuardEnv returns the environment a stage guard (enterIf) is checked
// against: the object's record env plus from, to and user.
func GuardEnv(env types.Map) types.Map { return guardTypes(env) }

// guardTypes returns the guard environment over an object's record env.
func guardTypes(env types.Map) types.Map {
	out := make(types.Map, len(env)+3)
	for k, v := range env {
		out[k] = v
	}
	out["from"], out["to"], out["user"] = types.String, types.String, userType
	return out
}

// compile validates a definition in full and compiles it, returning every
// problem found with pointers into the definition.
func (s *Service) compile(ctx context.Context, db store.DB, tenant, key string, version int64, def map[string]any) (*Compiled, []apperr.FieldError) {
	if fe := forms.Problems(forms.ValidateConfig("pipeline", def)); len(fe) > 0 {
		return nil, fe
	}
	c := &Compiled{Key: key, Version: version, Definition: def, index: map[string]int{}}
	c.Object, _ = def["object"].(string)
	c.StageField, _ = def["stageField"].(string)
	c.AllowBackward, _ = def["allowBackward"].(bool)
	obj, err := s.objs.Published(ctx, db, tenant, c.Object)
	if err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) && (ae.Kind == apperr.KindNotFound || ae.Kind == apperr.KindInvalid) {
			code := "unknown_object"
			if ae.Kind == apperr.KindInvalid {
				code = "object_not_published"
			}
			return nil, []apperr.FieldError{{Pointer: "/object", Code: code, Message: ae.Message}}
		}
		return nil, []apperr.FieldError{{Pointer: "/object", Code: "object_unavailable", Message: err.Error()}}
	}
	c.ObjectVersion = obj.Version
	var fe []apperr.FieldError
	sf, sfOK := obj.Fields[c.StageField]
	switch {
	case !sfOK:
		fe = append(fe, apperr.FieldError{Pointer: "/stageField", Code: "unknown_field",
			Message: fmt.Sprintf("%q is not a field of object %s", c.StageField, c.Object), Hint: rules.DidYouMean(c.StageField, obj.FieldOrder)})
	case sf.Type != forms.TypeString:
		fe = append(fe, apperr.FieldError{Pointer: "/stageField", Code: "not_string_field",
			Message: fmt.Sprintf("%s is a %s field; the stage field must be a string field", c.StageField, sf.Type)})
	}
	if src, ok := def["match"].(string); ok {
		p, err := s.compileRule(rules.Key{Tenant: tenant, Config: "pipeline:" + key + ":match", Version: version}, src, obj.Env, version)
		if err != nil {
			fe = append(fe, rules.Problem("/match", err))
		}
		c.Match = p
	}
	gEnv := guardTypes(obj.Env)
	raw, _ := def["stages"].([]any)
	open, terminal := 0, 0
	for i, r := range raw {
		m, _ := r.(map[string]any)
		ptr := fmt.Sprintf("/stages/%d", i)
		st := Stage{Label: text(m["label"])}
		st.Key, _ = m["key"].(string)
		st.Probability = store.Float(m["probability"])
		if v, ok := m["slaDays"]; ok {
			st.SLADays, st.HasSLA = int(store.Int(v)), true
		}
		st.Terminal, _ = m["terminal"].(string)
		if st.Terminal == "" {
			open++
		} else {
			terminal++
		}
		if j, dup := c.index[st.Key]; dup {
			fe = append(fe, apperr.FieldError{Pointer: ptr + "/key", Code: "duplicate_stage",
				Message: fmt.Sprintf("stage %q is already defined at /stages/%d", st.Key, j)})
		} else {
			c.index[st.Key] = i
		}
		if sfOK && sf.Type == forms.TypeString && len(sf.Enum) > 0 &&
			!slices.ContainsFunc(sf.Enum, func(e any) bool { return e == st.Key }) {
			fe = append(fe, apperr.FieldError{Pointer: ptr + "/key", Code: "unknown_enum_value",
				Message: fmt.Sprintf("%q is not one of the values of %s.%s (%v)", st.Key, c.Object, c.StageField, sf.Enum)})
		}
		req, _ := m["requiredFields"].([]any)
		for j, f := range req {
			name, _ := f.(string)
			if _, ok := obj.Fields[name]; !ok {
				fe = append(fe, apperr.FieldError{Pointer: fmt.Sprintf("%s/requiredFields/%d", ptr, j), Code: "unknown_field",
					Message: fmt.Sprintf("%q is not a field of object %s", name, c.Object), Hint: rules.DidYouMean(name, obj.FieldOrder)})
				continue
			}
			st.RequiredFields = append(st.RequiredFields, name)
		}
		if g, ok := m["enterIf"].(map[string]any); ok {
			src, _ := g["expression"].(string)
			st.Message = text(g["message"])
			p, err := s.compileRule(rules.Key{Tenant: tenant, Config: "pipeline:" + key + ":" + st.Key + ":enterIf", Version: version}, src, gEnv, version)
			if err != nil {
				fe = append(fe, rules.Problem(ptr+"/enterIf/expression", err))
			}
			st.EnterIf = p
		}
		c.Stages = append(c.Stages, st)
	}
	if open == 0 {
		fe = append(fe, apperr.FieldError{Pointer: "/stages", Code: "no_open_stage", Message: "a pipeline needs at least one stage that is not terminal"})
	}
	if terminal == 0 {
		fe = append(fe, apperr.FieldError{Pointer: "/stages", Code: "no_terminal_stage", Message: "a pipeline needs at least one terminal stage (won or lost)"})
	}
	if len(fe) > 0 {
		return nil, fe
	}
	return c, nil
}

// compileRule caches programs of published versions only; drafts are
// checked without polluting the cache.
func (s *Service) compileRule(k rules.Key, src string, env types.Map, version int64) (*rules.Program, error) {
	if version == 0 {
		return s.rules.Check(src, env, rules.Bool)
	}
	return s.rules.Compile(k, src, env, rules.Bool)
}

// text reads a {zh-CN, en} member.
func text(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, x := range m {
		if s, ok := x.(string); ok {
			out[k] = s
		}
	}
	return out
}

// english returns the English text, else the Chinese, else def.
func english(t map[string]string, def string) string {
	if t["en"] != "" {
		return t["en"]
	}
	if t["zh-CN"] != "" {
		return t["zh-CN"]
	}
	return def
}
