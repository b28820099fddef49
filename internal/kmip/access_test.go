package kmip

import (
	"context"
	"crypto/x509"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/devices"
)

// fakeResolver maps certificate common names to principals.
type fakeResolver struct {
	by      map[string]devices.Principal
	revoked map[string]bool
}

func (f fakeResolver) Resolve(_ context.Context, cert *x509.Certificate, _ string) (devices.Principal, error) {
	p, ok := f.by[cert.Subject.CommonName]
	if !ok {
		return p, devices.ErrPending
	}
	return p, nil
}

func (f fakeResolver) IsRevoked(fp string) bool { return f.revoked[fp] }

func TestPrincipalsScopeRequests(t *testing.T) {
	r := newTestRouter(t)
	certA, certB, certAud, certNew := &x509.Certificate{Raw: []byte("a")}, &x509.Certificate{Raw: []byte("b")}, &x509.Certificate{Raw: []byte("aud")}, &x509.Certificate{Raw: []byte("new")}
	certA.Subject.CommonName, certB.Subject.CommonName, certAud.Subject.CommonName, certNew.Subject.CommonName = "a", "b", "aud", "new"
	r.resolver = fakeResolver{
		by: map[string]devices.Principal{
			"a":   {Kind: devices.KindDevice, Group: "ga"},
			"b":   {Kind: devices.KindDevice, Group: "gb", AllowedOps: []string{"Locate", "Get"}},
			"aud": {Kind: devices.KindAuditor, AllGroups: true, ReadOnly: true},
		},
		revoked: map[string]bool{},
	}
	send := func(cert *x509.Certificate, conn uint64, pl kmip.OperationPayload) kmip.ResponseBatchItem {
		msg := kmip.NewRequestMessage(kmip.V1_4, pl)
		raw := r.HandleMessage(context.Background(), Peer{Certificate: cert, ConnID: conn}, ttlv.MarshalTTLV(&msg))
		var resp kmip.ResponseMessage
		if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
			t.Fatal(err)
		}
		return resp.BatchItem[0]
	}
	created := send(certA, 1, aesCreate("k"))
	if created.ResultStatus != kmip.ResultStatusSuccess {
		t.Fatalf("create: %v", created.ResultReason)
	}
	id := created.ResponsePayload.(*payloads.CreateResponsePayload).UniqueIdentifier

	tests := []struct {
		name   string
		cert   *x509.Certificate
		pl     kmip.OperationPayload
		reason kmip.ResultReason // 0: success
	}{
		{"owner gets", certA, &payloads.GetRequestPayload{UniqueIdentifier: id}, 0},
		{"other group: as missing", certB, &payloads.GetRequestPayload{UniqueIdentifier: id}, kmip.ResultReasonItemNotFound},
		{"operation outside the group's list", certB, &payloads.DestroyRequestPayload{UniqueIdentifier: id}, kmip.ResultReasonPermissionDenied},
		{"auditor reads metadata", certAud, &payloads.GetAttributesRequestPayload{UniqueIdentifier: id}, 0},
		{"auditor gets no key material", certAud, &payloads.GetRequestPayload{UniqueIdentifier: id}, kmip.ResultReasonPermissionDenied},
		{"pending client", certNew, &payloads.GetRequestPayload{UniqueIdentifier: id}, kmip.ResultReasonAuthenticationNotSuccessful},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := send(tc.cert, uint64(10+i), tc.pl)
			if tc.reason == 0 && it.ResultStatus != kmip.ResultStatusSuccess {
				t.Fatalf("want success, got %v", it.ResultReason)
			}
			if tc.reason != 0 && (it.ResultStatus == kmip.ResultStatusSuccess || it.ResultReason != tc.reason) {
				t.Fatalf("want %v, got %v/%v", tc.reason, it.ResultStatus, it.ResultReason)
			}
		})
	}
	r.resolver.(fakeResolver).revoked[devices.Fingerprint(certA)] = true
	if it := send(certA, 1, &payloads.GetRequestPayload{UniqueIdentifier: id}); it.ResultReason != kmip.ResultReasonAuthenticationNotSuccessful {
		t.Fatalf("revoked certificate on an open connection: %v", it.ResultReason)
	}
}
