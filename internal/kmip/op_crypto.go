package kmip

import (
	"context"
	"crypto"
	_ "crypto/sha1"   // registers SHA-1 for signature verification only
	_ "crypto/sha256" // registers SHA-224 and SHA-256 for crypto.Hash
	_ "crypto/sha512" // registers SHA-384 and SHA-512 for crypto.Hash
	"fmt"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/keys"
)

// The cryptographic services (Encrypt, Decrypt, Sign, Signature Verify,
// MAC, MAC Verify, key wrapping) share one way of obtaining their key:
// cryptoKey. Key material comes from the lifecycle core, so the caller's
// group scope (keys.WithAccess) applies; read-only principals never get
// here (permitted in access.go refuses every operation but metadata reads).

// Errors of the cryptographic services. Their messages are fixed: no key
// material, data or internal cause reaches a client.
var (
	errNoMaterial      = kerr(kmip.ResultReasonPermissionDenied, "object has no key material")
	errNotActive       = kerr(kmip.ResultReasonPermissionDenied, "object is not Active")
	errProtectStopped  = kerr(kmip.ResultReasonPermissionDenied, "object is past its Protect Stop Date")
	errProcessNotBegun = kerr(kmip.ResultReasonPermissionDenied, "object is before its Process Start Date")
	errWrongKeyType    = kerr(kmip.ResultReasonIllegalOperation, "object type cannot be used for this operation")
	errAlgorithm       = kerr(kmip.ResultReasonFeatureNotSupported, "cryptographic algorithm or parameters not offered")
	errCryptoFailed    = kerr(kmip.ResultReasonCryptographicFailure, "cryptographic operation failed")
	errMultiPart       = kerr(kmip.ResultReasonFeatureNotSupported, "multi-part (streaming) cryptographic operations are not supported")
	errBadKey          = kerr(kmip.ResultReasonCryptographicFailure, "key material cannot be used")
)

// resultReasonIncompatibleUsageMask is KMIP 2.0's Incompatible
// Cryptographic Usage Mask (0x29); KMIP 1.x has no such reason.
const resultReasonIncompatibleUsageMask kmip.ResultReason = 0x00000029

// usageMaskError is the failure of an operation whose key lacks the usage
// mask bit: Incompatible Cryptographic Usage Mask for KMIP 2.x clients,
// Permission Denied for KMIP 1.x ones, whose enumeration lacks that reason.
func usageMaskError(v kmip.ProtocolVersion) *Error {
	if v.ProtocolVersionMajor >= 2 {
		return kerr(resultReasonIncompatibleUsageMask, "incompatible cryptographic usage mask")
	}
	return kerr(kmip.ResultReasonPermissionDenied, "incompatible cryptographic usage mask")
}

// cryptoUse says how an operation uses its key.
type cryptoUse struct {
	// mask is the Cryptographic Usage Mask bit the key must carry.
	mask kmip.CryptographicUsageMask
	// protect: the operation applies protection (encrypt, sign, MAC,
	// wrap) and must come before the Protect Stop Date; otherwise it
	// processes protected data and must come after the Process Start Date.
	protect bool
}

var (
	useEncrypt   = cryptoUse{mask: kmip.CryptographicUsageEncrypt, protect: true}
	useDecrypt   = cryptoUse{mask: kmip.CryptographicUsageDecrypt}
	useSign      = cryptoUse{mask: kmip.CryptographicUsageSign, protect: true}
	useVerify    = cryptoUse{mask: kmip.CryptographicUsageVerify}
	useMAC       = cryptoUse{mask: kmip.CryptographicUsageMACGenerate, protect: true}
	useMACVerify = cryptoUse{mask: kmip.CryptographicUsageMACVerify}
	useWrap      = cryptoUse{mask: kmip.CryptographicUsageWrapKey, protect: true}
	useUnwrap    = cryptoUse{mask: kmip.CryptographicUsageUnwrapKey}
)

