package conformance

import (
	"bytes"
	"crypto"
	"fmt"
	"maps"
	"math/big"
	"strings"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Mismatch is one difference between an expected and an actual response.
type Mismatch struct {
	// Path locates the item, e.g. "BatchItem[1]/ResponsePayload/Attribute[3]/AttributeValue".
	Path     string
	Expected string
	Actual   string
	// Note explains the rule that failed ("missing", "unexpected item", ...).
	Note string
	// NotOffered marks a Query entry keywarden deliberately does not offer
	// (notoffered.go): the file fails, but it is not work left undone.
	NotOffered bool
}

// String formats the mismatch on one line.
func (m Mismatch) String() string {
	s := fmt.Sprintf("%s: expected %s, got %s", m.Path, m.Expected, m.Actual)
	if m.Note != "" {
		s += " (" + m.Note + ")"
	}
	return s
}

// scope carries what a comparison needs to know about where it is.
type scope struct {
	op         uint32 // operation of the batch item
	reqPayload *Node  // request payload of the batch item
	// genObject: the payload is about an object the server generated.
	genObject bool
	// publicKey: the request names a public key.
	publicKey bool
	// generated: byte values here derive from server-generated material.
	generated bool
	// attrTag is the tag named by the enclosing 1.x Attribute Name.
	attrTag  int
	attrName string
	// attrSet: the node is a 2.x Attributes structure matched as a set.
	attrSet *payloadRule
	// issued: the payload is about a certificate the server issued, which
	// must certify this key; certDerived: values here derive from it
	// (certify.go).
	issued      crypto.PublicKey
	certDerived bool
}

// comparer compares one expected response with an actual one.
type comparer struct {
	bound map[string]*Node
	// sentDates maps the vector's literal request dates to those sent.
	sentDates map[int64]time.Time
	// sentRNG holds the Random Number Generator values clients set.
	sentRNG []*Node
	mm      []Mismatch
}

func (c *comparer) add(path string, exp, act *Node, enumTag int, note string) {
	c.mm = append(c.mm, Mismatch{
		Path: path, Expected: describe(exp, enumTag), Actual: describe(act, enumTag), Note: note,
	})
}

// trial returns a comparer that works on a copy of the bindings.
func (c *comparer) trial() *comparer {
	return &comparer{bound: maps.Clone(c.bound), sentDates: c.sentDates, sentRNG: c.sentRNG}
}

func join(path, seg string) string {
	if path == "" {
		return seg
	}
	return path + "/" + seg
}

// segment names the idx-th item with n's tag among siblings.
func segment(n *Node, idx, count int) string {
	if count > 1 {
		return fmt.Sprintf("%s[%d]", n.Name(), idx)
	}
	return n.Name()
}

// compareNode compares two items with the same tag.
func (c *comparer) compareNode(path string, exp, act *Node, sc scope) {
	eff := exp.Tag
	if exp.Tag == kmip.TagAttributeValue && sc.attrTag != 0 {
		eff = sc.attrTag
	}
	if exp.Type != act.Type {
		c.add(path, exp, act, eff, fmt.Sprintf("type %s, want %s", act.Type, exp.Type))
		return
	}
	if exp.Type == ttlv.TypeStructure && !exp.isVar() {
		c.compareStruct(path, exp, act, sc)
		return
	}
	if exp.isVar() && opensStream(exp, sc) {
		c.bound[exp.Var] = act.Clone() // stream_var.go
		return
	}
	if exp.isVar() {
		c.compareVar(path, exp, act, eff)
		return
	}
	if sc.issued != nil && exp.Tag == kmip.TagCertificateValue {
		c.checkIssued(path, exp, act, sc.issued)
		return
	}
	want, check := c.expected(exp, eff, sc)
	if check && !equalValues(want.Value, act.Value) {
		note := ""
		if sc.attrName != "" {
			note = fmt.Sprintf("attribute %q", sc.attrName)
		}
		c.add(path, want, act, eff, note)
	}
}

// compareVar binds a variable on first sight, and checks later uses.
func (c *comparer) compareVar(path string, exp, act *Node, eff int) {
	if exp.Var == varNow {
		return
	}
	if exp.Tag == kmip.TagAsynchronousCorrelationValue && !strings.Contains(path, "ResponsePayload") {
		// Every Operation Pending answer carries a new correlation value
		// (in the batch item, not a payload), which the vectors name
		// alike: it binds afresh.
		c.bound[exp.Var] = act.Clone()
		return
	}
	if b, ok := c.bound[exp.Var]; ok {
		if !equalValues(b.Value, act.Value) {
			c.add(path, exp, act, eff, fmt.Sprintf("$%s is bound to %s", exp.Var, describe(b, eff)))
		}
		return
	}
	if isUIDVar(exp.Var) {
		for name, b := range c.bound {
			if isUIDVar(name) && b.Type == act.Type && equalValues(b.Value, act.Value) {
				c.add(path, exp, act, eff, fmt.Sprintf("new object got the identifier of $%s", name))
				return
			}
		}
	}
	c.bound[exp.Var] = act.Clone()
}

// expected returns the value a literal expected item stands for, and false
// when the server chooses it. A date is checked only when a request set it
// (the vector's date, as sent): other dates are the server's.
func (c *comparer) expected(exp *Node, eff int, sc scope) (*Node, bool) {
	if sc.certDerived {
		return nil, false
	}
	switch exp.Type {
	case ttlv.TypeDateTime:
		t, _ := exp.Value.(time.Time)
		sent, ok := c.sentDates[t.Unix()]
		if serverDateTags[eff] || !ok {
			return nil, false
		}
		return &Node{Tag: exp.Tag, Type: exp.Type, Value: sent}, true
	case ttlv.TypeInterval:
		return exp, !serverIntervalTags[eff]
	case ttlv.TypeByteString, ttlv.TypeBigInteger:
		return exp, !sc.generated
	}
	return exp, true
}

// clientSetRNG reports whether a request set the Random Number Generator
// value exp; otherwise the server describes its own generator.
func (c *comparer) clientSetRNG(exp *Node) bool {
	for _, s := range c.sentRNG {
		if len(s.Children) != len(exp.Children) {
			continue
		}
		same := true
		for i := range s.Children {
			same = same && sameTree(s.Children[i], exp.Children[i])
		}
		if same {
			return true
		}
	}
	return false
}

func equalValues(a, b any) bool {
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case *big.Int:
		y, ok := b.(*big.Int)
		if !ok || x == nil || y == nil {
			return ok && (x == nil || x.Sign() == 0) && (y == nil || y.Sign() == 0)
		}
		return x.Cmp(y) == 0
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Unix() == y.Unix()
	default:
		return a == b
	}
}

