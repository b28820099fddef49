package interop

// NetApp ONTAP style vendor attributes. No public trace of ONTAP's exact
// x-NETAPP-* names was found; the pattern tested is the documented one of
// storage arrays: the array tags its keys with x- attributes and finds
// them again by Locate on those attributes alone
// (github.com/OpenKMIP/PyKMIP/issues/459: an array client locates its key
// by x-ResourceID and x-SystemID; PyKMIP pull 632, "better support for
// CustomAttribute ... searching with LOCATE works", for IBM tape
// libraries). Keywarden issue 6 asks for x-NETAPP-* attributes of several
// types: text (cluster and vserver), integer (key usage), date-time
// (creation time) and byte string (key id). The server must keep each
// value's type and match it, type included, in Locate.

import (
	"bytes"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/testenv"
)

func TestClientNetApp(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	c := dialAdmin(t, env, kmip.V1_2)
	usage := kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt

	created := time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC)
	type tagged struct {
		id      string
		cluster string
		keyUse  int32
		keyID   []byte
	}
	newKey := func(t *testing.T, cluster string, keyUse int32) tagged {
		t.Helper()
		k := tagged{cluster: cluster, keyUse: keyUse, keyID: make([]byte, 32)}
		_, _ = rand.Read(k.keyID)
		resp, err := c.Create().AES(256, usage).
			WithAttribute("x-NETAPP-ClusterId", cluster).
			WithAttribute("x-NETAPP-KeyUsage", keyUse).
			WithAttribute("x-NETAPP-CreationTime", created).
			WithAttribute("x-NETAPP-KeyId", k.keyID).
			Exec()
		if err != nil {
			t.Fatalf("Create with x-NETAPP attributes: %v", err)
		}
		k.id = resp.UniqueIdentifier
		// ONTAP adds the vserver after creation.
		if _, err := c.AddAttribute(k.id, "x-NETAPP-Vserver", cluster+"-svm1").Exec(); err != nil {
			t.Fatalf("Add Attribute x-NETAPP-Vserver: %v", err)
		}
		return k
	}
	a := newKey(t, "cluster-a", 1)
	b := newKey(t, "cluster-b", 2)

	// Every value comes back with its type.
	attrs, err := c.GetAttributes(a.id, "x-NETAPP-ClusterId", "x-NETAPP-KeyUsage",
		"x-NETAPP-CreationTime", "x-NETAPP-KeyId", "x-NETAPP-Vserver").Exec()
	if err != nil {
		t.Fatalf("Get Attributes x-NETAPP-*: %v", err)
	}
	for name, want := range map[kmip.AttributeName]any{
		"x-NETAPP-ClusterId":    "cluster-a",
		"x-NETAPP-KeyUsage":     int32(1),
		"x-NETAPP-CreationTime": created,
		"x-NETAPP-KeyId":        a.keyID,
		"x-NETAPP-Vserver":      "cluster-a-svm1",
	} {
		v, ok := oneAttr(t, attrs.Attribute, name).(ttlv.Value)
		if !ok || !sameValue(v.Value, want) {
			t.Errorf("%s = %#v, want %T %v", name, v.Value, want, want)
		}
	}

	tests := []struct {
		name  string
		attrs []kmip.Attribute
		want  []string
	}{
		{name: "text", attrs: []kmip.Attribute{{AttributeName: "x-NETAPP-ClusterId", AttributeValue: "cluster-b"}}, want: []string{b.id}},
		{name: "integer", attrs: []kmip.Attribute{{AttributeName: "x-NETAPP-KeyUsage", AttributeValue: int32(1)}}, want: []string{a.id}},
		{name: "date-time", attrs: []kmip.Attribute{{AttributeName: "x-NETAPP-CreationTime", AttributeValue: created}}, want: []string{a.id, b.id}},
		{name: "byte string", attrs: []kmip.Attribute{{AttributeName: "x-NETAPP-KeyId", AttributeValue: b.keyID}}, want: []string{b.id}},
		{name: "added later", attrs: []kmip.Attribute{{AttributeName: "x-NETAPP-Vserver", AttributeValue: "cluster-a-svm1"}}, want: []string{a.id}},
		{name: "all together", attrs: []kmip.Attribute{
			{AttributeName: "x-NETAPP-ClusterId", AttributeValue: "cluster-a"},
			{AttributeName: "x-NETAPP-KeyUsage", AttributeValue: int32(1)},
			{AttributeName: "x-NETAPP-KeyId", AttributeValue: a.keyID},
			{AttributeName: kmip.AttributeNameObjectType, AttributeValue: kmip.ObjectTypeSymmetricKey},
		}, want: []string{a.id}},
		{name: "no match", attrs: []kmip.Attribute{
			{AttributeName: "x-NETAPP-ClusterId", AttributeValue: "cluster-a"},
			{AttributeName: "x-NETAPP-KeyUsage", AttributeValue: int32(2)},
		}, want: nil},
		{name: "same digits other type", attrs: []kmip.Attribute{{AttributeName: "x-NETAPP-KeyUsage", AttributeValue: "1"}}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := c.Locate().WithAttributes(tc.attrs...).Exec()
			if err != nil {
				t.Fatalf("Locate: %v", err)
			}
			got := slices.Clone(loc.UniqueIdentifier)
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("Locate = %v, want %v", got, want)
			}
		})
	}
}

// sameValue compares an attribute value decoded from TTLV with the value
// the test sent.
func sameValue(got, want any) bool {
	switch w := want.(type) {
	case []byte:
		g, ok := got.([]byte)
		return ok && bytes.Equal(g, w)
	case time.Time:
		g, ok := got.(time.Time)
		return ok && g.Equal(w)
	default:
		return got == want
	}
}
