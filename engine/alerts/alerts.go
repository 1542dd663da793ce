// Package alerts is the "alert" configuration kind (预警规则) and what it
// drives (issue 7, DESIGN.md §4): rules that watch record writes or run on a
// schedule, evaluate a condition over a record (with its stage timing) or a
// progress row (attainment, pacing, elapsed, gap), and notify people through
// the notifier plugins (engine/plugin) — the in-app inbox always, and WeCom,
// DingTalk, Feishu or webhooks as configured.
//
// # Firing once
//
// A rule fires once per dedupe key within its cooldown. The last firing of
// each (rule, dedupe key) is a document (alert_events) claimed with the
// store's optimistic version check, so two writers — two requests, two
// server instances — cannot both fire, and a restart does not forget.
//
// # Delivering once
//
// Firing writes the rendered message into the event document; the event is
// then materialised into one delivery document per channel (and per person
// for the inbox), with ids derived from the event, so doing it twice after a
// crash creates nothing twice. A dispatcher sends pending deliveries,
// claiming each with a version check, retries failures with exponential
// backoff and moves a delivery that keeps failing (or is refused for good)
// to the dead-letter list, visible over the API. A delivery marked sent is
// never sent again, across restarts.
//
// # Scheduling
//
// Scheduled rules (cron, robfig/cron) are due when their next time (stored
// per rule in alert_sched) has passed; an instance claims the run by moving
// next forward with a version check and holds a lease while it evaluates, so
// exactly one instance evaluates each due run.
package alerts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/config"
	"stride/engine/ids"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/pipeline"
	"stride/engine/plugin"
	"stride/engine/progress"
	"stride/engine/records"
	"stride/engine/rules"
	"stride/engine/store"
	"stride/engine/tenant"
	"stride/engine/tracking"
)

// Collections of a tenant database (besides the config kind's).
const (
	collEvents     = "alert_events"     // {_id: hash(rule, dedupe), alert, dedupe, firedAt, event, message, recipients, materialized}
	collDeliveries = "alert_deliveries" // {_id, event, alert, channel, module, recipient, status, attempts, nextAt, lastError, message}
	collSched      = "alert_sched"      // {_id: rule key, cron, next, holder, until}
	collInbox      = "inbox"            // {_id: message id, user, title, body, texts, severity, link, read, createdAt}
	collHooks      = "hook_deliveries"  // {_id: hash(connector, delivery id), connector, delivery, at}
)

// Delivery statuses.
const (
	StatusPending = "pending"
	StatusSent    = "sent"
	StatusDead    = "dead"
)

// DefaultMaxAttempts is how many times a delivery is tried before it goes to
// the dead-letter list.
const DefaultMaxAttempts = 6

// Service manages alert rules, evaluates them and delivers what they fire.
type Service struct {
	objs    *objects.Service
	recs    *records.Service
	pipes   *pipeline.Service
	tracker *tracking.Tracker
	prog    *progress.Service
	tenants *tenant.Registry
	rules   *rules.Engine
	configs *plugin.Configs
	docs    *config.Store

	// Now is the clock of firing, cooldowns, schedules and retries.
	Now func() time.Time
	// Backoff is the wait before retry n (1-based): 5s × 2^(n-1), at most an hour.
	Backoff func(attempt int) time.Duration
	// MaxAttempts bounds the tries of a delivery (DefaultMaxAttempts).
	MaxAttempts int
	// SyncDispatch sends deliveries inside the write that fired them
	// (tests, tools); the server dispatches in the background.
	SyncDispatch bool
	// Instance names this process in scheduler leases.
	Instance string

	declared sync.Map // store.DB → true
	compiled sync.Map // ruleKey → *Rule
	avgs     sync.Map // avgKey → avgEntry
	kick     chan kickReq
	running  atomic.Bool // Run is draining kick
}

type ruleKey struct {
	tenant, key string
	version     int64
}

