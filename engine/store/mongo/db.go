package mongo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"stride/engine/store"
	"stride/engine/store/internal/docutil"
)

// handle is the store.DB of one database.
type handle struct {
	s     *Store
	name  string
	db    *mongo.Database
	colls sync.Map // name → *mongo.Collection
}

var _ store.DB = (*handle)(nil)

func (h *handle) coll(ctx context.Context, name string) (*mongo.Collection, error) {
	if err := docutil.CheckColl(name); err != nil {
		return nil, fmt.Errorf("mongo %s: %w", h.name, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mongo %s.%s: %w", h.name, name, err)
	}
	if c, ok := h.colls.Load(name); ok {
		return c.(*mongo.Collection), nil
	}
	c, _ := h.colls.LoadOrStore(name, h.db.Collection(name))
	return c.(*mongo.Collection), nil
}

func (h *handle) what(coll, op string) string {
	return "mongo " + h.name + "." + coll + ": " + op
}

// Declare implements store.DB. Redeclaring an index under the same name with
// different fields or options fails with store.ErrInvalid; creating a unique
// index over existing duplicates fails with store.ErrDuplicate.
func (h *handle) Declare(ctx context.Context, c store.Collection) error {
	coll, err := h.coll(ctx, c.Name)
	if err != nil {
		return err
	}
	what := h.what(c.Name, "declare")
	if err := docutil.CheckIndexes(c.Indexes); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	models := make([]mongo.IndexModel, 0, len(c.Indexes))
	for _, ix := range c.Indexes {
		keys := bson.D{}
		exists := bson.D{}
		for _, f := range ix.Fields {
			keys = append(keys, e(f, 1))
			exists = append(exists, e(f, bson.D{e("$exists", true)}))
		}
		o := options.Index().SetName(ix.Name)
		if ix.Unique {
			o.SetUnique(true).SetPartialFilterExpression(exists)
		}
		models = append(models, mongo.IndexModel{Keys: keys, Options: o})
	}
	if err := h.db.CreateCollection(ctx, c.Name); err != nil && !hasCode(err, codeNamespaceExists) {
		return mapErr(ctx, what, err)
	}
	for i, m := range models {
		if _, unsupported := h.s.partial.Load("unsupported"); unsupported && c.Indexes[i].Unique {
			m.Options = options.Index().SetName(c.Indexes[i].Name).SetUnique(true)
		}
		_, err := coll.Indexes().CreateOne(ctx, m)
		if err != nil && c.Indexes[i].Unique && hasCode(err, codeNotImplemented) {
			// FerretDB v1 has no partial indexes, but its unique indexes
			// already ignore documents lacking the field.
			h.s.partial.Store("unsupported", true)
			m.Options = options.Index().SetName(c.Indexes[i].Name).SetUnique(true)
			_, err = coll.Indexes().CreateOne(ctx, m)
		}
		if err != nil {
			return mapErr(ctx, what+" index "+c.Indexes[i].Name, err)
		}
	}
	return nil
}

// Get implements store.DB.
func (h *handle) Get(ctx context.Context, collName, id string) (store.Doc, error) {
	coll, err := h.coll(ctx, collName)
	if err != nil {
		return nil, err
	}
	what := h.what(collName, "get "+strconv.Quote(id))
	if id == "" {
		return nil, fmt.Errorf("%s: empty id: %w", what, store.ErrInvalid)
	}
	raw, err := coll.FindOne(ctx, bson.D{e(store.KeyID, id)}).Raw()
	if err != nil {
		return nil, mapErr(ctx, what, err)
	}
	doc, err := fromRaw(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return doc, nil
}

// Insert implements store.DB.
func (h *handle) Insert(ctx context.Context, collName string, doc store.Doc) (int64, error) {
	coll, err := h.coll(ctx, collName)
	if err != nil {
		return 0, err
	}
	id, d, err := encodeDoc(doc, 1)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", h.what(collName, "insert"), err)
	}
	if _, err := coll.InsertOne(ctx, d); err != nil {
		return 0, mapErr(ctx, h.what(collName, "insert "+strconv.Quote(id)), err)
	}
	return 1, nil
}

// insertChunk is how many documents one insertMany command carries. Small
// ordered chunks keep "stop at the first failure" true on servers that
// split a command internally and go on after a failed part (FerretDB v1
// does, in parts of 100).
const insertChunk = 100

// InsertMany implements store.DB with ordered insertMany commands of up to
// 100 documents. If the server fails without saying which document failed
// (a network error, say), the count returned covers the chunks acknowledged
// before, though part of the failed chunk may have been written.
func (h *handle) InsertMany(ctx context.Context, collName string, docs []store.Doc) (int, error) {
	coll, err := h.coll(ctx, collName)
	if err != nil {
		return 0, err
	}
	what := h.what(collName, "insert many")
	encoded := make([]any, 0, len(docs))
	var invalid error
	for i, doc := range docs {
		_, d, err := encodeDoc(doc, 1)
		if err != nil {
			invalid = fmt.Errorf("%s: document %d: %w", what, i, err)
			break
		}
		encoded = append(encoded, d)
	}
	o := options.InsertMany().SetOrdered(true)
	for done := 0; done < len(encoded); {
		chunk := encoded[done:min(done+insertChunk, len(encoded))]
		if _, err := coll.InsertMany(ctx, chunk, o); err != nil {
			var bwe mongo.BulkWriteException
			if errors.As(err, &bwe) && len(bwe.WriteErrors) > 0 {
				first := bwe.WriteErrors[0].Index
				for _, we := range bwe.WriteErrors {
					first = min(first, we.Index)
				}
				return done + first, mapErr(ctx, fmt.Sprintf("%s: document %d", what, done+first), err)
			}
			return done, mapErr(ctx, what, err)
		}
		done += len(chunk)
	}
	return len(encoded), invalid
}

// missingOrConflict tells a conflict from a missing document after a
// conditional write matched nothing.
func (h *handle) missingOrConflict(ctx context.Context, coll *mongo.Collection, id, what string, ifVersion int64) error {
	raw, err := coll.FindOne(ctx, bson.D{e(store.KeyID, id)},
		options.FindOne().SetProjection(bson.D{e(store.KeyVersion, 1)})).Raw()
	if err != nil {
		return mapErr(ctx, what, err)
	}
	v, _ := raw.Lookup(store.KeyVersion).AsInt64OK()
	return fmt.Errorf("%s: at version %d, not %d: %w", what, v, ifVersion, store.ErrConflict)
}

// Replace implements store.DB with replaceOne on {_id, _v}. ifVersion must be
// at least 1.
func (h *handle) Replace(ctx context.Context, collName string, doc store.Doc, ifVersion int64) (int64, error) {
	coll, err := h.coll(ctx, collName)
	if err != nil {
		return 0, err
	}
	id, d, err := encodeDoc(doc, ifVersion+1)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", h.what(collName, "replace"), err)
	}
	what := h.what(collName, "replace "+strconv.Quote(id))
	if ifVersion < 1 {
		return 0, fmt.Errorf("%s: version %d: %w", what, ifVersion, store.ErrInvalid)
	}
	res, err := coll.ReplaceOne(ctx, bson.D{e(store.KeyID, id), e(store.KeyVersion, ifVersion)}, d)
	if err != nil {
		return 0, mapErr(ctx, what, err)
	}
	if res.MatchedCount == 0 {
		return 0, h.missingOrConflict(ctx, coll, id, what, ifVersion)
	}
	return ifVersion + 1, nil
}

