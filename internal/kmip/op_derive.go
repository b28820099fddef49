package kmip

import (
	"context"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/keys"
)

// Derive Key (KMIP 1.4 section 4.6): a new Symmetric Key or Secret Data
// object from the key material of one base object, by one of the
// derivation methods of op_derive_kdf.go. The base object is checked as
// for any cryptographic use (cryptoKey): visible to the caller, Active,
// with key material and the Derive Key bit of its Cryptographic Usage
// Mask. ovh/kmip-go v0.8.1 has no payloads for it: they are declared here.

func init() {
	ttlv.RegisterEnum(kmip.TagDerivationMethod, map[DerivationMethod]string{
		DerivationMethodPBKDF2: "PBKDF2", DerivationMethodHASH: "HASH", DerivationMethodHMAC: "HMAC",
		DerivationMethodENCRYPT: "ENCRYPT", DerivationMethodNIST800_108_C: "NIST800_108_C",
		DerivationMethodNIST800_108_F: "NIST800_108_F", DerivationMethodNIST800_108_DPI: "NIST800_108_DPI",
	})
	kmip.RegisterOperationPayload[DeriveKeyRequestPayload, DeriveKeyResponsePayload](kmip.OperationDeriveKey)
}

// DerivationMethod is KMIP's Derivation Method enumeration (KMIP 1.4
// section 9.1.3.2.21).
type DerivationMethod uint32

// Derivation methods of KMIP 1.x.
const (
	DerivationMethodPBKDF2          DerivationMethod = 0x00000001
	DerivationMethodHASH            DerivationMethod = 0x00000002
	DerivationMethodHMAC            DerivationMethod = 0x00000003
	DerivationMethodENCRYPT         DerivationMethod = 0x00000004
	DerivationMethodNIST800_108_C   DerivationMethod = 0x00000005
	DerivationMethodNIST800_108_F   DerivationMethod = 0x00000006
	DerivationMethodNIST800_108_DPI DerivationMethod = 0x00000007
)

// DerivationParameters are the parameters of a derivation (KMIP 1.4
// section 2.1.15).
type DerivationParameters struct {
	CryptographicParameters *kmip.CryptographicParameters
	InitializationVector    []byte `ttlv:",omitempty"`
	DerivationData          []byte `ttlv:",omitempty"`
	Salt                    []byte `ttlv:",omitempty"`
	IterationCount          int32  `ttlv:",omitempty"`
}

// DeriveKeyRequestPayload is the request of Derive Key.
type DeriveKeyRequestPayload struct {
	ObjectType           kmip.ObjectType
	UniqueIdentifier     []string `ttlv:",omitempty"`
	DerivationMethod     DerivationMethod
	DerivationParameters DerivationParameters
	TemplateAttribute    *kmip.TemplateAttribute
}

// Operation returns Derive Key.
func (*DeriveKeyRequestPayload) Operation() kmip.Operation { return kmip.OperationDeriveKey }

// DeriveKeyResponsePayload is the response of Derive Key.
type DeriveKeyResponsePayload struct {
	UniqueIdentifier  string
	TemplateAttribute *kmip.TemplateAttribute
}

// Operation returns Derive Key.
func (*DeriveKeyResponsePayload) Operation() kmip.Operation { return kmip.OperationDeriveKey }

var (
	errDeriveBases  = kerr(kmip.ResultReasonInvalidField, "the derivation methods offered take exactly one base object")
	errDeriveLength = kerr(kmip.ResultReasonInvalidField, "cryptographic length of the derived object missing or not a whole number of bytes")
	errDeriveAlg    = kerr(kmip.ResultReasonInvalidField, "cryptographic algorithm of the derived key missing")
	errDeriveType   = kerr(kmip.ResultReasonInvalidField, "Derive Key makes symmetric keys and secret data")
)

// useDerive: a derived key is new material, made under the base key's
// protection: the base key must be before its Protect Stop Date.
var useDerive = cryptoUse{mask: kmip.CryptographicUsageDeriveKey, protect: true}

func (r *Router) deriveKey(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*DeriveKeyRequestPayload)
	if req.ObjectType != kmip.ObjectTypeSymmetricKey && req.ObjectType != kmip.ObjectTypeSecretData {
		return nil, errDeriveType
	}
	if len(req.UniqueIdentifier) > 1 {
		return nil, errDeriveBases
	}
	uid := ""
	if len(req.UniqueIdentifier) == 1 {
		uid = req.UniqueIdentifier[0]
	}
	id, err := b.id(uid)
	if err != nil {
		return nil, err
	}
	attrs, err := r.templateAttrs(ctx, req.TemplateAttribute)
	if err != nil {
		return nil, err
	}
	tmpl := &keys.Object{Attrs: attrs}
	bits, _ := firstAttr(tmpl, kmip.AttributeNameCryptographicLength).(int32)
	if bits <= 0 || bits%8 != 0 || bits > maxDerivedBits {
		return nil, errDeriveLength
	}
	alg := algorithmOf(tmpl)
	if req.ObjectType == kmip.ObjectTypeSymmetricKey && alg == 0 {
		return nil, errDeriveAlg
	}
	base, err := r.cryptoKey(ctx, b, id, useDerive)
	if err != nil {
		return nil, err
	}
	secret, err := baseMaterial(base)
	if err != nil {
		return nil, err
	}
	material, err := deriveMaterial(req.DerivationMethod, req.DerivationParameters, base, secret, int(bits/8))
	if err != nil {
		return nil, err
	}
	var value kmip.Object
	if req.ObjectType == kmip.ObjectTypeSymmetricKey {
		value = &kmip.SymmetricKey{KeyBlock: derivedBlock(kmip.KeyFormatTypeRaw, material, alg, bits)}
	} else {
		value = &kmip.SecretData{SecretDataType: kmip.SecretDataTypeSeed, KeyBlock: derivedBlock(kmip.KeyFormatTypeOpaque, material, alg, bits)}
	}
	o, err := r.m.Derive(ctx, req.ObjectType, []string{base.ID}, value, attrs)
	if err != nil {
		return nil, err
	}
	r.recordUsage(ctx, b, kmip.OperationDeriveKey, o)
	b.placeholder = o.ID
	return &DeriveKeyResponsePayload{UniqueIdentifier: o.ID}, nil
}

// baseMaterial returns the key material of a Symmetric Key (Raw or
// Transparent) or Secret Data base object.
func baseMaterial(o *keys.Object) ([]byte, error) {
	sd, isSecret := o.Value.(*kmip.SecretData)
	if !isSecret {
		return symmetricMaterial(o)
	}
	raw, err := sd.Data()
	if err != nil || raw == nil {
		return nil, errBadKey
	}
	return raw, nil
}

func derivedBlock(f kmip.KeyFormatType, material []byte, alg kmip.CryptographicAlgorithm, bits int32) kmip.KeyBlock {
	return kmip.KeyBlock{
		KeyFormatType:          f,
		KeyValue:               &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &material}}},
		CryptographicAlgorithm: alg,
		CryptographicLength:    bits,
	}
}
