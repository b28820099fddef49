package library

import (
	"context"
	"errors"
	"fmt"
	"unicode"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
)

// maxBarcodeLen bounds a cartridge barcode.
const maxBarcodeLen = 64

// CreateKey runs the Tape Library profile's write flow for a new cartridge
// with barcode: a fresh key identifier (NewKeyID), then Create of an
// AES-256 key with Application Specific Information (Namespace, the key
// identifier) and the barcode as Alternative Name, Activate and Get, in
// one batch on one server. On a later server it first looks the
// identifier up, in case an earlier server created the key before its
// answer was lost.
func (c *Client) CreateKey(ctx context.Context, barcode string) (Key, error) {
	if err := validBarcode(barcode); err != nil {
		return Key{}, err
	}
	keyID, err := NewKeyID()
	if err != nil {
		return Key{}, err
	}
	var k Key
	err = c.failover(ctx, func(s *session, retry bool) error {
		var err error
		k, err = s.write(keyID, barcode, retry)
		return err
	})
	if err != nil {
		return Key{}, fmt.Errorf("library: create key for cartridge %s: %w", barcode, err)
	}
	return k, nil
}

// FetchKey runs the Tape Library profile's read flow: Locate the key whose
// Application Specific Information carries keyID (as read from the tape),
// then Get it.
func (c *Client) FetchKey(ctx context.Context, keyID string) (Key, error) {
	keyID, err := NormalizeKeyID(keyID)
	if err != nil {
		return Key{}, err
	}
	var k Key
	err = c.failover(ctx, func(s *session, _ bool) error {
		uid, err := s.locate(keyID)
		if err != nil {
			return err
		}
		k, err = s.get(keyID, uid)
		return err
	})
	if err != nil {
		return Key{}, fmt.Errorf("library: fetch key %s: %w", keyID, err)
	}
	return k, nil
}

// validBarcode accepts 1 to maxBarcodeLen printable ASCII characters.
func validBarcode(b string) error {
	if b == "" || len(b) > maxBarcodeLen {
		return fmt.Errorf("library: barcode %q: want 1 to %d characters", b, maxBarcodeLen)
	}
	for _, r := range b {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ' ' {
			return fmt.Errorf("library: barcode %q: want printable ASCII without spaces", b)
		}
	}
	return nil
}

// write creates, activates and gets the key of a new cartridge; on a retry
// it reuses a key an earlier server already created.
func (s *session) write(keyID, barcode string, retry bool) (Key, error) {
	if retry {
		uid, err := s.locate(keyID)
		switch {
		case err == nil:
			return s.resume(keyID, uid)
		case !errors.Is(err, ErrNoKey):
			return Key{}, err
		}
	}
	pls := []kmip.OperationPayload{
		createRequest(keyID, barcode),
		&payloads.ActivateRequestPayload{}, // the ID placeholder: the key just created
		&payloads.GetRequestPayload{KeyFormatType: kmip.KeyFormatTypeRaw},
	}
	items, err := s.call(pls...)
	if err != nil {
		return Key{}, err
	}
	if err := check(pls, items); err != nil {
		return Key{}, err
	}
	created, ok := items[0].ResponsePayload.(*payloads.CreateResponsePayload)
	if !ok || created.UniqueIdentifier == "" {
		return Key{}, fmt.Errorf("%s: Create answer without an identifier: %w", s.addr, ErrProtocol)
	}
	return s.keyFrom(keyID, created.UniqueIdentifier, items[2].ResponsePayload)
}

