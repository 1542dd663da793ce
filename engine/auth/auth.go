// Package auth is who a caller is and what they may see: users, the org tree
// of teams with effective-dated membership, passwords, sessions, integration
// tokens and row visibility (DESIGN.md §8).
package auth

import (
	"slices"

	"stride/engine/store"
)

// Role is a coarse permission set.
type Role string

// The roles of DESIGN.md §8, plus the role of integration tokens.
const (
	RoleAdmin       Role = "admin"
	RoleManager     Role = "manager"
	RoleRep         Role = "rep"
	RoleFinance     Role = "finance"
	RoleViewer      Role = "viewer"
	RoleIntegration Role = "integration"
)

// Roles lists the roles a person can be given.
var Roles = []Role{RoleAdmin, RoleManager, RoleRep, RoleFinance, RoleViewer}

// Scopes an integration token can carry.
var Scopes = []string{"records:read", "records:write", "config:read"}

// Principal is the authenticated caller of one request.
type Principal struct {
	Tenant   string
	UserID   string
	Username string
	Roles    []Role
	// Scopes is set for integration tokens only.
	Scopes []string
	// TokenID identifies the session or token (its hash), for revocation.
	TokenID string
	// Integration is true for integration tokens.
	Integration bool
}

// Has reports whether the principal has the role.
func (p *Principal) Has(r Role) bool { return slices.Contains(p.Roles, r) }

// HasScope reports whether an integration principal carries the scope.
func (p *Principal) HasScope(s string) bool { return slices.Contains(p.Scopes, s) }

// IsAdmin reports whether the principal administers the tenant.
func (p *Principal) IsAdmin() bool { return p.Has(RoleAdmin) }

// Collections are the tenant collections this package owns.
func Collections() []store.Collection {
	return []store.Collection{
		{Name: collUsers, Indexes: []store.Index{{Name: "username", Fields: []string{"username"}, Unique: true}}},
		{Name: collTeams, Indexes: []store.Index{{Name: "parent", Fields: []string{"parentId"}}}},
		{Name: collMembers, Indexes: []store.Index{
			{Name: "user", Fields: []string{"userId"}},
			{Name: "team", Fields: []string{"teamId"}},
		}},
	}
}

// SystemCollections are the system-database collections this package owns.
func SystemCollections() []store.Collection {
	return []store.Collection{
		{Name: collSessions, Indexes: []store.Index{{Name: "tenant_kind", Fields: []string{"tenant", "kind"}}}},
	}
}
