package kmip

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"slices"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/kmip/kmip2"
)

func TestCertifyRefusals(t *testing.T) {
	r, ca := certifyRouter(t)
	key := certECKey(t)
	_, pubID := registerPair(t, r, key, kmip.CryptographicAlgorithmECDSA, 256, nil, kmip.CryptographicUsageSign, kmip.CryptographicUsageVerify)
	aesID := registerSymmetric(t, r, make([]byte, 32), keyOpts{mask: kmip.CryptographicUsageEncrypt})
	csr := certCSR(t, key, pkix.Name{CommonName: "refusals"})
	badSig := slices.Clone(csr)
	badSig[len(badSig)-1] ^= 0xff
	otherCSR := certCSR(t, certECKey(t), pkix.Name{CommonName: "someone else"})
	certID := ok[*CertifyResponsePayload](t, r, &CertifyRequestPayload{UniqueIdentifier: pubID,
		CertificateRequestType: kmip.CertificateRequestTypePKCS_10, CertificateRequest: csr}).UniqueIdentifier
	pkcs10 := kmip.CertificateRequestTypePKCS_10
	template := func(attrs ...kmip.Attribute) *kmip.TemplateAttribute {
		return &kmip.TemplateAttribute{Attribute: attrs}
	}
	now := time.Now().UTC().Truncate(time.Second)
	caDN := ca.Subject.String()
	tests := []struct {
		name string
		req  kmip.OperationPayload
		want kmip.ResultReason
	}{
		{"CRMF request", &CertifyRequestPayload{UniqueIdentifier: pubID, CertificateRequestType: kmip.CertificateRequestTypeCRMF, CertificateRequest: []byte{0x30, 0}},
			kmip.ResultReasonFeatureNotSupported},
		{"PGP request", &CertifyRequestPayload{UniqueIdentifier: pubID, CertificateRequestType: kmip.CertificateRequestTypePGP, CertificateRequest: []byte{1}},
			kmip.ResultReasonFeatureNotSupported},
		{"request that is not PKCS#10", &CertifyRequestPayload{UniqueIdentifier: pubID, CertificateRequestType: pkcs10, CertificateRequest: []byte{0x30, 0x03, 2, 1, 0}},
			kmip.ResultReasonInvalidField},
		{"PEM request without a PEM block", &CertifyRequestPayload{CertificateRequestType: kmip.CertificateRequestTypePEM, CertificateRequest: csr},
			kmip.ResultReasonInvalidField},
		{"request whose signature does not verify", &CertifyRequestPayload{UniqueIdentifier: pubID, CertificateRequestType: pkcs10, CertificateRequest: badSig},
			kmip.ResultReasonInvalidField},
		{"request type without a request", &CertifyRequestPayload{UniqueIdentifier: pubID, CertificateRequestType: pkcs10},
			kmip.ResultReasonMissingData},
		{"request without a type", &CertifyRequestPayload{UniqueIdentifier: pubID, CertificateRequest: csr},
			kmip.ResultReasonMissingData},
		{"request for another key", &CertifyRequestPayload{UniqueIdentifier: pubID, CertificateRequestType: pkcs10, CertificateRequest: otherCSR},
			kmip.ResultReasonInvalidField},
		{"symmetric key", &CertifyRequestPayload{UniqueIdentifier: aesID, CertificateRequestType: pkcs10, CertificateRequest: csr},
			kmip.ResultReasonInvalidField},
		{"no key and no request", &CertifyRequestPayload{}, kmip.ResultReasonMissingData},
		{"key without a subject", &CertifyRequestPayload{UniqueIdentifier: pubID}, kmip.ResultReasonMissingData},
		{"unreadable subject", &CertifyRequestPayload{UniqueIdentifier: pubID, TemplateAttribute: template(kmip.Attribute{
			AttributeName: kmip.AttributeNameCertificateSubject, AttributeValue: kmip.CertificateSubject{CertificateSubjectDistinguishedName: "no equals sign"}})},
			kmip.ResultReasonInvalidField},
		{"another issuer", &CertifyRequestPayload{UniqueIdentifier: pubID, CertificateRequestType: pkcs10, CertificateRequest: csr,
			TemplateAttribute: template(kmip.Attribute{AttributeName: kmip.AttributeNameCertificateIssuer,
				AttributeValue: kmip.CertificateIssuer{CertificateIssuerDistinguishedName: "CN=KMIP,OU=OASIS,O=TEST,C=US"}})},
			kmip.ResultReasonInvalidField},
		{"another X.509 issuer", &CertifyRequestPayload{UniqueIdentifier: pubID, CertificateRequestType: pkcs10, CertificateRequest: csr,
			TemplateAttribute: template(kmip.Attribute{AttributeName: kmip.AttributeNameX509CertificateIssuer,
				AttributeValue: kmip.X_509CertificateIssuer{IssuerDistinguishedName: []byte{0x30, 0}}})},
			kmip.ResultReasonInvalidField},
		{"serial number chosen by the client", &CertifyRequestPayload{UniqueIdentifier: pubID, CertificateRequestType: pkcs10, CertificateRequest: csr,
			TemplateAttribute: template(kmip.Attribute{AttributeName: kmip.AttributeNameCertificateIdentifier,
				AttributeValue: kmip.CertificateIdentifier{Issuer: caDN, SerialNumber: "01"}})},
			kmip.ResultReasonPermissionDenied},
		{"validity the CA refuses", &CertifyRequestPayload{UniqueIdentifier: pubID, CertificateRequestType: pkcs10, CertificateRequest: csr,
			TemplateAttribute: template(
				kmip.Attribute{AttributeName: kmip.AttributeNameActivationDate, AttributeValue: now.Add(2 * time.Hour)},
				kmip.Attribute{AttributeName: kmip.AttributeNameDeactivationDate, AttributeValue: now.Add(time.Hour)})},
			kmip.ResultReasonInvalidField},
		{"unknown key", &CertifyRequestPayload{UniqueIdentifier: "01a20000-0000-7000-8000-000000000000", CertificateRequestType: pkcs10, CertificateRequest: csr},
			kmip.ResultReasonItemNotFound},
		{"re-certify a public key", &ReCertifyRequestPayload{UniqueIdentifier: pubID, CertificateRequestType: pkcs10, CertificateRequest: csr},
			kmip.ResultReasonInvalidField},
		{"re-certify with another key's request", &ReCertifyRequestPayload{UniqueIdentifier: certID, CertificateRequestType: pkcs10, CertificateRequest: otherCSR},
			kmip.ResultReasonInvalidField},
		{"re-certify without an identifier or placeholder", &ReCertifyRequestPayload{}, kmip.ResultReasonMissingData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fails(t, r, tt.req, tt.want)
		})
	}
	t.Run("destroyed key and certificate", func(t *testing.T) {
		k := certECKey(t)
		spki, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		goneKey := register(t, r, kmip.ObjectTypePublicKey, &kmip.PublicKey{KeyBlock: kmip.KeyBlock{KeyFormatType: kmip.KeyFormatTypeX_509,
			CryptographicAlgorithm: kmip.CryptographicAlgorithmECDSA, CryptographicLength: 256,
			KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &spki}}}}},
			keyOpts{mask: kmip.CryptographicUsageVerify, inactive: true})
		goneCert := ok[*CertifyResponsePayload](t, r, &CertifyRequestPayload{UniqueIdentifier: goneKey,
			CertificateRequestType: pkcs10, CertificateRequest: certCSR(t, k, pkix.Name{CommonName: "gone"})}).UniqueIdentifier
		for _, id := range []string{goneKey, goneCert} {
			ok[*payloads.DestroyResponsePayload](t, r, &payloads.DestroyRequestPayload{UniqueIdentifier: id})
		}
		fails(t, r, &CertifyRequestPayload{UniqueIdentifier: goneKey, TemplateAttribute: template(kmip.Attribute{
			AttributeName: kmip.AttributeNameCertificateSubject, AttributeValue: kmip.CertificateSubject{CertificateSubjectDistinguishedName: "CN=gone"}})},
			kmip.ResultReasonPermissionDenied)
		fails(t, r, &ReCertifyRequestPayload{UniqueIdentifier: goneCert}, kmip.ResultReasonPermissionDenied)
	})
	t.Run("this server's CA as issuer", func(t *testing.T) {
		ok[*CertifyResponsePayload](t, r, &CertifyRequestPayload{UniqueIdentifier: pubID, CertificateRequestType: pkcs10, CertificateRequest: csr,
			TemplateAttribute: template(kmip.Attribute{AttributeName: kmip.AttributeNameCertificateIssuer,
				AttributeValue: kmip.CertificateIssuer{CertificateIssuerDistinguishedName: caDN}})})
	})
	t.Run("no CA", func(t *testing.T) {
		fails(t, newTestRouter(t), &CertifyRequestPayload{CertificateRequestType: pkcs10, CertificateRequest: csr}, kmip.ResultReasonFeatureNotSupported)
	})
}

