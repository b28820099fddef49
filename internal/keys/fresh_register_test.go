package keys

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ovh/kmip-go"
)

// TestFreshOnRegister: a registering client may say whether its key is
// fresh (vector BL-M-13-21 registers with Fresh true), and so may a
// creating one (KMIP 1.1 §3.34: initially set by server or client); the
// server sets it otherwise.
func TestFreshOnRegister(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	key := func() kmip.Object {
		return &kmip.SymmetricKey{KeyBlock: rawKeyBlock(make([]byte, 32), kmip.CryptographicAlgorithmAES, 256)}
	}
	fresh := func(v bool) kmip.Attribute {
		return kmip.Attribute{AttributeName: kmip.AttributeNameFresh, AttributeValue: v}
	}
	tests := []struct {
		name    string
		do      func() (*Object, error)
		want    any
		wantErr error
	}{
		{"register, server sets it", func() (*Object, error) {
			return m.Register(ctx, kmip.ObjectTypeSymmetricKey, key(), aesAttrs("r1"))
		}, true, nil},
		{"register with Fresh true", func() (*Object, error) {
			return m.Register(ctx, kmip.ObjectTypeSymmetricKey, key(), append(aesAttrs("r2"), fresh(true)))
		}, true, nil},
		{"register with Fresh false", func() (*Object, error) {
			return m.Register(ctx, kmip.ObjectTypeSymmetricKey, key(), append(aesAttrs("r3"), fresh(false)))
		}, false, nil},
		{"create with Fresh false", func() (*Object, error) {
			return m.Create(ctx, kmip.ObjectTypeSymmetricKey, append(aesAttrs("c1"), fresh(false)))
		}, false, nil},
		{"create, server sets it", func() (*Object, error) {
			return m.Create(ctx, kmip.ObjectTypeSymmetricKey, aesAttrs("c2"))
		}, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := tc.do()
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := o.AttrAll(kmip.AttributeNameFresh); len(got) != 1 || got[0] != tc.want {
				t.Fatalf("Fresh = %v, want one instance %v", got, tc.want)
			}
		})
	}
}

// TestRegisterAESLength: a Raw AES key must have one of AES's three sizes.
func TestRegisterAESLength(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	for _, n := range []int{5, 15, 16, 24, 31, 32, 33, 64} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			key := &kmip.SymmetricKey{KeyBlock: rawKeyBlock(make([]byte, n), kmip.CryptographicAlgorithmAES, int32(8*n))}
			_, err := m.Register(ctx, kmip.ObjectTypeSymmetricKey, key, aesAttrs(fmt.Sprint("aes-", n)))
			ok := n == 16 || n == 24 || n == 32
			if ok && err != nil {
				t.Fatalf("a %d-byte AES key refused: %v", n, err)
			}
			if !ok && !errors.Is(err, ErrInvalidField) {
				t.Fatalf("a %d-byte AES key: got %v, want ErrInvalidField", n, err)
			}
		})
	}
}
