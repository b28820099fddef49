package interop

// VMware vSphere (vCenter's KMS client, KMIP 1.1). Its traffic is known from
// public reports against other KMIP servers:
//   - github.com/OpenKMIP/PyKMIP/issues/218 (vSphere 6.5: Create AES-256,
//     then "Get, Attributes, Id=…, Names=State" fails on a server without
//     Get Attributes) and issues/234 (vSphere 6.5 VM encryption needs Get,
//     Get Attributes and Add Attribute);
//   - github.com/gwojcieszczuk/kms4vsphere/issues/3 (vCenter 6.7/7.0 Get
//     Attributes requests in the PyKMIP server log).
// The tagging batch (x-Vendor, x-Product, x-Product_Version, all text) is
// as described in keywarden issue 6. vCenter opens a connection per task
// and starts each with Discover Versions, queries the server's operations
// and objects, creates an AES-256 key, reads its State, tags it in one
// batch, activates it and fetches it.

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/kmipclient"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/testenv"
)

func TestClientVSphere(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// vCenter repeats Discover Versions on every connection it opens.
	var c *kmipclient.Client
	for i := range 3 {
		c = dialAdmin(t, env, kmip.V1_1)
		resp, err := c.Request(ctx, &payloads.DiscoverVersionsRequestPayload{
			ProtocolVersion: []kmip.ProtocolVersion{kmip.V1_1, kmip.V1_0},
		})
		if err != nil {
			t.Fatalf("Discover Versions #%d: %v", i+1, err)
		}
		got := resp.(*payloads.DiscoverVersionsResponsePayload).ProtocolVersion
		if !slices.Equal(got, []kmip.ProtocolVersion{kmip.V1_1, kmip.V1_0}) {
			t.Errorf("Discover Versions #%d = %v, want [1.1 1.0]", i+1, got)
		}
	}

	q, err := c.Query().Operations().Objects().Exec()
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	for _, op := range []kmip.Operation{kmip.OperationCreate, kmip.OperationGet, kmip.OperationGetAttributes,
		kmip.OperationAddAttribute, kmip.OperationActivate, kmip.OperationLocate} {
		if !slices.Contains(q.Operations, op) {
			t.Errorf("Query Operations lacks %v", op)
		}
	}
	if !slices.Contains(q.ObjectType, kmip.ObjectTypeSymmetricKey) {
		t.Errorf("Query Objects lacks Symmetric Key: %v", q.ObjectType)
	}

	usage := kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt
	created, err := c.Create().AES(256, usage).Exec()
	if err != nil {
		t.Fatalf("Create AES-256: %v", err)
	}
	id := created.UniqueIdentifier

	ga, err := c.GetAttributes(id, kmip.AttributeNameState).Exec()
	if err != nil {
		t.Fatalf("Get Attributes State: %v", err)
	}
	if st := oneAttr(t, ga.Attribute, kmip.AttributeNameState); st != kmip.StatePreActive {
		t.Errorf("State after Create = %v, want Pre-Active", st)
	}

	tags := []struct {
		name  kmip.AttributeName
		value string
	}{
		{"x-Vendor", "VMware, Inc."},
		{"x-Product", "VMware vSphere"},
		{"x-Product_Version", "8.0.3"},
	}
	var batch []kmip.OperationPayload
	for _, tag := range tags {
		batch = append(batch, &payloads.AddAttributeRequestPayload{
			UniqueIdentifier: id,
			Attribute:        kmip.Attribute{AttributeName: tag.name, AttributeValue: tag.value},
		})
	}
	res, err := c.Batch(ctx, batch...)
	if err != nil {
		t.Fatalf("Add Attribute batch: %v", err)
	}
	if _, err := res.Unwrap(); err != nil {
		t.Fatalf("Add Attribute batch items: %v", err)
	}

	if _, err := c.Activate(id).Exec(); err != nil {
		t.Fatalf("Activate: %v", err)
	}
	got, err := c.Get(id).Exec()
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	sk, ok := got.Object.(*kmip.SymmetricKey)
	if !ok {
		t.Fatalf("Get: object %T, want a symmetric key", got.Object)
	}
	if m, err := sk.KeyMaterial(); err != nil || len(m) != 32 {
		t.Errorf("Get: key material %d bytes (err %v), want 32", len(m), err)
	}

	names := []kmip.AttributeName{kmip.AttributeNameState}
	for _, tag := range tags {
		names = append(names, tag.name)
	}
	all, err := c.GetAttributes(id, names...).Exec()
	if err != nil {
		t.Fatalf("Get Attributes after tagging: %v", err)
	}
	if st := oneAttr(t, all.Attribute, kmip.AttributeNameState); st != kmip.StateActive {
		t.Errorf("State after Activate = %v, want Active", st)
	}
	for _, tag := range tags {
		v := oneAttr(t, all.Attribute, tag.name)
		tv, ok := v.(ttlv.Value)
		if !ok || tv.Value != tag.value {
			t.Errorf("%s = %#v, want text string %q", tag.name, v, tag.value)
		}
	}
}