func TestCertifyAuditedAndListed(t *testing.T) {
	r, _ := certifyRouter(t)
	mem := &audit.Memory{}
	WithAudit(mem, "node-1")(r)
	key := certECKey(t)
	_, pubID := registerPair(t, r, key, kmip.CryptographicAlgorithmECDSA, 256, nil, kmip.CryptographicUsageSign, kmip.CryptographicUsageVerify)
	mem.Reset()
	csr := certCSR(t, key, pkix.Name{CommonName: "audited"})
	certID := ok[*CertifyResponsePayload](t, r, &CertifyRequestPayload{UniqueIdentifier: pubID,
		CertificateRequestType: kmip.CertificateRequestTypePKCS_10, CertificateRequest: csr,
		TemplateAttribute: &kmip.TemplateAttribute{Attribute: []kmip.Attribute{certName("audited-cert")}}}).UniqueIdentifier
	fails(t, r, &ReCertifyRequestPayload{UniqueIdentifier: pubID}, kmip.ResultReasonInvalidField)
	evs := mem.Events()
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	if e := evs[0]; e.Operation != "Certify" || e.Type != audit.TypeKey || e.Outcome != audit.Success ||
		!slices.Equal(e.Objects, []string{certID}) || !slices.Equal(e.Labels, []string{"audited-cert"}) {
		t.Fatalf("certify event %+v", e)
	}
	if e := evs[1]; e.Operation != "ReCertify" || e.Type != audit.TypeKey || e.Outcome != audit.Failure || !slices.Equal(e.Objects, []string{pubID}) {
		t.Fatalf("re-certify event %+v", e)
	}

	for _, v := range []kmip.ProtocolVersion{kmip.V1_0, kmip.V1_4} {
		resp := roundTrip(t, r, kmip.NewRequestMessage(v, &payloads.QueryRequestPayload{QueryFunction: []kmip.QueryFunction{kmip.QueryFunctionOperations}}))
		q, isQuery := resp.BatchItem[0].ResponsePayload.(*payloads.QueryResponsePayload)
		if !isQuery {
			t.Fatalf("Query at %v answered %+v", v, resp.BatchItem[0])
		}
		if !slices.Contains(q.Operations, kmip.OperationCertify) || !slices.Contains(q.Operations, kmip.OperationReCertify) {
			t.Fatalf("Query at %v lists %v, want Certify and Re-certify", v, q.Operations)
		}
	}
}

