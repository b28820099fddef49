package kmip

import (
	"context"
	"encoding/binary"
	"errors"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/crypto/keywrap"
	"github.com/keywarden/keywarden/internal/keys"
)

// Key wrapping (KMIP 1.4 section 2.1.5): Get with a Key Wrapping
// Specification returns the key block encrypted under an AES wrapping key
// with NIST key wrap (RFC 3394) or AES key wrap with padding (RFC 5649);
// Register of a wrapped key block unwraps it with the named key when the
// caller may use that key to unwrap, and keeps the block as registered
// (op_wrap_registered.go); everything stored is sealed by the barrier.

var (
	errWrapMethod   = kerr(kmip.ResultReasonFeatureNotSupported, "only the Encrypt wrapping method is supported")
	errWrapKeyInfo  = kerr(kmip.ResultReasonMissingData, "encryption key information missing")
	errWrapEncoding = kerr(kmip.ResultReasonEncodingOptionError, "the key value cannot be wrapped with this encoding option")
	errWrapType     = kerr(kmip.ResultReasonFeatureNotSupported, "key wrap type not supported")
)

// keyWrapMode resolves the wrapping mode: the parameters' Block Cipher
// Mode, NIST key wrap by default.
func keyWrapMode(p kmip.CryptographicParameters) (kmip.BlockCipherMode, error) {
	switch p.BlockCipherMode {
	case 0, kmip.BlockCipherModeNISTKeyWrap:
		return kmip.BlockCipherModeNISTKeyWrap, nil
	case kmip.BlockCipherModeAESKeyWrapPadding:
		return kmip.BlockCipherModeAESKeyWrapPadding, nil
	}
	return 0, errAlgorithm
}

// wrappingKey loads and checks the key named by the encryption key
// information, returning its material and the resolved mode.
func (r *Router) wrappingKey(ctx context.Context, b *batch, info *kmip.EncryptionKeyInformation, use cryptoUse) ([]byte, kmip.BlockCipherMode, error) {
	if info == nil || info.UniqueIdentifier == "" {
		return nil, 0, errWrapKeyInfo
	}
	o, err := r.cryptoKey(ctx, b, info.UniqueIdentifier, use)
	if err != nil {
		return nil, 0, err
	}
	if algorithmOf(o) != kmip.CryptographicAlgorithmAES {
		return nil, 0, errAlgorithm
	}
	mode, err := keyWrapMode(cryptoParams(info.CryptographicParameters, o))
	if err != nil {
		return nil, 0, err
	}
	kek, err := symmetricMaterial(o)
	if err != nil {
		return nil, 0, err
	}
	return kek, mode, nil
}

// wrapObject returns v with its key block wrapped as spec asks.
func (r *Router) wrapObject(ctx context.Context, b *batch, o *keys.Object, v kmip.Object, spec *kmip.KeyWrappingSpecification) (kmip.Object, error) {
	if spec.WrappingMethod != kmip.WrappingMethodEncrypt {
		return nil, errWrapMethod
	}
	kb := keys.KeyBlockOf(v)
	if kb == nil || kb.KeyValue == nil || kb.KeyValue.Plain == nil {
		return nil, errWrongKeyType
	}
	kek, mode, err := r.wrappingKey(ctx, b, spec.EncryptionKeyInformation, useWrap)
	if err != nil {
		return nil, err
	}
	plain, err := wrapInput(o, kb, spec)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	var wrapped []byte
	if mode == kmip.BlockCipherModeAESKeyWrapPadding {
		wrapped, err = keywrap.WrapPad(kek, plain)
	} else {
		wrapped, err = keywrap.Wrap(kek, plain)
	}
	if err != nil {
		if errors.Is(err, keywrap.ErrLength) {
			return nil, errBadLength
		}
		return nil, errCryptoFailed
	}
	out := *kb
	out.KeyValue = &kmip.KeyValue{Wrapped: &wrapped}
	out.KeyWrappingData = &kmip.KeyWrappingData{
		WrappingMethod:           spec.WrappingMethod,
		EncryptionKeyInformation: spec.EncryptionKeyInformation,
		EncodingOption:           spec.EncodingOption,
	}
	return keys.WithKeyBlock(v, out), nil
}

