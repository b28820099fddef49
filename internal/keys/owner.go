package keys

import "fmt"

// ErrNotOwner refuses an object owned by another identity. It is an
// ErrPermissionDenied: the object is in the caller's group, so its
// existence is not hidden, but KMIP's default operation policy gives its
// use to its owner alone.
var ErrNotOwner = fmt.Errorf("%w: the object belongs to another identity", ErrPermissionDenied)

// mayUse applies ownership to an object the caller sees. An object
// created under a request credential (a KMIP user, or a device named by a
// Device credential over an administrative certificate) has an Owner:
// only callers narrowed to that same owner, and callers that reach every
// group (administrators without a credential), may use it. Objects
// without an owner are shared by their group as before.
func (a Access) mayUse(o *Object) error {
	if o.Owner == "" || a.Owner == o.Owner {
		return nil
	}
	if a.AllGroups && a.Owner == "" {
		return nil
	}
	return ErrNotOwner
}
