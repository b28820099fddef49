package kmip

import (
	"context"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/usage"
)

// UsageRecorder records keys served to storage devices (the usage log).
type UsageRecorder interface {
	Record(ctx context.Context, r usage.Record) error
}

// WithUsage records the storage-device flows of the KMIP profiles in the
// usage log, the same way as the device protocol records them: a tape
// library's key per cartridge (Tape Library profile: Application Specific
// Information namespace LIBRARY-LTO, barcode in Alternative Name) and an
// array's registered secret (Storage Array with Self-Encrypting Drives).
func WithUsage(u UsageRecorder) RouterOption { return func(r *Router) { r.usage = u } }

// tapeNamespaces are the Application Specific Information namespaces of
// tape libraries' key-association data.
var tapeNamespaces = map[string]bool{"LIBRARY-LTO": true, "LIBRARY-LTO-2": true, "LIBRARY-3592": true}

// recordUsage notes that o was created ("write") or served ("read") for a
// storage device. Objects that belong to no storage flow are not recorded.
// A failure to record is logged; the KMIP answer stands.
//
// It also notes o as the item's object for its audit event.
func (r *Router) recordUsage(ctx context.Context, b *batch, op kmip.Operation, o *keys.Object) {
	b.obj = o
	if r.usage == nil || o == nil {
		return
	}
	rec := usage.Record{
		Time: time.Now().UTC(), Protocol: usage.ProtocolKMIP, Outcome: usage.OutcomeOK,
		DeviceID: b.principal.DeviceID, KeyID: o.ID,
	}
	storage := false
	for _, v := range o.AttrAll(kmip.AttributeNameApplicationSpecificInformation) {
		if asi, ok := v.(kmip.ApplicationSpecificInformation); ok && tapeNamespaces[asi.ApplicationNamespace] {
			storage = true
		}
	}
	if o.Type == kmip.ObjectTypeSecretData && b.principal.DeviceID != "" {
		storage = true // an array's registered unlock secret
	}
	if !storage {
		return
	}
	for _, v := range o.AttrAll(kmip.AttributeNameAlternativeName) {
		if an, ok := v.(kmip.AlternativeName); ok && an.AlternativeNameValue != "" {
			rec.Volser = volserOf(an.AlternativeNameValue)
			break
		}
	}
	if n, ok := o.Attr(kmip.AttributeNameName); ok {
		if name, ok := n.(kmip.Name); ok {
			rec.Alias1 = name.NameValue
		}
	}
	rec.Operation = ttlv.EnumStr(op)
	if err := r.usage.Record(ctx, rec); err != nil {
		r.log.Error("kmip: usage record not written", "op", rec.Operation, "object", o.ID, "err", err)
	}
}

// volserOf takes the volume serial from a cartridge barcode: the first six
// characters (LTO barcodes append the media type, e.g. XXA012L5).
func volserOf(barcode string) string {
	if len(barcode) > 6 {
		return barcode[:6]
	}
	return barcode
}