// wrapInput is what gets wrapped: the bare key material bytes (No
// Encoding), else the TTLV encoding of the Key Value with the attributes
// the specification names (KMIP's default, TTLV Encoding).
func wrapInput(o *keys.Object, kb *kmip.KeyBlock, spec *kmip.KeyWrappingSpecification) ([]byte, error) {
	m := kb.KeyValue.Plain.KeyMaterial
	if spec.EncodingOption == kmip.EncodingOptionNoEncoding {
		if m.Bytes == nil || len(spec.AttributeName) > 0 {
			return nil, errWrapEncoding
		}
		return append([]byte(nil), *m.Bytes...), nil
	}
	kv := kmip.PlainKeyValue{KeyMaterial: m}
	for _, name := range spec.AttributeName {
		for _, a := range o.Attrs {
			if a.AttributeName == name {
				a.AttributeIndex = nil
				kv.Attribute = append(kv.Attribute, a)
			}
		}
	}
	enc := ttlv.NewTTLVEncoder()
	enc.TagAny(kmip.TagKeyValue, &kv)
	return enc.Bytes(), nil
}

// unwrapRegistered replaces a wrapped key block in a Register request by
// the plain one. Objects without a wrapped key block are returned as they
// are.
func (r *Router) unwrapRegistered(ctx context.Context, b *batch, v kmip.Object) (kmip.Object, error) {
	kb := keys.KeyBlockOf(v)
	if kb == nil || kb.KeyWrappingData == nil {
		return v, nil
	}
	wd := kb.KeyWrappingData
	if wd.WrappingMethod != kmip.WrappingMethodEncrypt || wd.MACSignatureKeyInformation != nil || len(wd.MACSignature) > 0 {
		return nil, errWrapMethod
	}
	wrapped, attrs, err := wrappedValue(kb, wd.EncodingOption)
	if err != nil {
		return nil, err
	}
	kek, mode, err := r.wrappingKey(ctx, b, wd.EncryptionKeyInformation, useUnwrap)
	if err != nil {
		return nil, unusableKEK(err)
	}
	var plain []byte
	if mode == kmip.BlockCipherModeAESKeyWrapPadding {
		plain, err = keywrap.UnwrapPad(kek, wrapped)
	} else {
		plain, err = keywrap.Unwrap(kek, wrapped)
	}
	if err != nil {
		return nil, errCryptoFailed
	}
	out := *kb
	out.KeyWrappingData = nil
	if wd.EncodingOption == kmip.EncodingOptionNoEncoding {
		out.KeyValue = &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &plain}, Attribute: attrs}}
		return keys.WithKeyBlock(v, out), nil
	}
	kv, err := decodeKeyValue(out.KeyFormatType, plain)
	clear(plain)
	if err != nil {
		return nil, errWrapEncoding
	}
	out.KeyValue = kv
	return keys.WithKeyBlock(v, out), nil
}

// wrappedValue returns the wrapped bytes of a key block: the Key Value
// byte string, or, with No Encoding, the Key Material of a Key Value
// structure whose attributes stay in the clear (KMIP 1.4 section 2.1.5).
func wrappedValue(kb *kmip.KeyBlock, enc kmip.EncodingOption) ([]byte, []kmip.Attribute, error) {
	switch {
	case kb.KeyValue == nil:
	case kb.KeyValue.Wrapped != nil:
		return *kb.KeyValue.Wrapped, nil, nil
	case enc == kmip.EncodingOptionNoEncoding && kb.KeyValue.Plain != nil && kb.KeyValue.Plain.KeyMaterial.Bytes != nil:
		return *kb.KeyValue.Plain.KeyMaterial.Bytes, kb.KeyValue.Plain.Attribute, nil
	}
	return nil, nil, kerr(kmip.ResultReasonInvalidField, "wrapped key block without a wrapped key value")
}

// decodeKeyValue decodes a TTLV-encoded Key Value of the given format: the
// ovh codec decodes a Key Value only inside a Key Block, so one is built
// around it.
func decodeKeyValue(format kmip.KeyFormatType, encoded []byte) (*kmip.KeyValue, error) {
	head := ttlv.NewTTLVEncoder()
	head.TagAny(kmip.TagKeyFormatType, format)
	inner := append(head.Bytes(), encoded...)
	if len(inner) > 1<<30 {
		return nil, errBadLength
	}
	msg := make([]byte, 8, 8+len(inner))
	tag := uint32(kmip.TagKeyBlock)
	msg[0], msg[1], msg[2] = byte(tag>>16), byte(tag>>8), byte(tag)
	msg[3] = 0x01 // Structure
	binary.BigEndian.PutUint32(msg[4:], uint32(len(inner)))
	msg = append(msg, inner...)
	var kb kmip.KeyBlock
	if err := ttlv.UnmarshalTTLV(msg, &kb); err != nil {
		return nil, err
	}
	if kb.KeyValue == nil || kb.KeyValue.Plain == nil {
		return nil, errWrapEncoding
	}
	return kb.KeyValue, nil
}
