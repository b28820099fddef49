package keys

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/ovh/kmip-go"
)

// symmetricLengths lists the key lengths (bits) keywarden generates per
// algorithm; nil means any multiple of 8 from 128 to 4096 bits (MAC keys).
var symmetricLengths = map[kmip.CryptographicAlgorithm][]int32{
	kmip.CryptographicAlgorithmAES:        {128, 192, 256},
	kmip.CryptographicAlgorithm3DES:       {168, 192},
	kmip.CryptographicAlgorithmChaCha20:   {256},
	kmip.CryptographicAlgorithmHMACSHA1:   nil,
	kmip.CryptographicAlgorithmHMACSHA224: nil,
	kmip.CryptographicAlgorithmHMACSHA256: nil,
	kmip.CryptographicAlgorithmHMACSHA384: nil,
	kmip.CryptographicAlgorithmHMACSHA512: nil,
}

// Create generates a new symmetric key described by attrs. The key
// material comes from crypto/rand before anything is written.
func (m *Manager) Create(ctx context.Context, typ kmip.ObjectType, attrs []kmip.Attribute) (*Object, error) {
	return m.create(ctx, nil, "", typ, attrs)
}

// create is Create with claims written with the key (claim.go).
func (m *Manager) create(ctx context.Context, claims []Claim, owner string, typ kmip.ObjectType, attrs []kmip.Attribute) (*Object, error) {
	if typ != kmip.ObjectTypeSymmetricKey {
		return nil, fmt.Errorf("%w: Create makes symmetric keys; use Create Key Pair or Register", ErrInvalidField)
	}
	if err := checkClientAttrs(attrs); err != nil {
		return nil, err
	}
	tmp := &Object{Attrs: attrs}
	algV, ok := tmp.Attr(kmip.AttributeNameCryptographicAlgorithm)
	if !ok {
		return nil, fmt.Errorf("%w: Cryptographic Algorithm", ErrMissingData)
	}
	alg, _ := algV.(kmip.CryptographicAlgorithm)
	lenV, ok := tmp.Attr(kmip.AttributeNameCryptographicLength)
	if !ok {
		return nil, fmt.Errorf("%w: Cryptographic Length", ErrMissingData)
	}
	bits, _ := lenV.(int32)
	allowed, known := symmetricLengths[alg]
	if !known {
		return nil, fmt.Errorf("%w: symmetric algorithm %v", ErrNotSupported, alg)
	}
	if !lengthAllowed(bits, allowed) {
		return nil, fmt.Errorf("%w: length %d for this algorithm", ErrInvalidField, bits)
	}
	material := make([]byte, (bits+7)/8)
	if _, err := rand.Read(material); err != nil {
		return nil, fmt.Errorf("keys: random: %w", err)
	}
	value := &kmip.SymmetricKey{KeyBlock: rawKeyBlock(material, alg, bits)}
	o, err := m.newObject(typ, OriginCreated, attrs, value)
	if err != nil {
		return nil, err
	}
	if err := m.insertClaiming(ctx, claims, owner, o); err != nil {
		return nil, err
	}
	return o, nil
}

func lengthAllowed(bits int32, allowed []int32) bool {
	if allowed == nil {
		return bits >= 128 && bits <= 4096 && bits%8 == 0
	}
	for _, a := range allowed {
		if a == bits {
			return true
		}
	}
	return false
}

func rawKeyBlock(material []byte, alg kmip.CryptographicAlgorithm, bits int32) kmip.KeyBlock {
	return kmip.KeyBlock{
		KeyFormatType:          kmip.KeyFormatTypeRaw,
		KeyValue:               &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &material}}},
		CryptographicAlgorithm: alg,
		CryptographicLength:    bits,
	}
}

// newObject builds an object with a fresh id, the client's attributes and
// the attributes the server sets at creation.
func (m *Manager) newObject(typ kmip.ObjectType, origin Origin, attrs []kmip.Attribute, value kmip.Object) (*Object, error) {
	id, err := newID()
	if err != nil {
		return nil, err
	}
	now := m.Now()
	o := &Object{ID: id, Type: typ, Group: DefaultGroup, Origin: origin, State: kmip.StatePreActive, Value: value}
	o.Attrs = append(o.Attrs, attrs...)
	if kb := KeyBlockOf(value); kb != nil {
		if _, ok := o.Attr(kmip.AttributeNameCryptographicAlgorithm); !ok && kb.CryptographicAlgorithm != 0 {
			o.setAttr(kmip.AttributeNameCryptographicAlgorithm, kb.CryptographicAlgorithm)
		}
		if _, ok := o.Attr(kmip.AttributeNameCryptographicLength); !ok && kb.CryptographicLength != 0 {
			o.setAttr(kmip.AttributeNameCryptographicLength, kb.CryptographicLength)
		}
	}
	if d, ok := digestOf(value); ok {
		o.Attrs = append(o.Attrs, kmip.Attribute{AttributeName: kmip.AttributeNameDigest, AttributeValue: d})
	}
	o.setAttr(kmip.AttributeNameInitialDate, now)
	o.setAttr(kmip.AttributeNameLastChangeDate, now)
	if _, ok := o.Attr(kmip.AttributeNameOriginalCreationDate); !ok && origin == OriginCreated {
		// KMIP 1.2 §3.41: the server dates what it generates; a registering
		// client may date what it brings.
		o.setAttr(kmip.AttributeNameOriginalCreationDate, now)
	}
	if kb := KeyBlockOf(value); kb != nil && kb.KeyValue == nil {
		o.setAttr(kmip.AttributeNameKeyValuePresent, false)
	}
	o.setAttr(kmip.AttributeNameLeaseTime, m.lease)
	if _, ok := o.Attr(kmip.AttributeNameFresh); !ok {
		o.setAttr(kmip.AttributeNameFresh, true)
	}
	if origin == OriginCreated {
		// crypto/rand: the operating system's generator (getrandom), or the
		// SP 800-90A DRBG of Go's FIPS module in FIPS mode.
		o.setAttr(kmip.AttributeNameRandomNumberGenerator, kmip.RNGParameters{RNGAlgorithm: kmip.RNGAlgorithmUnspecified})
	}
	if _, ok := o.Attr(kmip.AttributeNameSensitive); !ok {
		o.setAttr(kmip.AttributeNameSensitive, false)
	}
	if _, ok := o.Attr(kmip.AttributeNameExtractable); !ok {
		o.setAttr(kmip.AttributeNameExtractable, true)
	}
	sens, _ := o.Attr(kmip.AttributeNameSensitive)
	extr, _ := o.Attr(kmip.AttributeNameExtractable)
	o.setAttr(kmip.AttributeNameAlwaysSensitive, sens == true)
	o.setAttr(kmip.AttributeNameNeverExtractable, extr == false)
	if t, ok := o.Date(kmip.AttributeNameActivationDate); ok && !t.After(now) {
		o.State = kmip.StateActive
	}
	return o, nil
}

