package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/period"
	"stride/engine/plugin"
	"stride/engine/store"
)

func messageDoc(m plugin.Message) store.Doc {
	rs := make([]any, 0, len(m.Recipients))
	for _, r := range m.Recipients {
		rs = append(rs, map[string]any{"userId": r.UserID, "name": r.Name})
	}
	texts := map[string]any{}
	for lang, t := range m.Texts {
		texts[lang] = map[string]any{"title": t.Title, "body": t.Body}
	}
	return store.Doc{"id": m.ID, "title": m.Title, "body": m.Body, "severity": m.Severity, "link": m.Link,
		"alert": m.Alert, "event": m.Event, "at": period.FormatInstant(m.At), "recipients": rs, "texts": texts}
}

func messageFrom(d map[string]any) plugin.Message {
	m := plugin.Message{ID: str(d["id"]), Title: str(d["title"]), Body: str(d["body"]), Severity: str(d["severity"]),
		Link: str(d["link"]), Alert: str(d["alert"]), Event: str(d["event"]), Texts: map[string]plugin.Text{}}
	m.At, _ = time.Parse(time.RFC3339Nano, str(d["at"]))
	rs, _ := d["recipients"].([]any)
	for _, r := range rs {
		rm, _ := r.(map[string]any)
		m.Recipients = append(m.Recipients, plugin.Recipient{UserID: str(rm["userId"]), Name: str(rm["name"])})
	}
	texts, _ := d["texts"].(map[string]any)
	for lang, t := range texts {
		tm, _ := t.(map[string]any)
		m.Texts[lang] = plugin.Text{Title: str(tm["title"]), Body: str(tm["body"])}
	}
	return m
}

// materialize writes the deliveries of an event (idempotent: delivery ids
// derive from the event) and marks it done.
func (s *Service) materialize(ctx context.Context, db store.DB, tenant string, ev store.Doc) error {
	msgDoc, _ := ev["message"].(map[string]any)
	msg := messageFrom(msgDoc)
	var only []string
	chs, _ := ev["channels"].([]any)
	for _, c := range chs {
		only = append(only, str(c))
	}
	var channels []*plugin.Opened
	if s.configs != nil {
		var errs []error
		channels, errs = s.configs.Enabled(ctx, db, tenant, plugin.NSNotify)
		for _, err := range errs {
			slog.Warn("notifier skipped", "tenant", tenant, "err", err)
		}
	}
	now := s.now()
	for _, ch := range channels {
		if len(only) > 0 && !ch.Info.AlwaysOn && !slices.Contains(only, ch.ID) {
			continue
		}
		per, _ := ch.Module.(plugin.PerRecipient)
		if per != nil && per.PerRecipient() {
			for _, r := range msg.Recipients {
				m := msg
				m.Recipients = []plugin.Recipient{r}
				if err := s.addDelivery(ctx, db, ch, m, r.UserID, now); err != nil {
					return err
				}
			}
			continue
		}
		if err := s.addDelivery(ctx, db, ch, msg, "", now); err != nil {
			return err
		}
	}
	ev["materialized"] = true
	if _, err := db.Replace(ctx, collEvents, ev, store.Version(ev)); err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("mark event materialized: %w", err)
	}
	return nil
}

func (s *Service) addDelivery(ctx context.Context, db store.DB, ch *plugin.Opened, m plugin.Message, recipient string, now time.Time) error {
	id := hash(m.Event, ch.ID, recipient)
	m.ID = id
	_, err := db.Insert(ctx, collDeliveries, store.Doc{store.KeyID: id, "event": m.Event, "alert": m.Alert, "channel": ch.ID, "module": ch.Info.ID,
		"recipient": recipient, "status": StatusPending, "attempts": int64(0), "nextAt": period.FormatInstant(now),
		"createdAt": period.FormatInstant(now), "message": messageDoc(m)})
	if err != nil && !errors.Is(err, store.ErrDuplicate) {
		return fmt.Errorf("add delivery: %w", err)
	}
	return nil
}

func (s *Service) dispatchSoon(ctx context.Context, db store.DB, tenant string) {
	if s.SyncDispatch {
		if _, err := s.Dispatch(ctx, db, tenant); err != nil {
			slog.Warn("alert dispatch", "tenant", tenant, "err", err)
		}
		return
	}
	if !s.running.Load() {
		// No dispatcher loop in this process (a tool, a test server): send
		// in the background, detached from the request.
		go func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if _, err := s.Dispatch(dctx, db, tenant); err != nil {
				slog.Warn("alert dispatch", "tenant", tenant, "err", err)
			}
		}()
		return
	}
	select {
	case s.kick <- kickReq{db: db, tenant: tenant}:
	default: // the periodic pass will pick it up
	}
}