type kickReq struct {
	db     store.DB
	tenant string
}

// New returns the alert service.
func New(objs *objects.Service, recs *records.Service, pipes *pipeline.Service, tr *tracking.Tracker, prog *progress.Service,
	tenants *tenant.Registry, configs *plugin.Configs) *Service {
	s := &Service{objs: objs, recs: recs, pipes: pipes, tracker: tr, prog: prog, tenants: tenants, rules: objs.Rules(), configs: configs,
		Now: time.Now, Instance: ids.New("inst"), kick: make(chan kickReq, 64)}
	s.docs = config.New(config.Kind{Name: "alert", Validate: func(ctx context.Context, db store.DB, tenant, key string, def map[string]any) []apperr.FieldError {
		_, fe := s.compile(ctx, db, tenant, key, 0, def)
		return fe
	}})
	return s
}

// Configs returns the plugin configurations the service delivers through.
func (s *Service) Configs() *plugin.Configs { return s.configs }

// Collections are the tenant collections this package owns.
func (s *Service) Collections() []store.Collection {
	cs := append(s.docs.Collections(),
		store.Collection{Name: collEvents, Indexes: []store.Index{{Name: "materialized", Fields: []string{"materialized"}}}},
		store.Collection{Name: collDeliveries, Indexes: []store.Index{
			{Name: "status_next", Fields: []string{"status", "nextAt"}},
			{Name: "event", Fields: []string{"event"}}}},
		store.Collection{Name: collSched},
		store.Collection{Name: collInbox, Indexes: []store.Index{
			{Name: "user_created", Fields: []string{"user", "createdAt"}},
			{Name: "user_read", Fields: []string{"user", "read"}}}},
		store.Collection{Name: collHooks},
	)
	if s.configs != nil {
		cs = append(cs, s.configs.Collections()...)
	}
	return cs
}

func (s *Service) declare(ctx context.Context, db store.DB) error {
	if _, ok := s.declared.Load(db); ok {
		return nil
	}
	for _, c := range s.Collections() {
		if err := db.Declare(ctx, c); err != nil {
			return fmt.Errorf("declare %s: %w", c.Name, err)
		}
	}
	s.declared.Store(db, true)
	return nil
}

func (s *Service) now() time.Time { return s.Now().UTC() }

// List returns every rule's working copy.
func (s *Service) List(ctx context.Context, db store.DB) ([]config.Doc, error) {
	if err := s.declare(ctx, db); err != nil {
		return nil, err
	}
	return s.docs.List(ctx, db)
}

// Get returns a rule's working copy.
func (s *Service) Get(ctx context.Context, db store.DB, key string) (config.Doc, error) {
	if err := s.declare(ctx, db); err != nil {
		return config.Doc{}, err
	}
	return s.docs.Get(ctx, db, key)
}

// Save validates def in full and stores it as the draft.
func (s *Service) Save(ctx context.Context, db store.DB, tenant, actor, key string, def map[string]any, ifVersion int64) (config.Doc, error) {
	if err := s.declare(ctx, db); err != nil {
		return config.Doc{}, err
	}
	return s.docs.Save(ctx, db, tenant, actor, key, def, ifVersion)
}

// Publish makes the draft the rule in force.
func (s *Service) Publish(ctx context.Context, db store.DB, tenant, actor, key string) (config.Doc, error) {
	if err := s.declare(ctx, db); err != nil {
		return config.Doc{}, err
	}
	return s.docs.Publish(ctx, db, tenant, actor, key)
}

// Versions lists published versions.
func (s *Service) Versions(ctx context.Context, db store.DB, key string) ([]config.VersionInfo, error) {
	if err := s.declare(ctx, db); err != nil {
		return nil, err
	}
	return s.docs.Versions(ctx, db, key)
}

