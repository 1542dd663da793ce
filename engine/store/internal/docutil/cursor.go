package docutil

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"strconv"

	"stride/engine/store"
)

// Cursor is the decoded form of Page.Next: the sort-key values and the id of
// the last document of a page, plus a fingerprint of the query it belongs to
// so that a cursor replayed against another query is rejected.
type Cursor struct {
	Query string `json:"q"`
	// Keys holds the values of the sort keys before _id, in the document
	// value set (nil for a missing field).
	Keys []any  `json:"k,omitempty"`
	ID   string `json:"i"`
}

// fingerprint identifies a query's Where and Sort (not its Limit or After).
func fingerprint(q store.Query) string {
	h := fnv.New64a()
	for _, c := range q.Where {
		fmt.Fprintf(h, "w%q%q%T%v;", c.Field, c.Op, c.Value, c.Value)
	}
	for _, s := range q.Sort {
		fmt.Fprintf(h, "s%q%t;", s.Field, s.Desc)
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

// cursorKeys is how many sort keys a cursor of q carries: those before _id.
func cursorKeys(q store.Query) []store.SortKey {
	for i, s := range q.Sort {
		if s.Field == store.KeyID {
			return q.Sort[:i]
		}
	}
	return q.Sort
}

// EncodeCursor returns the cursor positioned after last, a document of the
// result of q.
func EncodeCursor(q store.Query, last store.Doc) (string, error) {
	c := Cursor{Query: fingerprint(q), ID: store.ID(last)}
	for _, s := range cursorKeys(q) {
		c.Keys = append(c.Keys, Lookup(last, s.Field))
	}
	b, err := EncodeJSON(c)
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// DecodeCursor decodes q.After (nil if it is empty). A cursor that is not one
// EncodeCursor made for a query with the same Where and Sort is ErrInvalid.
// Its key values are normalized (Normalize), so an adapter may use them in
// its query language without further checks.
func DecodeCursor(q store.Query) (*Cursor, error) {
	if q.After == "" {
		return nil, nil
	}
	bad := fmt.Errorf("malformed cursor: %w", store.ErrInvalid)
	b, err := base64.RawURLEncoding.DecodeString(q.After)
	if err != nil {
		return nil, bad
	}
	v, err := decodeJSON(b)
	if err != nil {
		return nil, bad
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, bad
	}
	var c Cursor
	c.Query, _ = m["q"].(string)
	c.ID, _ = m["i"].(string)
	list, _ := m["k"].([]any)
	for _, k := range list {
		n, err := Normalize(k, 0) // json.Number → int64/float64; keys checked
		if err != nil {
			return nil, bad
		}
		c.Keys = append(c.Keys, n)
	}
	if c.Query != fingerprint(q) || c.ID == "" || len(c.Keys) != len(cursorKeys(q)) {
		return nil, fmt.Errorf("cursor does not belong to this query: %w", store.ErrInvalid)
	}
	return &c, nil
}

// NewPage makes the page of a Find that asked the backend for q.Limit+1
// documents (all of them when q.Limit is 0): with more than q.Limit, the
// page holds the first q.Limit and Next is the cursor after the last of them.
func NewPage(q store.Query, docs []store.Doc) (store.Page, error) {
	page := store.Page{Docs: docs}
	if q.Limit > 0 && len(docs) > q.Limit {
		page.Docs = docs[:q.Limit]
		next, err := EncodeCursor(q, page.Docs[q.Limit-1])
		if err != nil {
			return store.Page{}, err
		}
		page.Next = next
	}
	return page, nil
}