func (s *Service) backoff(n int) time.Duration {
	if s.Backoff != nil {
		return s.Backoff(n)
	}
	d := 5 * time.Second
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

func (s *Service) maxAttempts() int {
	if s.MaxAttempts > 0 {
		return s.MaxAttempts
	}
	return DefaultMaxAttempts
}

// Dispatch finishes events a crash left unmaterialised and sends the
// pending deliveries that are due. It returns how many were sent.
func (s *Service) Dispatch(ctx context.Context, db store.DB, tenant string) (int, error) {
	if err := s.declare(ctx, db); err != nil {
		return 0, err
	}
	page, err := db.Find(ctx, collEvents, store.Query{Where: []store.Cond{{Field: "materialized", Op: store.Eq, Value: false}}, Limit: 100})
	if err != nil {
		return 0, err
	}
	for _, ev := range page.Docs {
		if err := s.materialize(ctx, db, tenant, ev); err != nil {
			return 0, err
		}
	}
	now := s.now()
	due, err := db.Find(ctx, collDeliveries, store.Query{Where: []store.Cond{
		{Field: "status", Op: store.Eq, Value: StatusPending},
		{Field: "nextAt", Op: store.Lte, Value: period.FormatInstant(now)}},
		Sort: []store.SortKey{{Field: "nextAt"}}, Limit: 200})
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, d := range due.Docs {
		ok, err := s.deliver(ctx, db, tenant, d)
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		}
	}
	return sent, nil
}

// deliver claims one delivery and sends it.
func (s *Service) deliver(ctx context.Context, db store.DB, tenant string, d store.Doc) (bool, error) {
	now := s.now()
	if until, err := time.Parse(time.RFC3339Nano, str(d["claimUntil"])); err == nil && until.After(now) {
		return false, nil // another dispatcher is on it
	}
	d["claimUntil"] = period.FormatInstant(now.Add(2 * time.Minute))
	v, err := db.Replace(ctx, collDeliveries, d, store.Version(d))
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	msgDoc, _ := d["message"].(map[string]any)
	msg := messageFrom(msgDoc)
	sendErr := s.send(ctx, db, tenant, str(d["channel"]), msg)
	attempts := store.Int(d["attempts"]) + 1
	d["attempts"], d["claimUntil"] = attempts, ""
	done := s.now()
	var perm *plugin.Permanent
	switch {
	case sendErr == nil:
		d["status"], d["sentAt"], d["lastError"] = StatusSent, period.FormatInstant(done), ""
	case errors.As(sendErr, &perm) || int(attempts) >= s.maxAttempts():
		d["status"], d["lastError"], d["deadAt"] = StatusDead, sendErr.Error(), period.FormatInstant(done)
		slog.Warn("alert delivery dead-lettered", "tenant", tenant, "delivery", store.ID(d), "channel", d["channel"], "err", sendErr)
	default:
		d["lastError"], d["nextAt"] = sendErr.Error(), period.FormatInstant(done.Add(s.backoff(int(attempts))))
	}
	if _, err := db.Replace(ctx, collDeliveries, d, v); err != nil {
		return false, fmt.Errorf("record delivery outcome: %w", err)
	}
	return sendErr == nil, nil
}

func (s *Service) send(ctx context.Context, db store.DB, tenant, channel string, msg plugin.Message) error {
	if s.configs == nil {
		return &plugin.Permanent{Err: errors.New("no plugin configurations")}
	}
	o, err := s.configs.Open(ctx, db, tenant, channel)
	if err != nil {
		if ae, ok := apperr.As(err); ok && (ae.Kind == apperr.KindNotFound || ae.Kind == apperr.KindInvalid) {
			return &plugin.Permanent{Err: err}
		}
		return err
	}
	n, ok := o.Module.(plugin.Notifier)
	if !ok {
		return &plugin.Permanent{Err: fmt.Errorf("plugin %s is not a notifier", channel)}
	}
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return n.Send(sctx, msg)
}

// Delivery is a delivery as the API shows it.
type Delivery struct {
	ID        string    `json:"id"`
	Event     string    `json:"event"`
	Alert     string    `json:"alert"`
	Channel   string    `json:"channel"`
	Module    string    `json:"module"`
	Recipient string    `json:"recipient,omitempty"`
	Status    string    `json:"status"`
	Attempts  int64     `json:"attempts"`
	NextAt    string    `json:"nextAt,omitempty"`
	LastError string    `json:"lastError,omitempty"`
	Title     string    `json:"title"`
	CreatedAt time.Time `json:"createdAt"`
	SentAt    string    `json:"sentAt,omitempty"`
}

func deliveryFrom(d store.Doc) Delivery {
	out := Delivery{ID: store.ID(d), Event: str(d["event"]), Alert: str(d["alert"]), Channel: str(d["channel"]), Module: str(d["module"]),
		Recipient: str(d["recipient"]), Status: str(d["status"]), Attempts: store.Int(d["attempts"]), LastError: str(d["lastError"]),
		SentAt: str(d["sentAt"])}
	if out.Status == StatusPending {
		out.NextAt = str(d["nextAt"])
	}
	m, _ := d["message"].(map[string]any)
	out.Title = str(m["title"])
	out.CreatedAt, _ = time.Parse(time.RFC3339Nano, str(d["createdAt"]))
	return out
}

