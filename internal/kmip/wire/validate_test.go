package wire

import (
	"errors"
	"testing"
)

// raw builds an item with a declared length and raw value bytes (padding
// included), for shapes item cannot make.
func raw(tag uint32, typ Type, length uint32, value []byte) []byte {
	return append(hdr(tag, typ, length), value...)
}

// nest wraps inner in depth-1 structures.
func nest(depth int, inner []byte) []byte {
	for range depth - 1 {
		inner = structure(0x420001, inner)
	}
	return inner
}

func TestValidateRules(t *testing.T) {
	const tag = 0x420094
	in := func(children ...[]byte) []byte { return structure(TagRequestMessage, children...) }
	eight := func(b ...byte) []byte { return append(make([]byte, 8-len(b)), b...) }
	tests := []struct {
		name    string
		msg     []byte
		wantErr error // nil: valid
	}{
		{name: "minimal_request", msg: handRequest(0x0A, item(tag, TypeTextString, []byte("id")))},
		{name: "empty_structure", msg: in()},
		{name: "lone_primitive", msg: integer(tag, 5)},
		{name: "extension_tag", msg: in(integer(0x54ABCD, 1))},
		{name: "every_type", msg: in(
			integer(tag, -1), item(tag, TypeLongInteger, eight(9)), item(tag, TypeBigInteger, make([]byte, 16)),
			enum(tag, 3), item(tag, TypeBoolean, eight(1)), item(tag, TypeBoolean, eight()),
			item(tag, TypeTextString, []byte("héllo")), item(tag, TypeByteString, []byte{0xFF}),
			item(tag, TypeDateTime, eight(1)), item(tag, TypeInterval, []byte{0, 0, 0, 60}),
			item(tag, TypeTextString, nil), item(tag, TypeByteString, nil))},

		{name: "empty_message", msg: nil, wantErr: ErrTruncated},
		{name: "short_header", msg: []byte{0x42, 0, 0x78, 1, 0}, wantErr: ErrTruncated},
		{name: "type_zero", msg: in(raw(tag, 0x00, 0, nil)), wantErr: ErrBadType},
		{name: "type_0B", msg: in(raw(tag, 0x0B, 0, nil)), wantErr: ErrBadType},
		{name: "tag_zero", msg: in(integer(0x000000, 1)), wantErr: ErrBadTag},
		{name: "tag_43", msg: in(integer(0x430001, 1)), wantErr: ErrBadTag},
		{name: "tag_55", msg: in(integer(0x550001, 1)), wantErr: ErrBadTag},
		{name: "top_tag_out_of_range", msg: structure(0x100078), wantErr: ErrBadTag},

		{name: "integer_length_0", msg: in(item(tag, TypeInteger, nil)), wantErr: ErrBadLength},
		{name: "integer_length_8", msg: in(item(tag, TypeInteger, make([]byte, 8))), wantErr: ErrBadLength},
		{name: "enumeration_length_2", msg: in(item(tag, TypeEnumeration, []byte{0, 1})), wantErr: ErrBadLength},
		{name: "interval_length_0", msg: in(item(tag, TypeInterval, nil)), wantErr: ErrBadLength},
		{name: "long_length_4", msg: in(item(tag, TypeLongInteger, []byte{0, 0, 0, 1})), wantErr: ErrBadLength},
		{name: "datetime_length_16", msg: in(item(tag, TypeDateTime, make([]byte, 16))), wantErr: ErrBadLength},
		{name: "boolean_length_1", msg: in(item(tag, TypeBoolean, []byte{1})), wantErr: ErrBadLength},
		{name: "boolean_2", msg: in(item(tag, TypeBoolean, eight(2))), wantErr: ErrBadBoolean},
		{name: "boolean_high_byte", msg: in(item(tag, TypeBoolean, []byte{1, 0, 0, 0, 0, 0, 0, 1})), wantErr: ErrBadBoolean},
		{name: "biginteger_empty", msg: in(item(tag, TypeBigInteger, nil)), wantErr: ErrBadLength},
		{name: "biginteger_length_5", msg: in(item(tag, TypeBigInteger, make([]byte, 5))), wantErr: ErrBadLength},

		{name: "integer_padding_nonzero", msg: in(raw(tag, TypeInteger, 4, []byte{0, 0, 0, 1, 0, 0, 0, 7})), wantErr: ErrBadPadding},
		{name: "text_padding_nonzero", msg: in(raw(tag, TypeTextString, 3, []byte{'a', 'b', 'c', 0, 0, 0, 0, 1})), wantErr: ErrBadPadding},
		{name: "text_padding_missing_at_end", msg: raw(tag, TypeTextString, 3, []byte("abc")), wantErr: ErrTruncated},
		{name: "text_padded_by_hand", msg: raw(TagRequestMessage, TypeStructure, 16, append(hdr(tag, TypeTextString, 3), "abc\x00\x00\x00\x00\x00"[:8]...)), wantErr: nil},
		{name: "text_unpadded_in_structure", msg: raw(TagRequestMessage, TypeStructure, 11, append(hdr(tag, TypeTextString, 3), "abc"...)), wantErr: ErrBadLength},
		{name: "invalid_utf8", msg: in(item(tag, TypeTextString, []byte{0xC3, 0x28})), wantErr: ErrBadUTF8},

		{name: "structure_longer_than_message", msg: raw(TagRequestMessage, TypeStructure, 64, integer(tag, 1)), wantErr: ErrTruncated},
		{name: "child_crosses_structure_end", msg: raw(TagRequestMessage, TypeStructure, 24,
			append(raw(0x420077, TypeStructure, 8, integer(tag, 1)), integer(tag, 2)...)), wantErr: ErrBadLength},
		{name: "structure_length_not_multiple_of_8", msg: raw(TagRequestMessage, TypeStructure, 12, append(integer(tag, 1), 0, 0, 0, 0)), wantErr: ErrBadLength},
		{name: "child_header_cut_by_structure", msg: raw(TagRequestMessage, TypeStructure, 24,
			append(raw(0x420077, TypeStructure, 8, hdr(tag, TypeInteger, 4)), make([]byte, 8)...)), wantErr: ErrBadLength},
		{name: "huge_child_length", msg: in(raw(tag, TypeByteString, 0xFFFFFFFF, make([]byte, 8))), wantErr: ErrBadLength},

		{name: "trailing_zero_bytes", msg: append(in(), make([]byte, 8)...), wantErr: ErrTrailing},
		{name: "trailing_byte", msg: append(in(), 0), wantErr: ErrTrailing},
		{name: "second_message", msg: append(in(), in()...), wantErr: ErrTrailing},

		{name: "depth_32", msg: nest(32, integer(tag, 1))},
		{name: "depth_33", msg: nest(33, integer(tag, 1)), wantErr: ErrTooDeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Validate(tc.msg, Limits{})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestValidateStatsAndLimits(t *testing.T) {
	msg := handRequest(0x0A, item(tagUniqueIdentifier, TypeTextString, []byte("key-1")))
	// Request Message, Request Header, Protocol Version, Major, Minor,
	// Batch Count, Batch Item, Operation, Request Payload, Unique Identifier.
	st, err := Validate(msg, Limits{})
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if st.Items != 10 || st.Depth != 4 {
		t.Fatalf("stats = %+v, want 10 items, depth 4", st)
	}
	tests := []struct {
		name    string
		msg     []byte
		limits  Limits
		wantErr error
	}{
		{name: "items_at_limit", msg: msg, limits: Limits{MaxItems: 10}},
		{name: "items_over_limit", msg: msg, limits: Limits{MaxItems: 9}, wantErr: ErrTooManyItems},
		{name: "depth_at_limit", msg: msg, limits: Limits{MaxDepth: 4}},
		{name: "depth_over_limit", msg: msg, limits: Limits{MaxDepth: 3}, wantErr: ErrTooDeep},
		{name: "default_items_exceeded", msg: flat(DefaultMaxItems), wantErr: ErrTooManyItems},
		{name: "default_items_reached", msg: flat(DefaultMaxItems - 1)},
		{name: "deep_beyond_any_limit", msg: nest(2000, integer(0x420001, 1)), limits: Limits{MaxDepth: 20}, wantErr: ErrTooDeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Validate(tc.msg, tc.limits)
			if tc.wantErr == nil && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Validate = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// flat returns a structure with n empty-structure children (n+1 items).
func flat(n int) []byte {
	children := make([]byte, 0, 8*n)
	for range n {
		children = append(children, hdr(0x420001, TypeStructure, 0)...)
	}
	return raw(TagRequestMessage, TypeStructure, uint32(len(children)), children)
}

func TestValidateErrorLocatesItem(t *testing.T) {
	msg := structure(TagRequestMessage, integer(0x420001, 1), item(0x42006A, TypeInteger, nil))
	_, err := Validate(msg, Limits{})
	var ie *ItemError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want *ItemError", err)
	}
	if ie.Offset != 24 || ie.Tag != 0x42006A || ie.Type != TypeInteger || !errors.Is(ie, ErrBadLength) {
		t.Fatalf("ItemError = %+v", ie)
	}
}

func TestWalkVisitsInOrder(t *testing.T) {
	msg := structure(TagRequestMessage, structure(0x420077, integer(0x42000D, 2)), item(0x420094, TypeTextString, []byte("x")))
	type seen struct {
		depth int
		tag   uint32
		value string
	}
	var got []seen
	st, err := Walk(msg, Limits{}, func(it Item) error {
		got = append(got, seen{it.Depth, it.Tag, string(it.Value)})
		return nil
	})
	want := []seen{{1, TagRequestMessage, ""}, {2, 0x420077, ""}, {3, 0x42000D, "\x00\x00\x00\x02"}, {2, 0x420094, "x"}}
	if err != nil || st.Items != len(want) || len(got) != len(want) {
		t.Fatalf("Walk: %v, stats %+v, got %v", err, st, got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("item %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	stop := errors.New("stop")
	if _, err := Walk(msg, Limits{}, func(Item) error { return stop }); err != stop {
		t.Fatalf("callback error = %v, want it passed back unwrapped", err)
	}
}
