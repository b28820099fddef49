package kmip

import (
	"crypto/x509/pkix"
	"slices"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/audit"
)

// TestCertifyUndone: Certify and Re-certify may be in an Undo batch (their
// writes are journaled); when a later item fails, the certificates they
// stored are gone, the public key's links and the replaced certificate are
// as before, and each undone item has its undone audit event.
func TestCertifyUndone(t *testing.T) {
	r, _ := certifyRouter(t)
	mem := &audit.Memory{}
	WithAudit(mem, "node-1")(r)
	key := certECKey(t)
	_, pubID := registerPair(t, r, key, kmip.CryptographicAlgorithmECDSA, 256, nil, kmip.CryptographicUsageSign, kmip.CryptographicUsageVerify)
	csr := certCSR(t, key, pkix.Name{CommonName: "undone"})
	pkcs10 := kmip.CertificateRequestTypePKCS_10
	named := func(n string) *kmip.TemplateAttribute {
		return &kmip.TemplateAttribute{Attribute: []kmip.Attribute{certName(n)}}
	}
	links := func(id string) []any { return certAttrs(t, r, id, kmip.AttributeNameLink) }
	names := func(id string) []any { return certAttrs(t, r, id, kmip.AttributeNameName) }
	locate := func(attrs ...kmip.Attribute) []string {
		return ok[*payloads.LocateResponsePayload](t, r, &payloads.LocateRequestPayload{Attribute: attrs}).UniqueIdentifier
	}
	certificates := func() []string {
		return locate(kmip.Attribute{AttributeName: kmip.AttributeNameObjectType, AttributeValue: kmip.ObjectTypeCertificate})
	}
	undoBatch := func(items ...kmip.OperationPayload) kmip.ResponseMessage {
		msg := kmip.NewRequestMessage(kmip.V1_4, items...)
		msg.Header.BatchErrorContinuationOption = kmip.BatchErrorContinuationOptionUndo
		return roundTrip(t, r, msg)
	}
	U, F := kmip.ResultStatusOperationUndone, kmip.ResultStatusOperationFailed
	// undoneEvents returns the objects of the undone events of op.
	undoneEvents := func(op string) [][]string {
		var out [][]string
		for _, ev := range mem.Events() {
			if ev.Operation == op && ev.Outcome == audit.Undone {
				if ev.Reason != reasonUndone {
					t.Fatalf("undone event reason %q", ev.Reason)
				}
				out = append(out, ev.Objects)
			}
		}
		return out
	}

	t.Run("Certify and Re-certify of its certificate", func(t *testing.T) {
		keyLinks := links(pubID)
		mem.Reset()
		resp := undoBatch(
			&CertifyRequestPayload{UniqueIdentifier: pubID, CertificateRequestType: pkcs10, CertificateRequest: csr, TemplateAttribute: named("undone-cert")},
			&ReCertifyRequestPayload{CertificateRequestType: pkcs10, CertificateRequest: csr}, // the ID placeholder: the new certificate
			missing,
		)
		if got, want := statuses(resp), []kmip.ResultStatus{U, U, F}; !slices.Equal(got, want) {
			t.Fatalf("statuses %v, want %v", got, want)
		}
		certID := resp.BatchItem[0].ResponsePayload.(*CertifyResponsePayload).UniqueIdentifier
		nextID := resp.BatchItem[1].ResponsePayload.(*ReCertifyResponsePayload).UniqueIdentifier
		if certID == "" || nextID == "" || certID == nextID {
			t.Fatalf("undone answers name %q and %q", certID, nextID)
		}
		if ids := certificates(); len(ids) != 0 {
			t.Fatalf("Locate finds certificates %v after undo", ids)
		}
		if ids := locate(certName("undone-cert")); len(ids) != 0 {
			t.Fatalf("Locate finds %v by the undone certificate's name", ids)
		}
		for _, id := range []string{certID, nextID} {
			fails(t, r, &payloads.GetRequestPayload{UniqueIdentifier: id}, kmip.ResultReasonItemNotFound)
		}
		if got := links(pubID); !slices.Equal(got, keyLinks) {
			t.Fatalf("key links %v after undo, want %v", got, keyLinks)
		}
		if got := undoneEvents("Certify"); len(got) != 1 || !slices.Contains(got[0], certID) {
			t.Fatalf("Certify undone events %v, want one on %s", got, certID)
		}
		if got := undoneEvents("ReCertify"); len(got) != 1 || !slices.Contains(got[0], nextID) {
			t.Fatalf("ReCertify undone events %v, want one on %s", got, nextID)
		}
	})

	t.Run("Re-certify of a stored certificate", func(t *testing.T) {
		oldID := ok[*CertifyResponsePayload](t, r, &CertifyRequestPayload{UniqueIdentifier: pubID,
			CertificateRequestType: pkcs10, CertificateRequest: csr, TemplateAttribute: named("kept-cert")}).UniqueIdentifier
		keyLinks, oldLinks, oldNames := links(pubID), links(oldID), names(oldID)
		if !slices.Contains(keyLinks, any(certLink(kmip.LinkTypeCertificateLink, oldID))) {
			t.Fatalf("key links %v: no Certificate Link to %s", keyLinks, oldID)
		}
		mem.Reset()
		resp := undoBatch(&ReCertifyRequestPayload{UniqueIdentifier: oldID, TemplateAttribute: named("second-name")}, missing)
		if got, want := statuses(resp), []kmip.ResultStatus{U, F}; !slices.Equal(got, want) {
			t.Fatalf("statuses %v, want %v", got, want)
		}
		nextID := resp.BatchItem[0].ResponsePayload.(*ReCertifyResponsePayload).UniqueIdentifier
		fails(t, r, &payloads.GetRequestPayload{UniqueIdentifier: nextID}, kmip.ResultReasonItemNotFound)
		if ids := certificates(); !slices.Equal(ids, []string{oldID}) {
			t.Fatalf("Locate finds certificates %v after undo, want only %s", ids, oldID)
		}
		if got := links(pubID); !slices.Equal(got, keyLinks) {
			t.Fatalf("key links %v after undo, want %v", got, keyLinks)
		}
		if got := links(oldID); !slices.Equal(got, oldLinks) {
			t.Fatalf("old certificate links %v after undo, want %v", got, oldLinks)
		}
		if got := names(oldID); !slices.Equal(got, oldNames) {
			t.Fatalf("old certificate names %v after undo, want %v", got, oldNames)
		}
		if got := undoneEvents("ReCertify"); len(got) != 1 || !slices.Contains(got[0], oldID) || !slices.Contains(got[0], nextID) {
			t.Fatalf("ReCertify undone events %v, want one on %s and %s", got, oldID, nextID)
		}
	})
}
