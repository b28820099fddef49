package kmip

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"math/big"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
)

var errDestroyed = kerr(kmip.ResultReasonItemNotFound, "object destroyed: no key material")

func (r *Router) get(ctx context.Context, b *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*payloads.GetRequestPayload)
	id, err := b.id(req.UniqueIdentifier)
	if err != nil {
		return nil, err
	}
	if req.KeyCompressionType != 0 && req.KeyCompressionType != kmip.KeyCompressionTypeECPublicKeyTypeUncompressed {
		return nil, errCompression
	}
	o, err := r.m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if o.Archived {
		return nil, kerr(kmip.ResultReasonObjectArchived, "object is archived")
	}
	if o.Value == nil {
		return nil, errDestroyed
	}
	if err := r.checkGate(o); err != nil {
		return nil, err
	}
	if v, ok := o.Attr(kmip.AttributeNameExtractable); ok && v == false {
		return nil, kerr(kmip.ResultReasonNotExtractable, "object is not extractable")
	}
	value, registered, err := r.servedValue(ctx, b, o, req.KeyWrapType, req.KeyWrappingSpecification != nil)
	if err != nil {
		return nil, err
	}
	if v, ok := o.Attr(kmip.AttributeNameSensitive); ok && v == true && req.KeyWrappingSpecification == nil && !registered {
		// KMIP 1.4, Sensitive attribute: the value of a sensitive object
		// leaves the server wrapped only (or as the wrapped block the
		// client registered).
		return nil, kerr(kmip.ResultReasonSensitive, "object is sensitive: it is served wrapped only")
	}
	switch {
	case registered:
		value, err = asRegistered(value, req.KeyFormatType, req.KeyWrappingSpecification)
	case req.KeyFormatType == kmip.KeyFormatTypePKCS_12:
		value, err = r.pkcs12Object(ctx, o)
	default:
		value, err = convert(value, req.KeyFormatType)
	}
	if err != nil {
		return nil, err
	}
	if req.KeyWrappingSpecification != nil && !registered {
		if value, err = r.wrapObject(ctx, b, o, value, req.KeyWrappingSpecification); err != nil {
			return nil, err
		}
	}
	if err := r.m.MarkServed(ctx, o); err != nil {
		return nil, err
	}
	r.recordUsage(ctx, b, kmip.OperationGet, o)
	return &payloads.GetResponsePayload{ObjectType: o.Type, UniqueIdentifier: o.ID, Object: value}, nil
}

// convert returns the object in the requested key format (0: as stored).
func convert(v kmip.Object, want kmip.KeyFormatType) (kmip.Object, error) {
	if out, handled, err := convertDSA(v, want); handled { // dsa.go
		return out, err
	}
	switch k := v.(type) {
	case *kmip.SymmetricKey:
		if want == 0 || want == k.KeyBlock.KeyFormatType {
			return k, nil
		}
		raw, err := k.KeyMaterial()
		if err != nil {
			return nil, errFormatNotSupported
		}
		kb := k.KeyBlock
		switch want {
		case kmip.KeyFormatTypeRaw:
			kb.KeyFormatType = kmip.KeyFormatTypeRaw
			kb.KeyValue = &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &raw}}}
		case kmip.KeyFormatTypeTransparentSymmetricKey:
			kb.KeyFormatType = want
			kb.KeyValue = &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{TransparentSymmetricKey: &kmip.TransparentSymmetricKey{Key: raw}}}}
		default:
			return nil, errFormatNotSupported
		}
		return &kmip.SymmetricKey{KeyBlock: kb}, nil
	case *kmip.PrivateKey:
		if want == 0 || want == k.KeyBlock.KeyFormatType {
			return k, nil
		}
		priv, err := k.CryptoPrivateKey()
		if err != nil {
			return nil, errFormatNotSupported
		}
		kb, err := privateBlock(priv, k.KeyBlock, want)
		if err != nil {
			return nil, err
		}
		return &kmip.PrivateKey{KeyBlock: kb}, nil
	case *kmip.PublicKey:
		if want == 0 || want == k.KeyBlock.KeyFormatType {
			return k, nil
		}
		pub, err := k.CryptoPublicKey()
		if err != nil {
			return nil, errFormatNotSupported
		}
		kb, err := publicBlock(pub, k.KeyBlock, want)
		if err != nil {
			return nil, err
		}
		return &kmip.PublicKey{KeyBlock: kb}, nil
	case *kmip.SecretData:
		if want == 0 || want == k.KeyBlock.KeyFormatType {
			return k, nil
		}
		return nil, errFormatNotSupported
	default:
		if want != 0 {
			return nil, errFormatNotSupported
		}
		return v, nil
	}
}