// Delete implements store.DB with deleteOne on {_id} or {_id, _v}.
func (h *handle) Delete(ctx context.Context, collName, id string, ifVersion int64) error {
	coll, err := h.coll(ctx, collName)
	if err != nil {
		return err
	}
	what := h.what(collName, "delete "+strconv.Quote(id))
	if id == "" || ifVersion < 0 {
		return fmt.Errorf("%s: empty id or negative version: %w", what, store.ErrInvalid)
	}
	filter := bson.D{e(store.KeyID, id)}
	if ifVersion > 0 {
		filter = append(filter, e(store.KeyVersion, ifVersion))
	}
	res, err := coll.DeleteOne(ctx, filter)
	if err != nil {
		return mapErr(ctx, what, err)
	}
	if res.DeletedCount == 0 {
		if ifVersion == 0 {
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		return h.missingOrConflict(ctx, coll, id, what, ifVersion)
	}
	return nil
}

// find runs a validated query and calls fn per document; errors from fn
// come back wrapped in callbackError.
func (h *handle) find(ctx context.Context, coll *mongo.Collection, q *query, limit int64, fn func(store.Doc) error) error {
	o := options.Find().SetSort(q.sort).SetBatchSize(256)
	if limit > 0 {
		o.SetLimit(limit)
	}
	cur, err := coll.Find(ctx, q.filter, o)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.s.cfg.disconnectTimeout)
		defer cancel()
		_ = cur.Close(cctx)
	}()
	for cur.Next(ctx) {
		if err := ctx.Err(); err != nil {
			return err
		}
		doc, err := fromRaw(cur.Current)
		if err != nil {
			return err
		}
		if err := fn(doc); err != nil {
			return &callbackError{err}
		}
	}
	return cur.Err()
}

