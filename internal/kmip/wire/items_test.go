package wire

import (
	"errors"
	"testing"
)

func TestItemsCopiesValues(t *testing.T) {
	msg := structure(TagRequestMessage, item(tagUniqueIdentifier, TypeTextString, []byte("abc")), item(tagModulus, TypeBigInteger, []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xB3}))
	items, err := Items(msg, Limits{})
	if err != nil {
		t.Fatalf("Items: %v", err)
	}
	if len(items) != 3 || items[0].Value != nil || items[0].Length != 32 || items[1].Depth != 2 {
		t.Fatalf("items = %+v", items)
	}
	for i := range msg {
		msg[i] = 0
	}
	if string(items[1].Value) != "abc" || items[2].Value[7] != 0xB3 {
		t.Fatal("item values alias the message")
	}
	if _, err := Items(msg, Limits{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Items of zeroed message = %v, want ErrInvalid", err)
	}
}

func TestCompare(t *testing.T) {
	const tag = 0x420094
	big := func(b ...byte) []byte { return item(tagModulus, TypeBigInteger, b) }
	ff := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = 0xFF
		}
		return b
	}
	base := structure(TagRequestMessage, integer(tag, 1), item(tag, TypeTextString, []byte("a")))
	tests := []struct {
		name  string
		a, b  []byte
		equal bool
	}{
		{name: "same", a: base, b: base, equal: true},
		{name: "item_dropped", a: base, b: structure(TagRequestMessage, integer(tag, 1))},
		{name: "item_added", a: base, b: structure(TagRequestMessage, integer(tag, 1), item(tag, TypeTextString, []byte("a")), integer(tag, 2))},
		{name: "value_differs", a: base, b: structure(TagRequestMessage, integer(tag, 2), item(tag, TypeTextString, []byte("a")))},
		{name: "tag_differs", a: base, b: structure(TagRequestMessage, integer(tag+1, 1), item(tag, TypeTextString, []byte("a")))},
		{name: "type_differs", a: base, b: structure(TagRequestMessage, enum(tag, 1), item(tag, TypeTextString, []byte("a")))},
		{name: "depth_differs", a: base, b: structure(TagRequestMessage, structure(tag, integer(tag, 1)), item(tag, TypeTextString, []byte("a")))},
		{name: "reordered", a: base, b: structure(TagRequestMessage, item(tag, TypeTextString, []byte("a")), integer(tag, 1))},
		{name: "bigint_sign_extended_negative", a: structure(TagRequestMessage, big(append(ff(15), 0xB3)...)), b: structure(TagRequestMessage, big(append(ff(7), 0xB3)...)), equal: true},
		{name: "bigint_sign_extended_positive", a: structure(TagRequestMessage, big(append(make([]byte, 15), 0x05)...)), b: structure(TagRequestMessage, big(append(make([]byte, 7), 0x05)...)), equal: true},
		{name: "bigint_positive_vs_negative", a: structure(TagRequestMessage, big(append(make([]byte, 15), 0x80)...)), b: structure(TagRequestMessage, big(0x80, 0, 0, 0, 0, 0, 0, 0))},
		{name: "bigint_value_differs", a: structure(TagRequestMessage, big(append(make([]byte, 7), 1)...)), b: structure(TagRequestMessage, big(append(make([]byte, 7), 2)...))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Items(tc.a, Limits{})
			if err != nil {
				t.Fatalf("Items(a): %v", err)
			}
			b, err := Items(tc.b, Limits{})
			if err != nil {
				t.Fatalf("Items(b): %v", err)
			}
			err = Compare(a, b)
			if tc.equal {
				if err != nil {
					t.Fatalf("Compare: %v", err)
				}
				return
			}
			var me *MismatchError
			if !errors.As(err, &me) || !errors.Is(err, ErrMismatch) || errors.Is(err, ErrInvalid) {
				t.Fatalf("Compare = %v, want a *MismatchError", err)
			}
		})
	}
}
