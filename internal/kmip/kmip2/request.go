package kmip2

import (
	"errors"
	"fmt"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Translation is what answering a translated request needs to know: the
// version the client spoke and, per batch item, what its answer's
// translation depends on.
type Translation struct {
	// Version is the 2.x version of the request, used for the answer.
	Version kmip.ProtocolVersion
	items   []itemState
}

// itemState is the per-item part of a Translation.
type itemState struct {
	op kmip.Operation
	// named: a Get Attributes request listed attribute references; tags
	// and vendor are the referenced 2.x tags and vendor attribute names.
	named  bool
	tags   map[int]bool
	vendor map[kmip.AttributeName]bool
	// current is the 1.x form of a Modify or Delete Attribute's Current
	// Attribute, whose instance index the server resolves.
	current *ttlv.Value
	// failed is why the item could not be translated; the 1.4 message
	// carries it as a placeholder (see placeholder).
	failed error
	// ephemeral: the item's Data output stays in the server; dataFrom:
	// the operation whose earlier output is the item's Data (chain.go).
	ephemeral bool
	dataFrom  kmip.Operation
}

// Failed returns the operation of the i-th batch item and why it could not
// be translated, or nil when it was. The 1.4 message carries such an item
// as a placeholder, an empty Query, which the server must answer with the
// failure instead of running it.
func (t *Translation) Failed(i int) (kmip.Operation, error) {
	if t == nil || i < 0 || i >= len(t.items) {
		return 0, nil
	}
	return t.items[i].op, t.items[i].failed
}

// placeholder turns a batch item that could not be translated into an
// empty Query (harmless if ever run) that ovh's codec decodes, keeping
// the item's other fields (Unique Batch Item ID, extensions).
func placeholder(item ttlv.Struct) {
	for i := range item {
		switch item[i].Tag {
		case kmip.TagOperation:
			item[i].Value = ttlv.Enum(kmip.OperationQuery)
		case kmip.TagRequestPayload:
			item[i].Value = ttlv.Struct{}
		}
	}
}

// Current returns the Current Attribute of the i-th batch item of a Modify
// or Delete Attribute, as a 1.x attribute name and value.
func (t *Translation) Current(i int) (name kmip.AttributeName, value ttlv.Value, ok bool) {
	if t == nil || i < 0 || i >= len(t.items) || t.items[i].current == nil {
		return "", ttlv.Value{}, false
	}
	s := structOf(t.items[i].current)
	v := child(s, kmip.TagAttributeValue)
	if v == nil {
		return "", ttlv.Value{}, false
	}
	return kmip.AttributeName(text(s, kmip.TagAttributeName)), *v, true
}

// Request rewrites a 2.x TTLV request message as the 1.4 message that
// means the same, for ovh's codec. The Translation answers it (Response).
// It fails only when the message itself cannot be read; a batch item that
// cannot be translated is recorded in the Translation (Failed).
func Request(msg []byte) ([]byte, *Translation, error) {
	var m ttlv.Value
	if err := ttlv.UnmarshalTTLV(msg, &m); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	root := structOf(&m)
	header := structOf(child(root, kmip.TagRequestHeader))
	if m.Tag != kmip.TagRequestMessage || header == nil {
		return nil, nil, fmt.Errorf("%w: not a request message", ErrMalformed)
	}
	pv := structOf(child(header, kmip.TagProtocolVersion))
	t := &Translation{}
	if maj := child(pv, kmip.TagProtocolVersionMajor); maj != nil {
		t.Version.ProtocolVersionMajor, _ = maj.Value.(int32)
	}
	if mnr := child(pv, kmip.TagProtocolVersionMinor); mnr != nil {
		t.Version.ProtocolVersionMinor, _ = mnr.Value.(int32)
	}
	if err := setVersion(header, v14); err != nil {
		return nil, nil, err
	}
	for i := range root {
		if root[i].Tag != kmip.TagBatchItem {
			continue
		}
		item := structOf(&root[i])
		st := itemState{}
		if op := child(item, kmip.TagOperation); op != nil {
			e, _ := op.Value.(ttlv.Enum)
			st.op = kmip.Operation(e)
		}
		item, eph, err := ephemeral(item)
		root[i].Value, st.ephemeral = item, eph
		if p := child(item, kmip.TagRequestPayload); p != nil && err == nil {
			var s ttlv.Struct
			s, err = dataReference(structOf(p), &st)
			if err == nil {
				s, err = requestPayload(s, &st)
			}
			if err == nil {
				p.Value = s
			}
		}
		if err != nil {
			// This item fails alone; the others are translated.
			st.failed = err
			placeholder(item)
		}
		t.items = append(t.items, st)
	}
	return ttlv.MarshalTTLV(m), t, nil
}

// requestPayload rewrites one request payload by its operation.
func requestPayload(p ttlv.Struct, st *itemState) (ttlv.Struct, error) {
	switch st.op {
	case kmip.OperationRegister:
		p, err := certificateType(p)
		if err != nil {
			return nil, err
		}
		return templates(p, map[int]int{TagAttributes: kmip.TagTemplateAttribute}, TagProtectionStorageMasks)
	case kmip.OperationCreate, kmip.OperationReKey, kmip.OperationDeriveKey,
		kmip.OperationCreateSplitKey, kmip.OperationJoinSplitKey:
		return templates(p, map[int]int{TagAttributes: kmip.TagTemplateAttribute}, TagProtectionStorageMasks)
	case kmip.OperationCreateKeyPair, kmip.OperationReKeyKeyPair:
		return templates(p, map[int]int{
			TagCommonAttributes:     kmip.TagCommonTemplateAttribute,
			TagPrivateKeyAttributes: kmip.TagPrivateKeyTemplateAttribute,
			TagPublicKeyAttributes:  kmip.TagPublicKeyTemplateAttribute,
		}, TagCommonProtectionStorageMasks, TagPrivateProtectionStorageMasks, TagPublicProtectionStorageMasks)
	case kmip.OperationCertify, kmip.OperationReCertify:
		return certifyRequest(p)
	case kmip.OperationLocate:
		out := make(ttlv.Struct, 0, len(p))
		for _, v := range p {
			if v.Tag != TagAttributes {
				out = append(out, v)
				continue
			}
			attrs, err := attrsTo1(structOf(&v))
			if err != nil {
				return nil, err
			}
			out = append(out, attrs...)
		}
		return out, nil
	case kmip.OperationGetAttributes:
		return getAttributesRequest(p, st)
	case kmip.OperationAddAttribute, OperationSetAttribute:
		return newAttribute(p, nil)
	case kmip.OperationModifyAttribute:
		return newAttribute(p, st)
	case kmip.OperationDeleteAttribute:
		return deleteAttribute(p, st)
	case OperationAdjustAttribute:
		return adjustAttribute(p)
	}
	return p, nil
}

// templates replaces 2.x Attributes structures by 1.x Template-Attributes
// (rename maps the tags) and checks the Protection Storage Masks: keywarden
// keeps every key in software, so a mask must allow Software.
func templates(p ttlv.Struct, rename map[int]int, masks ...int) (ttlv.Struct, error) {
	out := make(ttlv.Struct, 0, len(p))
	for _, v := range p {
		if to, ok := rename[v.Tag]; ok {
			attrs, err := attrsTo1(structOf(&v))
			if err != nil {
				return nil, err
			}
			out = append(out, ttlv.Value{Tag: to, Value: ttlv.Struct(attrs)})
			continue
		}
		isMask := false
		for _, m := range masks {
			isMask = isMask || v.Tag == m
		}
		if !isMask {
			out = append(out, v)
			continue
		}
		if !allowsSoftware(structOf(&v)) {
			return nil, fmt.Errorf("%w: protection storage masks exclude software storage", ErrNotSupported)
		}
	}
	return out, nil
}

// certificateType drops the Certificate Type attribute of a Register when
// it repeats the registered certificate's type: a 2.x client may state it,
// a 1.x server derives it from the object.
func certificateType(p ttlv.Struct) (ttlv.Struct, error) {
	cert := child(structOf(child(p, kmip.TagCertificate)), kmip.TagCertificateType)
	attrs := child(p, TagAttributes)
	if cert == nil || attrs == nil {
		return p, nil
	}
	var kept ttlv.Struct
	for _, a := range structOf(attrs) {
		if a.Tag != kmip.TagCertificateType {
			kept = append(kept, a)
			continue
		}
		if a.Value != cert.Value {
			return nil, fmt.Errorf("%w: certificate type attribute differs from the certificate", ErrMalformed)
		}
	}
	attrs.Value = kept
	return p, nil
}

// allowsSoftware reports whether any Protection Storage Mask allows
// software storage.
func allowsSoftware(masks ttlv.Struct) bool {
	for _, m := range masks {
		if v, ok := m.Value.(int32); ok && v&ProtectionStorageMaskSoftware != 0 {
			return true
		}
	}
	return false
}

// getAttributesRequest replaces Attribute References by Attribute Names.
// References to attributes only 2.x defines are answered by the response
// translation; when nothing else is asked, the 1.x request names the
// Unique Identifier, which the answer's filter drops.
func getAttributesRequest(p ttlv.Struct, st *itemState) (ttlv.Struct, error) {
	out := make(ttlv.Struct, 0, len(p))
	st.tags, st.vendor = map[int]bool{}, map[kmip.AttributeName]bool{}
	names := 0
	for _, v := range p {
		if v.Tag != TagAttributeReference {
			out = append(out, v)
			continue
		}
		st.named = true
		name, tag, err := refTo1(v)
		switch {
		case errors.Is(err, ErrUnsupportedAttribute):
			// An attribute this server never keeps: none to return.
			name = ""
		case err != nil:
			return nil, err
		}
		if tag != 0 {
			st.tags[tag] = true
		} else {
			st.vendor[name] = true
		}
		if name != "" {
			out = append(out, ttlv.Value{Tag: kmip.TagAttributeName, Value: string(name)})
			names++
		}
	}
	if st.named && names == 0 {
		out = append(out, ttlv.Value{Tag: kmip.TagAttributeName, Value: string(kmip.AttributeNameUniqueIdentifier)})
	}
	return out, nil
}

// newAttribute turns the New Attribute of Add, Set or Modify Attribute
// into a 1.x Attribute. A Current Attribute, which 2.x uses to pick one
// instance of a multi-valued attribute, is kept in st (Modify only) for
// the server to resolve to a 1.x Attribute Index.
func newAttribute(p ttlv.Struct, st *itemState) (ttlv.Struct, error) {
	out := make(ttlv.Struct, 0, len(p))
	for _, v := range p {
		switch v.Tag {
		case TagCurrentAttribute:
			if st == nil {
				return nil, fmt.Errorf("%w: current attribute outside modify attribute", ErrMalformed)
			}
			a, err := oneAttr(v)
			if err != nil {
				return nil, err
			}
			st.current = &a
		case TagNewAttribute:
			a, err := oneAttr(v)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		default:
			out = append(out, v)
		}
	}
	if st != nil && st.current != nil {
		cur := text(structOf(st.current), kmip.TagAttributeName)
		if a := child(out, kmip.TagAttribute); a == nil || text(structOf(a), kmip.TagAttributeName) != cur {
			return nil, fmt.Errorf("%w: current and new attribute differ", ErrMalformed)
		}
	}
	return out, nil
}

// oneAttr converts the single attribute a New or Current Attribute holds.
func oneAttr(v ttlv.Value) (ttlv.Value, error) {
	s := structOf(&v)
	if len(s) != 1 {
		return ttlv.Value{}, fmt.Errorf("%w: %s holds %d items", ErrMalformed, ttlv.TagString(v.Tag), len(s))
	}
	return attrTo1(s[0])
}

// deleteAttribute turns an Attribute Reference into an Attribute Name, and
// a Current Attribute into its name (kept in st for the server to resolve
// to an Attribute Index).
func deleteAttribute(p ttlv.Struct, st *itemState) (ttlv.Struct, error) {
	out := make(ttlv.Struct, 0, len(p))
	for _, v := range p {
		switch v.Tag {
		case TagCurrentAttribute:
			a, err := oneAttr(v)
			if err != nil {
				return nil, err
			}
			st.current = &a
			out = append(out, ttlv.Value{Tag: kmip.TagAttributeName, Value: text(structOf(&a), kmip.TagAttributeName)})
		case TagAttributeReference:
			name, tag, err := refTo1(v)
			if err != nil {
				return nil, err
			}
			if name == "" {
				return nil, fmt.Errorf("%w: %s", ErrReadOnly, ttlv.TagString(tag))
			}
			out = append(out, ttlv.Value{Tag: kmip.TagAttributeName, Value: string(name)})
		default:
			out = append(out, v)
		}
	}
	return out, nil
}

// adjustAttribute turns the Attribute Reference of Adjust Attribute into an
// Attribute Name. An attribute the server derives cannot be adjusted.
func adjustAttribute(p ttlv.Struct) (ttlv.Struct, error) {
	out := make(ttlv.Struct, 0, len(p))
	refs := 0
	for _, v := range p {
		if v.Tag != TagAttributeReference {
			out = append(out, v)
			continue
		}
		refs++
		name, tag, err := refTo1(v)
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, fmt.Errorf("%w: %s", ErrReadOnly, ttlv.TagString(tag))
		}
		out = append(out, ttlv.Value{Tag: kmip.TagAttributeName, Value: string(name)})
	}
	if refs != 1 {
		return nil, fmt.Errorf("%w: adjust attribute names %d attributes", ErrMalformed, refs)
	}
	return out, nil
}
