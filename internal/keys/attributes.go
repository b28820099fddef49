package keys

import (
	"fmt"

	"github.com/ovh/kmip-go"
)

// attrRule says who may set an attribute and how many instances it has.
type attrRule struct {
	// since is the KMIP 1.x minor version that introduced the attribute.
	since int
	// multi: several instances allowed.
	multi bool
	// onCreate: a client may give it in Create/Register/Re-key templates.
	onCreate bool
	// onRegister: a client may give it on Register only; on Create the
	// server sets it.
	onRegister bool
	// modify: a client may Add/Modify it later.
	modify bool
	// remove: a client may Delete it.
	remove bool
	// preActiveOnly: Modify/Delete allowed only while the object is Pre-Active.
	preActiveOnly bool
}

var attrRules = map[kmip.AttributeName]attrRule{
	kmip.AttributeNameUniqueIdentifier:               {},
	kmip.AttributeNameName:                           {multi: true, onCreate: true, modify: true, remove: true},
	kmip.AttributeNameObjectType:                     {},
	kmip.AttributeNameCryptographicAlgorithm:         {onCreate: true},
	kmip.AttributeNameCryptographicLength:            {onCreate: true},
	kmip.AttributeNameCryptographicParameters:        {multi: true, onCreate: true, modify: true, remove: true},
	kmip.AttributeNameCryptographicDomainParameters:  {onCreate: true},
	kmip.AttributeNameCertificateType:                {onRegister: true},
	kmip.AttributeNameCertificateIdentifier:          {},
	kmip.AttributeNameCertificateSubject:             {},
	kmip.AttributeNameCertificateIssuer:              {},
	kmip.AttributeNameDigest:                         {multi: true},
	kmip.AttributeNameOperationPolicyName:            {onCreate: true, modify: true, remove: true},
	kmip.AttributeNameCryptographicUsageMask:         {onCreate: true},
	kmip.AttributeNameLeaseTime:                      {},
	kmip.AttributeNameUsageLimits:                    {onCreate: true, modify: true},
	kmip.AttributeNameState:                          {},
	kmip.AttributeNameInitialDate:                    {},
	kmip.AttributeNameActivationDate:                 {onCreate: true, modify: true, remove: true, preActiveOnly: true},
	kmip.AttributeNameProcessStartDate:               {onCreate: true, modify: true, remove: true},
	kmip.AttributeNameProtectStopDate:                {onCreate: true, modify: true, remove: true},
	kmip.AttributeNameDeactivationDate:               {onCreate: true, modify: true, remove: true},
	kmip.AttributeNameDestroyDate:                    {},
	kmip.AttributeNameCompromiseOccurrenceDate:       {},
	kmip.AttributeNameCompromiseDate:                 {},
	kmip.AttributeNameRevocationReason:               {},
	kmip.AttributeNameArchiveDate:                    {},
	kmip.AttributeNameObjectGroup:                    {multi: true, onCreate: true, modify: true, remove: true},
	kmip.AttributeNameLink:                           {multi: true, onCreate: true, modify: true, remove: true},
	kmip.AttributeNameApplicationSpecificInformation: {multi: true, onCreate: true, modify: true, remove: true},
	kmip.AttributeNameContactInformation:             {onCreate: true, modify: true, remove: true},
	kmip.AttributeNameLastChangeDate:                 {},
	// KMIP 1.1
	kmip.AttributeNameCertificateLength:         {since: 1},
	kmip.AttributeNameFresh:                     {since: 1, onRegister: true}, // initially set by the server, or by the client that registers the object
	kmip.AttributeNameX509CertificateIdentifier: {since: 1},
	kmip.AttributeNameX509CertificateSubject:    {since: 1},
	kmip.AttributeNameX509CertificateIssuer:     {since: 1},
	kmip.AttributeNameDigitalSignatureAlgorithm: {since: 1},
	// KMIP 1.2
	kmip.AttributeNameAlternativeName:      {since: 2, multi: true, onCreate: true, modify: true, remove: true},
	kmip.AttributeNameKeyValuePresent:      {since: 2},
	kmip.AttributeNameKeyValueLocation:     {since: 2, multi: true, onCreate: true, modify: true, remove: true},
	kmip.AttributeNameOriginalCreationDate: {since: 2, onRegister: true},
	// KMIP 1.3
	kmip.AttributeNameRandomNumberGenerator: {since: 3, onRegister: true}, // §3.44: the client may tell the generator of a key it registers
	// KMIP 1.4
	kmip.AttributeNamePKCS_12FriendlyName: {since: 4, onCreate: true, modify: true, remove: true},
	kmip.AttributeNameDescription:         {since: 4, onCreate: true, modify: true, remove: true},
	kmip.AttributeNameComment:             {since: 4, onCreate: true, modify: true, remove: true},
	kmip.AttributeNameSensitive:           {since: 4, onCreate: true, modify: true},
	kmip.AttributeNameAlwaysSensitive:     {since: 4},
	kmip.AttributeNameExtractable:         {since: 4, onCreate: true, modify: true},
	kmip.AttributeNameNeverExtractable:    {since: 4},
}

