package conformance

import (
	"bytes"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// wrap builds a one-exchange vector whose request payload is items.
func wrap(items string) string {
	return `<KMIP><RequestMessage><RequestHeader><BatchCount type="Integer" value="1"/></RequestHeader>
<BatchItem><Operation type="Enumeration" value="Create"/><RequestPayload>` + items + `</RequestPayload></BatchItem>
</RequestMessage><ResponseMessage><ResponseHeader><TimeStamp type="DateTime" value="$NOW"/>
<BatchCount type="Integer" value="1"/></ResponseHeader></ResponseMessage></KMIP>`
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		name  string
		items string
		check func(t *testing.T, payload *Node)
	}{
		{name: "variable with offset", items: `<ActivationDate type="DateTime" value="$NOW-3600"/>`,
			check: func(t *testing.T, p *Node) {
				n := p.Children[0]
				if n.Var != "NOW" || n.Offset != -time.Hour || n.Type != ttlv.TypeDateTime {
					t.Errorf("got var %q offset %v type %s", n.Var, n.Offset, n.Type)
				}
			}},
		{name: "identifier variable", items: `<UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_12"/>`,
			check: func(t *testing.T, p *Node) {
				if n := p.Children[0]; n.Var != "UNIQUE_IDENTIFIER_12" || n.Offset != 0 {
					t.Errorf("got var %q offset %v", n.Var, n.Offset)
				}
			}},
		{name: "mask names in an attribute value", items: `<Attribute>
			<AttributeName type="TextString" value="Cryptographic Usage Mask"/>
			<AttributeValue type="Integer" value="Decrypt   Encrypt"/></Attribute>`,
			check: func(t *testing.T, p *Node) {
				want := int32(kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt)
				if v := p.Children[0].Children[1].Value; v != want {
					t.Errorf("mask = %v, want %v", v, want)
				}
			}},
		{name: "enumeration named by the attribute", items: `<Attribute>
			<AttributeName type="TextString" value="Object Type"/>
			<AttributeValue type="Enumeration" value="SymmetricKey"/></Attribute>`,
			check: func(t *testing.T, p *Node) {
				if v := p.Children[0].Children[1].Value; v != uint32(kmip.ObjectTypeSymmetricKey) {
					t.Errorf("value = %v", v)
				}
			}},
		{name: "hex tag and values", items: `<TTLV tag="0x540001" type="Integer" value="0x0000000A"/>
			<CryptographicLength type="Integer" value="-1"/><UsageLimitsTotal type="LongInteger" value="0x10"/>`,
			check: func(t *testing.T, p *Node) {
				if n := p.Children[0]; n.Tag != 0x540001 || n.Value != int32(10) {
					t.Errorf("got tag %x value %v", n.Tag, n.Value)
				}
				if v := p.Children[1].Value; v != int32(-1) {
					t.Errorf("negative integer = %v", v)
				}
				if v := p.Children[2].Value; v != int64(16) {
					t.Errorf("long integer = %v", v)
				}
			}},
		{name: "big integer two's complement", items: `<Modulus type="BigInteger" value="FFFFFFFFFFFFFFFF"/><Modulus type="BigInteger" value="0000000000000100"/>`,
			check: func(t *testing.T, p *Node) {
				if v := p.Children[0].Value.(*big.Int); v.Int64() != -1 {
					t.Errorf("got %v, want -1", v)
				}
				if v := p.Children[1].Value.(*big.Int); v.Int64() != 256 {
					t.Errorf("got %v, want 256", v)
				}
			}},
		{name: "bytes, dates, intervals, booleans", items: `<KeyMaterial type="ByteString" value="0aFF"/>
			<ActivationDate type="DateTime" value="2010-02-11T15:45:48+00:00"/>
			<LeaseTime type="Interval" value="16"/><Fresh type="Boolean" value="true"/>`,
			check: func(t *testing.T, p *Node) {
				if v := p.Children[0].Value.([]byte); !bytes.Equal(v, []byte{0x0a, 0xff}) {
					t.Errorf("bytes = %x", v)
				}
				if v := p.Children[1].Value.(time.Time); v.Unix() != 1265903148 {
					t.Errorf("date = %v", v)
				}
				if v := p.Children[2].Value; v != 16*time.Second {
					t.Errorf("interval = %v", v)
				}
				if v := p.Children[3].Value; v != true {
					t.Errorf("boolean = %v", v)
				}
			}},
		{name: "KMIP 2 tags and attribute references", items: `<Attributes><CryptographicLength type="Integer" value="256"/></Attributes>
			<AttributeReference type="Enumeration" value="CryptographicAlgorithm"/>`,
			check: func(t *testing.T, p *Node) {
				if p.Children[0].Tag != tagAttributes || p.Children[0].Name() != "Attributes" {
					t.Errorf("Attributes tag = %x", p.Children[0].Tag)
				}
				if v := p.Children[1].Value; v != uint32(kmip.TagCryptographicAlgorithm) {
					t.Errorf("attribute reference = %v", v)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(wrap(tt.items)))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tt.check(t, at(t, s.Exchanges[0].Request, "BatchItem/RequestPayload"))
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, xml, want string
	}{
		{"unknown tag", wrap(`<NoSuchTag type="Integer" value="1"/>`), "unknown tag <NoSuchTag>"},
		{"unknown enumeration", wrap(`<ObjectType type="Enumeration" value="Spaceship"/>`), "unknown ObjectType value"},
		{"unknown mask bit", wrap(`<CryptographicUsageMask type="Integer" value="Encrypt Fly"/>`), `unknown bit "Fly"`},
		{"unknown type", wrap(`<ObjectType type="Float" value="1"/>`), `unknown type "Float"`},
		{"bad bytes", wrap(`<KeyMaterial type="ByteString" value="xyz"/>`), "KeyMaterial"},
		{"wrong root", `<Other/>`, "want <KMIP>"},
		{"request without response", `<KMIP><RequestMessage></RequestMessage></KMIP>`, "no response"},
		{"two requests", `<KMIP><RequestMessage/><RequestMessage/></KMIP>`, "unexpected <RequestMessage>"},
		{"empty", `<KMIP></KMIP>`, "no request/response pair"},
		{"truncated", `<KMIP><RequestMessage>`, "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.xml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestEncodeDecodeRoundTrip encodes every request of a vector (variables
// filled) in TTLV and decodes it back.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	s := mustLoad(t, vectorPath(t, "v1.4", "TL-M-2-14.xml"))
	st := newRunState(NewProvenance(), time.Time{})
	for i, ex := range s.Exchanges {
		for _, msg := range []*Node{ex.Request, ex.Response} {
			filled, err := st.substitute(msg)
			if err != nil {
				// A request can use an identifier only a response binds.
				st.bound["UNIQUE_IDENTIFIER_0"] = &Node{Type: ttlv.TypeTextString, Value: "id-0"}
				if filled, err = st.substitute(msg); err != nil {
					t.Fatalf("exchange %d: substitute: %v", i, err)
				}
			}
			raw, err := Encode(filled)
			if err != nil {
				t.Fatalf("exchange %d: Encode: %v", i, err)
			}
			back, err := Decode(raw)
			if err != nil {
				t.Fatalf("exchange %d: Decode: %v", i, err)
			}
			c := &comparer{bound: map[string]*Node{}, sentDates: st.sentDates}
			c.compareOrdered("", []*Node{filled}, []*Node{back}, scope{})
			if len(c.mm) > 0 {
				t.Fatalf("exchange %d: round trip differs: %v", i, c.mm)
			}
		}
	}
}

func TestEncodeRejectsVariables(t *testing.T) {
	n := &Node{Tag: kmip.TagUniqueIdentifier, Type: ttlv.TypeTextString, Var: "X"}
	if _, err := Encode(n); err == nil || !strings.Contains(err.Error(), "$X") {
		t.Fatalf("Encode error = %v, want an unsubstituted variable", err)
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	tests := map[string][]byte{
		"short":          {0x42, 0x00},
		"length too big": {0x42, 0x00, 0x7B, 0x01, 0x00, 0x00, 0x01, 0x00},
		"bad type":       {0x42, 0x00, 0x7B, 0x0F, 0x00, 0x00, 0x00, 0x00},
	}
	for name, raw := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode(raw); err == nil {
				t.Fatal("Decode accepted garbage")
			}
		})
	}
}
