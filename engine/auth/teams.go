package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/ids"
	"stride/engine/period"
	"stride/engine/store"
)

// Team is a node of the org tree.
type Team struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	ParentID string   `json:"parentId"`
	Managers []string `json:"managers"`
	Version  int64    `json:"version"`
}

// TeamInput creates or changes a team; nil leaves a field unchanged.
type TeamInput struct {
	Name     *string   `json:"name"`
	ParentID *string   `json:"parentId"`
	Managers *[]string `json:"managers"`
}

// Membership places a user in a team from a date (inclusive) to a date
// (exclusive, empty = open-ended). Credit and visibility follow the
// membership in force on the date that matters.
type Membership struct {
	ID     string `json:"id"`
	UserID string `json:"userId"`
	TeamID string `json:"teamId"`
	From   string `json:"from"`
	To     string `json:"to,omitempty"`
}

func teamFromDoc(d store.Doc) Team {
	t := Team{ID: store.ID(d), Version: store.Version(d), Managers: []string{}}
	t.Name, _ = d["name"].(string)
	t.ParentID, _ = d["parentId"].(string)
	if ms, ok := d["managers"].([]any); ok {
		for _, m := range ms {
			if s, ok := m.(string); ok {
				t.Managers = append(t.Managers, s)
			}
		}
	}
	return t
}

