// Package records is the single write path of records of custom objects:
// validate against the published schema, compute formula fields, enforce
// requiredIf, store with optimistic concurrency and idempotent creates, and
// read them back within the caller's visibility (DESIGN.md §4, §8).
//
// Every writer — the API, imports, integrations, the demo generator — goes
// through Service, so no path can skip validation or computed fields.
package records

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/forms"
	"stride/engine/ids"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/store"
)

const collIdem = "idempotency"

// Reserved top-level keys of a record body; everything else is a field.
const keyOwner = "owner"

// Collections are the tenant collections this package owns (record
// collections are declared per object when first used).
func Collections() []store.Collection {
	return []store.Collection{{Name: collIdem}}
}

// recordIndexes are declared on every record collection.
var recordIndexes = []store.Index{
	{Name: "owner", Fields: []string{"deleted", "owner"}},
	{Name: "updated", Fields: []string{"deleted", "updatedAt"}},
}

// Record is a stored record as the API returns it.
type Record struct {
	ID            string         `json:"id"`
	Object        string         `json:"object"`
	Version       int64          `json:"version"`
	ObjectVersion int64          `json:"objectVersion"`
	Owner         string         `json:"owner"`
	CreatedAt     string         `json:"createdAt"`
	UpdatedAt     string         `json:"updatedAt"`
	CreatedBy     string         `json:"createdBy"`
	UpdatedBy     string         `json:"updatedBy"`
	Data          map[string]any `json:"data"`
	// Meta holds what domain packages keep on a record outside its fields
	// (a pipeline's stage history, …), written only through hooks and Update.
	Meta map[string]any `json:"meta,omitempty"`
	// Deleted is set on the record a delete hook sees.
	Deleted bool `json:"-"`
}

// Write describes one record write to the hooks.
type Write struct {
	DB        store.DB
	Principal *auth.Principal
	Object    *objects.Compiled
	// Old is the record before the write; nil on create.
	Old *Record
	// New is the record as it will be stored (Deleted set on delete). A
	// BeforeWrite hook may amend New.Meta; the change is stored atomically
	// with the write (the store has no transactions, so this is how a domain
	// package leaves itself a durable note, e.g. an outbox flag).
	New *Record
	// Via names the path: "create", "patch", "delete", or Update's caller ("transition").
	Via string
}

// Hook lets a domain package take part in every record write, whatever the
// path (API, import, integration, transition), without records depending on it.
type Hook interface {
	// BeforeWrite may refuse the write with a 4xx error, or amend w.New.Meta.
	BeforeWrite(ctx context.Context, w *Write) error
	// AfterWrite runs once the write is stored. The write stands whatever
	// happens here, so a hook must make its own work recoverable (DESIGN.md §5).
	AfterWrite(ctx context.Context, w *Write)
}

type stampKey struct{}

// Backdated returns a context under which record writes are stamped at t
// (createdAt, updatedAt, deletedAt, and the pipeline's stage history)
// instead of the current time. It exists for the demo generator
// (engine/demo), which replays a simulated year of history through this
// write path so that validation, computed fields, guards and tracking all
// apply while the timestamps are those of the simulation. It is carried by
// the context rather than set on the service so that concurrent writers can
// each replay their own instant, and so that a server generating its first
// demo in-process never changes the clock of anything else. Nothing on a
// request path sets it.
func Backdated(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, stampKey{}, t)
}

// Stamp returns the instant a write under ctx is recorded at: the instant
// given to Backdated, else now().
func Stamp(ctx context.Context, now func() time.Time) time.Time {
	if t, ok := ctx.Value(stampKey{}).(time.Time); ok {
		return t
	}
	return now()
}

// Use registers a hook; hooks run in registration order.
func (s *Service) Use(h Hook) { s.hooks = append(s.hooks, h) }