// Register stores an object supplied by a client.
func (m *Manager) Register(ctx context.Context, typ kmip.ObjectType, value kmip.Object, attrs []kmip.Attribute) (*Object, error) {
	return m.register(ctx, nil, "", typ, value, attrs)
}

// register is Register with claims written with the object (claim.go).
func (m *Manager) register(ctx context.Context, claims []Claim, owner string, typ kmip.ObjectType, value kmip.Object, attrs []kmip.Attribute) (*Object, error) {
	if value == nil || value.ObjectType() != typ {
		return nil, fmt.Errorf("%w: the object does not match the Object Type", ErrInvalidField)
	}
	if err := checkRegisterAttrs(attrs); err != nil {
		return nil, err
	}
	if err := checkRegistered(value); err != nil {
		return nil, err
	}
	if t, ok := value.(*kmip.Template); ok {
		// A template's Name names the template itself; the rest is what it
		// gives the objects created from it.
		body := &kmip.Template{}
		for _, a := range t.Attribute {
			if a.AttributeName == kmip.AttributeNameName {
				attrs = append(attrs, a)
			} else {
				body.Attribute = append(body.Attribute, a)
			}
		}
		value = body
	}
	o, err := m.newObject(typ, OriginRegistered, attrs, value)
	if err != nil {
		return nil, err
	}
	if c, ok := value.(*kmip.Certificate); ok {
		o.setAttr(kmip.AttributeNameCertificateType, c.CertificateType)
		o.setAttr(kmip.AttributeNameCertificateLength, int32(len(c.CertificateValue)))
		setCertificateAttrs(o, c)
	}
	if err := m.insertClaiming(ctx, claims, owner, o); err != nil {
		return nil, err
	}
	return o, nil
}

// checkRegistered refuses objects without a value where one is required.
func checkRegistered(v kmip.Object) error {
	switch o := v.(type) {
	case *kmip.Certificate:
		if len(o.CertificateValue) == 0 {
			return fmt.Errorf("%w: empty certificate", ErrInvalidField)
		}
	case *kmip.OpaqueObject:
		if len(o.OpaqueDataValue) == 0 {
			return fmt.Errorf("%w: empty opaque object", ErrInvalidField)
		}
	case *kmip.Template:
		if err := checkClientAttrs(o.Attribute); err != nil {
			return err
		}
	default:
		kb := KeyBlockOf(v)
		if kb == nil {
			return fmt.Errorf("%w: object type", ErrNotSupported)
		}
		if kb.KeyValue == nil && !metadataOnlyAllowed(kb) {
			return fmt.Errorf("%w: key block has no key value", ErrInvalidField)
		}
		if _, sym := v.(*kmip.SymmetricKey); sym && kb.CryptographicAlgorithm == kmip.CryptographicAlgorithmAES {
			// AES has three key sizes (FIPS 197); other lengths would only
			// fail later, at the first Encrypt.
			if b := rawMaterial(kb); b != nil && len(b) != 16 && len(b) != 24 && len(b) != 32 {
				return fmt.Errorf("%w: an AES key is 16, 24 or 32 bytes, not %d", ErrInvalidField, len(b))
			}
		}
	}
	return nil
}

// shiftDates returns the replacement's lifecycle dates for a re-key: with
// an offset, the new Activation Date is now+offset and the other dates keep
// their distance to it; without one, the dates are copied.
func shiftDates(old *Object, now time.Time, offset *time.Duration) map[kmip.AttributeName]time.Time {
	out := map[kmip.AttributeName]time.Time{}
	names := []kmip.AttributeName{kmip.AttributeNameActivationDate, kmip.AttributeNameProcessStartDate,
		kmip.AttributeNameProtectStopDate, kmip.AttributeNameDeactivationDate}
	oldInit, _ := old.Date(kmip.AttributeNameInitialDate)
	oldAct, hasAct := old.Date(kmip.AttributeNameActivationDate)
	for _, n := range names {
		t, ok := old.Date(n)
		if offset == nil {
			if ok {
				out[n] = t
			}
			continue
		}
		base := oldAct
		if !hasAct {
			base = oldInit
		}
		if n == kmip.AttributeNameActivationDate {
			out[n] = now.Add(*offset)
		} else if ok {
			out[n] = now.Add(*offset).Add(t.Sub(base))
		}
	}
	return out
}
