package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/ids"
	"stride/engine/period"
	"stride/engine/store"
)

const (
	collUsers   = "users"
	collTeams   = "teams"
	collMembers = "memberships"
)

// User is a person (or the service user of integration tokens) in a tenant.
type User struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"displayName"`
	Roles       []Role    `json:"roles"`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	Version     int64     `json:"version"`
}

// UserInput is what an admin sends to create or change a user. Nil pointers
// leave a field unchanged on update.
type UserInput struct {
	Username    *string `json:"username"`
	DisplayName *string `json:"displayName"`
	Roles       *[]Role `json:"roles"`
	Password    *string `json:"password"`
	Disabled    *bool   `json:"disabled"`
}

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$`)

func (in *UserInput) validate(creating bool) []apperr.FieldError {
	var fe []apperr.FieldError
	if creating && in.Username == nil {
		fe = append(fe, apperr.FieldError{Pointer: "/username", Code: "required", Message: "username is required"})
	}
	if in.Username != nil && !usernamePattern.MatchString(*in.Username) {
		fe = append(fe, apperr.FieldError{Pointer: "/username", Code: "pattern",
			Message: "2–64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"})
	}
	if creating && in.Password == nil {
		fe = append(fe, apperr.FieldError{Pointer: "/password", Code: "required", Message: "password is required"})
	}
	if in.Password != nil {
		if err := ValidatePassword(*in.Password); err != nil {
			fe = append(fe, apperr.FieldError{Pointer: "/password", Code: "password_policy", Message: err.Error()})
		}
	}
	if in.DisplayName != nil && len([]rune(*in.DisplayName)) > 100 {
		fe = append(fe, apperr.FieldError{Pointer: "/displayName", Code: "maxLength", Message: "at most 100 characters"})
	}
	if creating && (in.Roles == nil || len(*in.Roles) == 0) {
		fe = append(fe, apperr.FieldError{Pointer: "/roles", Code: "required", Message: "at least one role is required"})
	}
	if in.Roles != nil {
		for i, r := range *in.Roles {
			if !slices.Contains(Roles, r) {
				fe = append(fe, apperr.FieldError{Pointer: fmt.Sprintf("/roles/%d", i), Code: "enum",
					Message: fmt.Sprintf("unknown role %q; one of admin, manager, rep, finance, viewer", r)})
			}
		}
	}
	return fe
}

func userFromDoc(d store.Doc) User {
	u := User{ID: store.ID(d), Version: store.Version(d)}
	u.Username, _ = d["username"].(string)
	u.DisplayName, _ = d["displayName"].(string)
	u.Disabled, _ = d["disabled"].(bool)
	if rs, ok := d["roles"].([]any); ok {
		for _, r := range rs {
			if s, ok := r.(string); ok {
				u.Roles = append(u.Roles, Role(s))
			}
		}
	}
	if s, ok := d["createdAt"].(string); ok {
		u.CreatedAt, _ = period.ParseInstant(s)
	}
	if s, ok := d["updatedAt"].(string); ok {
		u.UpdatedAt, _ = period.ParseInstant(s)
	}
	return u
}

