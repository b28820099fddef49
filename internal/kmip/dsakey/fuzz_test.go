package dsakey

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/kmip/wire"
)

// FuzzRewriteRequest: any input either is refused with an *Error, comes
// back as the same slice, or comes back as well-formed TTLV whose Transparent
// DSA key blocks are gone.
func FuzzRewriteRequest(f *testing.F) {
	f.Add(registerMessage(blockSpec{object: kmip.TagPrivateKey, format: kmip.KeyFormatTypeTransparentDSAPrivateKey, material: transparentMaterial(f, true)}))
	f.Add(registerMessage(blockSpec{object: kmip.TagPublicKey, format: kmip.KeyFormatTypeTransparentDSAPublicKey, material: transparentMaterial(f, false)}))
	f.Add(registerMessage(blockSpec{object: kmip.TagPublicKey, format: kmip.KeyFormatTypeTransparentDSAPublicKey, material: transparentMaterial(f, true)}))
	f.Add(formatItem(kmip.KeyFormatTypeTransparentDSAPrivateKey))
	f.Fuzz(func(t *testing.T, msg []byte) {
		in := bytes.Clone(msg)
		out, err := RewriteRequest(msg)
		if !bytes.Equal(in, msg) {
			t.Fatal("input modified")
		}
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if bytes.Equal(out, msg) {
			return
		}
		if _, ok := wire.Level(out); !ok {
			t.Fatal("rewritten message is not well-formed TTLV")
		}
		for _, f := range []kmip.KeyFormatType{kmip.KeyFormatTypeTransparentDSAPrivateKey, kmip.KeyFormatTypeTransparentDSAPublicKey} {
			if bytes.Count(out, formatItem(f)) > bytes.Count(msg, formatItem(f)) {
				t.Fatal("rewrite added a Transparent DSA key block")
			}
		}
	})
}

// FuzzParsePKIX: a key that parses encodes back to the same DER.
func FuzzParsePKIX(f *testing.F) {
	der, err := vectorPublic(f).MarshalPKIX()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der)
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParsePKIX(b)
		if err != nil {
			return
		}
		again, err := k.MarshalPKIX()
		if err != nil {
			t.Fatalf("parsed key does not encode: %v", err)
		}
		if _, err := ParsePKIX(again); err != nil {
			t.Fatalf("re-encoded key does not parse: %v", err)
		}
	})
}

// FuzzParsePKCS8: a key that parses encodes and parses again to the same X.
func FuzzParsePKCS8(f *testing.F) {
	der, err := vectorPrivate(f).MarshalPKCS8()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der)
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParsePKCS8(b)
		if err != nil {
			return
		}
		again, err := k.MarshalPKCS8()
		if err != nil {
			t.Fatalf("parsed key does not encode: %v", err)
		}
		k2, err := ParsePKCS8(again)
		if err != nil || k2.X.Cmp(k.X) != 0 {
			t.Fatalf("re-encoded key does not parse back: %v", err)
		}
	})
}
