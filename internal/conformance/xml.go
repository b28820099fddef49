package conformance

import (
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Suite is one vector file: the exchanges to replay, in order.
type Suite struct {
	// Name is the file's base name, e.g. "SKLC-M-1-14.xml".
	Name string
	// Exchanges are the request/response pairs of the file.
	Exchanges []Exchange
	// PollTimeout and PollInterval bound the polling of a repeated request
	// (see RunWith); zero means DefaultPollTimeout and DefaultPollInterval.
	PollTimeout, PollInterval time.Duration
}

// Exchange is one request of a vector file and the response it expects.
type Exchange struct {
	Request  *Node
	Response *Node
}

// LoadFile parses a KMIP XML vector file.
func LoadFile(path string) (*Suite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("conformance: load %q: %w", path, err)
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("conformance: load %q: %w", path, err)
	}
	s.Name = filepath.Base(path)
	if err := applyErrata(s); err != nil {
		return nil, fmt.Errorf("conformance: load %q: %w", path, err)
	}
	return s, nil
}

// Parse parses the content of a KMIP XML vector file: a <KMIP> element with
// alternating <RequestMessage> and <ResponseMessage> elements.
func Parse(data []byte) (*Suite, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	root, err := nextStart(dec)
	if err != nil {
		return nil, fmt.Errorf("find root element: %w", err)
	}
	if root.Name.Local != "KMIP" {
		return nil, fmt.Errorf("root element is <%s>, want <KMIP>", root.Name.Local)
	}
	s := &Suite{}
	var pending *Node
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("read <KMIP>: %w", err)
		}
		if _, ok := tok.(xml.EndElement); ok {
			break
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		n, err := parseElement(dec, start, 0)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", len(s.Exchanges)+1, err)
		}
		switch {
		case n.Tag == kmip.TagRequestMessage && pending == nil:
			pending = n
		case n.Tag == kmip.TagResponseMessage && pending != nil:
			s.Exchanges = append(s.Exchanges, Exchange{Request: pending, Response: n})
			pending = nil
		default:
			return nil, fmt.Errorf("message %d: unexpected <%s>", len(s.Exchanges)+1, start.Name.Local)
		}
	}
	if pending != nil {
		return nil, errors.New("last request has no response")
	}
	if len(s.Exchanges) == 0 {
		return nil, errors.New("no request/response pair")
	}
	return s, nil
}

func nextStart(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		if s, ok := tok.(xml.StartElement); ok {
			return s, nil
		}
	}
}

// parseElement parses one element; attrTag is the tag named by the sibling
// Attribute Name when the element is an Attribute Value (0 otherwise), used to
// resolve enumeration and mask names.
func parseElement(dec *xml.Decoder, start xml.StartElement, attrTag int) (*Node, error) {
	tag, err := elementTag(start)
	if err != nil {
		return nil, err
	}
	ty := ttlv.TypeStructure
	var value string
	var hasValue bool
	for _, a := range start.Attr {
		switch a.Name.Local {
		case "type":
			t, ok := typeByName[a.Value]
			if !ok {
				return nil, fmt.Errorf("<%s>: unknown type %q", start.Name.Local, a.Value)
			}
			ty = t
		case "value":
			value, hasValue = a.Value, true
		}
	}
	n := &Node{Tag: tag, Type: ty}
	if ty == ttlv.TypeStructure {
		return n, parseChildren(dec, n)
	}
	if err := dec.Skip(); err != nil {
		return nil, fmt.Errorf("<%s>: %w", start.Name.Local, err)
	}
	if !hasValue && ty != ttlv.TypeTextString && ty != ttlv.TypeByteString {
		return nil, fmt.Errorf("<%s>: no value", start.Name.Local)
	}
	if name, off, ok := parseVar(value); ok {
		n.Var, n.Offset = name, off
		return n, nil
	}
	resolve := tag
	if tag == kmip.TagAttributeValue && attrTag != 0 {
		resolve = attrTag
	}
	if tag == kmip.TagAttributeName {
		// Some 1.x vectors carry runs of spaces inside attribute names
		// ("Cryptographic   Length"), which no KMIP name has.
		value = strings.Join(strings.Fields(value), " ")
	}
	n.Value, err = parseValue(ty, resolve, value)
	if err != nil {
		return nil, fmt.Errorf("<%s> %s %q: %w", start.Name.Local, ty, value, err)
	}
	return n, nil
}

func parseChildren(dec *xml.Decoder, n *Node) error {
	attrTag := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("<%s>: %w", n.Name(), err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			c, err := parseElement(dec, t, attrTag)
			if err != nil {
				return fmt.Errorf("%s/%w", n.Name(), err)
			}
			if c.Tag == kmip.TagAttributeName && !c.isVar() {
				if s, ok := c.Value.(string); ok {
					attrTag = attributeTag(s)
				}
			}
			n.Children = append(n.Children, c)
		}
	}
}

var typeByName = func() map[string]ttlv.Type {
	m := map[string]ttlv.Type{}
	for t := ttlv.TypeStructure; t <= ttlv.TypeInterval; t++ {
		m[t.String()] = t
	}
	return m
}()

func elementTag(start xml.StartElement) (int, error) {
	name := start.Name.Local
	if name == "TTLV" {
		for _, a := range start.Attr {
			if a.Name.Local == "tag" {
				return parseHexTag(a.Value)
			}
		}
		return 0, errors.New("<TTLV> without tag attribute")
	}
	if strings.HasPrefix(name, "0x") {
		return parseHexTag(name)
	}
	tag, ok := tagByName(name)
	if !ok {
		return 0, fmt.Errorf("unknown tag <%s>", name)
	}
	return tag, nil
}