// commit runs the hooks around storing d (insert when old is nil).
func (s *Service) commit(ctx context.Context, w *Write, d store.Doc) (Record, error) {
	for _, h := range s.hooks {
		if err := h.BeforeWrite(ctx, w); err != nil {
			return Record{}, err
		}
	}
	if len(w.New.Meta) > 0 {
		d["meta"] = w.New.Meta
	} else {
		delete(d, "meta")
	}
	var (
		v   int64
		err error
	)
	if w.Old == nil {
		v, err = w.DB.Insert(ctx, w.Object.Collection(), d)
	} else {
		v, err = w.DB.Replace(ctx, w.Object.Collection(), d, w.Old.Version)
		if errors.Is(err, store.ErrConflict) {
			return Record{}, staleVersion(0)
		}
	}
	if err != nil {
		return Record{}, err
	}
	d[store.KeyVersion] = v
	rec := fromDoc(d)
	w.New = &rec
	for _, h := range s.hooks {
		h.AfterWrite(ctx, w)
	}
	return rec, nil
}

// Service writes and reads records.
type Service struct {
	objects  *objects.Service
	hooks    []Hook
	mu       sync.Mutex
	declared map[string]bool // "tenant/collection" already declared in this process
}

// NewService returns a record service over the object definitions.
func NewService(objs *objects.Service) *Service {
	return &Service{objects: objs, declared: map[string]bool{}}
}

// prepare loads the object version in force and makes sure its collection exists.
func (s *Service) prepare(ctx context.Context, db store.DB, p *auth.Principal, object string) (*objects.Compiled, error) {
	c, err := s.objects.Published(ctx, db, p.Tenant, object)
	if err != nil {
		return nil, err
	}
	k := p.Tenant + "/" + c.Collection()
	s.mu.Lock()
	done := s.declared[k]
	s.mu.Unlock()
	if !done {
		if err := db.Declare(ctx, store.Collection{Name: c.Collection(), Indexes: recordIndexes}); err != nil {
			return nil, fmt.Errorf("declare %s: %w", c.Collection(), err)
		}
		s.mu.Lock()
		s.declared[k] = true
		s.mu.Unlock()
	}
	return c, nil
}

func canWrite(p *auth.Principal) bool {
	if p.Integration {
		return p.HasScope("records:write")
	}
	return p.Has(auth.RoleAdmin) || p.Has(auth.RoleManager) || p.Has(auth.RoleRep)
}

// Create validates and stores a new record. idemKey, when not empty, makes a
// retried request return the first result instead of creating a duplicate.
func (s *Service) Create(ctx context.Context, db store.DB, p *auth.Principal, object string, body map[string]any, idemKey string) (Record, bool, error) {
	if !canWrite(p) {
		return Record{}, false, apperr.Forbidden("your role cannot create records")
	}
	c, err := s.prepare(ctx, db, p, object)
	if err != nil {
		return Record{}, false, err
	}
	id := ids.New("r")
	if idemKey != "" {
		prev, replay, err := s.claimIdempotency(ctx, db, p, object, idemKey, body, &id)
		if err != nil || replay {
			return prev, replay, err
		}
	}
	owner, err := s.resolveOwner(ctx, db, p, body, "")
	if err != nil {
		return Record{}, false, err
	}
	data, err := s.validate(c, fieldsOf(body))
	if err != nil {
		return Record{}, false, err
	}
	now := period.FormatInstant(Stamp(ctx, time.Now))
	d := store.Doc{
		store.KeyID: id, "object": object, "objectVersion": c.Version, "owner": owner, "data": data,
		"deleted": false, "createdAt": now, "updatedAt": now, "createdBy": p.UserID, "updatedBy": p.UserID,
	}
	next := fromDoc(d)
	rec, err := s.commit(ctx, &Write{DB: db, Principal: p, Object: c, New: &next, Via: "create"}, d)
	if errors.Is(err, store.ErrDuplicate) && idemKey != "" {
		// A concurrent retry with the same key won the race: return its record.
		got, gerr := s.Get(ctx, db, p, object, id)
		return got, true, gerr
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("insert record: %w", err)
	}
	return rec, false, nil
}

