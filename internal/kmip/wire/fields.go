package wire

import (
	"encoding/binary"
	"fmt"
)

// Field rules: a few checks beyond TTLV syntax, each one closing a way to
// crash the ovh/kmip-go decoder with an otherwise well-formed message
// (found by FuzzValidate and TestOvhDecoderFindings). The ovh decoder
// checks tag and type before reading every kind of value except
// BigInteger: for a big.Int field it reads whatever item is next, and
// panics on an empty one or at the end of a structure. So:
//
//  1. every item whose tag is a BigInteger field of KMIP (Modulus, D, ...)
//     must have type BigInteger (and Walk already demands a non-empty one);
//  2. a Key Block's first child must be its Key Format Type enumeration;
//  3. in the Key Material structure of a Key Value of a Key Block whose
//     format is a transparent RSA or EC private/public key, the children
//     at the positions the ovh structures read as non-pointer big.Int
//     must exist and be BigIntegers.
//
// All three are rules of the KMIP specification, so no valid request is
// refused by them.

// Tags of the structures the rules look into.
const (
	tagKeyBlock      uint32 = 0x420040
	tagKeyFormatType uint32 = 0x420042
	tagKeyMaterial   uint32 = 0x420043
	tagKeyValue      uint32 = 0x420045
)

// bigIntTags are the KMIP tags of type Big Integer that ovh decodes into
// big.Int values.
var bigIntTags = map[uint32]string{
	0x420027: "CRT Coefficient",
	0x42002E: "D",
	0x420052: "Modulus",
	0x42005E: "P",
	0x420060: "Prime Exponent P",
	0x420061: "Prime Exponent Q",
	0x420062: "Prime Field Size",
	0x420063: "Private Exponent",
	0x42006C: "Public Exponent",
	0x420071: "Q",
}

// bigIntPositions maps a Key Format Type to the positions of the Key
// Material children that ovh reads as non-pointer big.Int fields
// (TransparentRSAPublicKey: Modulus, PublicExponent;
// TransparentRSAPrivateKey: Modulus; TransparentEC(DSA)PrivateKey: D after
// RecommendedCurve).
var bigIntPositions = map[uint32][]int{
	0x0A: {0},    // Transparent RSA Private Key
	0x0B: {0, 1}, // Transparent RSA Public Key
	0x0E: {1},    // Transparent ECDSA Private Key
	0x14: {1},    // Transparent EC Private Key
}

type role uint8

const (
	roleOther role = iota
	roleKeyBlock
	roleKeyValue
	roleKeyMaterial
)

// frame is an open structure as seen by the field checker.
type frame struct {
	depth    int
	offset   int
	tag      uint32
	role     role
	format   uint32 // Key Format Type of the enclosing Key Block, 0 if none
	children int
}

// fieldChecker applies the field rules while Walk streams the items. It
// infers where structures end from the depth of the next item, and from
// finish at the end of the message.
type fieldChecker struct {
	open []frame
}

func newFieldChecker() *fieldChecker { return &fieldChecker{open: make([]frame, 0, 8)} }

func (fc *fieldChecker) visit(it Item) error {
	for len(fc.open) > 0 && fc.open[len(fc.open)-1].depth >= it.Depth {
		if err := fc.close(); err != nil {
			return err
		}
	}
	var parent *frame
	idx := 0
	if len(fc.open) > 0 {
		parent = &fc.open[len(fc.open)-1]
		idx = parent.children
		parent.children++
	}
	if name, ok := bigIntTags[it.Tag]; ok && it.Type != TypeBigInteger {
		return itemErr(it, ErrBadField, "%s must be a BigInteger", name)
	}
	if parent != nil {
		switch parent.role {
		case roleKeyBlock:
			if idx == 0 {
				if it.Tag != tagKeyFormatType || it.Type != TypeEnumeration {
					return itemErr(it, ErrBadField, "first child of a Key Block must be its Key Format Type")
				}
				parent.format = binary.BigEndian.Uint32(it.Value)
			}
		case roleKeyMaterial:
			for _, p := range bigIntPositions[parent.format] {
				if p == idx && it.Type != TypeBigInteger {
					return itemErr(it, ErrBadField, "child %d of a transparent key's Key Material must be a BigInteger", idx)
				}
			}
		}
	}
	if it.Type == TypeStructure {
		f := frame{depth: it.Depth, offset: it.Offset, tag: it.Tag}
		switch {
		case it.Tag == tagKeyBlock:
			f.role = roleKeyBlock
		case it.Tag == tagKeyValue && parent != nil && parent.role == roleKeyBlock:
			f.role, f.format = roleKeyValue, parent.format
		case it.Tag == tagKeyMaterial && parent != nil && parent.role == roleKeyValue:
			f.role, f.format = roleKeyMaterial, parent.format
		}
		fc.open = append(fc.open, f)
	}
	return nil
}

// close ends the innermost open structure and checks what can only be
// checked once all its children are known.
func (fc *fieldChecker) close() error {
	f := fc.open[len(fc.open)-1]
	fc.open = fc.open[:len(fc.open)-1]
	switch f.role {
	case roleKeyBlock:
		if f.children == 0 {
			return fc.errAt(f, "a Key Block must start with its Key Format Type")
		}
	case roleKeyMaterial:
		need := 0
		for _, p := range bigIntPositions[f.format] {
			need = max(need, p+1)
		}
		if f.children < need {
			return fc.errAt(f, fmt.Sprintf("transparent key's Key Material has %d children, needs at least %d", f.children, need))
		}
	}
	return nil
}

// finish closes the structures still open at the end of the message.
func (fc *fieldChecker) finish() error {
	for len(fc.open) > 0 {
		if err := fc.close(); err != nil {
			return err
		}
	}
	return nil
}

func (fc *fieldChecker) errAt(f frame, detail string) error {
	return &ItemError{Offset: f.offset, Tag: f.tag, Type: TypeStructure, Detail: detail, Err: ErrBadField}
}