func parseHexTag(s string) (int, error) {
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 24)
	if err != nil {
		return 0, fmt.Errorf("bad tag %q: %w", s, err)
	}
	return int(v), nil
}

var (
	tagCache    sync.Map
	xmlNameRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	varRe       = regexp.MustCompile(`^\$([A-Za-z0-9_]+?)([+-][0-9]+)?$`)
	attrNameRep = strings.NewReplacer(" ", "", ".", "_", "#", "_", "-", "")
)

// tagByName resolves a KMIP tag name ("ObjectType") with ovh's registry.
func tagByName(name string) (int, bool) {
	if v, ok := tagCache.Load(name); ok {
		t, _ := v.(int)
		return t, t != 0
	}
	tag := 0
	if xmlNameRe.MatchString(name) {
		// ovh exposes name lookup only through its XML reader.
		if d, err := ttlv.NewXMLDecoder([]byte("<" + name + "/>")); err == nil {
			tag = d.Tag()
		}
	}
	if tag == 0 {
		tag = kmip2Tags[name]
	}
	tagCache.Store(name, tag)
	return tag, tag != 0
}

// attributeTag maps a KMIP 1.x attribute name ("Cryptographic Usage Mask")
// to its tag; 0 for custom or unknown attributes.
func attributeTag(name string) int {
	if strings.HasPrefix(name, "x-") || strings.HasPrefix(name, "y-") {
		return 0
	}
	tag, _ := tagByName(attrNameRep.Replace(name))
	return tag
}

// parseVar recognises "$NAME" and "$NAME±seconds".
func parseVar(s string) (string, time.Duration, bool) {
	m := varRe.FindStringSubmatch(s)
	if m == nil {
		return "", 0, false
	}
	var off time.Duration
	if m[2] != "" {
		secs, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			return "", 0, false
		}
		off = time.Duration(secs) * time.Second
	}
	return m[1], off, true
}

func parseValue(ty ttlv.Type, tag int, s string) (any, error) {
	switch ty {
	case ttlv.TypeInteger:
		return parseInteger(tag, s)
	case ttlv.TypeLongInteger:
		return parseSigned(s, 64)
	case ttlv.TypeBigInteger:
		b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
		if err != nil {
			return nil, err
		}
		return bigFromTwos(b), nil
	case ttlv.TypeEnumeration:
		return parseEnum(tag, s)
	case ttlv.TypeBoolean:
		switch strings.ToLower(s) {
		case "true", "0x0000000000000001", "1":
			return true, nil
		case "false", "0x0000000000000000", "0":
			return false, nil
		}
		return nil, errors.New("not a boolean")
	case ttlv.TypeTextString:
		return s, nil
	case ttlv.TypeByteString:
		return hex.DecodeString(s)
	case ttlv.TypeDateTime:
		if strings.HasPrefix(s, "0x") {
			secs, err := parseSigned(s, 64)
			if err != nil {
				return nil, err
			}
			return time.Unix(secs.(int64), 0).UTC(), nil
		}
		return time.Parse(time.RFC3339, s)
	case ttlv.TypeInterval:
		v, err := parseUnsigned(s, 32)
		if err != nil {
			return nil, err
		}
		return time.Duration(v) * time.Second, nil
	}
	return nil, fmt.Errorf("unsupported type %s", ty)
}

func parseSigned(s string, bits int) (any, error) {
	if strings.HasPrefix(s, "0x") {
		u, err := strconv.ParseUint(s[2:], 16, bits)
		if bits == 32 {
			return int32(uint32(u)), err
		}
		return int64(u), err
	}
	v, err := strconv.ParseInt(s, 10, bits)
	if bits == 32 {
		return int32(v), err
	}
	return v, err
}

func parseUnsigned(s string, bits int) (uint64, error) {
	if strings.HasPrefix(s, "0x") {
		return strconv.ParseUint(s[2:], 16, bits)
	}
	return strconv.ParseUint(s, 10, bits)
}

// parseInteger parses a number, or a mask written as names and hex values
// separated by spaces or "|" ("Decrypt Encrypt").
func parseInteger(tag int, s string) (any, error) {
	if v, err := parseSigned(s, 32); err == nil {
		return v, nil
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '|' || r == '\t' })
	if len(parts) == 0 {
		return nil, errors.New("empty integer")
	}
	var mask int32
	for _, p := range parts {
		if strings.HasPrefix(p, "0x") {
			v, err := parseSigned(p, 32)
			if err != nil {
				return nil, err
			}
			mask |= v.(int32)
			continue
		}
		bit, ok := lookupMaskBit(tag, p)
		if !ok {
			return nil, fmt.Errorf("unknown bit %q of %s", p, tagName(tag))
		}
		mask |= bit
	}
	return mask, nil
}

func parseEnum(tag int, s string) (any, error) {
	if u, err := parseUnsigned(s, 32); err == nil {
		return uint32(u), nil
	}
	if tag == tagAttributeReference || tag == kmip2Tags["Tag"] {
		// KMIP 2 Attribute Reference names a tag.
		if t, ok := tagByName(s); ok {
			return uint32(t), nil
		}
	}
	if v, ok := lookupEnum(tag, s); ok {
		return v, nil
	}
	return nil, fmt.Errorf("unknown %s value", tagName(tag))
}

// bigFromTwos decodes a big-endian two's complement integer.
func bigFromTwos(b []byte) *big.Int {
	v := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return v
}