// claimIdempotency reserves the key for this request. The key document is
// written before the record with the record's id chosen up front, so a retry
// after a crash between the two writes creates exactly that record (the
// record insert is then a duplicate-id no-op) and never a second one.
func (s *Service) claimIdempotency(ctx context.Context, db store.DB, p *auth.Principal, object, key string, body map[string]any, id *string) (Record, bool, error) {
	if len(key) > 200 {
		return Record{}, false, apperr.BadRequest("Idempotency-Key is longer than 200 characters")
	}
	canon, _ := json.Marshal(body) // map keys are sorted: a stable fingerprint
	sum := sha256.Sum256(canon)
	fp := hex.EncodeToString(sum[:])
	kid := hashKey(p.UserID + "\x00" + object + "\x00" + key)
	_, err := db.Insert(ctx, collIdem, store.Doc{store.KeyID: kid, "recordId": *id, "object": object, "fingerprint": fp,
		"createdAt": period.FormatInstant(time.Now())})
	if err == nil {
		return Record{}, false, nil
	}
	if !errors.Is(err, store.ErrDuplicate) {
		return Record{}, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	prev, err := db.Get(ctx, collIdem, kid)
	if err != nil {
		return Record{}, false, fmt.Errorf("load idempotency key: %w", err)
	}
	if f, _ := prev["fingerprint"].(string); f != fp {
		return Record{}, false, apperr.New(apperr.KindInvalid, "idempotency_key_reused",
			"this Idempotency-Key was already used with a different request body")
	}
	*id, _ = prev["recordId"].(string)
	rec, err := s.Get(ctx, db, p, object, *id)
	if err == nil {
		return rec, true, nil
	}
	if ae, ok := apperr.As(err); ok && ae.Kind == apperr.KindNotFound {
		// The first attempt died before writing the record: write it now, under the reserved id.
		return Record{}, false, nil
	}
	return Record{}, false, err
}

func hashKey(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}

// fieldsOf returns the body without reserved keys.
func fieldsOf(body map[string]any) map[string]any {
	out := make(map[string]any, len(body))
	for k, v := range body {
		if k != keyOwner {
			out[k] = v
		}
	}
	return out
}

// resolveOwner picks the record owner: the body's owner if given and
// allowed, else current (on update), else the caller.
func (s *Service) resolveOwner(ctx context.Context, db store.DB, p *auth.Principal, body map[string]any, current string) (string, error) {
	raw, given := body[keyOwner]
	if !given {
		if current != "" {
			return current, nil
		}
		return p.UserID, nil
	}
	owner, ok := raw.(string)
	if !ok || owner == "" {
		return "", apperr.Invalid("owner must be a user id", apperr.FieldError{Pointer: "/owner", Code: "type", Message: "expected a user id string"})
	}
	if owner == current || (owner == p.UserID && current == "") {
		return owner, nil
	}
	if _, err := auth.GetUser(ctx, db, owner); err != nil {
		return "", apperr.Invalid("unknown owner", apperr.FieldError{Pointer: "/owner", Code: "unknown_user", Message: "no such user"})
	}
	vis, err := auth.VisibilityOf(ctx, db, p)
	if err != nil {
		return "", err
	}
	if !p.IsAdmin() && !p.Integration && (!p.Has(auth.RoleManager) || !vis.Allows(owner)) {
		return "", apperr.Forbidden("you cannot assign records to that user")
	}
	return owner, nil
}

// validate checks the submitted fields, computes formula fields and applies
// requiredIf. It returns the record data in storage form or a 422 listing
// every field at fault.
func (s *Service) validate(c *objects.Compiled, in map[string]any) (map[string]any, error) {
	// Computed values are the server's to set; a client's are ignored.
	for _, f := range c.Computed {
		delete(in, f.Field)
	}
	fe := unknownFields(c, in)
	fe = append(fe, forms.Problems(c.Schema.Validate(in))...)
	if len(fe) > 0 {
		return nil, apperr.Invalid(invalidMessage(len(fe)), fe...)
	}
	data := c.Schema.Normalize(in)
	env := c.Schema.ToEnv(data)
	for _, f := range c.Computed {
		v, err := f.Program.Run(env)
		if err == nil {
			var stored any
			stored, err = forms.FromResult(c.Fields[f.Field], v)
			if err == nil {
				data[f.Field] = stored
				for k, ev := range c.Schema.ToEnv(map[string]any{f.Field: stored}) {
					if k == f.Field {
						env[k] = ev
					}
				}
				continue
			}
		}
		fe = append(fe, apperr.FieldError{Pointer: "/" + f.Field, Code: "formula_runtime_error",
			Message: fmt.Sprintf("could not compute %s: %v", f.Field, err)})
	}
	if len(fe) > 0 {
		return nil, apperr.Invalid(invalidMessage(len(fe)), fe...)
	}
	for _, name := range c.FieldOrder {
		req := c.RequiredIf[name]
		if req == nil || !isEmpty(data[name]) {
			continue
		}
		if vis := c.VisibleIf[name]; vis != nil {
			if shown, err := vis.Run(env); err == nil && shown == false {
				continue // a hidden field is never required
			}
		}
		need, err := req.Run(env)
		if err != nil {
			fe = append(fe, apperr.FieldError{Pointer: "/" + name, Code: "formula_runtime_error", Message: fmt.Sprintf("could not evaluate requiredIf: %v", err)})
		} else if need == true {
			fe = append(fe, apperr.FieldError{Pointer: "/" + name, Code: "required", Message: requiredMessage(c, name, req.Source())})
		}
	}
	if len(fe) > 0 {
		return nil, apperr.Invalid(invalidMessage(len(fe)), fe...)
	}
	// Computed values must satisfy the schema too (e.g. a minimum).
	if fe := c.Schema.Validate(data); len(fe) > 0 {
		return nil, apperr.Invalid(invalidMessage(len(fe)), forms.Problems(fe)...)
	}
	return data, nil
}

// unknownFields refuses top-level fields the object does not declare (a
// typo must not be stored silently) and, at any depth, keys no store can
// hold ("", "$…", "a.b"), which a schema allowing extra properties would
// otherwise let through.
func unknownFields(c *objects.Compiled, in map[string]any) []apperr.FieldError {
	var fe []apperr.FieldError
	for _, k := range sortedKeys(in) {
		if _, ok := c.Fields[k]; !ok {
			fe = append(fe, apperr.FieldError{Pointer: "/" + escapePointer(k), Code: "additional_properties",
				Message: fmt.Sprintf("unknown field %q; this object has no such field", k)})
			continue
		}
		badKeys("/"+escapePointer(k), in[k], &fe)
	}
	return fe
}

func badKeys(ptr string, v any, fe *[]apperr.FieldError) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			p := ptr + "/" + escapePointer(k)
			if k == "" || strings.HasPrefix(k, "$") || strings.Contains(k, ".") {
				*fe = append(*fe, apperr.FieldError{Pointer: p, Code: "invalid_key",
					Message: "keys must not be empty, start with $ or contain a dot"})
				continue
			}
			badKeys(p, x[k], fe)
		}
	case []any:
		for i, e := range x {
			badKeys(fmt.Sprintf("%s/%d", ptr, i), e, fe)
		}
	}
}

