package wire

import (
	"bytes"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// FuzzValidate checks that Validate never panics, that it agrees with
// Items, and the property the server relies on: whatever Validate accepts,
// the ovh decoder can decode into a kmip.RequestMessage without panicking,
// and the result can be encoded again without panicking.
func FuzzValidate(f *testing.F) {
	seeds := ovhRequests(f)
	names := make([]string, 0, len(seeds))
	for name := range seeds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f.Add(seeds[name])
	}
	findings := ovhFindings()
	names = names[:0]
	for name := range findings {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f.Add(findings[name])
	}
	f.Add(zeroLengthInteger())
	f.Add(handRequest(0x0A, item(tagUniqueIdentifier, TypeTextString, []byte("abc"))))
	f.Add([]byte{})
	f.Add([]byte{0x42, 0x00, 0x78, 0x01, 0xFF, 0xFF, 0xFF, 0xF8})

	f.Fuzz(func(t *testing.T, msg []byte) {
		st, err := Validate(msg, Limits{})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate error does not match ErrInvalid: %v", err)
			}
			return
		}
		items, err := Items(msg, Limits{})
		if err != nil {
			t.Fatalf("Validate accepted but Items failed: %v", err)
		}
		if len(items) != st.Items {
			t.Fatalf("Items returned %d items, Validate counted %d", len(items), st.Items)
		}
		if err := decodeAndEncode(bytes.Clone(msg)); err != nil {
			t.Fatalf("message accepted by Validate: %v", err)
		}
	})
}

// decodeAndEncode decodes msg with the ovh decoder as the router does and,
// if that works, encodes the result again. It reports a panic in either as
// an error with the stack.
func decodeAndEncode(msg []byte) (err error) {
	stage := "decode"
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("ovh %s panicked: %v\n%s", stage, r, debug.Stack())
		}
	}()
	var req kmip.RequestMessage
	dec, derr := ttlv.NewTTLVDecoder(msg)
	if derr != nil {
		return nil
	}
	if derr := dec.Any(&req); derr != nil {
		return nil
	}
	stage = "encode"
	_ = ttlv.MarshalTTLV(&req)
	return nil
}

// TestSeedsValidate checks that every real request encoded by ovh is
// accepted, decodes, and re-encodes to the same item list.
func TestSeedsValidate(t *testing.T) {
	for name, msg := range ovhRequests(t) {
		t.Run(name, func(t *testing.T) {
			st, err := Validate(msg, Limits{})
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			want, err := Items(msg, Limits{})
			if err != nil {
				t.Fatalf("Items: %v", err)
			}
			if len(want) != st.Items || st.Items < 5 {
				t.Fatalf("got %d items, stats %d", len(want), st.Items)
			}
			var req kmip.RequestMessage
			if err := ttlv.UnmarshalTTLV(bytes.Clone(msg), &req); err != nil {
				t.Fatalf("ovh decode: %v", err)
			}
			got, err := Items(ttlv.MarshalTTLV(&req), Limits{})
			if err != nil {
				t.Fatalf("Items of re-encoded: %v", err)
			}
			if err := Compare(want, got); err != nil {
				t.Fatalf("re-encoded differs: %v", err)
			}
		})
	}
}
