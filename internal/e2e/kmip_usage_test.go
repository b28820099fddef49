package e2e

import (
	"context"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/testenv"
	"github.com/keywarden/keywarden/internal/usage"
)

// TestTapeLibraryFlowIsRecorded: the Tape Library profile's flow over KMIP
// (a key per cartridge, its key-association data as Application Specific
// Information LIBRARY-LTO, the barcode as Alternative Name) lands in the
// usage log like the device protocol's flows, so "which tapes were
// written with this key?" has one answer.
func TestTapeLibraryFlowIsRecorded(t *testing.T) {
	env := testenv.Start(t)
	c := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
	create := aesKey("AAAAAAA1A1AA12345678901234567")
	create.TemplateAttribute.Attribute = append(create.TemplateAttribute.Attribute,
		kmip.Attribute{AttributeName: kmip.AttributeNameApplicationSpecificInformation,
			AttributeValue: kmip.ApplicationSpecificInformation{ApplicationNamespace: "LIBRARY-LTO", ApplicationData: "123456789ABCDEF1"}},
		kmip.Attribute{AttributeName: kmip.AttributeNameAlternativeName,
			AttributeValue: kmip.AlternativeName{AlternativeNameValue: "XXA012L5", AlternativeNameType: kmip.AlternativeNameTypeUninterpretedTextString}},
	)
	id := c.must(create).(*payloads.CreateResponsePayload).UniqueIdentifier
	c.must(&payloads.GetRequestPayload{UniqueIdentifier: id})
	other := c.must(aesKey("not-a-tape-key")).(*payloads.CreateResponsePayload).UniqueIdentifier
	c.must(&payloads.GetRequestPayload{UniqueIdentifier: other})

	recs, err := env.Server.Usage().Query(context.Background(), usage.Query{Volser: "XXA012"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Operation != "Create" || recs[1].Operation != "Get" || recs[0].KeyID != id || recs[0].Protocol != usage.ProtocolKMIP {
		t.Fatalf("records for XXA012: %+v", recs)
	}
	if recs, _ := env.Server.Usage().Query(context.Background(), usage.Query{Alias: other}); len(recs) != 0 {
		t.Fatalf("a key outside any storage flow was recorded: %+v", recs)
	}
}