func escapePointer(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func requiredMessage(c *objects.Compiled, name, cond string) string {
	return fmt.Sprintf("%s is required when %s", label(c, name), cond)
}

// label returns a field's English label, falling back to its name.
func label(c *objects.Compiled, name string) string {
	if hints, ok := c.Definition["fields"].(map[string]any); ok {
		if h, ok := hints[name].(map[string]any); ok {
			if l, ok := h["label"].(map[string]any); ok {
				if en, ok := l["en"].(string); ok && en != "" {
					return en
				}
			}
		}
	}
	return name
}

func invalidMessage(n int) string {
	if n == 1 {
		return "1 field is invalid"
	}
	return fmt.Sprintf("%d fields are invalid", n)
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	}
	return false
}

func fromDoc(d store.Doc) Record {
	r := Record{ID: store.ID(d), Version: store.Version(d), ObjectVersion: store.Int(d["objectVersion"])}
	r.Object, _ = d["object"].(string)
	r.Owner, _ = d["owner"].(string)
	r.CreatedAt, _ = d["createdAt"].(string)
	r.UpdatedAt, _ = d["updatedAt"].(string)
	r.CreatedBy, _ = d["createdBy"].(string)
	r.UpdatedBy, _ = d["updatedBy"].(string)
	r.Data, _ = d["data"].(map[string]any)
	if r.Data == nil {
		r.Data = map[string]any{}
	}
	r.Meta, _ = d["meta"].(map[string]any)
	r.Deleted, _ = d["deleted"].(bool)
	return r
}

