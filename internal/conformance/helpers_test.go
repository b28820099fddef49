package conformance

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go/ttlv"
)

// vectorPath returns the path of an OASIS vector file shipped by ovh/kmip-go.
func vectorPath(t *testing.T, version, file string) string {
	t.Helper()
	root, err := VectorRoot()
	if err != nil {
		t.Fatalf("VectorRoot: %v", err)
	}
	return filepath.Join(root, version, file)
}

func mustLoad(t *testing.T, path string) *Suite {
	t.Helper()
	s, err := LoadFile(path)
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	return s
}

// runEcho runs a suite against the echo fake with an optional mutation of
// the response to exchange ex.
func runEcho(t *testing.T, s *Suite, ex int, mutate func(t *testing.T, resp *Node)) Result {
	t.Helper()
	conn := newEchoConn(s)
	if mutate != nil {
		conn.mutate = func(i int, resp *Node) {
			if i == ex {
				mutate(t, resp)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Run(ctx, conn)
}

// segmentRef parses "Name" or "Name[i]".
func segmentRef(t *testing.T, seg string) (int, int) {
	t.Helper()
	name, idx := seg, 0
	if k := strings.IndexByte(seg, '['); k >= 0 {
		name = seg[:k]
		var err error
		idx, err = strconv.Atoi(strings.TrimSuffix(seg[k+1:], "]"))
		if err != nil {
			t.Fatalf("bad segment %q", seg)
		}
	}
	tag, ok := tagByName(name)
	if !ok {
		t.Fatalf("unknown tag %q", name)
	}
	return tag, idx
}

// locate returns the parent of the node at path and the node's position in
// the parent's children.
func locate(t *testing.T, root *Node, path string) (*Node, int) {
	t.Helper()
	segs := strings.Split(path, "/")
	parent := root
	for i, seg := range segs {
		tag, idx := segmentRef(t, seg)
		pos, seen := -1, 0
		for k, c := range parent.Children {
			if c.Tag == tag {
				if seen == idx {
					pos = k
					break
				}
				seen++
			}
		}
		if pos < 0 {
			t.Fatalf("no %s in %s", seg, path)
		}
		if i == len(segs)-1 {
			return parent, pos
		}
		parent = parent.Children[pos]
	}
	return nil, -1
}

func at(t *testing.T, root *Node, path string) *Node {
	t.Helper()
	p, i := locate(t, root, path)
	return p.Children[i]
}

func setValue(path string, v any) func(*testing.T, *Node) {
	return func(t *testing.T, resp *Node) {
		at(t, resp, path).Value = v
	}
}

func drop(path string) func(*testing.T, *Node) {
	return func(t *testing.T, resp *Node) {
		p, i := locate(t, resp, path)
		p.Children = append(p.Children[:i], p.Children[i+1:]...)
	}
}

func insert(parentPath string, pos int, n *Node) func(*testing.T, *Node) {
	return func(t *testing.T, resp *Node) {
		p := at(t, resp, parentPath)
		p.Children = append(p.Children[:pos], append([]*Node{n.Clone()}, p.Children[pos:]...)...)
	}
}

func reverse(parentPath string) func(*testing.T, *Node) {
	return func(t *testing.T, resp *Node) {
		p := at(t, resp, parentPath)
		for i, j := 0, len(p.Children)-1; i < j; i, j = i+1, j-1 {
			p.Children[i], p.Children[j] = p.Children[j], p.Children[i]
		}
	}
}

func all(fs ...func(*testing.T, *Node)) func(*testing.T, *Node) {
	return func(t *testing.T, resp *Node) {
		for _, f := range fs {
			f(t, resp)
		}
	}
}

func leaf(name string, ty ttlv.Type, v any) *Node {
	tag, _ := tagByName(name)
	return &Node{Tag: tag, Type: ty, Value: v}
}

func textAttr(name, value string) *Node {
	a := leaf("Attribute", ttlv.TypeStructure, nil)
	a.Children = []*Node{
		leaf("AttributeName", ttlv.TypeTextString, name),
		leaf("AttributeValue", ttlv.TypeTextString, value),
	}
	return a
}

// firstMismatch returns the first mismatch of a result, failing the test if
// there is none or if the run broke.
func firstMismatch(t *testing.T, r Result) Mismatch {
	t.Helper()
	for _, e := range r.Exchanges {
		if e.Err != nil {
			t.Fatalf("run broke instead of reporting a mismatch: %v", e.Err)
		}
		if len(e.Mismatches) > 0 {
			return e.Mismatches[0]
		}
	}
	t.Fatalf("no mismatch reported; result:\n%s", r.Report())
	return Mismatch{}
}