// ListTeams returns every team (the org tree is small: hundreds of nodes).
func ListTeams(ctx context.Context, db store.DB) ([]Team, error) {
	var out []Team
	err := db.Scan(ctx, collTeams, store.Query{Sort: []store.SortKey{{Field: "name"}}}, func(d store.Doc) error {
		out = append(out, teamFromDoc(d))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	return out, nil
}

// GetTeam returns one team.
func GetTeam(ctx context.Context, db store.DB, id string) (Team, error) {
	d, err := db.Get(ctx, collTeams, id)
	if errors.Is(err, store.ErrNotFound) {
		return Team{}, apperr.NotFound("team %s not found", id)
	}
	if err != nil {
		return Team{}, fmt.Errorf("load team: %w", err)
	}
	return teamFromDoc(d), nil
}

// SaveTeam creates (id == "") or updates a team, refusing unknown parents,
// unknown managers and cycles.
func SaveTeam(ctx context.Context, db store.DB, actor, id string, in TeamInput, ifVersion int64) (Team, error) {
	var d store.Doc
	if id == "" {
		if in.Name == nil || *in.Name == "" {
			return Team{}, apperr.Invalid("the team is invalid", apperr.FieldError{Pointer: "/name", Code: "required", Message: "name is required"})
		}
		d = store.Doc{store.KeyID: ids.New("t"), "managers": []any{}, "parentId": ""}
	} else {
		var err error
		d, err = db.Get(ctx, collTeams, id)
		if errors.Is(err, store.ErrNotFound) {
			return Team{}, apperr.NotFound("team %s not found", id)
		}
		if err != nil {
			return Team{}, fmt.Errorf("load team: %w", err)
		}
		if ifVersion != 0 && store.Version(d) != ifVersion {
			return Team{}, apperr.Conflict("version_conflict", "the team was changed by someone else").With("current", store.Version(d))
		}
	}
	var fe []apperr.FieldError
	if in.Name != nil {
		if n := len([]rune(*in.Name)); n == 0 || n > 100 {
			fe = append(fe, apperr.FieldError{Pointer: "/name", Code: "length", Message: "1–100 characters"})
		}
		d["name"] = *in.Name
	}
	if in.ParentID != nil {
		if *in.ParentID != "" {
			teams, err := ListTeams(ctx, db)
			if err != nil {
				return Team{}, err
			}
			byID := map[string]Team{}
			for _, t := range teams {
				byID[t.ID] = t
			}
			if _, ok := byID[*in.ParentID]; !ok {
				fe = append(fe, apperr.FieldError{Pointer: "/parentId", Code: "unknown_team", Message: "parent team does not exist"})
			} else {
				// Walk up from the new parent: meeting this team means a cycle.
				for p := *in.ParentID; p != ""; p = byID[p].ParentID {
					if p == store.ID(d) {
						fe = append(fe, apperr.FieldError{Pointer: "/parentId", Code: "cycle", Message: "a team cannot be placed under itself or its own sub-team"})
						break
					}
				}
			}
		}
		d["parentId"] = *in.ParentID
	}
	if in.Managers != nil {
		ms := []any{}
		for i, m := range *in.Managers {
			if _, err := db.Get(ctx, collUsers, m); err != nil {
				fe = append(fe, apperr.FieldError{Pointer: fmt.Sprintf("/managers/%d", i), Code: "unknown_user", Message: "user does not exist"})
				continue
			}
			ms = append(ms, m)
		}
		d["managers"] = ms
	}
	if len(fe) > 0 {
		return Team{}, apperr.Invalid("the team is invalid", fe...)
	}
	var (
		v   int64
		err error
	)
	action := "team.update"
	if id == "" {
		action = "team.create"
		v, err = db.Insert(ctx, collTeams, d)
	} else {
		v, err = db.Replace(ctx, collTeams, d, store.Version(d))
	}
	if errors.Is(err, store.ErrConflict) {
		return Team{}, apperr.Conflict("version_conflict", "the team was changed by someone else")
	}
	if err != nil {
		return Team{}, fmt.Errorf("save team: %w", err)
	}
	d[store.KeyVersion] = v
	t := teamFromDoc(d)
	return t, audit.Append(ctx, db, actor, action, "team:"+t.ID, map[string]any{"name": t.Name, "parentId": t.ParentID})
}

// DeleteTeam removes a team that has no sub-teams and no current members.
func DeleteTeam(ctx context.Context, db store.DB, actor, id string) error {
	n, err := db.Count(ctx, collTeams, store.Query{Where: []store.Cond{{Field: "parentId", Op: store.Eq, Value: id}}})
	if err != nil {
		return fmt.Errorf("count sub-teams: %w", err)
	}
	if n > 0 {
		return apperr.Conflict("team_not_empty", "the team has %d sub-teams; move or delete them first", n)
	}
	ms, err := Members(ctx, db, id)
	if err != nil {
		return err
	}
	today := period.FormatDate(time.Now())
	for _, m := range ms {
		if m.activeOn(today) {
			return apperr.Conflict("team_not_empty", "the team still has members; end their membership first")
		}
	}
	if err := db.Delete(ctx, collTeams, id, 0); errors.Is(err, store.ErrNotFound) {
		return apperr.NotFound("team %s not found", id)
	} else if err != nil {
		return fmt.Errorf("delete team: %w", err)
	}
	return audit.Append(ctx, db, actor, "team.delete", "team:"+id, nil)
}

func (m Membership) activeOn(day string) bool {
	return m.From <= day && (m.To == "" || day < m.To)
}

func membershipFromDoc(d store.Doc) Membership {
	m := Membership{ID: store.ID(d)}
	m.UserID, _ = d["userId"].(string)
	m.TeamID, _ = d["teamId"].(string)
	m.From, _ = d["from"].(string)
	m.To, _ = d["to"].(string)
	return m
}

// AddMember records a membership. Overlapping memberships of the same user
// in the same team are refused.
func AddMember(ctx context.Context, db store.DB, actor, teamID string, m Membership) (Membership, error) {
	var fe []apperr.FieldError
	if _, err := period.ParseDate(m.From); err != nil {
		fe = append(fe, apperr.FieldError{Pointer: "/from", Code: "format", Message: "expected a date like 2026-01-01"})
	}
	if m.To != "" {
		if _, err := period.ParseDate(m.To); err != nil {
			fe = append(fe, apperr.FieldError{Pointer: "/to", Code: "format", Message: "expected a date like 2026-12-31"})
		} else if m.To <= m.From {
			fe = append(fe, apperr.FieldError{Pointer: "/to", Code: "range", Message: "must be after from"})
		}
	}
	if _, err := db.Get(ctx, collUsers, m.UserID); err != nil {
		fe = append(fe, apperr.FieldError{Pointer: "/userId", Code: "unknown_user", Message: "user does not exist"})
	}
	if _, err := GetTeam(ctx, db, teamID); err != nil {
		return Membership{}, err
	}
	if len(fe) > 0 {
		return Membership{}, apperr.Invalid("the membership is invalid", fe...)
	}
	existing, err := Memberships(ctx, db, m.UserID)
	if err != nil {
		return Membership{}, err
	}
	for _, e := range existing {
		if e.TeamID == teamID && overlaps(e, m) {
			return Membership{}, apperr.Conflict("membership_overlap", "the user is already a member of this team from %s", e.From)
		}
	}
	m.ID, m.TeamID = ids.New("m"), teamID
	d := store.Doc{store.KeyID: m.ID, "userId": m.UserID, "teamId": teamID, "from": m.From, "to": m.To}
	if _, err := db.Insert(ctx, collMembers, d); err != nil {
		return Membership{}, fmt.Errorf("add member: %w", err)
	}
	return m, audit.Append(ctx, db, actor, "team.member.add", "team:"+teamID, map[string]any{"userId": m.UserID, "from": m.From, "to": m.To})
}

func overlaps(a, b Membership) bool {
	aEnd, bEnd := a.To, b.To
	if aEnd == "" {
		aEnd = "9999-12-31"
	}
	if bEnd == "" {
		bEnd = "9999-12-31"
	}
	return a.From < bEnd && b.From < aEnd
}

// Members lists a team's memberships, past and present.
func Members(ctx context.Context, db store.DB, teamID string) ([]Membership, error) {
	return scanMemberships(ctx, db, "teamId", teamID)
}

// MembersOf lists the memberships, past and present, of several teams in one
// query, by team (every team asked for has an entry, empty if need be).
func MembersOf(ctx context.Context, db store.DB, teamIDs []string) (map[string][]Membership, error) {
	out := make(map[string][]Membership, len(teamIDs))
	in := make([]any, len(teamIDs))
	for i, id := range teamIDs {
		out[id] = []Membership{}
		in[i] = id
	}
	if len(in) == 0 {
		return out, nil
	}
	err := db.Scan(ctx, collMembers, store.Query{Where: []store.Cond{{Field: "teamId", Op: store.In, Value: in}},
		Sort: []store.SortKey{{Field: "from"}}}, func(d store.Doc) error {
		m := membershipFromDoc(d)
		out[m.TeamID] = append(out[m.TeamID], m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list memberships: %w", err)
	}
	return out, nil
}

// Memberships lists a user's memberships, past and present.
func Memberships(ctx context.Context, db store.DB, userID string) ([]Membership, error) {
	return scanMemberships(ctx, db, "userId", userID)
}

func scanMemberships(ctx context.Context, db store.DB, field, v string) ([]Membership, error) {
	out := []Membership{}
	err := db.Scan(ctx, collMembers, store.Query{Where: []store.Cond{{Field: field, Op: store.Eq, Value: v}},
		Sort: []store.SortKey{{Field: "from"}}}, func(d store.Doc) error {
		out = append(out, membershipFromDoc(d))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list memberships: %w", err)
	}
	return out, nil
}

// TeamOn returns the team ids the user belonged to on day (YYYY-MM-DD).
func TeamOn(ctx context.Context, db store.DB, userID, day string) ([]string, error) {
	ms, err := Memberships(ctx, db, userID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		if m.activeOn(day) && !slices.Contains(out, m.TeamID) {
			out = append(out, m.TeamID)
		}
	}
	return out, nil
}