// compareStruct compares two structures, applying the rule of the place.
func (c *comparer) compareStruct(path string, exp, act *Node, sc scope) {
	switch {
	case exp.Tag == kmip.TagResponsePayload:
		c.comparePayload(path, exp, act, sc)
		return
	case sc.attrSet != nil && exp.Tag == tagAttributes:
		rule := *sc.attrSet
		sc.attrSet = nil
		c.compareChildren(path, exp.Children, act.Children, rule, sc)
		return
	case (exp.Tag == kmip.TagRandomNumberGenerator ||
		exp.Tag == kmip.TagAttributeValue && sc.attrTag == kmip.TagRandomNumberGenerator) &&
		!c.clientSetRNG(exp):
		// The server's own generator: only the presence matters.
		return
	case exp.Tag == kmip.TagAttribute:
		if n := exp.Child(kmip.TagAttributeName); n != nil {
			sc.attrName, _ = n.Value.(string)
			sc.attrTag = attributeTag(sc.attrName)
		}
		if sc.genObject && sc.attrTag == kmip.TagDigest {
			sc.generated = true
		}
		if sc.issued != nil {
			// The instances' indices on a server-issued certificate are the
			// server's order (the recordings of TC-134 differ): certify.go.
			sc.certDerived = certDerivedTags[sc.attrTag]
			c.compareOrdered(path, withoutTag(exp.Children, kmip.TagAttributeIndex), withoutTag(act.Children, kmip.TagAttributeIndex), sc)
			return
		}
	case objectTags[exp.Tag] || exp.Tag == kmip.TagDigest:
		if sc.genObject {
			sc.generated = true
		}
	}
	c.compareOrdered(path, exp.Children, act.Children, sc)
}

// comparePayload compares a response payload by the rule of its operation.
func (c *comparer) comparePayload(path string, exp, act *Node, sc scope) {
	rule := payloadRuleFor(sc.op, sc.reqPayload)
	switch {
	case sc.op == uint32(kmip.OperationRNGRetrieve):
		sc.generated = true
	case keyedOutputOps[sc.op] && sc.genObject:
		sc.generated = true
	case sc.op == uint32(kmip.OperationEncrypt) && sc.publicKey:
		// RSA encryption pads with random bytes: the output is unpredictable.
		sc.generated = true
	case sc.op == uint32(kmip.OperationEncrypt) && exp.Child(kmip.TagIVCounterNonce) != nil:
		// The server chose the IV: the output is unpredictable.
		sc.generated = true
	}
	if sc.op == uint32(kmip.OperationGetAttributes) {
		// KMIP 2.x: the attributes are items of one Attributes structure.
		sc.attrSet = &payloadRule{all: true, extra: rule.extra, byTag: true}
	}
	c.compareChildren(path, exp.Children, act.Children, rule, sc)
}

// compareChildren compares two item lists: items whose tag the rule lists
// are matched as a set, the others in order.
func (c *comparer) compareChildren(path string, exp, act []*Node, rule payloadRule, sc scope) {
	inSet := func(n *Node) bool { return rule.all || rule.set[n.Tag] }
	keep := func(n *Node) bool { return !rule.skip[n.Tag] }
	var eOrd, aOrd, eSet, aSet []*Node
	for _, n := range exp {
		switch {
		case !keep(n):
		case inSet(n):
			eSet = append(eSet, n)
		default:
			eOrd = append(eOrd, n)
		}
	}
	for _, n := range act {
		switch {
		case !keep(n):
		case inSet(n):
			aSet = append(aSet, n)
		default:
			aOrd = append(aOrd, n)
		}
	}
	c.compareOrdered(path, eOrd, aOrd, sc)
	c.compareSet(path, eSet, aSet, rule, sc)
}

