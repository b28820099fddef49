package keys

import (
	"fmt"

	"github.com/ovh/kmip-go"
)

// Object Group Member (KMIP 1.1+ Locate) narrows a search inside an object
// group. Group Member Fresh keeps only fresh members (objects whose
// material has never been served). Group Member Default returns the one
// default member chosen by server policy; this server's policy is the
// oldest member not yet served, or, when every member has been served, the
// oldest member. It never creates objects on the fly.

// checkGroupMember rejects an unknown Object Group Member value. Without
// an Object Group attribute in the query the selection applies to every
// matching object.
func checkGroupMember(q LocateQuery) error {
	switch q.GroupMember {
	case 0, kmip.ObjectGroupMemberFresh, kmip.ObjectGroupMemberDefault:
		return nil
	}
	return fmt.Errorf("%w: unknown object group member %d", ErrInvalidField, q.GroupMember)
}

// isFresh reports whether o's material has never been served.
func isFresh(o *Object) bool {
	v, _ := o.Attr(kmip.AttributeNameFresh)
	return v == true
}

// groupMemberMatch narrows match to fresh objects for Group Member Fresh.
func groupMemberMatch(g kmip.ObjectGroupMember, match func(*Object) bool) func(*Object) bool {
	if g != kmip.ObjectGroupMemberFresh {
		return match
	}
	return func(o *Object) bool { return isFresh(o) && match(o) }
}

// defaultPicker chooses the default member among matches seen in creation
// order: the first fresh one, else the first one.
type defaultPicker struct {
	first, firstFresh string
	total             int
}

// add considers one matching object.
func (p *defaultPicker) add(o *Object) {
	p.total++
	if p.first == "" {
		p.first = o.ID
	}
	if p.firstFresh == "" && isFresh(o) {
		p.firstFresh = o.ID
	}
}

// result returns the chosen id (none when nothing matched) and the number
// of matches.
func (p *defaultPicker) result() ([]string, int) {
	switch {
	case p.firstFresh != "":
		return []string{p.firstFresh}, p.total
	case p.first != "":
		return []string{p.first}, p.total
	}
	return nil, p.total
}
