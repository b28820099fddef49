package kmip

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"

	"github.com/ovh/kmip-go"
)

func TestParseDN(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    string // RFC 4514 text of the parsed name
		wantErr bool
	}{
		{name: "vector subject", text: "CN=Client,OU=KMIP,O=ACME,C=US", want: "CN=Client,OU=KMIP,O=ACME,C=US"},
		{name: "spaces around parts", text: "CN = Client , O = ACME", want: "CN=Client,O=ACME"},
		{name: "escaped comma", text: `CN=Doe\, Jane,O=ACME`, want: `CN=Doe\, Jane,O=ACME`},
		{name: "hex escape", text: `CN=caf\c3\a9`, want: "CN=café"},
		{name: "multi-valued RDN", text: "CN=a+SERIALNUMBER=7,O=ACME", want: "CN=a+SERIALNUMBER=7,O=ACME"},
		{name: "dotted OID and lower case type", text: "2.5.4.3=oid,o=ACME", want: "CN=oid,O=ACME"},
		{name: "empty", text: " ", wantErr: true},
		{name: "no equals sign", text: "CN", wantErr: true},
		{name: "unknown type", text: "XX=1", wantErr: true},
		{name: "negative OID arc", text: "2.-5=1", wantErr: true},
		{name: "empty value", text: "CN=", wantErr: true},
		{name: "trailing escape", text: `CN=a\`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := parseDN(tt.text)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseDN(%q) accepted", tt.text)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var rdn pkix.RDNSequence
			if rest, err := asn1.Unmarshal(der, &rdn); err != nil || len(rest) > 0 {
				t.Fatalf("not a DER name: %v", err)
			}
			if got := rdn.String(); got != tt.want {
				t.Fatalf("parsed %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("certificate order", func(t *testing.T) {
		der, err := parseDN("CN=Client,OU=KMIP,O=ACME,C=US")
		if err != nil {
			t.Fatal(err)
		}
		// The vector's CSR subject: C, O, OU, CN in DER order.
		want := []byte{0x30, 0x3c, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 'U', 'S'}
		if !bytes.HasPrefix(der, want) {
			t.Fatalf("DER %x does not start with the country", der)
		}
	})
}

func TestKeyUsage(t *testing.T) {
	tests := []struct {
		name string
		mask kmip.CryptographicUsageMask
		want x509.KeyUsage
	}{
		{"none", 0, 0},
		{"verify", kmip.CryptographicUsageVerify, x509.KeyUsageDigitalSignature},
		{"sign and verify", kmip.CryptographicUsageSign | kmip.CryptographicUsageVerify, x509.KeyUsageDigitalSignature},
		{"wrap", kmip.CryptographicUsageWrapKey, x509.KeyUsageKeyEncipherment},
		{"encrypt", kmip.CryptographicUsageEncrypt, x509.KeyUsageDataEncipherment},
		{"key agreement", kmip.CryptographicUsageKeyAgreement, x509.KeyUsageKeyAgreement},
		{"content commitment", kmip.CryptographicUsageContentCommitment, x509.KeyUsageContentCommitment},
		{"certificate signing is not passed on", kmip.CryptographicUsageCertificateSign | kmip.CryptographicUsageCRLSign, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keyUsage(tt.mask); got != tt.want {
				t.Fatalf("keyUsage(%v) = %v, want %v", tt.mask, got, tt.want)
			}
		})
	}
}
