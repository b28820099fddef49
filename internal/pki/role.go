package pki

import (
	"fmt"
	"strings"
)

// Role is what a client certificate allows its holder to do.
type Role string

// The roles a certificate can carry.
const (
	// RoleAdmin may do everything, in every group, including issuing
	// certificates and changing configuration.
	RoleAdmin Role = "admin"
	// RoleOperator may create, use and manage keys in its group.
	RoleOperator Role = "operator"
	// RoleAuditor may read metadata and audit records but not key material.
	RoleAuditor Role = "auditor"
	// RoleClient is a KMIP client or device certificate: it has no rights
	// on the admin API, and what it may do over KMIP is decided by the
	// device it is bound to in the device registry.
	RoleClient Role = "client"
)

// Roles returns every valid role, in a stable order.
func Roles() []Role {
	return []Role{RoleAdmin, RoleOperator, RoleAuditor, RoleClient}
}

// ParseRole returns the Role named s, or an error listing the allowed roles.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, 0, len(Roles()))
	for _, r := range Roles() {
		names = append(names, string(r))
	}
	return "", fmt.Errorf("pki: unknown role %q (allowed: %s)", s, strings.Join(names, ", "))
}

// String returns the role's name.
func (r Role) String() string { return string(r) }

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool {
	_, err := ParseRole(string(r))
	return err == nil
}