func bytesBlock(kb kmip.KeyBlock, format kmip.KeyFormatType, der []byte) kmip.KeyBlock {
	kb.KeyFormatType = format
	kb.KeyValue = &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &der}}}
	return kb
}

func materialBlock(kb kmip.KeyBlock, format kmip.KeyFormatType, m kmip.KeyMaterial) kmip.KeyBlock {
	kb.KeyFormatType = format
	kb.KeyValue = &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: m}}
	return kb
}

func privateBlock(priv any, kb kmip.KeyBlock, want kmip.KeyFormatType) (kmip.KeyBlock, error) {
	switch want {
	case kmip.KeyFormatTypePKCS_8:
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return kb, errFormatNotSupported
		}
		return bytesBlock(kb, want, der), nil
	}
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		switch want {
		case kmip.KeyFormatTypePKCS_1:
			return bytesBlock(kb, want, x509.MarshalPKCS1PrivateKey(k)), nil
		case kmip.KeyFormatTypeTransparentRSAPrivateKey:
			return materialBlock(kb, want, kmip.KeyMaterial{TransparentRSAPrivateKey: &kmip.TransparentRSAPrivateKey{
				Modulus: *k.N, PrivateExponent: k.D, PublicExponent: big.NewInt(int64(k.E)),
				P: k.Primes[0], Q: k.Primes[1], PrimeExponentP: k.Precomputed.Dp, PrimeExponentQ: k.Precomputed.Dq,
				CRTCoefficient: k.Precomputed.Qinv,
			}}), nil
		}
	case *ecdsa.PrivateKey:
		switch want {
		case kmip.KeyFormatTypeECPrivateKey:
			der, err := x509.MarshalECPrivateKey(k)
			if err != nil {
				return kb, errFormatNotSupported
			}
			return bytesBlock(kb, want, der), nil
		case kmip.KeyFormatTypeTransparentECPrivateKey, kmip.KeyFormatTypeTransparentECDSAPrivateKey:
			curve, ok := curveOf(k.Curve.Params().Name)
			if !ok {
				return kb, errFormatNotSupported
			}
			m := kmip.TransparentECPrivateKey{RecommendedCurve: curve, D: *k.D}
			if want == kmip.KeyFormatTypeTransparentECPrivateKey {
				return materialBlock(kb, want, kmip.KeyMaterial{TransparentECPrivateKey: &m}), nil
			}
			d := kmip.TransparentECDSAPrivateKey(m)
			return materialBlock(kb, want, kmip.KeyMaterial{TransparentECDSAPrivateKey: &d}), nil
		}
	}
	return kb, errFormatNotSupported
}

func publicBlock(pub any, kb kmip.KeyBlock, want kmip.KeyFormatType) (kmip.KeyBlock, error) {
	if want == kmip.KeyFormatTypeX_509 {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return kb, errFormatNotSupported
		}
		return bytesBlock(kb, want, der), nil
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch want {
		case kmip.KeyFormatTypePKCS_1:
			return bytesBlock(kb, want, x509.MarshalPKCS1PublicKey(k)), nil
		case kmip.KeyFormatTypeTransparentRSAPublicKey:
			return materialBlock(kb, want, kmip.KeyMaterial{TransparentRSAPublicKey: &kmip.TransparentRSAPublicKey{
				Modulus: *k.N, PublicExponent: *big.NewInt(int64(k.E)),
			}}), nil
		}
	case *ecdsa.PublicKey:
		curve, ok := curveOf(k.Curve.Params().Name)
		if !ok {
			return kb, errFormatNotSupported
		}
		q, err := k.Bytes()
		if err != nil {
			return kb, errFormatNotSupported
		}
		m := kmip.TransparentECPublicKey{RecommendedCurve: curve, QString: q}
		switch want {
		case kmip.KeyFormatTypeTransparentECPublicKey:
			return materialBlock(kb, want, kmip.KeyMaterial{TransparentECPublicKey: &m}), nil
		case kmip.KeyFormatTypeTransparentECDSAPublicKey:
			d := kmip.TransparentECDSAPublicKey(m)
			return materialBlock(kb, want, kmip.KeyMaterial{TransparentECDSAPublicKey: &d}), nil
		}
	}
	return kb, errFormatNotSupported
}

func curveOf(name string) (kmip.RecommendedCurve, bool) {
	switch name {
	case "P-256":
		return kmip.RecommendedCurveP_256, true
	case "P-384":
		return kmip.RecommendedCurveP_384, true
	case "P-521":
		return kmip.RecommendedCurveP_521, true
	}
	return 0, false
}
