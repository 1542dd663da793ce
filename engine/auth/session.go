package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/ids"
	"stride/engine/period"
	"stride/engine/store"
	"stride/engine/tenant"
)

const collSessions = "sessions"

// Token prefixes make leaked secrets recognisable to secret scanners.
const (
	sessionPrefix     = "sts_"
	integrationPrefix = "sti_"
)

// Service authenticates callers. Sessions and tokens live in the system
// database, keyed by the SHA-256 of the secret, so a lookup is one indexed
// get, the secret itself is never stored, and revocation (deleting the
// document) takes effect on the very next request of every instance.
type Service struct {
	tenants    *tenant.Registry
	sys        store.DB
	SessionTTL time.Duration
	limiter    *limiter // login attempts
	tokens     *limiter // integration token creation
}

// NewService returns an auth service over the tenant registry and system database.
func NewService(tenants *tenant.Registry, sys store.DB) *Service {
	return &Service{tenants: tenants, sys: sys, SessionTTL: 12 * time.Hour, limiter: newLimiter(), tokens: newTokenLimiter()}
}

// LoginResult is what a successful login returns.
type LoginResult struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	User      User      `json:"user"`
}

func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// Login checks a username and password and opens a session. Attempts are
// rate-limited per tenant+username and per client address, and failures do
// not reveal whether the tenant or user exists.
func (s *Service) Login(ctx context.Context, tenantName, username, password, clientIP string) (LoginResult, error) {
	if wait, ok := s.limiter.allow("ip:"+clientIP, "user:"+tenantName+"/"+strings.ToLower(username)); !ok {
		// Not audited: a flood of refused attempts must not fill the
		// tenant's audit log; the request log has them.
		slog.WarnContext(ctx, "login rate-limited", "tenant", tenantName, "username", username, "ip", clientIP)
		return LoginResult{}, apperr.New(apperr.KindTooMany, "rate_limited", "too many login attempts; try again later").
			With("retryAfter", int(wait.Seconds()+1))
	}
	bad := apperr.Unauthorized("wrong tenant, username or password")
	db, err := s.tenants.DB(ctx, tenantName)
	if _, nf := apperr.As(err); nf && err != nil {
		_, _ = CheckPassword(dummyHash, password)
		return LoginResult{}, bad
	}
	if err != nil {
		return LoginResult{}, err
	}
	d, err := findUserDoc(ctx, db, username)
	if err != nil {
		return LoginResult{}, err
	}
	if d == nil {
		_, _ = CheckPassword(dummyHash, password)
		// Audited like a wrong password (same cost, same answer), under
		// the name tried; never the password.
		tried := strings.ToLower(username)
		if len(tried) > 64 {
			tried = tried[:64]
		}
		_ = audit.Append(ctx, db, "", "auth.login_failed", "username:"+tried,
			map[string]any{"ip": clientIP, "reason": "unknown_user"})
		return LoginResult{}, bad
	}
	hash, _ := d["passwordHash"].(string)
	ok, err := CheckPassword(hash, password)
	if err != nil {
		return LoginResult{}, fmt.Errorf("check password of %s: %w", store.ID(d), err)
	}
	u := userFromDoc(d)
	if !ok || u.Disabled {
		reason := "wrong_password"
		if ok {
			reason = "disabled"
		}
		_ = audit.Append(ctx, db, u.ID, "auth.login_failed", "user:"+u.ID, map[string]any{"ip": clientIP, "reason": reason})
		return LoginResult{}, bad
	}
	tok := sessionPrefix + ids.Secret(32)
	exp := time.Now().Add(s.SessionTTL).UTC().Truncate(time.Millisecond)
	_, err = s.sys.Insert(ctx, collSessions, store.Doc{
		store.KeyID: hashToken(tok), "tenant": tenantName, "userId": u.ID, "kind": "session",
		"expiresAt": period.FormatInstant(exp), "createdAt": period.FormatInstant(time.Now()),
	})
	if err != nil {
		return LoginResult{}, fmt.Errorf("open session: %w", err)
	}
	_ = audit.Append(ctx, db, u.ID, "auth.login", "user:"+u.ID, map[string]any{"ip": clientIP})
	return LoginResult{Token: tok, ExpiresAt: exp, User: u}, nil
}

