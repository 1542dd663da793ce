// Package inbox is notify.inbox: the in-app inbox every user has. It is
// always on (nothing to configure) and delivers per person: each recipient
// gets the message in their inbox (engine/alerts stores and serves it).
package inbox

import (
	"context"

	"stride/engine/alerts"
	"stride/engine/plugin"
	"stride/engine/store"
)

func init() { plugin.Register(new(Inbox)) }

// Inbox stores messages in the tenant's inbox collection.
type Inbox struct {
	db store.DB
}

// StrideModule describes notify.inbox.
func (*Inbox) StrideModule() plugin.ModuleInfo {
	return plugin.ModuleInfo{
		ID:       "notify.inbox",
		Label:    map[string]string{"zh-CN": "站内消息", "en": "In-app inbox"},
		AlwaysOn: true,
		New:      func() plugin.Module { return new(Inbox) },
	}
}

// Provision keeps the tenant's database.
func (i *Inbox) Provision(ctx plugin.Context) error { i.db = ctx.DB; return nil }

// PerRecipient: every person gets their own copy.
func (*Inbox) PerRecipient() bool { return true }

// Send stores the message for each recipient (its id makes a redelivery a no-op).
func (i *Inbox) Send(ctx context.Context, m plugin.Message) error {
	for _, r := range m.Recipients {
		if r.UserID == "" {
			continue
		}
		mm := m
		if len(m.Recipients) > 1 {
			mm.ID = m.ID + "-" + r.UserID
		}
		if err := alerts.PutInbox(ctx, i.db, r.UserID, mm); err != nil {
			return err
		}
	}
	return nil
}

// Interface guards.
var (
	_ plugin.Notifier     = (*Inbox)(nil)
	_ plugin.Provisioner  = (*Inbox)(nil)
	_ plugin.PerRecipient = (*Inbox)(nil)
)