// load reads a live record the principal may see; anything else is a 404.
func (s *Service) load(ctx context.Context, db store.DB, p *auth.Principal, c *objects.Compiled, id string) (store.Doc, error) {
	d, err := db.Get(ctx, c.Collection(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apperr.NotFound("record %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load record %s: %w", id, err)
	}
	if del, _ := d["deleted"].(bool); del {
		return nil, apperr.NotFound("record %s not found", id)
	}
	if !canRead(p) {
		return nil, apperr.Forbidden("your token cannot read records")
	}
	vis, err := auth.VisibilityOf(ctx, db, p)
	if err != nil {
		return nil, err
	}
	owner, _ := d["owner"].(string)
	if !vis.Allows(owner) {
		return nil, apperr.NotFound("record %s not found", id)
	}
	return d, nil
}

func canRead(p *auth.Principal) bool {
	return !p.Integration || p.HasScope("records:read") || p.HasScope("records:write")
}

// Get returns one record.
func (s *Service) Get(ctx context.Context, db store.DB, p *auth.Principal, object, id string) (Record, error) {
	c, err := s.prepare(ctx, db, p, object)
	if err != nil {
		return Record{}, err
	}
	d, err := s.load(ctx, db, p, c, id)
	if err != nil {
		return Record{}, err
	}
	return fromDoc(d), nil
}

// Patch applies a JSON merge patch (RFC 7396) to a record's fields,
// revalidates and recomputes the whole record, and stores it if its version
// is still ifVersion (0: the version just read).
func (s *Service) Patch(ctx context.Context, db store.DB, p *auth.Principal, object, id string, patch map[string]any, ifVersion int64) (Record, error) {
	if !canWrite(p) {
		return Record{}, apperr.Forbidden("your role cannot change records")
	}
	c, err := s.prepare(ctx, db, p, object)
	if err != nil {
		return Record{}, err
	}
	d, err := s.load(ctx, db, p, c, id)
	if err != nil {
		return Record{}, err
	}
	if ifVersion != 0 && store.Version(d) != ifVersion {
		return Record{}, staleVersion(store.Version(d))
	}
	cur := fromDoc(d)
	owner, err := s.resolveOwner(ctx, db, p, patch, cur.Owner)
	if err != nil {
		return Record{}, err
	}
	next := cur.clone()
	next.Data, next.Owner = mergePatch(cur.Data, fieldsOf(patch)), owner
	return s.store(ctx, db, p, c, d, &cur, &next, "patch")
}

// Update is a read-modify-write of a record for domain packages (a pipeline
// transition, …): mutate gets a copy of the current record and may change its
// Data and Meta; the result is validated and recomputed like any write, the
// hooks see it with Via = via, and it is stored if the version is still
// ifVersion (0: the version read).
func (s *Service) Update(ctx context.Context, db store.DB, p *auth.Principal, object, id string, ifVersion int64, via string, mutate func(*Record) error) (Record, error) {
	if !canWrite(p) {
		return Record{}, apperr.Forbidden("your role cannot change records")
	}
	c, err := s.prepare(ctx, db, p, object)
	if err != nil {
		return Record{}, err
	}
	d, err := s.load(ctx, db, p, c, id)
	if err != nil {
		return Record{}, err
	}
	if ifVersion != 0 && store.Version(d) != ifVersion {
		return Record{}, staleVersion(store.Version(d))
	}
	cur := fromDoc(d)
	next := cur.clone()
	if err := mutate(&next); err != nil {
		return Record{}, err
	}
	return s.store(ctx, db, p, c, d, &cur, &next, via)
}

// store validates next's fields and writes it over cur.
func (s *Service) store(ctx context.Context, db store.DB, p *auth.Principal, c *objects.Compiled, d store.Doc, cur, next *Record, via string) (Record, error) {
	data, err := s.validate(c, next.Data)
	if err != nil {
		return Record{}, err
	}
	next.Data, next.ObjectVersion = data, c.Version
	d["data"], d["owner"], d["objectVersion"] = data, next.Owner, c.Version
	d["updatedAt"], d["updatedBy"] = period.FormatInstant(Stamp(ctx, time.Now)), p.UserID
	rec, err := s.commit(ctx, &Write{DB: db, Principal: p, Object: c, Old: cur, New: next, Via: via}, d)
	if err != nil {
		return Record{}, fmt.Errorf("update record %s: %w", cur.ID, err)
	}
	return rec, nil
}

// clone copies a record deeply enough for a mutation: its field and meta maps.
func (r Record) clone() Record {
	out := r
	out.Data = mergePatch(r.Data, nil)
	out.Meta = mergePatch(r.Meta, nil)
	return out
}

func staleVersion(current int64) *apperr.Error {
	e := apperr.Conflict("version_conflict", "the record was changed by someone else; reload it and try again")
	if current > 0 {
		e.With("currentVersion", current)
	}
	return e
}

// mergePatch applies an RFC 7396 merge patch to a copy of doc.
func mergePatch(doc map[string]any, patch map[string]any) map[string]any {
	out := make(map[string]any, len(doc)+len(patch))
	for k, v := range doc {
		out[k] = v
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
			continue
		}
		if pm, ok := v.(map[string]any); ok {
			if dm, ok := out[k].(map[string]any); ok {
				out[k] = mergePatch(dm, pm)
				continue
			}
			out[k] = mergePatch(map[string]any{}, pm)
			continue
		}
		out[k] = v
	}
	return out
}