// Deliveries lists deliveries, newest first; status "" lists all ("dead"
// is the dead-letter list).
func (s *Service) Deliveries(ctx context.Context, db store.DB, status string, limit int) ([]Delivery, error) {
	if err := s.declare(ctx, db); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	q := store.Query{Sort: []store.SortKey{{Field: "createdAt", Desc: true}}, Limit: limit}
	if status != "" {
		if !slices.Contains([]string{StatusPending, StatusSent, StatusDead}, status) {
			return nil, apperr.Invalid("unknown status", apperr.FieldError{Pointer: "/status", Code: "enum", Message: "pending, sent or dead"})
		}
		q.Where = []store.Cond{{Field: "status", Op: store.Eq, Value: status}}
	}
	page, err := db.Find(ctx, collDeliveries, q)
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, 0, len(page.Docs))
	for _, d := range page.Docs {
		out = append(out, deliveryFrom(d))
	}
	return out, nil
}

// Retry moves a dead delivery back to pending, due now.
func (s *Service) Retry(ctx context.Context, db store.DB, tenant, actor, id string) (Delivery, error) {
	if err := s.declare(ctx, db); err != nil {
		return Delivery{}, err
	}
	d, err := db.Get(ctx, collDeliveries, id)
	if errors.Is(err, store.ErrNotFound) {
		return Delivery{}, apperr.NotFound("no delivery %q", id)
	}
	if err != nil {
		return Delivery{}, err
	}
	if str(d["status"]) != StatusDead {
		return Delivery{}, apperr.Conflict("not_dead", "only a dead-lettered delivery can be retried (this one is %s)", str(d["status"]))
	}
	d["status"], d["attempts"], d["nextAt"] = StatusPending, int64(0), period.FormatInstant(s.now())
	if _, err := db.Replace(ctx, collDeliveries, d, store.Version(d)); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Delivery{}, apperr.Conflict("version_conflict", "the delivery changed meanwhile; reload")
		}
		return Delivery{}, err
	}
	_ = audit.Append(ctx, db, actor, "alert.delivery.retry", "delivery:"+id, nil)
	s.dispatchSoon(ctx, db, tenant)
	return deliveryFrom(d), nil
}

// SendTest sends a test message through one configured notifier, now,
// without the outbox: the admin sees the receiver's answer at once.
func (s *Service) SendTest(ctx context.Context, db store.DB, tenant string, actor, id string) error {
	if err := s.declare(ctx, db); err != nil {
		return err
	}
	o, err := s.configs.Open(ctx, db, tenant, id)
	if err != nil {
		return err
	}
	n, ok := o.Module.(plugin.Notifier)
	if !ok {
		return apperr.Invalid("only notifiers can send a test message", apperr.FieldError{Pointer: "/module", Code: "not_notifier",
			Message: fmt.Sprintf("%s is a %s", id, o.Info.ID)})
	}
	now := s.now()
	msg := plugin.Message{ID: hash("test", id, now.String()), Title: "Stride 测试消息 Test message",
		Body:     "这是一条来自 Stride 的测试消息,配置正确。\n\nThis is a test message from Stride: the notifier works.",
		Severity: plugin.SeverityInfo, At: now, Event: "test",
		Texts: map[string]plugin.Text{"zh-CN": {Title: "Stride 测试消息", Body: "这是一条来自 Stride 的测试消息,配置正确。"},
			"en": {Title: "Stride test message", Body: "This is a test message from Stride: the notifier works."}}}
	msg.Recipients = []plugin.Recipient{{UserID: actor}}
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := n.Send(sctx, msg); err != nil {
		return apperr.New(apperr.KindInvalid, "test_failed", "the test message was not delivered: %v", err)
	}
	return nil
}

// Run dispatches and schedules for every tenant until ctx ends: a pass
// every interval, and a dispatch as soon as a firing asks for one.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	s.running.Store(true)
	defer s.running.Store(false)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case k := <-s.kick:
			if _, err := s.Dispatch(ctx, k.db, k.tenant); err != nil && ctx.Err() == nil {
				slog.Warn("alert dispatch", "tenant", k.tenant, "err", err)
			}
		case <-t.C:
			if s.tenants == nil {
				continue
			}
			names, err := s.tenants.List(ctx)
			if err != nil {
				continue
			}
			for _, name := range names {
				db, err := s.tenants.DB(ctx, name)
				if err != nil {
					continue
				}
				if err := s.Tick(ctx, db, name); err != nil && ctx.Err() == nil {
					slog.Warn("alert schedule", "tenant", name, "err", err)
				}
				if _, err := s.Dispatch(ctx, db, name); err != nil && ctx.Err() == nil {
					slog.Warn("alert dispatch", "tenant", name, "err", err)
				}
			}
		}
	}
}
