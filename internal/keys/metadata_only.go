package keys

import "github.com/ovh/kmip-go"

// metadataOnlyAllowed reports whether a key block without a Key Value may be
// registered: a metadata-only object (KMIP 1.2 §2.1.7, profile "MDO") whose
// material lives elsewhere, named by a Key Value Location. Such a block
// carries no Key Wrapping Data, since there is nothing it wraps.
func metadataOnlyAllowed(kb *kmip.KeyBlock) bool {
	return kb.KeyValue == nil && kb.KeyWrappingData == nil
}