// Authenticate resolves a bearer token to a principal. The user is re-read so
// that disabling a user or changing roles applies immediately.
func (s *Service) Authenticate(ctx context.Context, tok string) (*Principal, error) {
	if !strings.HasPrefix(tok, sessionPrefix) && !strings.HasPrefix(tok, integrationPrefix) {
		return nil, apperr.Unauthorized("invalid token")
	}
	id := hashToken(tok)
	d, err := s.sys.Get(ctx, collSessions, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apperr.Unauthorized("invalid or revoked token")
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	if exp, _ := d["expiresAt"].(string); exp != "" {
		t, err := period.ParseInstant(exp)
		if err != nil || time.Now().After(t) {
			return nil, apperr.New(apperr.KindUnauthorized, "token_expired", "the token has expired; log in again")
		}
	}
	tenantName, _ := d["tenant"].(string)
	db, err := s.tenants.DB(ctx, tenantName)
	if err != nil {
		return nil, err
	}
	p := &Principal{Tenant: tenantName, TokenID: id}
	p.UserID, _ = d["userId"].(string)
	u, err := GetUser(ctx, db, p.UserID)
	if _, nf := apperr.As(err); nf && err != nil {
		return nil, apperr.Unauthorized("the token's user no longer exists")
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, apperr.Unauthorized("the user is disabled")
	}
	p.Username, p.Roles = u.Username, u.Roles
	if kind, _ := d["kind"].(string); kind == "integration" {
		p.Integration = true
		p.Roles = []Role{RoleIntegration}
		if sc, ok := d["scopes"].([]any); ok {
			for _, x := range sc {
				if s, ok := x.(string); ok {
					p.Scopes = append(p.Scopes, s)
				}
			}
		}
	}
	return p, nil
}

// Logout revokes the principal's session at once.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	if err := s.sys.Delete(ctx, collSessions, p.TokenID, 0); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// EndSessions ends every login session of a user at once (not their
// integration tokens, which are separate credentials): called when their
// password changes or they are deactivated, so a stolen session does not
// outlive the reset, and re-enabling a user does not revive old sessions.
func (s *Service) EndSessions(ctx context.Context, tenantName, userID string) (int, error) {
	var ids []string
	err := s.sys.Scan(ctx, collSessions, store.Query{Where: []store.Cond{
		{Field: "tenant", Op: store.Eq, Value: tenantName}, {Field: "kind", Op: store.Eq, Value: "session"},
		{Field: "userId", Op: store.Eq, Value: userID}}}, func(d store.Doc) error {
		ids = append(ids, store.ID(d))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("find sessions of %s: %w", userID, err)
	}
	for _, id := range ids {
		if err := s.sys.Delete(ctx, collSessions, id, 0); err != nil && !errors.Is(err, store.ErrNotFound) {
			return 0, fmt.Errorf("end session of %s: %w", userID, err)
		}
	}
	return len(ids), nil
}

// Token describes an integration token (never its secret).
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	// Secret is returned once, on creation.
	Secret string `json:"token,omitempty"`
}

// TokenInput creates an integration token.
type TokenInput struct {
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// CreateToken issues an integration token acting for the creating admin
// within the given scopes.
func (s *Service) CreateToken(ctx context.Context, db store.DB, p *Principal, in TokenInput) (Token, error) {
	var fe []apperr.FieldError
	if n := len([]rune(in.Name)); n == 0 || n > 100 {
		fe = append(fe, apperr.FieldError{Pointer: "/name", Code: "length", Message: "name is required (at most 100 characters)"})
	}
	if len(in.Scopes) == 0 {
		fe = append(fe, apperr.FieldError{Pointer: "/scopes", Code: "required", Message: "at least one scope is required"})
	}
	for i, sc := range in.Scopes {
		if !slices.Contains(Scopes, sc) {
			fe = append(fe, apperr.FieldError{Pointer: fmt.Sprintf("/scopes/%d", i), Code: "enum",
				Message: fmt.Sprintf("unknown scope %q; one of %s", sc, strings.Join(Scopes, ", "))})
		}
	}
	if in.ExpiresAt.IsZero() {
		in.ExpiresAt = time.Now().AddDate(1, 0, 0)
	} else if in.ExpiresAt.Before(time.Now()) {
		fe = append(fe, apperr.FieldError{Pointer: "/expiresAt", Code: "range", Message: "must be in the future"})
	}
	if len(fe) > 0 {
		return Token{}, apperr.Invalid("the token request is invalid", fe...)
	}
	secret := integrationPrefix + ids.Secret(32)
	t := Token{ID: hashToken(secret)[:24], Name: in.Name, Scopes: in.Scopes, CreatedBy: p.UserID,
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond), ExpiresAt: in.ExpiresAt.UTC().Truncate(time.Millisecond), Secret: secret}
	scopes := make([]any, len(in.Scopes))
	for i, sc := range in.Scopes {
		scopes[i] = sc
	}
	_, err := s.sys.Insert(ctx, collSessions, store.Doc{
		store.KeyID: hashToken(secret), "tokenId": t.ID, "tenant": p.Tenant, "userId": p.UserID, "kind": "integration",
		"name": t.Name, "scopes": scopes, "expiresAt": period.FormatInstant(t.ExpiresAt), "createdAt": period.FormatInstant(t.CreatedAt),
	})
	if err != nil {
		return Token{}, fmt.Errorf("create token: %w", err)
	}
	return t, audit.Append(ctx, db, p.UserID, "token.create", "token:"+t.ID, map[string]any{"name": t.Name, "scopes": scopes})
}

// ListTokens lists the tenant's integration tokens.
func (s *Service) ListTokens(ctx context.Context, tenantName string) ([]Token, error) {
	out := []Token{}
	err := s.sys.Scan(ctx, collSessions, store.Query{Where: []store.Cond{
		{Field: "tenant", Op: store.Eq, Value: tenantName}, {Field: "kind", Op: store.Eq, Value: "integration"}}},
		func(d store.Doc) error {
			t := Token{}
			t.ID, _ = d["tokenId"].(string)
			t.Name, _ = d["name"].(string)
			t.CreatedBy, _ = d["userId"].(string)
			if sc, ok := d["scopes"].([]any); ok {
				for _, x := range sc {
					s, _ := x.(string)
					t.Scopes = append(t.Scopes, s)
				}
			}
			if v, ok := d["createdAt"].(string); ok {
				t.CreatedAt, _ = period.ParseInstant(v)
			}
			if v, ok := d["expiresAt"].(string); ok {
				t.ExpiresAt, _ = period.ParseInstant(v)
			}
			out = append(out, t)
			return nil
		})
	return out, err
}

// RevokeToken deletes an integration token of the tenant.
func (s *Service) RevokeToken(ctx context.Context, db store.DB, p *Principal, tokenID string) error {
	page, err := s.sys.Find(ctx, collSessions, store.Query{Where: []store.Cond{
		{Field: "tenant", Op: store.Eq, Value: p.Tenant}, {Field: "kind", Op: store.Eq, Value: "integration"},
		{Field: "tokenId", Op: store.Eq, Value: tokenID}}, Limit: 1})
	if err != nil {
		return fmt.Errorf("find token: %w", err)
	}
	if len(page.Docs) == 0 {
		return apperr.NotFound("token %s not found", tokenID)
	}
	if err := s.sys.Delete(ctx, collSessions, store.ID(page.Docs[0]), 0); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("revoke token: %w", err)
	}
	return audit.Append(ctx, db, p.UserID, "token.revoke", "token:"+tokenID, nil)
}