// Check validates a definition without saving it.
func (s *Service) Check(ctx context.Context, db store.DB, tenant string, def map[string]any) []apperr.FieldError {
	key, _ := def["key"].(string)
	if key == "" {
		key = "check"
	}
	_, fe := s.compile(ctx, db, tenant, key, 0, def)
	return fe
}

// Rule returns a published rule version, compiled once.
func (s *Service) Rule(ctx context.Context, db store.DB, tenant, key string, version int64) (*Rule, error) {
	rk := ruleKey{tenant, key, version}
	if r, ok := s.compiled.Load(rk); ok {
		return r.(*Rule), nil
	}
	def, err := s.docs.Version(ctx, db, key, version)
	if err != nil {
		return nil, err
	}
	r, fe := s.compile(ctx, db, tenant, key, version, def)
	if len(fe) > 0 {
		return nil, apperr.New(apperr.KindInvalid, "alert_broken", "published alert %s v%d no longer fits what it refers to (%s: %s); fix and republish it",
			key, version, fe[0].Pointer, fe[0].Message)
	}
	s.compiled.Store(rk, r)
	return r, nil
}

// published returns every rule in force (broken ones are logged and skipped).
func (s *Service) published(ctx context.Context, db store.DB, tenant string) ([]*Rule, error) {
	if err := s.declare(ctx, db); err != nil {
		return nil, err
	}
	kvs, err := s.docs.PublishedVersions(ctx, db)
	if err != nil {
		return nil, err
	}
	out := make([]*Rule, 0, len(kvs))
	for _, kv := range kvs {
		r, err := s.Rule(ctx, db, tenant, kv.Key, kv.Version)
		if err != nil {
			slog.Warn("alert rule skipped", "tenant", tenant, "alert", kv.Key, "err", err)
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

func hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// subject is what a firing is about: the owner (a record's, a user node's)
// and the teams whose managers are told.
type subject struct {
	owner string
	teams []string // for team nodes: the node; else the owner's teams
	link  string
}

// fire claims the (rule, dedupe key) and, when the cooldown allows,
// records the rendered message and materialises its deliveries. It reports
// whether the rule fired.
func (s *Service) fire(ctx context.Context, db store.DB, tenant string, r *Rule, vars map[string]any, sub subject, dedupe string) (bool, error) {
	if r.Dedupe != nil {
		v, err := r.Dedupe.Run(vars)
		if err != nil {
			return false, fmt.Errorf("dedupe key of %s: %w", r.Key, err)
		}
		dedupe = format(v)
	}
	id := hash(r.Key, dedupe)
	now := s.now()
	cur, err := db.Get(ctx, collEvents, id)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	count := int64(0)
	if exists {
		last, _ := time.Parse(time.RFC3339Nano, str(cur["firedAt"]))
		if r.Cooldown > 0 && now.Sub(last) < time.Duration(r.Cooldown)*time.Minute {
			return false, nil
		}
		count = store.Int(cur["count"])
	}
	recips, err := s.recipients(ctx, db, r, sub)
	if err != nil {
		return false, err
	}
	eventID := ids.New("evt")
	msg := s.render(ctx, tenant, r, vars)
	msg.Event, msg.Alert, msg.At, msg.Recipients = eventID, r.Key, now, recips
	doc := store.Doc{store.KeyID: id, "alert": r.Key, "version": r.Version, "dedupe": dedupe, "firedAt": period.FormatInstant(now),
		"event": eventID, "message": messageDoc(msg), "channels": anyList(r.Def.Channels), "materialized": false, "count": count + 1}
	var v int64
	if exists {
		v, err = db.Replace(ctx, collEvents, doc, store.Version(cur))
	} else {
		v, err = db.Insert(ctx, collEvents, doc)
	}
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrDuplicate) {
		return false, nil // another writer fired it first
	}
	if err != nil {
		return false, fmt.Errorf("record alert event: %w", err)
	}
	doc[store.KeyVersion] = v
	if err := s.materialize(ctx, db, tenant, doc); err != nil {
		return true, err // the dispatcher's sweep finishes it
	}
	s.dispatchSoon(ctx, db, tenant)
	return true, nil
}

func str(v any) string { s, _ := v.(string); return s }

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// render builds the message in every language of the rule; the tenant's
// locale (zh-CN by default) is the primary one.
func (s *Service) render(ctx context.Context, tenant string, r *Rule, vars map[string]any) plugin.Message {
	m := plugin.Message{Severity: r.Severity(), Texts: map[string]plugin.Text{}}
	for lang, t := range r.Title {
		txt := m.Texts[lang]
		txt.Title = t.Render(vars)
		m.Texts[lang] = txt
	}
	for lang, t := range r.Message {
		txt := m.Texts[lang]
		txt.Body = t.Render(vars)
		m.Texts[lang] = txt
	}
	locale := "zh-CN"
	if s.tenants != nil {
		if t, err := s.tenants.Get(ctx, tenant); err == nil && t.Locale != "" {
			locale = t.Locale
		}
	}
	pick := func(lang string) (plugin.Text, bool) { t, ok := m.Texts[lang]; return t, ok }
	t, ok := pick(locale)
	if !ok {
		if t, ok = pick("zh-CN"); !ok {
			t, _ = pick("en")
		}
	}
	m.Title, m.Body = t.Title, t.Body
	if m.Title == "" {
		m.Title = r.Def.Label["zh-CN"]
	}
	if r.Link != nil {
		m.Link = r.Link.Render(vars)
	}
	return m
}

// recipients resolves who a firing is for.
func (s *Service) recipients(ctx context.Context, db store.DB, r *Rule, sub subject) ([]plugin.Recipient, error) {
	want := []string{}
	add := func(id string) {
		if id != "" && !slices.Contains(want, id) {
			want = append(want, id)
		}
	}
	rc := r.Def.Recipients
	if rc.Owner {
		add(sub.owner)
	}
	if rc.Managers {
		teams, err := auth.ListTeams(ctx, db)
		if err != nil {
			return nil, err
		}
		byID := map[string]auth.Team{}
		for _, t := range teams {
			byID[t.ID] = t
		}
		start := sub.teams
		if len(start) == 0 && sub.owner != "" {
			start, err = auth.TeamOn(ctx, db, sub.owner, s.now().Format("2006-01-02"))
			if err != nil {
				return nil, err
			}
		}
		for _, tid := range start {
			// Up the tree until a team has a manager other than the owner.
			for seen := 0; tid != "" && seen < 64; seen++ {
				t, ok := byID[tid]
				if !ok {
					break
				}
				found := false
				for _, m := range t.Managers {
					if m != sub.owner {
						add(m)
						found = true
					}
				}
				if found {
					break
				}
				tid = t.ParentID
			}
		}
	}
	var users []auth.User
	if len(rc.Roles) > 0 || len(want) > 0 || len(rc.Users) > 0 {
		var err error
		if users, err = auth.ListUsers(ctx, db); err != nil {
			return nil, err
		}
	}
	for _, u := range users {
		if u.Disabled {
			continue
		}
		for _, role := range rc.Roles {
			if slices.Contains(u.Roles, auth.Role(role)) {
				add(u.ID)
			}
		}
	}
	for _, id := range rc.Users {
		add(id)
	}
	out := make([]plugin.Recipient, 0, len(want))
	for _, id := range want {
		i := slices.IndexFunc(users, func(u auth.User) bool { return u.ID == id || u.Username == id })
		if i < 0 {
			continue // not a user (any more)
		}
		if users[i].Disabled {
			continue
		}
		name := users[i].DisplayName
		if name == "" {
			name = users[i].Username
		}
		if !slices.ContainsFunc(out, func(r plugin.Recipient) bool { return r.UserID == users[i].ID }) {
			out = append(out, plugin.Recipient{UserID: users[i].ID, Name: name})
		}
	}
	return out, nil
}
