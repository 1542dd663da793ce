package alerts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"stride/engine/apperr"
	"stride/engine/period"
	"stride/engine/plugin"
	"stride/engine/store"
)

// InboxItem is one message in a person's in-app inbox.
type InboxItem struct {
	ID        string                 `json:"id"`
	Title     string                 `json:"title"`
	Body      string                 `json:"body"`
	Texts     map[string]plugin.Text `json:"texts,omitempty"`
	Severity  string                 `json:"severity"`
	Link      string                 `json:"link,omitempty"`
	Alert     string                 `json:"alert,omitempty"`
	Read      bool                   `json:"read"`
	CreatedAt time.Time              `json:"createdAt"`
}

// PutInbox stores a message in a user's inbox. The message id is the
// document id, so a redelivery stores nothing twice.
func PutInbox(ctx context.Context, db store.DB, user string, m plugin.Message) error {
	if err := db.Declare(ctx, store.Collection{Name: collInbox, Indexes: []store.Index{
		{Name: "user_created", Fields: []string{"user", "createdAt"}},
		{Name: "user_read", Fields: []string{"user", "read"}}}}); err != nil {
		return err
	}
	d := messageDoc(m)
	at := m.At
	if at.IsZero() {
		at = time.Now()
	}
	_, err := db.Insert(ctx, collInbox, store.Doc{store.KeyID: m.ID, "user": user, "title": m.Title, "body": m.Body, "texts": d["texts"],
		"severity": m.Severity, "link": m.Link, "alert": m.Alert, "read": false, "createdAt": period.FormatInstant(at.UTC())})
	if errors.Is(err, store.ErrDuplicate) {
		return nil
	}
	return err
}

func inboxFrom(d store.Doc) InboxItem {
	it := InboxItem{ID: store.ID(d), Title: str(d["title"]), Body: str(d["body"]), Severity: str(d["severity"]), Link: str(d["link"]), Alert: str(d["alert"])}
	it.Read, _ = d["read"].(bool)
	it.CreatedAt, _ = time.Parse(time.RFC3339Nano, str(d["createdAt"]))
	if texts, ok := d["texts"].(map[string]any); ok && len(texts) > 0 {
		it.Texts = map[string]plugin.Text{}
		for lang, t := range texts {
			tm, _ := t.(map[string]any)
			it.Texts[lang] = plugin.Text{Title: str(tm["title"]), Body: str(tm["body"])}
		}
	}
	return it
}

// Inbox is a page of a user's inbox.
type Inbox struct {
	Items  []InboxItem `json:"items"`
	Unread int64       `json:"unread"`
	Next   string      `json:"next,omitempty"`
}

// ListInbox returns a user's messages, newest first, and the unread count.
func (s *Service) ListInbox(ctx context.Context, db store.DB, user string, unreadOnly bool, limit int, cursor string) (*Inbox, error) {
	if err := s.declare(ctx, db); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	where := []store.Cond{{Field: "user", Op: store.Eq, Value: user}}
	if unreadOnly {
		where = append(where, store.Cond{Field: "read", Op: store.Eq, Value: false})
	}
	page, err := db.Find(ctx, collInbox, store.Query{Where: where, Sort: []store.SortKey{{Field: "createdAt", Desc: true}}, Limit: limit, After: cursor})
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			return nil, apperr.BadRequest("invalid cursor")
		}
		return nil, err
	}
	unread, err := db.Count(ctx, collInbox, store.Query{Where: []store.Cond{{Field: "user", Op: store.Eq, Value: user}, {Field: "read", Op: store.Eq, Value: false}}})
	if err != nil {
		return nil, err
	}
	out := &Inbox{Items: make([]InboxItem, 0, len(page.Docs)), Unread: unread, Next: page.Next}
	for _, d := range page.Docs {
		out.Items = append(out.Items, inboxFrom(d))
	}
	return out, nil
}

// MarkRead marks one of the user's messages read (404 for anybody else's).
func (s *Service) MarkRead(ctx context.Context, db store.DB, user, id string) (InboxItem, error) {
	if err := s.declare(ctx, db); err != nil {
		return InboxItem{}, err
	}
	for range 3 {
		d, err := db.Get(ctx, collInbox, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && str(d["user"]) != user) {
			return InboxItem{}, apperr.NotFound("no message %q in your inbox", id)
		}
		if err != nil {
			return InboxItem{}, err
		}
		if r, _ := d["read"].(bool); r {
			return inboxFrom(d), nil
		}
		d["read"] = true
		if _, err := db.Replace(ctx, collInbox, d, store.Version(d)); errors.Is(err, store.ErrConflict) {
			continue
		} else if err != nil {
			return InboxItem{}, fmt.Errorf("mark read: %w", err)
		}
		return inboxFrom(d), nil
	}
	return InboxItem{}, apperr.Conflict("version_conflict", "the message changed meanwhile; retry")
}

// MarkAllRead marks every unread message of the user read and returns how many.
func (s *Service) MarkAllRead(ctx context.Context, db store.DB, user string) (int, error) {
	if err := s.declare(ctx, db); err != nil {
		return 0, err
	}
	var docs []store.Doc
	err := db.Scan(ctx, collInbox, store.Query{Where: []store.Cond{{Field: "user", Op: store.Eq, Value: user}, {Field: "read", Op: store.Eq, Value: false}}},
		func(d store.Doc) error { docs = append(docs, d); return nil })
	n := 0
	for _, d := range docs {
		d["read"] = true
		if _, err := db.Replace(ctx, collInbox, d, store.Version(d)); err == nil {
			n++
		}
	}
	return n, err
}
