// Package audit records who changed what, when: configuration changes,
// user and team administration, logins and token use (DESIGN.md §4).
//
// Entries are append-only documents in the tenant database. An audit write
// that fails after the change it records is logged and returned, but the
// change itself is not rolled back (the store has no transactions); entries
// are written after the change so they never describe something that did not
// happen.
package audit

import (
	"context"
	"fmt"
	"time"

	"stride/engine/ids"
	"stride/engine/period"
	"stride/engine/store"
)

const coll = "audit"

// Entry is one audit event.
type Entry struct {
	ID     string         `json:"id"`
	At     time.Time      `json:"at"`
	Actor  string         `json:"actor"`  // user id, or "system"
	Action string         `json:"action"` // e.g. "object.save", "user.create", "auth.login"
	Target string         `json:"target"` // e.g. "object:deal"
	Detail map[string]any `json:"detail,omitempty"`
}

// Collections are the tenant collections this package owns.
func Collections() []store.Collection {
	return []store.Collection{{Name: coll, Indexes: []store.Index{{Name: "at", Fields: []string{"at"}}}}}
}

// Append writes an entry.
func Append(ctx context.Context, db store.DB, actor, action, target string, detail map[string]any) error {
	d := store.Doc{
		store.KeyID: ids.New("a"), "at": period.FormatInstant(time.Now()),
		"actor": actor, "action": action, "target": target,
	}
	if detail != nil {
		d["detail"] = detail
	}
	if _, err := db.Insert(ctx, coll, d); err != nil {
		return fmt.Errorf("append audit %s %s: %w", action, target, err)
	}
	return nil
}

// List returns entries newest first, one page at a time.
func List(ctx context.Context, db store.DB, limit int, cursor string) ([]Entry, string, error) {
	page, err := db.Find(ctx, coll, store.Query{Sort: []store.SortKey{{Field: "at", Desc: true}}, Limit: limit, After: cursor})
	if err != nil {
		return nil, "", fmt.Errorf("list audit: %w", err)
	}
	out := make([]Entry, 0, len(page.Docs))
	for _, d := range page.Docs {
		e := Entry{ID: store.ID(d)}
		e.Actor, _ = d["actor"].(string)
		e.Action, _ = d["action"].(string)
		e.Target, _ = d["target"].(string)
		e.Detail, _ = d["detail"].(map[string]any)
		if s, ok := d["at"].(string); ok {
			e.At, _ = period.ParseInstant(s)
		}
		out = append(out, e)
	}
	return out, page.Next, nil
}