// AllowTokenCreation rate-limits integration token creation per account
// and per client address (a stolen admin session cannot mint tokens in
// bulk): a 429 problem with Retry-After when over.
func (s *Service) AllowTokenCreation(p *Principal, clientIP string) error {
	if wait, ok := s.tokens.allow("ip:"+clientIP, "user:"+p.Tenant+"/"+p.UserID); !ok {
		return apperr.New(apperr.KindTooMany, "rate_limited", "too many tokens created; try again later").
			With("retryAfter", int(wait.Seconds()+1))
	}
	return nil
}

// limiter is a per-key token bucket. For logins: 5 attempts in a burst,
// then one every 12 seconds per username; 30 then one a second per address.
type limiter struct {
	mu   sync.Mutex
	keys map[string]*rate.Limiter
	seen map[string]time.Time
	// rates for "ip:" keys and for every other key
	ipEvery, keyEvery time.Duration
	ipBurst, keyBurst int
}

func newLimiter() *limiter {
	return &limiter{keys: map[string]*rate.Limiter{}, seen: map[string]time.Time{},
		ipEvery: time.Second, ipBurst: 30, keyEvery: 12 * time.Second, keyBurst: 5}
}

// newTokenLimiter limits token creation: 30 then one every 10 seconds per
// account, 60 then one a second per address.
func newTokenLimiter() *limiter {
	return &limiter{keys: map[string]*rate.Limiter{}, seen: map[string]time.Time{},
		ipEvery: time.Second, ipBurst: 60, keyEvery: 10 * time.Second, keyBurst: 30}
}

func (l *limiter) allow(keys ...string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.keys) > 10000 { // forget idle buckets so memory stays bounded
		for k, t := range l.seen {
			if now.Sub(t) > 10*time.Minute {
				delete(l.keys, k)
				delete(l.seen, k)
			}
		}
	}
	var wait time.Duration
	ok := true
	for _, k := range keys {
		lim := l.keys[k]
		if lim == nil {
			if strings.HasPrefix(k, "ip:") {
				lim = rate.NewLimiter(rate.Every(l.ipEvery), l.ipBurst)
			} else {
				lim = rate.NewLimiter(rate.Every(l.keyEvery), l.keyBurst)
			}
			l.keys[k] = lim
		}
		l.seen[k] = now
		r := lim.ReserveN(now, 1)
		if d := r.DelayFrom(now); d > 0 {
			r.CancelAt(now)
			ok = false
			wait = max(wait, d)
		}
	}
	return wait, ok
}