// TestCertifyV2 certifies through a KMIP 2.1 request: Certificate Request
// Value and Attributes are translated to the 1.x handler.
func TestCertifyV2(t *testing.T) {
	r, _ := certifyRouter(t)
	key := certECKey(t)
	_, pubID := registerPair(t, r, key, kmip.CryptographicAlgorithmECDSA, 256, nil, kmip.CryptographicUsageSign, kmip.CryptographicUsageVerify)
	csr := certCSR(t, key, pkix.Name{CommonName: "v2 client"})
	resp := send2(t, r, kmip.V2_1, item2(kmip.OperationCertify,
		ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: pubID},
		ttlv.Value{Tag: kmip.TagCertificateRequestType, Value: ttlv.Enum(kmip.CertificateRequestTypePKCS_10)},
		ttlv.Value{Tag: kmip2.TagCertificateRequestValue, Value: csr},
		ttlv.Value{Tag: kmip2.TagAttributes, Value: ttlv.Struct{{Tag: kmip.TagName, Value: ttlv.Struct{
			{Tag: kmip.TagNameValue, Value: "v2-cert"},
			{Tag: kmip.TagNameType, Value: ttlv.Enum(kmip.NameTypeUninterpretedTextString)},
		}}}},
	))
	if v := responseVersion(resp); v != kmip.V2_1 {
		t.Fatalf("response version %v", v)
	}
	it := items(resp)
	if st, reason := status(t, it[0]); len(it) != 1 || st != kmip.ResultStatusSuccess {
		t.Fatalf("certify: %v %v", st, reason)
	}
	id, _ := find(sub(find(it[0], kmip.TagResponsePayload)), kmip.TagUniqueIdentifier).Value.(string)
	if !key.PublicKey.Equal(certGet(t, r, id).PublicKey) {
		t.Fatal("2.1 Certify did not certify the key")
	}
	if got := certAttrs(t, r, id, kmip.AttributeNameName); len(got) != 1 || got[0].(kmip.Name).NameValue != "v2-cert" {
		t.Fatalf("names %v", got)
	}
	resp = send2(t, r, kmip.V2_1, item2(kmip.OperationReCertify,
		ttlv.Value{Tag: kmip.TagUniqueIdentifier, Value: id},
		ttlv.Value{Tag: kmip2.TagCertificateRequestUniqueIdentifier, Value: "stored-csr"},
	))
	if st, reason := status(t, items(resp)[0]); st == kmip.ResultStatusSuccess || reason != kmip.ResultReasonFeatureNotSupported {
		t.Fatalf("stored certificate request: %v %v, want Feature Not Supported", st, reason)
	}
}
