package sqlite

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"strconv"

	"stride/engine/store"
)

// cursor is the decoded form of Page.Next: the sort-key values and the id of
// the last document of a page, plus a fingerprint of the query it belongs to
// so that a cursor replayed against another query is rejected.
type cursor struct {
	Query string `json:"q"`
	Keys  []any  `json:"k,omitempty"`
	ID    string `json:"i"`
}

// fingerprint identifies a query's Where and Sort (not its Limit).
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

func encodeCursor(q store.Query, last store.Doc) (string, error) {
	c := cursor{Query: fingerprint(q), ID: store.ID(last)}
	for _, s := range q.Sort {
		if s.Field == store.KeyID {
			break
		}
		if s.Field == store.KeyVersion {
			c.Keys = append(c.Keys, store.Version(last))
			continue
		}
		c.Keys = append(c.Keys, lookup(last, s.Field))
	}
	b, err := encodeJSON(c)
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func decodeCursor(q store.Query) (*cursor, error) {
	if q.After == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(q.After)
	if err != nil {
		return nil, fmt.Errorf("malformed cursor: %w", store.ErrInvalid)
	}
	v, err := parseJSON(string(b))
	if err != nil {
		return nil, fmt.Errorf("malformed cursor: %w", store.ErrInvalid)
	}
	m, _ := v.(map[string]any)
	var c cursor
	c.Query, _ = m["q"].(string)
	c.ID, _ = m["i"].(string)
	c.Keys, _ = m["k"].([]any)
	n := 0
	for _, s := range q.Sort {
		if s.Field == store.KeyID {
			break
		}
		n++
	}
	if c.Query != fingerprint(q) || c.ID == "" || len(c.Keys) != n {
		return nil, fmt.Errorf("cursor does not belong to this query: %w", store.ErrInvalid)
	}
	return &c, nil
}
