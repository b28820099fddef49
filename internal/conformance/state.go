package conformance

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// Provenance remembers which objects a server generated (Create, Create Key
// Pair, Re-key, ...), by identifier, across the suites run against it: their
// material is the server's choice, while registered material must
// round-trip exactly. It is safe for concurrent use.
type Provenance struct {
	mu        sync.Mutex
	generated map[string]bool
	// public holds the public keys: encrypting with one (RSA OAEP or
	// PKCS#1 v1.5) is randomized, so its output is never reproducible.
	public map[string]bool
	// seen holds every identifier a response returned (fresh.go).
	seen map[string]bool
	// issued: the keys certificates from Certify must certify (certify.go).
	issued issuedKeys
	// splitOfGenerated holds the split key parts of a generated secret
	// (splitkey.go).
	splitOfGenerated map[string]bool
}

// NewProvenance returns an empty Provenance.
func NewProvenance() *Provenance {
	return &Provenance{generated: map[string]bool{}, public: map[string]bool{}}
}

func (p *Provenance) addPublic(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.public[id] = true
}

func (p *Provenance) isPublic(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.public[id]
}

func (p *Provenance) add(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.generated[id] = true
}

func (p *Provenance) has(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.generated[id]
}

// runState is what a run learns as it goes.
type runState struct {
	// bound maps variable names to the values the server returned.
	bound map[string]*Node
	prov  *Provenance
	// shift moves the vector's literal request dates to the present.
	shift time.Duration
	// sentDates maps a literal request date of the vector (Unix seconds)
	// to the date actually sent.
	sentDates map[int64]time.Time
	// sentRNG holds the Random Number Generator values clients set.
	sentRNG []*Node
	// lastByTag holds, per tag, the last leaf seen in a response payload.
	lastByTag map[int]*Node
	now       func() time.Time
}

func newRunState(prov *Provenance, recordedAt time.Time) *runState {
	st := &runState{
		bound:     map[string]*Node{},
		prov:      prov,
		sentDates: map[int64]time.Time{},
		lastByTag: map[int]*Node{},
		now:       time.Now,
	}
	if !recordedAt.IsZero() {
		st.shift = st.now().Sub(recordedAt).Truncate(time.Second)
	}
	return st
}

// exchange sends one request and compares the response; it returns the
// bindings as they would be after the exchange, for the caller to keep.
func (st *runState) exchange(ctx context.Context, conn Conn, i int, ex Exchange) (ExchangeResult, map[string]*Node) {
	er := ExchangeResult{Index: i, Operations: operations(ex.Request)}
	req, err := st.substitute(ex.Request)
	if err != nil {
		er.Err = fmt.Errorf("request: %w", err)
		return er, nil
	}
	raw, err := Encode(req)
	if err != nil {
		er.Err = err
		return er, nil
	}
	respRaw, err := conn.RoundTrip(ctx, raw)
	if err != nil {
		er.Err = fmt.Errorf("round trip: %w", err)
		return er, nil
	}
	resp, err := Decode(respRaw)
	if err != nil {
		er.Err = err
		return er, nil
	}
	c := &comparer{bound: maps.Clone(st.bound), sentDates: st.sentDates, sentRNG: st.sentRNG}
	c.compareMessage(req, ex.Response, resp, st.prov)
	er.Mismatches = c.mm
	for _, bi := range resp.ChildrenWith(kmip.TagBatchItem) {
		st.recordLeaves(bi.Child(kmip.TagResponsePayload))
	}
	return er, c.bound
}

// substitute returns a copy of a request with its variables replaced: $NOW±n
// by the current time, the others by the values bound earlier; literal dates
// are moved by the shift. It records what the request sets.
func (st *runState) substitute(n *Node) (*Node, error) {
	out := n.Clone()
	var walk func(path string, m *Node) error
	walk = func(path string, m *Node) error {
		path = join(path, m.Name())
		switch {
		case m.isVar():
			if err := st.fill(m); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		case m.Type == ttlv.TypeDateTime:
			if t, ok := m.Value.(time.Time); ok {
				sent := t.Add(st.shift)
				st.sentDates[t.Unix()] = sent
				m.Value = sent
			}
		}
		if v := rngValue(m); v != nil {
			st.sentRNG = append(st.sentRNG, v)
		}
		for _, c := range m.Children {
			if err := walk(path, c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk("", out); err != nil {
		return nil, err
	}
	return out, nil
}

// rngValue returns the Random Number Generator value n sets, if any: a KMIP
// 2 attribute, or the value of a 1.x attribute of that name.
func rngValue(n *Node) *Node {
	switch {
	case n.Tag == kmip.TagRandomNumberGenerator:
		return n
	case n.Tag == kmip.TagAttribute && attributeTag(attrNameOf(n)) == kmip.TagRandomNumberGenerator:
		return n.Child(kmip.TagAttributeValue)
	}
	return nil
}

func (st *runState) fill(m *Node) error {
	if m.Var == varNow {
		if m.Type != ttlv.TypeDateTime {
			return fmt.Errorf("$NOW in a %s", m.Type)
		}
		m.Value = st.now().Add(m.Offset).Truncate(time.Second)
	} else {
		b, ok := st.bound[m.Var]
		if !ok {
			// A few vectors use a byte-string variable they never bind, for
			// a value an earlier response returned as a literal ($DATA_0
			// for the Data of an Encrypt): use that value.
			b, ok = st.lastByTag[m.Tag]
			ok = ok && m.Type == ttlv.TypeByteString
			if ok {
				st.bound[m.Var] = b
			}
		}
		if !ok {
			return fmt.Errorf("variable $%s is not bound by an earlier response", m.Var)
		}
		if b.Type != m.Type {
			return fmt.Errorf("variable $%s holds a %s, the request wants a %s", m.Var, b.Type, m.Type)
		}
		v := b.Clone()
		m.Value, m.Children = v.Value, v.Children
		if t, ok := m.Value.(time.Time); ok {
			m.Value = t.Add(m.Offset)
		}
	}
	m.Var, m.Offset = "", 0
	return nil
}

// recordLeaves remembers the leaf values of a response payload by tag.
func (st *runState) recordLeaves(n *Node) {
	if n == nil {
		return
	}
	if n.Type != ttlv.TypeStructure {
		st.lastByTag[n.Tag] = n
	}
	for _, c := range n.Children {
		st.recordLeaves(c)
	}
}