// Delete soft-deletes a record: it disappears from every read but is kept.
func (s *Service) Delete(ctx context.Context, db store.DB, p *auth.Principal, object, id string, ifVersion int64) error {
	if !canWrite(p) {
		return apperr.Forbidden("your role cannot delete records")
	}
	c, err := s.prepare(ctx, db, p, object)
	if err != nil {
		return err
	}
	d, err := s.load(ctx, db, p, c, id)
	if err != nil {
		return err
	}
	if ifVersion != 0 && store.Version(d) != ifVersion {
		return staleVersion(store.Version(d))
	}
	cur := fromDoc(d)
	next := cur.clone()
	next.Deleted = true
	now := period.FormatInstant(Stamp(ctx, time.Now))
	d["deleted"], d["deletedAt"], d["updatedAt"], d["updatedBy"] = true, now, now, p.UserID
	if _, err := s.commit(ctx, &Write{DB: db, Principal: p, Object: c, Old: &cur, New: &next, Via: "delete"}, d); err != nil {
		return fmt.Errorf("delete record %s: %w", id, err)
	}
	return nil
}

// Filter is one condition of a list request on a record field.
type Filter struct {
	Field string
	Op    store.Op
	Value string // as written in the query string; converted by the field's type
}

// ListQuery is a list request.
type ListQuery struct {
	Filters []Filter
	Sort    string // field name, "-" prefix for descending; "" = newest first
	Limit   int
	Cursor  string
}

