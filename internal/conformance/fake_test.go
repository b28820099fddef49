package conformance

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ovh/kmip-go/ttlv"
)

// echoConn is a fake server: it answers the i-th request with the suite's
// i-th expected response, its variables replaced by invented values (ids
// "1", "2", …). It also checks that the request it receives is the vector's
// request with the same values filled in, and $NOW±n close to the clock.
type echoConn struct {
	suite *Suite
	next  int
	vals  map[string]*Node
	ids   int
	// last holds, per tag, the last leaf sent in a response.
	last map[int]*Node
	// shift is about how far the runner moves literal request dates;
	// sent maps the literal request dates to those received.
	shift time.Duration
	sent  map[int64]time.Time
	// mutate, if set, edits the response to exchange i before it is sent.
	mutate func(i int, resp *Node)
}

func newEchoConn(s *Suite) *echoConn {
	c := &echoConn{suite: s, vals: map[string]*Node{}, last: map[int]*Node{}, sent: map[int64]time.Time{}}
	if t := s.recordedAt(); !t.IsZero() {
		c.shift = time.Since(t)
	}
	return c
}

func (c *echoConn) Close() error { return nil }

func (c *echoConn) RoundTrip(_ context.Context, raw []byte) ([]byte, error) {
	if c.next >= len(c.suite.Exchanges) {
		return nil, errors.New("fake: more requests than the vector holds")
	}
	ex := c.suite.Exchanges[c.next]
	req, err := Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("fake: %w", err)
	}
	if err := c.checkRequest("RequestMessage", ex.Request, req); err != nil {
		return nil, fmt.Errorf("fake: request %d: %w", c.next, err)
	}
	resp := ex.Response.Clone()
	c.fill(resp)
	if c.mutate != nil {
		c.mutate(c.next, resp)
	}
	c.next++
	c.remember(resp)
	return Encode(resp)
}

// invent returns the value standing for a variable in this conversation.
func (c *echoConn) invent(n *Node) *Node {
	if v, ok := c.vals[n.Var]; ok && v.Type == n.Type {
		return v
	}
	v := &Node{Tag: n.Tag, Type: n.Type}
	sum := sha256.Sum256([]byte(n.Var))
	switch n.Type {
	case ttlv.TypeTextString:
		c.ids++
		v.Value = fmt.Sprint(c.ids)
	case ttlv.TypeByteString:
		v.Value = sum[:16]
	case ttlv.TypeDateTime:
		v.Value = time.Now().Truncate(time.Second)
	case ttlv.TypeInteger:
		v.Value = int32(sum[0])
	case ttlv.TypeLongInteger:
		v.Value = int64(sum[0])
	case ttlv.TypeBigInteger:
		v.Value = new(big.Int).SetBytes(sum[:8])
	case ttlv.TypeEnumeration:
		v.Value = uint32(sum[0])
	case ttlv.TypeBoolean:
		v.Value = true
	case ttlv.TypeInterval:
		v.Value = time.Duration(sum[0]) * time.Second
	}
	c.vals[n.Var] = v
	return v
}

// fill replaces the variables of a response, and moves its literal dates
// as the runner moves those of the requests.
func (c *echoConn) fill(n *Node) {
	if t, ok := n.Value.(time.Time); ok && !n.isVar() {
		if sent, ok := c.sent[t.Unix()]; ok {
			n.Value = sent
		} else {
			n.Value = t.Add(c.shift).Truncate(time.Second)
		}
	}
	if n.isVar() {
		if n.Var == varNow {
			n.Value = time.Now().Add(n.Offset).Truncate(time.Second)
		} else {
			n.Value = c.invent(n).Value
		}
		n.Var, n.Offset = "", 0
	}
	for _, ch := range n.Children {
		c.fill(ch)
	}
}

// remember records the leaves of the response payloads sent.
func (c *echoConn) remember(n *Node) {
	if n.Type != ttlv.TypeStructure {
		c.last[n.Tag] = n
	}
	for _, ch := range n.Children {
		c.remember(ch)
	}
}

// checkRequest compares a received request with the vector's.
func (c *echoConn) checkRequest(path string, exp, got *Node) error {
	if exp.Tag != got.Tag || exp.Type != got.Type {
		return fmt.Errorf("%s: got %s %s, want %s %s", path, got.Name(), got.Type, exp.Name(), exp.Type)
	}
	switch {
	case exp.Var == varNow:
		want := time.Now().Add(exp.Offset)
		t, _ := got.Value.(time.Time)
		if d := t.Sub(want); d < -5*time.Second || d > 5*time.Second {
			return fmt.Errorf("%s: $NOW%+d sent as %s", path, int64(exp.Offset/time.Second), t)
		}
	case exp.isVar():
		v, ok := c.vals[exp.Var]
		if !ok && exp.Type == ttlv.TypeByteString {
			v, ok = c.last[exp.Tag]
			if ok {
				c.vals[exp.Var] = v
			}
		}
		if !ok {
			return fmt.Errorf("%s: $%s sent before any response bound it", path, exp.Var)
		}
		if !equalValues(v.Value, got.Value) {
			return fmt.Errorf("%s: $%s sent as %s, bound to %s", path, exp.Var, got.ValueString(), v.ValueString())
		}
	case exp.Type == ttlv.TypeDateTime:
		want := exp.Value.(time.Time).Add(c.shift)
		t, _ := got.Value.(time.Time)
		if d := t.Sub(want); d < -5*time.Second || d > 5*time.Second {
			return fmt.Errorf("%s: date sent as %s, want %s (vector date moved by %s)", path, t, want, c.shift)
		}
		c.sent[exp.Value.(time.Time).Unix()] = t
	case exp.Type == ttlv.TypeStructure:
		if len(exp.Children) != len(got.Children) {
			return fmt.Errorf("%s: %d items, want %d", path, len(got.Children), len(exp.Children))
		}
		for i := range exp.Children {
			if err := c.checkRequest(path+"/"+exp.Children[i].Name(), exp.Children[i], got.Children[i]); err != nil {
				return err
			}
		}
	default:
		if !equalValues(exp.Value, got.Value) {
			return fmt.Errorf("%s: sent %s, want %s", path, got.ValueString(), exp.ValueString())
		}
	}
	return nil
}
