package sqlite

import (
	"fmt"
	"strings"

	"stride/engine/store"
	"stride/engine/store/internal/docutil"
)

// What a call may contain (names, paths, keys, values, conditions, cursors)
// is decided by package docutil, shared with the mongo adapter. This file
// holds what is particular to storing documents as JSON text.

// decodeDoc decodes a stored document body and adds the reserved keys.
func decodeDoc(id string, version int64, body string) (store.Doc, error) {
	v, err := parseJSON(body)
	if err != nil {
		return nil, fmt.Errorf("document %q: %w", id, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("document %q: stored body is not an object", id)
	}
	m[store.KeyID] = id
	m[store.KeyVersion] = version
	return m, nil
}

// setPath stores v at a dotted path, creating intermediate objects.
func setPath(d map[string]any, path string, v any) error {
	segs := strings.Split(path, ".")
	cur := d
	for _, seg := range segs[:len(segs)-1] {
		next, ok := cur[seg]
		if !ok || next == nil {
			m := map[string]any{}
			cur[seg] = m
			cur = m
			continue
		}
		m, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("path %q crosses a non-object value: %w", path, store.ErrInvalid)
		}
		cur = m
	}
	cur[segs[len(segs)-1]] = v
	return nil
}

// incPath adds delta to the number at a dotted path (absent counts as 0).
func incPath(d map[string]any, path string, delta int64) error {
	cur := docutil.Lookup(d, path)
	var next any
	switch n := cur.(type) {
	case nil:
		next = delta
	case int64:
		s := n + delta
		if (delta > 0 && s < n) || (delta < 0 && s > n) {
			return fmt.Errorf("increment of %q overflows int64: %w", path, store.ErrInvalid)
		}
		next = s
	case float64:
		next = n + float64(delta)
	default:
		return fmt.Errorf("cannot increment non-numeric %q (%T): %w", path, cur, store.ErrInvalid)
	}
	return setPath(d, path, next)
}
