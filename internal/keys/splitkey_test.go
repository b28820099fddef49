package keys

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/ovh/kmip-go"
)

// material returns the raw key bytes of an object.
func material(t *testing.T, o *Object) []byte {
	t.Helper()
	kb := KeyBlockOf(o.Value)
	if kb == nil {
		t.Fatalf("%s has no key block", o.ID)
	}
	return rawMaterial(kb)
}

func hasLink(o *Object, lt kmip.LinkType, id string) bool {
	for _, v := range o.AttrAll(kmip.AttributeNameLink) {
		if l, ok := v.(kmip.Link); ok && l.LinkType == lt && l.LinkedObjectIdentifier == id {
			return true
		}
	}
	return false
}

func joinAES(ctx context.Context, m *Manager, ids ...string) (*Object, error) {
	return m.JoinSplitKey(ctx, JoinRequest{Type: kmip.ObjectTypeSymmetricKey, Parts: ids, Attrs: []kmip.Attribute{
		{AttributeName: kmip.AttributeNameCryptographicAlgorithm, AttributeValue: kmip.CryptographicAlgorithmAES},
	}})
}

// TestSplitJoinRoundTrip splits a created AES-256 key by each offered
// method; every threshold-sized subset joins to the key, fewer do not.
func TestSplitJoinRoundTrip(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	base, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, aesAttrs("base"))
	if err != nil {
		t.Fatal(err)
	}
	want := material(t, base)
	prime := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(297))
	tests := []struct {
		name    string
		sp      SplitParams
		subsets [][]int
		short   []int
	}{
		{"GF(2^8) 3 of 5", SplitParams{Parts: 5, Threshold: 3, Method: kmip.SplitKeyMethodPolynomialSharingGF28},
			[][]int{{0, 1, 2}, {0, 2, 4}, {4, 3, 1}, {0, 1, 2, 3, 4}}, []int{1, 3}},
		{"prime field 2 of 3", SplitParams{Parts: 3, Threshold: 2, Method: kmip.SplitKeyMethodPolynomialSharingPrimeField, PrimeFieldSize: prime},
			[][]int{{0, 1}, {2, 0}, {1, 2}}, []int{2}},
		{"XOR 3 of 3", SplitParams{Parts: 3, Threshold: 3, Method: kmip.SplitKeyMethodXOR},
			[][]int{{2, 0, 1}}, []int{0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The key's algorithm and length take precedence over the
			// request's.
			parts, err := m.CreateSplitKey(ctx, base.ID, tt.sp, []kmip.Attribute{
				{AttributeName: kmip.AttributeNameCryptographicAlgorithm, AttributeValue: kmip.CryptographicAlgorithm3DES},
				{AttributeName: kmip.AttributeNameCryptographicLength, AttributeValue: int32(168)},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != int(tt.sp.Parts) {
				t.Fatalf("%d parts, want %d", len(parts), tt.sp.Parts)
			}
			for i, p := range parts {
				sk := p.Value.(*kmip.SplitKey)
				if p.Type != kmip.ObjectTypeSplitKey || sk.KeyPartIdentifier != int32(i+1) || sk.SplitKeyThreshold != tt.sp.Threshold ||
					sk.KeyBlock.CryptographicAlgorithm != kmip.CryptographicAlgorithmAES || !hasLink(p, kmip.LinkTypeParentLink, base.ID) {
					t.Errorf("part %d: %+v, links %v", i, sk, p.AttrAll(kmip.AttributeNameLink))
				}
				if alg, _ := p.Attr(kmip.AttributeNameCryptographicAlgorithm); alg != kmip.CryptographicAlgorithmAES {
					t.Errorf("part %d: Cryptographic Algorithm %v, want the key's", i, alg)
				}
				if bytes.Equal(material(t, p), want) {
					t.Errorf("part %d holds the key itself", i)
				}
			}
			stored, err := m.Get(ctx, base.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range parts {
				if !hasLink(stored, kmip.LinkTypeChildLink, p.ID) {
					t.Errorf("base has no Child Link to %s", p.ID)
				}
			}
			for _, idx := range tt.subsets {
				var ids []string
				for _, i := range idx {
					ids = append(ids, parts[i].ID)
				}
				j, err := joinAES(ctx, m, ids...)
				if err != nil {
					t.Fatalf("join %v: %v", idx, err)
				}
				if !bytes.Equal(material(t, j), want) || j.Type != kmip.ObjectTypeSymmetricKey {
					t.Errorf("join %v gave another key", idx)
				}
				if bits, _ := j.Attr(kmip.AttributeNameCryptographicLength); bits != int32(256) {
					t.Errorf("join %v: length %v", idx, bits)
				}
				if _, ok := j.Attr(kmip.AttributeNameRandomNumberGenerator); ok {
					t.Errorf("join %v: a joined key claims a random number generator", idx)
				}
				part, _ := m.Get(ctx, ids[0])
				if !hasLink(j, kmip.LinkTypeParentLink, ids[0]) || !hasLink(part, kmip.LinkTypeChildLink, j.ID) {
					t.Errorf("join %v: links missing", idx)
				}
			}
			var ids []string
			for _, i := range tt.short {
				ids = append(ids, parts[i].ID)
			}
			if _, err := joinAES(ctx, m, ids...); !errors.Is(err, ErrSplitJoin) {
				t.Errorf("join of %v, fewer than the threshold: %v, want ErrSplitJoin", tt.short, err)
			}
		})
	}
}

// TestJoinRegisteredParts joins the parts the OASIS vector TC-SJ-3-12
// registers.
func TestJoinRegisteredParts(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	var ids []string
	for i, h := range [][]byte{
		{0x66, 0xC4, 0x6A, 0x77, 0x54, 0xF9, 0x4D, 0xE4, 0x20, 0xC7, 0xB1, 0xA7, 0xFF, 0xF5, 0xEC, 0x56},
		{0xA8, 0x55, 0xB8, 0x91, 0xF6, 0x1A, 0xD9, 0x21, 0x72, 0x40, 0xD8, 0xEC, 0x06, 0x1E, 0x37, 0xDA},
	} {
		kb := rawKeyBlock(h, 0, 0)
		o, err := m.Register(ctx, kmip.ObjectTypeSplitKey, &kmip.SplitKey{
			SplitKeyParts: 4, KeyPartIdentifier: int32(2*i + 1), SplitKeyThreshold: 2,
			SplitKeyMethod: kmip.SplitKeyMethodPolynomialSharingGF28, KeyBlock: kb,
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	j, err := joinAES(ctx, m, ids...)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	if got := material(t, j); !bytes.Equal(got, want) {
		t.Errorf("joined %X, want %X", got, want)
	}
}

func TestSplitJoinRefusals(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	base, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, aesAttrs("base"))
	if err != nil {
		t.Fatal(err)
	}
	gf8 := SplitParams{Parts: 3, Threshold: 2, Method: kmip.SplitKeyMethodPolynomialSharingGF28}
	a, err := m.CreateSplitKey(ctx, base.ID, gf8, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.CreateSplitKey(ctx, base.ID, SplitParams{Parts: 4, Threshold: 2, Method: kmip.SplitKeyMethodPolynomialSharingGF28}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := WithAccess(ctx, Access{Group: "other"})
	readOnly := WithAccess(ctx, Access{AllGroups: true, ReadOnly: true})
	split := func(ctx context.Context, id string, sp SplitParams) error {
		_, err := m.CreateSplitKey(ctx, id, sp, nil)
		return err
	}
	join := func(ctx context.Context, typ kmip.ObjectType, ids ...string) error {
		_, err := m.JoinSplitKey(ctx, JoinRequest{Type: typ, Parts: ids})
		return err
	}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"GF(2^16) not offered", split(ctx, base.ID, SplitParams{Parts: 3, Threshold: 2, Method: kmip.SplitKeyMethodPolynomialSharingGF216}), ErrNotSupported},
		{"unknown method", split(ctx, base.ID, SplitParams{Parts: 3, Threshold: 2, Method: 9}), ErrInvalidField},
		{"threshold above parts", split(ctx, base.ID, SplitParams{Parts: 2, Threshold: 3, Method: kmip.SplitKeyMethodPolynomialSharingGF28}), ErrInvalidField},
		{"one part", split(ctx, base.ID, SplitParams{Parts: 1, Threshold: 1, Method: kmip.SplitKeyMethodXOR}), ErrInvalidField},
		{"XOR below all parts", split(ctx, base.ID, SplitParams{Parts: 3, Threshold: 2, Method: kmip.SplitKeyMethodXOR}), ErrInvalidField},
		{"prime field without a prime", split(ctx, base.ID, SplitParams{Parts: 3, Threshold: 2, Method: kmip.SplitKeyMethodPolynomialSharingPrimeField}), ErrMissingData},
		{"prime field too small", split(ctx, base.ID, SplitParams{Parts: 3, Threshold: 2, Method: kmip.SplitKeyMethodPolynomialSharingPrimeField, PrimeFieldSize: big.NewInt(257)}), ErrInvalidField},
		{"split a part", split(ctx, a[0].ID, gf8), ErrInvalidField},
		{"base of another group", split(other, base.ID, gf8), ErrNotFound},
		{"read-only caller", split(readOnly, base.ID, gf8), ErrPermissionDenied},
		{"generate without algorithm", split(ctx, "", gf8), ErrMissingData},
		{"parts of two splits", join(ctx, kmip.ObjectTypeSymmetricKey, a[0].ID, b[1].ID), ErrInvalidField},
		{"part named twice", join(ctx, kmip.ObjectTypeSymmetricKey, a[0].ID, a[0].ID), ErrInvalidField},
		{"not a part", join(ctx, kmip.ObjectTypeSymmetricKey, base.ID, a[0].ID), ErrInvalidField},
		{"no parts", join(ctx, kmip.ObjectTypeSymmetricKey), ErrMissingData},
		{"private key out", join(ctx, kmip.ObjectTypePrivateKey, a[0].ID, a[1].ID), ErrNotSupported},
		{"parts of another group", join(other, kmip.ObjectTypeSymmetricKey, a[0].ID, a[1].ID), ErrNotFound},
		{"too few", join(ctx, kmip.ObjectTypeSymmetricKey, a[2].ID), ErrSplitJoin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Errorf("err = %v, want %v", tt.err, tt.want)
			}
		})
	}
}

// TestSplitKeepsProtection: parts of a Sensitive, non-extractable key are
// too, and so is what they join to; a join to Secret Data is opaque.
func TestSplitKeepsProtection(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	attrs := append(aesAttrs("guarded"),
		kmip.Attribute{AttributeName: kmip.AttributeNameSensitive, AttributeValue: true},
		kmip.Attribute{AttributeName: kmip.AttributeNameExtractable, AttributeValue: false})
	base, err := m.Create(ctx, kmip.ObjectTypeSymmetricKey, attrs)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := m.CreateSplitKey(ctx, base.ID, SplitParams{Parts: 2, Threshold: 2, Method: kmip.SplitKeyMethodXOR}, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := m.JoinSplitKey(ctx, JoinRequest{Type: kmip.ObjectTypeSecretData, Parts: []string{parts[0].ID, parts[1].ID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range append(parts, j) {
		s, _ := o.Attr(kmip.AttributeNameSensitive)
		e, _ := o.Attr(kmip.AttributeNameExtractable)
		if s != true || e != false {
			t.Errorf("%v: Sensitive %v, Extractable %v", o.Type, s, e)
		}
	}
	sd, ok := j.Value.(*kmip.SecretData)
	if !ok || sd.SecretDataType != kmip.SecretDataTypeSeed || sd.KeyBlock.KeyFormatType != kmip.KeyFormatTypeOpaque ||
		!bytes.Equal(material(t, j), material(t, base)) {
		t.Errorf("joined secret data: %+v", j.Value)
	}
}

// TestSplitPartsStayInTheKeysGroup: an administrator's split of a group's
// key and join of its parts leave everything in that group.
func TestSplitPartsStayInTheKeysGroup(t *testing.T) {
	m, _ := newTestManager(t)
	g1 := WithAccess(context.Background(), Access{Group: "g1"})
	admin := WithAccess(context.Background(), Access{AllGroups: true})
	base, err := m.Create(g1, kmip.ObjectTypeSymmetricKey, aesAttrs("g1-key"))
	if err != nil {
		t.Fatal(err)
	}
	parts, err := m.CreateSplitKey(admin, base.ID, SplitParams{Parts: 2, Threshold: 2, Method: kmip.SplitKeyMethodXOR}, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := joinAES(admin, m, parts[0].ID, parts[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	other, err := m.Register(WithAccess(context.Background(), Access{Group: "g2"}), kmip.ObjectTypeSplitKey,
		&kmip.SplitKey{SplitKeyParts: 2, KeyPartIdentifier: 2, SplitKeyThreshold: 2, SplitKeyMethod: kmip.SplitKeyMethodXOR,
			KeyBlock: rawKeyBlock(make([]byte, 32), 0, 0)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := joinAES(admin, m, parts[0].ID, other.ID); !errors.Is(err, ErrInvalidField) {
		t.Errorf("join across groups: %v, want ErrInvalidField", err)
	}
	for _, o := range append(parts, j) {
		if o.Group != "g1" {
			t.Errorf("%v %s in group %q, want g1", o.Type, o.ID, o.Group)
		}
		if _, err := m.Get(g1, o.ID); err != nil {
			t.Errorf("g1 cannot get %s: %v", o.ID, err)
		}
	}
}
