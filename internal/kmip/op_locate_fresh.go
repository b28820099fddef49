package kmip

import (
	"context"
	"fmt"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/keys"
)

// Fresh members on demand. KMIP 1.1 to 1.4, Locate: "If there are no more
// fresh objects in the group, the server MAY choose to generate a new
// object on-the-fly, based on server policy." keywarden's policy is a list
// of Object Groups an administrator names (configuration kmip.fresh_groups,
// server.Config.FreshGroups): a Locate with Object Group Member Group
// Member Fresh that asks for one of them (and for nothing else than that
// Object Group, and possibly Object Type Symmetric Key) and finds no fresh
// member the caller may see makes one: an AES-256 key for Encrypt and
// Decrypt, in the named Object Group, owned by the caller's access group
// like any key it creates. A caller that may not create keys (read-only,
// or an operation list without Create) gets the empty answer instead. Every
// key so made is audited as a Create of the caller. Groups not listed are
// never filled: Locate then answers what exists, as for any other query.

// freshKeyBits and freshKeyMask describe the keys made on demand.
const (
	freshKeyBits = 256
	freshKeyMask = kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt
)

// WithFreshGroups names the Object Groups whose fresh members the server
// makes on demand (see above). Empty names are ignored.
func WithFreshGroups(groups ...string) RouterOption {
	return func(r *Router) {
		for _, g := range groups {
			if g == "" {
				continue
			}
			if r.freshGroups == nil {
				r.freshGroups = map[string]bool{}
			}
			r.freshGroups[g] = true
		}
	}
}

// freshGroupOf returns the Object Group a Locate asks a fresh member of,
// when the policy lets the server make one for it.
func (r *Router) freshGroupOf(req *payloads.LocateRequestPayload) (string, bool) {
	if len(r.freshGroups) == 0 || req.ObjectGroupMember != kmip.ObjectGroupMemberFresh || req.OffsetItems > 0 {
		return "", false
	}
	if req.StorageStatusMask != 0 && req.StorageStatusMask&kmip.StorageStatusOnlineStorage == 0 {
		return "", false
	}
	group := ""
	for _, a := range req.Attribute {
		switch a.AttributeName {
		case kmip.AttributeNameObjectGroup:
			g, ok := a.AttributeValue.(string)
			if !ok || group != "" {
				return "", false
			}
			group = g
		case kmip.AttributeNameObjectType:
			if a.AttributeValue != kmip.ObjectTypeSymmetricKey {
				return "", false
			}
		default:
			return "", false
		}
	}
	return group, r.freshGroups[group]
}

// freshOnDemand makes a fresh member of group for the caller and audits
// it; it returns nil when the caller may not create keys.
func (r *Router) freshOnDemand(ctx context.Context, b *batch, group string) (*keys.Object, error) {
	if b.principal.ReadOnly || !permitted(b.principal, kmip.OperationCreate) {
		return nil, nil
	}
	start := time.Now()
	attrs := []kmip.Attribute{
		{AttributeName: kmip.AttributeNameCryptographicAlgorithm, AttributeValue: kmip.CryptographicAlgorithmAES},
		{AttributeName: kmip.AttributeNameCryptographicLength, AttributeValue: int32(freshKeyBits)},
		{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: freshKeyMask},
		{AttributeName: kmip.AttributeNameObjectGroup, AttributeValue: group},
	}
	o, err := r.m.Create(ctx, kmip.ObjectTypeSymmetricKey, attrs)
	if err != nil {
		return nil, fmt.Errorf("kmip: fresh member of an object group: %w", err)
	}
	r.log.Info("kmip: made a fresh object group member on demand", "conn", b.peer.ConnID, "object", o.ID, "object_group", group)
	if r.audit != nil {
		ev := r.event(b, OperationName(kmip.OperationCreate), audit.TypeKey, start)
		ev.Objects = []string{o.ID}
		ev.Reason = "made on demand: Locate of a fresh member of an Object Group the server fills"
		describeObject(o, &ev)
		if err := r.audit.Record(ctx, ev); err != nil {
			// The key was made but is handed to nobody: it stays a fresh
			// member, found by a later Locate once the trail records again.
			r.auditRefused(b, ev.Operation, err)
			return nil, errAuditUnavailable
		}
	}
	return o, nil
}
