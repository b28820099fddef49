package kmip2

import (
	"crypto/sha256"
	"strings"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// In KMIP 1.x an attribute is a structure of an Attribute Name (text) and
// an Attribute Value; in 2.x it is an item whose tag is the attribute, and a
// vendor attribute is an Attribute structure of Vendor Identification,
// Attribute Name and Attribute Value. 1.x custom attributes ("x-Name",
// "y-Name") map to 2.x vendor attributes with vendor "x" or "y".

// attrNames1 are the 1.x attribute names that 2.x still defines. The 1.x
// Certificate Identifier, Subject and Issuer structures have no 2.x tag
// here: they are never sent to a 2.x client.
var attrNames1 = []kmip.AttributeName{
	kmip.AttributeNameUniqueIdentifier, kmip.AttributeNameName, kmip.AttributeNameObjectType,
	kmip.AttributeNameCryptographicAlgorithm, kmip.AttributeNameCryptographicLength,
	kmip.AttributeNameCryptographicParameters, kmip.AttributeNameCryptographicDomainParameters,
	kmip.AttributeNameCertificateType, kmip.AttributeNameCertificateLength,
	kmip.AttributeNameX509CertificateIdentifier, kmip.AttributeNameX509CertificateSubject,
	kmip.AttributeNameX509CertificateIssuer, kmip.AttributeNameDigitalSignatureAlgorithm,
	kmip.AttributeNameDigest, kmip.AttributeNameOperationPolicyName,
	kmip.AttributeNameCryptographicUsageMask, kmip.AttributeNameLeaseTime,
	kmip.AttributeNameUsageLimits, kmip.AttributeNameState, kmip.AttributeNameInitialDate,
	kmip.AttributeNameActivationDate, kmip.AttributeNameProcessStartDate,
	kmip.AttributeNameProtectStopDate, kmip.AttributeNameDeactivationDate,
	kmip.AttributeNameDestroyDate, kmip.AttributeNameCompromiseOccurrenceDate,
	kmip.AttributeNameCompromiseDate, kmip.AttributeNameRevocationReason,
	kmip.AttributeNameArchiveDate, kmip.AttributeNameObjectGroup, kmip.AttributeNameFresh,
	kmip.AttributeNameLink, kmip.AttributeNameApplicationSpecificInformation,
	kmip.AttributeNameContactInformation, kmip.AttributeNameLastChangeDate,
	kmip.AttributeNameAlternativeName, kmip.AttributeNameKeyValuePresent,
	kmip.AttributeNameKeyValueLocation, kmip.AttributeNameOriginalCreationDate,
	kmip.AttributeNameRandomNumberGenerator, kmip.AttributeNamePKCS_12FriendlyName,
	kmip.AttributeNameDescription, kmip.AttributeNameComment, kmip.AttributeNameSensitive,
	kmip.AttributeNameAlwaysSensitive, kmip.AttributeNameExtractable,
	kmip.AttributeNameNeverExtractable,
}

// Tables between 1.x attribute names and 2.x attribute tags.
var (
	tagOfAttr  = map[kmip.AttributeName]int{}
	attrOfTag  = map[int]kmip.AttributeName{}
	tagsByName = map[string]int{}
)

// Names under which the server carries the attributes only 2.x defines
// until the answer is translated to their 2.x tags. No 1.x client receives
// them: the server adds them for 2.x clients only.
const (
	AttrShortUniqueIdentifier kmip.AttributeName = "Short Unique Identifier"
	AttrProtectionStorageMask kmip.AttributeName = "Protection Storage Mask"
	AttrKeyFormatType         kmip.AttributeName = "Key Format Type"
)

// OnlyV2 are the tags of the attributes only 2.x defines, which the server
// derives (never stores): a request naming one is answered by the server's
// derivation, not by the 1.x handler.
var OnlyV2 = map[int]bool{
	TagShortUniqueIdentifier: true, TagProtectionStorageMask: true, kmip.TagKeyFormatType: true,
}

func init() {
	// ovh registers its 1.x tags by name: read the names back by value. The
	// 2.x names come from tags2 (this file's init may run before the one
	// that registers them).
	for t, n := range tags2 {
		tagsByName[n] = t
	}
	for t := 0x420001; t <= 0x420124; t++ {
		if n := ttlv.TagString(t); !strings.HasPrefix(n, "0x") {
			tagsByName[n] = t
		}
	}
	r := strings.NewReplacer(" ", "", ".", "_", "#", "_", "-", "_")
	derived := append([]kmip.AttributeName{AttrShortUniqueIdentifier, AttrProtectionStorageMask, AttrKeyFormatType}, certAttrs...)
	for _, a := range append(attrNames1, derived...) {
		if t, ok := tagsByName[r.Replace(string(a))]; ok {
			tagOfAttr[a] = t
			attrOfTag[t] = a
		}
	}
	for _, a := range certAttrs {
		OnlyV2[tagOfAttr[a]] = true
	}
}

// AttrTag returns the 2.x tag of a 1.x attribute name.
func AttrTag(name kmip.AttributeName) (int, bool) {
	t, ok := tagOfAttr[name]
	return t, ok
}

// AttrName returns the 1.x attribute name of a 2.x attribute tag.
func AttrName(tag int) (kmip.AttributeName, bool) {
	n, ok := attrOfTag[tag]
	return n, ok
}

// vendorName joins a 2.x vendor attribute's identification and name into a
// 1.x custom attribute name: ("x", "ID") is "x-ID".
func vendorName(vendor, name string) kmip.AttributeName {
	return kmip.AttributeName(vendor + "-" + name)
}

// splitVendor splits a 1.x custom attribute name at its first '-'.
func splitVendor(name kmip.AttributeName) (vendor, attr string, ok bool) {
	if !name.IsCustom() {
		return "", "", false
	}
	v, a, ok := strings.Cut(string(name), "-")
	return v, a, ok
}

// ShortUniqueIdentifier is the 2.x Short Unique Identifier of an object:
// the SHA-256 digest of its Unique Identifier.
func ShortUniqueIdentifier(uid string) []byte {
	s := sha256.Sum256([]byte(uid))
	return s[:]
}

// ProtectionStorageMaskSoftware is the Protection Storage Mask bit of keys
// held in software: where keywarden holds every
// key.
const ProtectionStorageMaskSoftware int32 = 0x1

// The 2.x certificate attributes (Certificate Subject/Issuer CN, O, ...) the
// server derives from an X.509 certificate's subject and issuer names.
const (
	AttrCertificateSubjectCN kmip.AttributeName = "Certificate Subject CN"
	AttrCertificateSubjectO  kmip.AttributeName = "Certificate Subject O"
	AttrCertificateSubjectOU kmip.AttributeName = "Certificate Subject OU"
	AttrCertificateSubjectC  kmip.AttributeName = "Certificate Subject C"
	AttrCertificateSubjectST kmip.AttributeName = "Certificate Subject ST"
	AttrCertificateSubjectL  kmip.AttributeName = "Certificate Subject L"
	AttrCertificateIssuerCN  kmip.AttributeName = "Certificate Issuer CN"
	AttrCertificateIssuerO   kmip.AttributeName = "Certificate Issuer O"
	AttrCertificateIssuerOU  kmip.AttributeName = "Certificate Issuer OU"
	AttrCertificateIssuerC   kmip.AttributeName = "Certificate Issuer C"
	AttrCertificateIssuerST  kmip.AttributeName = "Certificate Issuer ST"
	AttrCertificateIssuerL   kmip.AttributeName = "Certificate Issuer L"
)

// certAttrs are the derived certificate attribute names.
var certAttrs = []kmip.AttributeName{
	AttrCertificateSubjectCN, AttrCertificateSubjectO, AttrCertificateSubjectOU,
	AttrCertificateSubjectC, AttrCertificateSubjectST, AttrCertificateSubjectL,
	AttrCertificateIssuerCN, AttrCertificateIssuerO, AttrCertificateIssuerOU,
	AttrCertificateIssuerC, AttrCertificateIssuerST, AttrCertificateIssuerL,
}
