package keys

import (
	"reflect"

	"github.com/ovh/kmip-go"
)

// KeyBlockOf returns the key block of a key object (Symmetric Key,
// Private Key, Public Key, Secret Data, Split Key, PGP Key), or nil for
// any other object (Certificate, Opaque Object, ...) and for nil.
func KeyBlockOf(v kmip.Object) *kmip.KeyBlock {
	switch k := v.(type) {
	case *kmip.SymmetricKey:
		return &k.KeyBlock
	case *kmip.PrivateKey:
		return &k.KeyBlock
	case *kmip.PublicKey:
		return &k.KeyBlock
	case *kmip.SecretData:
		return &k.KeyBlock
	case *kmip.SplitKey:
		return &k.KeyBlock
	case *kmip.PGPKey:
		return &k.KeyBlock
	}
	return nil
}

// WithKeyBlock returns a copy of key object v holding kb, with v's other
// fields (Secret Data Type, the Split Key fields, PGP Key Version); v is
// not changed. An object without a key block (see KeyBlockOf) is returned
// as it is. The copy is shallow, as an assignment of the object would be.
func WithKeyBlock(v kmip.Object, kb kmip.KeyBlock) kmip.Object {
	if KeyBlockOf(v) == nil {
		return v
	}
	// v is one of KeyBlockOf's pointers to a key object struct.
	p := reflect.ValueOf(v).Elem()
	c := reflect.New(p.Type())
	c.Elem().Set(p)
	out := c.Interface().(kmip.Object)
	*KeyBlockOf(out) = kb
	return out
}