// cryptoKey returns object id for a cryptographic operation: visible to
// the caller, not archived, with key material, Active, inside its
// protect or process window, and carrying the usage mask bit.
func (r *Router) cryptoKey(ctx context.Context, b *batch, id string, use cryptoUse) (*keys.Object, error) {
	o, err := r.m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if o.Archived {
		return nil, keys.ErrObjectArchived
	}
	if o.Value == nil || o.Registered != nil && !o.HoldsKeyValue() {
		return nil, errNoMaterial // destroyed, or held only wrapped (op_wrap_registered.go)
	}
	now := r.m.Now()
	if o.EffectiveState(now) != kmip.StateActive {
		return nil, errNotActive
	}
	if use.protect {
		if t, ok := o.Date(kmip.AttributeNameProtectStopDate); ok && !t.After(now) {
			return nil, errProtectStopped
		}
	} else if t, ok := o.Date(kmip.AttributeNameProcessStartDate); ok && t.After(now) {
		return nil, errProcessNotBegun
	}
	v, _ := o.Attr(kmip.AttributeNameCryptographicUsageMask)
	mask, _ := v.(kmip.CryptographicUsageMask)
	if mask&use.mask != use.mask {
		return nil, usageMaskError(b.version)
	}
	b.obj = o // the key the item used, for its audit event
	return o, nil
}

// allocate takes the usage of one protecting operation (Encrypt, Sign,
// MAC) on n bytes of data from the object's Usage Limits, if it has any
// (KMIP 1.4 section 3.21): n bytes, or one object. Processing operations
// (Decrypt, verifications) use no allocation.
func (r *Router) allocate(ctx context.Context, o *keys.Object, n int) error {
	v, ok := o.Attr(kmip.AttributeNameUsageLimits)
	if !ok {
		return nil
	}
	count := int64(1)
	if ul, _ := v.(kmip.UsageLimits); ul.UsageLimitsUnit == kmip.UsageLimitsUnitByte {
		count = max(int64(n), 1)
	}
	if err := r.m.GetUsageAllocation(ctx, o.ID, count); err != nil {
		return fmt.Errorf("kmip: usage allocation for %q: %w", o.ID, err)
	}
	return nil
}

// cryptoParams returns the parameters of a request: those it carries, else
// the object's Cryptographic Parameters of lowest index, else none.
func cryptoParams(req *kmip.CryptographicParameters, o *keys.Object) kmip.CryptographicParameters {
	if req != nil {
		return *req
	}
	switch p := firstAttr(o, kmip.AttributeNameCryptographicParameters).(type) {
	case kmip.CryptographicParameters:
		return p
	case *kmip.CryptographicParameters:
		if p != nil {
			return *p
		}
	}
	return kmip.CryptographicParameters{}
}

func firstAttr(o *keys.Object, name kmip.AttributeName) any {
	v, _ := o.Attr(name)
	return v
}

// algorithmOf returns the object's Cryptographic Algorithm.
func algorithmOf(o *keys.Object) kmip.CryptographicAlgorithm {
	a, _ := firstAttr(o, kmip.AttributeNameCryptographicAlgorithm).(kmip.CryptographicAlgorithm)
	return a
}

// symmetricMaterial returns the bytes of a symmetric key.
func symmetricMaterial(o *keys.Object) ([]byte, error) {
	k, ok := o.Value.(*kmip.SymmetricKey)
	if !ok {
		return nil, errWrongKeyType
	}
	raw, err := k.KeyMaterial()
	if err != nil {
		return nil, errBadKey
	}
	return raw, nil
}

// hashOf maps a KMIP hashing algorithm to the ones offered. SHA-1 is
// accepted only where legacy allows it: verifying existing signatures.
func hashOf(h kmip.HashingAlgorithm, allowSHA1 bool) (crypto.Hash, error) {
	switch h {
	case kmip.HashingAlgorithmSHA_224:
		return crypto.SHA224, nil
	case kmip.HashingAlgorithmSHA_256:
		return crypto.SHA256, nil
	case kmip.HashingAlgorithmSHA_384:
		return crypto.SHA384, nil
	case kmip.HashingAlgorithmSHA_512:
		return crypto.SHA512, nil
	case kmip.HashingAlgorithmSHA_1:
		if allowSHA1 {
			return crypto.SHA1, nil
		}
	}
	return 0, errAlgorithm
}

// singlePartKey is the common start of the single-part cryptographic
// operations: it refuses a multi-part request, resolves the identifier (or
// the ID placeholder) and returns the key, checked for use.
func (r *Router) singlePartKey(ctx context.Context, b *batch, correlation []byte, init *bool, uid string, use cryptoUse) (*keys.Object, error) {
	if err := multiPart(correlation, init); err != nil {
		return nil, err
	}
	id, err := b.id(uid)
	if err != nil {
		return nil, err
	}
	return r.cryptoKey(ctx, b, id, use)
}

// multiPart refuses the streaming form of an operation: a Correlation
// Value or an Init Indicator. A lone Final Indicator is a single part.
func multiPart(correlation []byte, init *bool) error {
	if len(correlation) > 0 || (init != nil && *init) {
		return errMultiPart
	}
	return nil
}