// List returns one page of visible, live records.
func (s *Service) List(ctx context.Context, db store.DB, p *auth.Principal, object string, q ListQuery) ([]Record, string, error) {
	c, err := s.prepare(ctx, db, p, object)
	if err != nil {
		return nil, "", err
	}
	if !canRead(p) {
		return nil, "", apperr.Forbidden("your token cannot read records")
	}
	where := []store.Cond{{Field: "deleted", Op: store.Eq, Value: false}}
	vis, err := auth.VisibilityOf(ctx, db, p)
	if err != nil {
		return nil, "", err
	}
	if !vis.All {
		owners := make([]any, len(vis.Owners))
		for i, o := range vis.Owners {
			owners[i] = o
		}
		where = append(where, store.Cond{Field: "owner", Op: store.In, Value: owners})
	}
	var fe []apperr.FieldError
	for _, f := range q.Filters {
		cond, err := filterCond(c, f)
		if err != nil {
			fe = append(fe, apperr.FieldError{Pointer: "/query/" + f.Field, Code: "filter", Message: err.Error()})
			continue
		}
		where = append(where, cond)
	}
	sortKey := store.SortKey{Field: "updatedAt", Desc: true}
	if q.Sort != "" {
		name := strings.TrimPrefix(q.Sort, "-")
		switch {
		case name == "createdAt" || name == "updatedAt" || name == "owner":
			sortKey = store.SortKey{Field: name, Desc: strings.HasPrefix(q.Sort, "-")}
		case c.Fields[name].Name != "":
			sortKey = store.SortKey{Field: "data." + name, Desc: strings.HasPrefix(q.Sort, "-")}
		default:
			fe = append(fe, apperr.FieldError{Pointer: "/query/sort", Code: "unknown_field", Message: fmt.Sprintf("cannot sort by unknown field %q", name)})
		}
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.Limit > 500 {
		fe = append(fe, apperr.FieldError{Pointer: "/query/limit", Code: "maximum", Message: "limit must be at most 500"})
	}
	if len(fe) > 0 {
		return nil, "", &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_query", Message: "the query is invalid", Fields: fe}
	}
	page, err := db.Find(ctx, c.Collection(), store.Query{Where: where, Sort: []store.SortKey{sortKey}, Limit: q.Limit, After: q.Cursor})
	if errors.Is(err, store.ErrInvalid) {
		return nil, "", apperr.BadRequest("the cursor is invalid or belongs to another query")
	}
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", object, err)
	}
	out := make([]Record, len(page.Docs))
	for i, d := range page.Docs {
		out[i] = fromDoc(d)
	}
	return out, page.Next, nil
}

// filterCond converts a query-string filter into a store condition, typed by
// the field so "amount[gte]=100" compares numbers, not strings.
func filterCond(c *objects.Compiled, f Filter) (store.Cond, error) {
	fld, ok := c.Fields[f.Field]
	if !ok {
		return store.Cond{}, fmt.Errorf("unknown field %q", f.Field)
	}
	if !slices.Contains([]store.Op{store.Eq, store.Ne, store.In, store.Gt, store.Gte, store.Lt, store.Lte}, f.Op) {
		return store.Cond{}, fmt.Errorf("unknown operator %q", f.Op)
	}
	conv := func(s string) (any, error) { return parseScalar(fld, s) }
	if f.Op == store.In {
		var vals []any
		for _, part := range strings.Split(f.Value, ",") {
			v, err := conv(part)
			if err != nil {
				return store.Cond{}, err
			}
			vals = append(vals, v)
		}
		return store.Cond{Field: "data." + f.Field, Op: store.In, Value: vals}, nil
	}
	v, err := conv(f.Value)
	if err != nil {
		return store.Cond{}, err
	}
	return store.Cond{Field: "data." + f.Field, Op: f.Op, Value: v}, nil
}