// ruleFor returns the rule for name; custom x- attributes belong to clients,
// y- attributes to the server.
func ruleFor(name kmip.AttributeName) (attrRule, bool) {
	if r, ok := attrRules[name]; ok {
		return r, true
	}
	if name.IsCustom() {
		client := name[0] == 'x'
		return attrRule{multi: true, onCreate: client, modify: client, remove: client}, true
	}
	return attrRule{}, false
}

// KnownInVersion reports whether a KMIP 1.x client of the given minor
// version knows the attribute. Custom attributes are known to every version.
func KnownInVersion(name kmip.AttributeName, minor int) bool {
	r, ok := ruleFor(name)
	return ok && r.since <= minor
}

// checkClientAttrs validates attributes a client gives at creation.
func checkClientAttrs(attrs []kmip.Attribute) error {
	return checkCreationAttrs(attrs, false)
}

// checkRegisterAttrs validates the attributes a client gives on Register,
// which may also carry the attributes only a registering client knows.
func checkRegisterAttrs(attrs []kmip.Attribute) error {
	return checkCreationAttrs(attrs, true)
}

// checkCreationAttrs validates attributes a client gives at creation;
// register allows the onRegister attributes too.
func checkCreationAttrs(attrs []kmip.Attribute, register bool) error {
	seen := map[kmip.AttributeName]int{}
	for _, a := range attrs {
		r, ok := ruleFor(a.AttributeName)
		if !ok {
			return fmt.Errorf("%w: unknown attribute %q", ErrInvalidField, a.AttributeName)
		}
		if !r.onCreate && !(register && r.onRegister) {
			return fmt.Errorf("%w: attribute %q is set by the server", ErrAttributeReadOnly, a.AttributeName)
		}
		seen[a.AttributeName]++
		if !r.multi && seen[a.AttributeName] > 1 {
			return fmt.Errorf("%w: %q given twice", ErrAttributeSingleValued, a.AttributeName)
		}
		if err := checkAttrValue(a); err != nil {
			return err
		}
	}
	return nil
}

// checkAttrValue checks the Go type the codec produced for a known attribute.
func checkAttrValue(a kmip.Attribute) error {
	if a.AttributeValue == nil {
		return fmt.Errorf("%w: attribute %q has no value", ErrInvalidField, a.AttributeName)
	}
	switch v := a.AttributeValue.(type) {
	case kmip.Name:
		if v.NameValue == "" {
			return fmt.Errorf("%w: empty Name", ErrInvalidField)
		}
	case int32:
		if a.AttributeName == kmip.AttributeNameCryptographicLength && v <= 0 {
			return fmt.Errorf("%w: Cryptographic Length must be positive", ErrInvalidField)
		}
	}
	return nil
}