// compareOrdered compares two item lists in order.
func (c *comparer) compareOrdered(path string, exp, act []*Node, sc scope) {
	eCount, aCount := tagCounts(exp), tagCounts(act)
	eSeen, aSeen := map[int]int{}, map[int]int{}
	seg := func(n *Node, seen, count map[int]int) string {
		idx := seen[n.Tag]
		seen[n.Tag]++
		return segment(n, idx, max(count[n.Tag], eCount[n.Tag], aCount[n.Tag]))
	}
	i, j := 0, 0
	for i < len(exp) || j < len(act) {
		switch {
		case i < len(exp) && j < len(act) && exp[i].Tag == act[j].Tag:
			p := join(path, seg(exp[i], eSeen, eCount))
			aSeen[act[j].Tag]++
			c.compareNode(p, exp[i], act[j], sc)
			i++
			j++
		case j < len(act) && (i >= len(exp) || indexTag(exp[i:], act[j].Tag) < 0):
			c.add(join(path, seg(act[j], aSeen, aCount)), nil, act[j], act[j].Tag, "unexpected item")
			j++
		default:
			c.add(join(path, seg(exp[i], eSeen, eCount)), exp[i], nil, exp[i].Tag, "missing")
			i++
		}
	}
}

// compareSet matches expected items with actual items in any order. Items
// without unbound variables are matched first, so that a fresh variable
// binds to an item no known value claims.
func (c *comparer) compareSet(path string, exp, act []*Node, rule payloadRule, sc scope) {
	if len(exp) == 0 && len(act) == 0 {
		return
	}
	eCount, aCount := tagCounts(exp), tagCounts(act)
	type item struct {
		n   *Node
		seg string
	}
	var first, later []item
	seen := map[int]int{}
	for _, n := range exp {
		it := item{n, segment(n, seen[n.Tag], max(eCount[n.Tag], aCount[n.Tag]))}
		seen[n.Tag]++
		if c.hasUnbound(n) {
			later = append(later, it)
		} else {
			first = append(first, it)
		}
	}
	used := make([]bool, len(act))
	for _, it := range append(first, later...) {
		p := join(path, it.seg)
		matched := false
		for k, a := range act {
			if used[k] || a.Tag != it.n.Tag {
				continue
			}
			t := c.trial()
			t.compareNode(p, it.n, a, sc)
			if len(t.mm) == 0 {
				c.bound, used[k], matched = t.bound, true, true
				break
			}
		}
		if matched {
			continue
		}
		// Report against the item of the same attribute, if any, or the
		// one structure with its tag on both sides (Capability Information).
		k := partner(it.n, act, used, rule.byTag)
		if k < 0 && it.n.Type == ttlv.TypeStructure && eCount[it.n.Tag] == 1 && aCount[it.n.Tag] == 1 {
			k = partner(it.n, act, used, true)
		}
		if k < 0 && rule.notOffered && notOffered(it.n) {
			c.addNotOffered(p, it.n)
			continue
		}
		if k < 0 {
			c.add(p, it.n, nil, it.n.Tag, "missing")
			continue
		}
		used[k] = true
		c.compareNode(p, it.n, act[k], sc)
	}
	if rule.extra {
		return
	}
	seen = map[int]int{}
	for k, a := range act {
		idx := seen[a.Tag]
		seen[a.Tag]++
		if !used[k] {
			c.add(join(path, segment(a, idx, aCount[a.Tag])), nil, a, a.Tag, "unexpected item")
		}
	}
}

// partner finds the unused actual item that plays the role of exp: the
// attribute with the same name, or (for a 2.x attribute set) the same tag.
func partner(exp *Node, act []*Node, used []bool, byTag bool) int {
	name := attrNameOf(exp)
	for k, a := range act {
		if used[k] || a.Tag != exp.Tag {
			continue
		}
		if exp.Tag == kmip.TagAttribute && attrNameOf(a) == name {
			return k
		}
		if byTag {
			return k
		}
	}
	return -1
}

func attrNameOf(n *Node) string {
	if v := n.Child(kmip.TagAttributeName); v != nil {
		s, _ := v.Value.(string)
		return s
	}
	return ""
}

// hasUnbound reports whether n holds a variable that is not bound yet.
func (c *comparer) hasUnbound(n *Node) bool {
	if n.isVar() {
		_, ok := c.bound[n.Var]
		return !ok && n.Var != varNow
	}
	for _, ch := range n.Children {
		if c.hasUnbound(ch) {
			return true
		}
	}
	return false
}

func tagCounts(list []*Node) map[int]int {
	m := map[int]int{}
	for _, n := range list {
		m[n.Tag]++
	}
	return m
}

func indexTag(list []*Node, tag int) int {
	for i, n := range list {
		if n.Tag == tag {
			return i
		}
	}
	return -1
}
