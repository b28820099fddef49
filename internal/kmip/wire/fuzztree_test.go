package wire

import (
	"encoding/binary"
	"errors"
	"slices"
	"sort"
	"testing"
)

// FuzzValidateTree checks the same property as FuzzValidate on inputs
// that are always well-framed TTLV: the fuzz input is a small program that
// builds a request message from the tags of real requests. Byte-level
// mutation rarely keeps structure lengths consistent, so FuzzValidate
// almost never reaches the ovh decoder's field handling; this target
// mutates the tree instead (drop an item, change a type, reorder), which
// is how the Key Material crashes of fields.go are found.
//
// Program: a sequence of instructions, each starting with an op byte
// (taken modulo 3):
//
//	0          close the innermost open structure
//	1 T        open a structure with tag tags[T]
//	2 T Y ...  a primitive with tag tags[T] and type 2+Y%9, then its value:
//	           Integer, Enumeration, Interval: 4 bytes; Long Integer,
//	           Date-Time: 8 bytes; Boolean: 1 byte (its low bit);
//	           Big Integer: a length byte N then N-N%8 bytes; Text and Byte
//	           String: a length byte N then N bytes.
//
// Missing bytes read as zero; open structures close at the end; the whole
// is wrapped in a Request Message.
func FuzzValidateTree(f *testing.F) {
	seeds := ovhRequests(f)
	for name, b := range ovhFindings() {
		seeds["finding_"+name] = b
	}
	tags := treeTags(seeds)
	names := make([]string, 0, len(seeds))
	for name := range seeds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		prog, err := treeProgram(seeds[name], tags)
		if err != nil {
			f.Fatalf("seed %s: %v", name, err)
		}
		f.Add(prog)
	}
	f.Fuzz(func(t *testing.T, prog []byte) {
		msg := treeBuild(prog, tags)
		if _, err := Validate(msg, Limits{}); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate error does not match ErrInvalid: %v", err)
			}
			return
		}
		if err := decodeAndEncode(msg); err != nil {
			t.Fatalf("message accepted by Validate: %v", err)
		}
	})
}

// TestTreeProgramRoundTrip checks that the seed programs rebuild their
// messages exactly, so the tree fuzzer starts from real requests.
func TestTreeProgramRoundTrip(t *testing.T) {
	seeds := ovhRequests(t)
	tags := treeTags(seeds)
	for name, msg := range seeds {
		t.Run(name, func(t *testing.T) {
			prog, err := treeProgram(msg, tags)
			if err != nil {
				t.Fatalf("treeProgram: %v", err)
			}
			if got := treeBuild(prog, tags); !slices.Equal(got, msg) {
				t.Fatalf("rebuilt message differs (%d bytes, want %d)", len(got), len(msg))
			}
		})
	}
}

// treeTags returns the sorted tags met in the seeds plus an extension tag.
func treeTags(seeds map[string][]byte) []uint32 {
	set := map[uint32]bool{0x540001: true}
	for _, msg := range seeds {
		items, _ := Items(msg, Limits{})
		for _, it := range items {
			set[it.Tag] = true
		}
	}
	tags := make([]uint32, 0, len(set))
	for tag := range set {
		tags = append(tags, tag)
	}
	slices.Sort(tags)
	return tags
}

// treeProgram turns a message into a program for treeBuild (root omitted).
func treeProgram(msg []byte, tags []uint32) ([]byte, error) {
	items, err := seedItems(msg)
	if err != nil {
		return nil, err
	}
	var prog []byte
	open := 1
	for _, it := range items[1:] {
		for ; open >= it.Depth; open-- {
			prog = append(prog, 0)
		}
		idx, ok := slices.BinarySearch(tags, it.Tag)
		if !ok || len(tags) > 256 {
			return nil, errors.New("tag missing from table")
		}
		if it.Type == TypeStructure {
			prog = append(prog, 1, byte(idx))
			open++
			continue
		}
		prog = append(prog, 2, byte(idx), byte(it.Type)-2)
		switch it.Type {
		case TypeBoolean:
			prog = append(prog, it.Value[7])
		case TypeBigInteger, TypeTextString, TypeByteString:
			if len(it.Value) > 255 {
				return nil, errors.New("value too long for a program")
			}
			prog = append(prog, byte(len(it.Value)))
			prog = append(prog, it.Value...)
		default:
			prog = append(prog, it.Value...)
		}
	}
	return prog, nil
}

// seedItems lists the items of a seed message, with no depth limit.
func seedItems(msg []byte) ([]Item, error) { return Items(msg, Limits{MaxDepth: 1 << 20}) }

// treeBuild runs a program and returns the request message it builds.
func treeBuild(prog []byte, tags []uint32) []byte {
	type open struct {
		tag  uint32
		body []byte
	}
	stack := []open{{tag: TagRequestMessage}}
	next := func(n int) []byte {
		b := make([]byte, n)
		copy(b, prog)
		prog = prog[min(n, len(prog)):]
		return b
	}
	closeTop := func() {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		enc := item(top.tag, TypeStructure, top.body)
		stack[len(stack)-1].body = append(stack[len(stack)-1].body, enc...)
	}
	for len(prog) > 0 {
		op := next(1)[0] % 3
		switch op {
		case 0:
			if len(stack) > 1 {
				closeTop()
			}
		case 1:
			tag := tags[int(next(1)[0])%len(tags)]
			if len(stack) < 64 {
				stack = append(stack, open{tag: tag})
			}
		case 2:
			h := next(2)
			tag, typ := tags[int(h[0])%len(tags)], Type(2+h[1]%9)
			var v []byte
			switch typ {
			case TypeInteger, TypeEnumeration, TypeInterval:
				v = next(4)
			case TypeLongInteger, TypeDateTime:
				v = next(8)
			case TypeBoolean:
				v = binary.BigEndian.AppendUint64(nil, uint64(next(1)[0]&1))
			case TypeBigInteger:
				n := int(next(1)[0])
				v = next(n - n%8)
			default:
				v = next(int(next(1)[0]))
			}
			top := &stack[len(stack)-1]
			top.body = append(top.body, item(tag, typ, v)...)
		}
	}
	for len(stack) > 1 {
		closeTop()
	}
	return item(TagRequestMessage, TypeStructure, stack[0].body)
}
