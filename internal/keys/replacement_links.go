package keys

import "github.com/ovh/kmip-go"

// carriedAttrs returns the attributes a replacement (Re-key, Re-key Key
// Pair, Re-certify) takes from the object old it replaces: the inherited
// ones, its names and its custom attributes, with only the links that
// carriedLink keeps.
func carriedAttrs(old *Object) []kmip.Attribute {
	var carry []kmip.Attribute
	for _, a := range old.Attrs {
		if !a.AttributeName.IsCustom() && !inherited[a.AttributeName] && a.AttributeName != kmip.AttributeNameName {
			continue
		}
		if l, ok := a.AttributeValue.(kmip.Link); ok && !carriedLink(old.Type, l.LinkType) {
			continue
		}
		carry = append(carry, a)
	}
	return carry
}

// carriedLink reports whether the replacement of an object of type t
// keeps the object's links of type lt.
//
// The attribute tables of Re-key, Re-key Key Pair and Re-certify (KMIP 1.0
// to 1.4, and 2.x) list Link among the attributes the server sets: "Set to
// point to the existing key as the replaced key" (Replaced Object Link);
// the replaced object gets the Replacement Object Link. The other links of
// the replaced object describe its own relations, which the replacement
// does not share: the Child Links of a split key name the parts of the old
// key's material, a derived key's Derivation Base Object Links and a base
// key's Derived Key Links name what the old material came from or went
// into, a public key's Certificate Link names a certificate for the old
// public key, and Parent, Previous, Next, PKCS#12 and Wrapping Key Links
// name the old object's place. Re-key Key Pair sets the Public and Private
// Key Links of the new pair itself.
//
// The one link a replacement keeps is the Public Key Link of a
// certificate: Re-certify renews the certificate for the same public key
// (the KMIP 1.x test case TC-134 reads the Public Key Link to it on the
// new certificate, before the Replaced Object Link).
func carriedLink(t kmip.ObjectType, lt kmip.LinkType) bool {
	return t == kmip.ObjectTypeCertificate && lt == kmip.LinkTypePublicKeyLink
}