// createRequest is the profile's Create: an AES-256 key for encryption and
// decryption, named by its key identifier and the cartridge's barcode.
func createRequest(keyID, barcode string) *payloads.CreateRequestPayload {
	return &payloads.CreateRequestPayload{
		ObjectType: kmip.ObjectTypeSymmetricKey,
		TemplateAttribute: kmip.TemplateAttribute{Attribute: []kmip.Attribute{
			{AttributeName: kmip.AttributeNameCryptographicAlgorithm, AttributeValue: kmip.CryptographicAlgorithmAES},
			{AttributeName: kmip.AttributeNameCryptographicLength, AttributeValue: int32(8 * KeySize)},
			{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt},
			{AttributeName: kmip.AttributeNameApplicationSpecificInformation, AttributeValue: asi(keyID)},
			{AttributeName: kmip.AttributeNameAlternativeName, AttributeValue: kmip.AlternativeName{
				AlternativeNameValue: barcode, AlternativeNameType: kmip.AlternativeNameTypeUninterpretedTextString}},
		}},
	}
}

// resume finishes a write whose key already exists: it activates the key
// if it is still pre-active, then gets it.
func (s *session) resume(keyID, uid string) (Key, error) {
	st, err := s.state(uid)
	if err != nil {
		return Key{}, err
	}
	if st == kmip.StatePreActive {
		if _, err := s.one(&payloads.ActivateRequestPayload{UniqueIdentifier: uid}); err != nil {
			return Key{}, err
		}
	}
	return s.get(keyID, uid)
}

// state returns the State attribute of object uid.
func (s *session) state(uid string) (kmip.State, error) {
	p, err := s.one(&payloads.GetAttributesRequestPayload{UniqueIdentifier: uid, AttributeName: []kmip.AttributeName{kmip.AttributeNameState}})
	if err != nil {
		return 0, err
	}
	if attrs, ok := p.(*payloads.GetAttributesResponsePayload); ok {
		for _, a := range attrs.Attribute {
			if st, ok := a.AttributeValue.(kmip.State); ok {
				return st, nil
			}
		}
	}
	return 0, fmt.Errorf("%s: Get Attributes answer without a State: %w", s.addr, ErrProtocol)
}

// locate finds the one key whose Application Specific Information carries
// keyID.
func (s *session) locate(keyID string) (string, error) {
	p, err := s.one(&payloads.LocateRequestPayload{MaximumItems: 2, Attribute: []kmip.Attribute{
		{AttributeName: kmip.AttributeNameApplicationSpecificInformation, AttributeValue: asi(keyID)},
	}})
	if err != nil {
		return "", err
	}
	loc, ok := p.(*payloads.LocateResponsePayload)
	if !ok {
		return "", fmt.Errorf("%s: Locate answer: %w", s.addr, ErrProtocol)
	}
	switch len(loc.UniqueIdentifier) {
	case 0:
		return "", ErrNoKey
	case 1:
		return loc.UniqueIdentifier[0], nil
	}
	return "", ErrAmbiguous
}

// get fetches the key uid in raw form.
func (s *session) get(keyID, uid string) (Key, error) {
	p, err := s.one(&payloads.GetRequestPayload{UniqueIdentifier: uid, KeyFormatType: kmip.KeyFormatTypeRaw})
	if err != nil {
		return Key{}, err
	}
	return s.keyFrom(keyID, uid, p)
}

// keyFrom checks a Get answer for object uid and extracts the key.
func (s *session) keyFrom(keyID, uid string, p kmip.OperationPayload) (Key, error) {
	got, ok := p.(*payloads.GetResponsePayload)
	if !ok || got.UniqueIdentifier != uid {
		return Key{}, fmt.Errorf("%s: Get answer for another object: %w", s.addr, ErrProtocol)
	}
	sk, ok := got.Object.(*kmip.SymmetricKey)
	if !ok {
		return Key{}, fmt.Errorf("%s: object %s is not a symmetric key: %w", s.addr, uid, ErrProtocol)
	}
	material, err := sk.KeyMaterial()
	if err != nil || len(material) != KeySize {
		clear(material)
		return Key{}, fmt.Errorf("%s: object %s does not hold a %d-byte key: %w", s.addr, uid, KeySize, ErrProtocol)
	}
	return Key{KeyID: keyID, UniqueIdentifier: uid, Material: material}, nil
}