func rolesAny(rs []Role) []any {
	out := make([]any, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

// CreateUser adds a user. actor is the admin's user id (or "system").
func CreateUser(ctx context.Context, db store.DB, actor string, in UserInput) (User, error) {
	if fe := in.validate(true); len(fe) > 0 {
		return User{}, apperr.Invalid("the user is invalid", fe...)
	}
	hash, err := HashPassword(*in.Password)
	if err != nil {
		return User{}, err
	}
	now := period.FormatInstant(time.Now())
	d := store.Doc{
		store.KeyID: ids.New("u"), "username": strings.ToLower(*in.Username), "displayName": deref(in.DisplayName, *in.Username),
		"roles": rolesAny(*in.Roles), "passwordHash": hash, "disabled": in.Disabled != nil && *in.Disabled,
		"createdAt": now, "updatedAt": now,
	}
	v, err := db.Insert(ctx, collUsers, d)
	if errors.Is(err, store.ErrDuplicate) {
		return User{}, apperr.Conflict("username_taken", "username %q is taken", *in.Username).
			With("errors", []apperr.FieldError{{Pointer: "/username", Code: "unique", Message: "username is taken"}})
	}
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	d[store.KeyVersion] = v
	u := userFromDoc(d)
	return u, audit.Append(ctx, db, actor, "user.create", "user:"+u.ID, map[string]any{"username": u.Username, "roles": rolesAny(u.Roles)})
}

// UpdateUser changes a user. ifVersion 0 skips the version check.
func UpdateUser(ctx context.Context, db store.DB, actor, id string, in UserInput, ifVersion int64) (User, error) {
	if fe := in.validate(false); len(fe) > 0 {
		return User{}, apperr.Invalid("the user is invalid", fe...)
	}
	d, err := db.Get(ctx, collUsers, id)
	if errors.Is(err, store.ErrNotFound) {
		return User{}, apperr.NotFound("user %s not found", id)
	}
	if err != nil {
		return User{}, fmt.Errorf("load user: %w", err)
	}
	if ifVersion != 0 && store.Version(d) != ifVersion {
		return User{}, apperr.Conflict("version_conflict", "the user was changed by someone else").With("current", store.Version(d))
	}
	changed := []string{}
	if in.Username != nil {
		d["username"] = strings.ToLower(*in.Username)
		changed = append(changed, "username")
	}
	if in.DisplayName != nil {
		d["displayName"] = *in.DisplayName
		changed = append(changed, "displayName")
	}
	if in.Roles != nil {
		d["roles"] = rolesAny(*in.Roles)
		changed = append(changed, "roles")
	}
	if in.Disabled != nil {
		d["disabled"] = *in.Disabled
		changed = append(changed, "disabled")
	}
	if in.Password != nil {
		h, err := HashPassword(*in.Password)
		if err != nil {
			return User{}, err
		}
		d["passwordHash"] = h
		changed = append(changed, "password")
	}
	d["updatedAt"] = period.FormatInstant(time.Now())
	v, err := db.Replace(ctx, collUsers, d, store.Version(d))
	switch {
	case errors.Is(err, store.ErrConflict):
		return User{}, apperr.Conflict("version_conflict", "the user was changed by someone else")
	case errors.Is(err, store.ErrDuplicate):
		return User{}, apperr.Conflict("username_taken", "username is taken")
	case err != nil:
		return User{}, fmt.Errorf("update user: %w", err)
	}
	d[store.KeyVersion] = v
	return userFromDoc(d), audit.Append(ctx, db, actor, "user.update", "user:"+id, map[string]any{"changed": changed})
}

// GetUser returns one user.
func GetUser(ctx context.Context, db store.DB, id string) (User, error) {
	d, err := db.Get(ctx, collUsers, id)
	if errors.Is(err, store.ErrNotFound) {
		return User{}, apperr.NotFound("user %s not found", id)
	}
	if err != nil {
		return User{}, fmt.Errorf("load user: %w", err)
	}
	return userFromDoc(d), nil
}

// ListUsers returns all users by username.
func ListUsers(ctx context.Context, db store.DB) ([]User, error) {
	var out []User
	err := db.Scan(ctx, collUsers, store.Query{Sort: []store.SortKey{{Field: "username"}}}, func(d store.Doc) error {
		out = append(out, userFromDoc(d))
		return nil
	})
	return out, err
}

// findUserDoc returns the stored user document by username, or nil.
func findUserDoc(ctx context.Context, db store.DB, username string) (store.Doc, error) {
	page, err := db.Find(ctx, collUsers, store.Query{Where: []store.Cond{{Field: "username", Op: store.Eq, Value: strings.ToLower(username)}}, Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("find user %s: %w", username, err)
	}
	if len(page.Docs) == 0 {
		return nil, nil
	}
	return page.Docs[0], nil
}

// UserByName returns a user by username (case-insensitive).
func UserByName(ctx context.Context, db store.DB, username string) (User, error) {
	d, err := findUserDoc(ctx, db, username)
	if err != nil {
		return User{}, err
	}
	if d == nil {
		return User{}, apperr.NotFound("user %q not found", username)
	}
	return userFromDoc(d), nil
}

func deref(s *string, def string) string {
	if s == nil || *s == "" {
		return def
	}
	return *s
}
