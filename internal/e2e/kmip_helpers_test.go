package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/conformance"
)

// kmipClient sends single-item KMIP 1.4 requests over one TLS connection.
type kmipClient struct {
	t    *testing.T
	conn conformance.Conn
}

func dialKMIP(t *testing.T, addr string, conf *tls.Config) *kmipClient {
	t.Helper()
	c, err := conformance.DialTLS(addr, conf)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &kmipClient{t: t, conn: c}
}

// call sends one operation and returns its batch item; err is set when
// the connection itself failed.
func (c *kmipClient) call(pl kmip.OperationPayload) (kmip.ResponseBatchItem, error) {
	msg := kmip.NewRequestMessage(kmip.V1_4, pl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := c.conn.RoundTrip(ctx, ttlv.MarshalTTLV(&msg))
	if err != nil {
		return kmip.ResponseBatchItem{}, err
	}
	var resp kmip.ResponseMessage
	if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
		c.t.Fatalf("decode response: %v", err)
	}
	if len(resp.BatchItem) != 1 {
		c.t.Fatalf("got %d batch items", len(resp.BatchItem))
	}
	return resp.BatchItem[0], nil
}

// must sends one operation that must succeed.
func (c *kmipClient) must(pl kmip.OperationPayload) kmip.OperationPayload {
	c.t.Helper()
	it, err := c.call(pl)
	if err != nil {
		c.t.Fatal(err)
	}
	if it.ResultStatus != kmip.ResultStatusSuccess {
		c.t.Fatalf("%s: %s (%s)", ttlv.EnumStr(pl.Operation()), ttlv.EnumStr(it.ResultReason), it.ResultMessage)
	}
	return it.ResponsePayload
}

func aesKey(name string) *payloads.CreateRequestPayload {
	return &payloads.CreateRequestPayload{ObjectType: kmip.ObjectTypeSymmetricKey, TemplateAttribute: kmip.TemplateAttribute{Attribute: []kmip.Attribute{
		{AttributeName: kmip.AttributeNameCryptographicAlgorithm, AttributeValue: kmip.CryptographicAlgorithmAES},
		{AttributeName: kmip.AttributeNameCryptographicLength, AttributeValue: int32(256)},
		{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt},
		{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: name, NameType: kmip.NameTypeUninterpretedTextString}},
	}}}
}

// certFingerprint is the fingerprint of a client TLS configuration's leaf.
func certFingerprint(t *testing.T, conf *tls.Config) string {
	t.Helper()
	leaf, err := x509.ParseCertificate(conf.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(leaf.Raw)
	return hex.EncodeToString(sum[:])
}