// callbackError marks an error returned by a Scan callback, which is handed
// back unchanged.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }

// Find implements store.DB.
func (h *handle) Find(ctx context.Context, collName string, q store.Query) (store.Page, error) {
	coll, err := h.coll(ctx, collName)
	if err != nil {
		return store.Page{}, err
	}
	what := h.what(collName, "find")
	if q.Limit < 0 {
		return store.Page{}, fmt.Errorf("%s: negative limit: %w", what, store.ErrInvalid)
	}
	mq, err := buildQuery(q, true)
	if err != nil {
		return store.Page{}, fmt.Errorf("%s: %w", what, err)
	}
	limit := int64(0)
	if q.Limit > 0 {
		limit = int64(q.Limit) + 1
	}
	docs := []store.Doc{}
	if err := h.find(ctx, coll, mq, limit, func(d store.Doc) error {
		docs = append(docs, d)
		return nil
	}); err != nil {
		return store.Page{}, mapErr(ctx, what, err)
	}
	page, err := docutil.NewPage(q, docs)
	if err != nil {
		return store.Page{}, fmt.Errorf("%s: %w", what, err)
	}
	return page, nil
}

// Scan implements store.DB with a server cursor read in batches of 256.
func (h *handle) Scan(ctx context.Context, collName string, q store.Query, fn func(store.Doc) error) error {
	coll, err := h.coll(ctx, collName)
	if err != nil {
		return err
	}
	what := h.what(collName, "scan")
	if q.Limit < 0 {
		return fmt.Errorf("%s: negative limit: %w", what, store.ErrInvalid)
	}
	mq, err := buildQuery(q, true)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	err = h.find(ctx, coll, mq, int64(q.Limit), fn)
	var cb *callbackError
	if errors.As(err, &cb) {
		return cb.err
	}
	if err != nil {
		return mapErr(ctx, what, err)
	}
	return nil
}

// Count implements store.DB.
func (h *handle) Count(ctx context.Context, collName string, q store.Query) (int64, error) {
	coll, err := h.coll(ctx, collName)
	if err != nil {
		return 0, err
	}
	what := h.what(collName, "count")
	mq, err := buildQuery(q, false)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	n, err := coll.CountDocuments(ctx, mq.filter)
	if err != nil {
		return 0, mapErr(ctx, what, err)
	}
	return n, nil
}

// incRetries bounds the retries of an upserting Inc that lost the race to
// create the document (the server reports a duplicate _id; the retry then
// updates the winner's document) or, on FerretDB, a race with a delete.
const incRetries = 5

// Inc implements store.DB with findOneAndUpdate({_id}, {$inc: {…, _v: 1},
// $setOnInsert: {…}}, upsert, returnDocument: after).
func (h *handle) Inc(ctx context.Context, collName, id string, inc map[string]int64, setOnInsert store.Doc) (store.Doc, error) {
	coll, err := h.coll(ctx, collName)
	if err != nil {
		return nil, err
	}
	what := h.what(collName, "inc "+strconv.Quote(id))
	if id == "" {
		return nil, fmt.Errorf("%s: empty id: %w", what, store.ErrInvalid)
	}
	soi, err := docutil.CheckInc(inc, setOnInsert)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	paths := make([]string, 0, len(inc))
	for p := range inc {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	incDoc := bson.D{}
	for _, p := range paths {
		incDoc = append(incDoc, e(p, inc[p]))
	}
	incDoc = append(incDoc, e(store.KeyVersion, int64(1)))
	update := bson.D{e("$inc", incDoc)}
	if len(soi) > 0 {
		// Keys are checked paths, kept dotted; values are converted.
		update = append(update, e("$setOnInsert", appendFields(bson.D{}, soi)))
	}
	o := options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)
	for attempt := 0; ; attempt++ {
		raw, err := coll.FindOneAndUpdate(ctx, bson.D{e(store.KeyID, id)}, update, o).Raw()
		if err == nil {
			doc, err := fromRaw(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			return doc, nil
		}
		// An upsert answers no document only when it raced a delete of the
		// same id on a server whose findAndModify is not atomic (FerretDB
		// reads, then updates by id, then finds nothing to update): the
		// increment was not applied, so apply it again.
		lost := errors.Is(err, mongo.ErrNoDocuments)
		if (!mongo.IsDuplicateKeyError(err) && !lost) || attempt == incRetries || ctx.Err() != nil {
			return nil, mapErr(ctx, what, err)
		}
	}
}
