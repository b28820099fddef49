package keys

import (
	"context"
	"fmt"
)

// Access is what a request may reach: its group's objects, or every
// group's; and whether it may change anything.
type Access struct {
	// Group is the caller's group: new objects go there, and only its
	// objects are visible unless AllGroups.
	Group string
	// AllGroups lets the caller see every group's objects (administrators,
	// and read-only operators and auditors).
	AllGroups bool
	// ReadOnly forbids every change.
	ReadOnly bool
	// Owner, when set, is the identity a request credential narrowed the
	// caller to (owner.go): its new objects are owned by it.
	Owner string
}

type accessKey struct{}

// WithAccess scopes the core operations run with ctx. A context without an
// Access is the server itself: every group, default group for new objects.
func WithAccess(ctx context.Context, a Access) context.Context {
	if a.Group == "" {
		a.Group = DefaultGroup
	}
	return context.WithValue(ctx, accessKey{}, a)
}

func accessOf(ctx context.Context) Access {
	if a, ok := ctx.Value(accessKey{}).(Access); ok {
		return a
	}
	return Access{Group: DefaultGroup, AllGroups: true}
}

// sees reports whether the caller may see o. An object of another group
// is reported exactly like a missing one, so its existence is not revealed.
func (a Access) sees(o *Object) bool {
	return a.AllGroups || o.Group == a.Group
}

// visible returns ErrNotFound for an object the caller may not see.
func visible(ctx context.Context, o *Object) error {
	a := accessOf(ctx)
	if !a.sees(o) {
		return ErrNotFound
	}
	return a.mayUse(o)
}

// writable refuses changes to read-only callers.
func writable(ctx context.Context) error {
	if accessOf(ctx).ReadOnly {
		return fmt.Errorf("%w: read-only access", ErrPermissionDenied)
	}
	return nil
}
