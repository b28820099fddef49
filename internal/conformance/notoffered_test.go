package conformance

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// dropEnums removes, from the children of the node at parentPath, the
// enumerations with the tag name whose value names one of values.
func dropEnums(parentPath, name string, values ...string) func(*testing.T, *Node) {
	return func(t *testing.T, resp *Node) {
		p := at(t, resp, parentPath)
		tag, _ := tagByName(name)
		n := len(p.Children)
		p.Children = slices.DeleteFunc(p.Children, func(c *Node) bool {
			v, _ := c.Value.(uint32)
			return c.Tag == tag && slices.Contains(values, enumName(tag, v))
		})
		if n-len(p.Children) != len(values) {
			t.Fatalf("dropped %d of %v", n-len(p.Children), values)
		}
	}
}

// runEchoAll runs a suite against the echo fake, mutating the responses of
// several exchanges.
func runEchoAll(t *testing.T, s *Suite, mutate map[int]func(*testing.T, *Node)) Result {
	t.Helper()
	conn := newEchoConn(s)
	conn.mutate = func(i int, resp *Node) {
		if f := mutate[i]; f != nil {
			f(t, resp)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Run(ctx, conn)
}

// TestQueryNotOffered replays TC_121_12 (whose second exchange is the
// recording server's Query) against the echo fake with entries dropped
// from that Query answer: entries keywarden deliberately does not offer
// are a not-offered difference named in the problem; anything else is
// reported as usual.
func TestQueryNotOffered(t *testing.T) {
	const queryEx = 1
	payload := "BatchItem/ResponsePayload"
	s := mustLoad(t, vectorPath(t, "v1.2", "TC_121_12_Query_Maximum_Response_Size.xml"))
	allNotOffered := dropEnums(payload, "Operation", "Put", "Notify")
	tests := []struct {
		name   string
		mutate func(*testing.T, *Node)
		// wantProblem is FirstProblem; wantNotOffered counts the
		// not-offered mismatches.
		wantProblem    string
		wantNotOffered int
	}{
		{name: "every not-offered entry missing", mutate: allNotOffered, wantNotOffered: 2,
			wantProblem: "exchange 1 (Query): the Query answer lacks entries deliberately not offered: " +
				"Operation Notify, Operation Put"},
		{name: "one not-offered entry missing", mutate: dropEnums(payload, "Operation", "Put"), wantNotOffered: 1,
			wantProblem: "exchange 1 (Query): the Query answer lacks entries deliberately not offered: Operation Put"},
		{name: "an offered operation missing too", wantNotOffered: 2,
			mutate:      all(allNotOffered, dropEnums(payload, "Operation", "Locate")),
			wantProblem: "exchange 1 (Query): BatchItem/ResponsePayload/Operation[1]: expected Locate, got <absent> (missing)"},
		{name: "a split key operation is offered", wantNotOffered: 0,
			mutate:      dropEnums(payload, "Operation", "CreateSplitKey"),
			wantProblem: "exchange 1 (Query): BatchItem/ResponsePayload/Operation[37]: expected CreateSplitKey, got <absent> (missing)"},
		{name: "the PGP Key object type is offered", wantNotOffered: 0,
			mutate:      dropEnums(payload, "ObjectType", "PGPKey"),
			wantProblem: "exchange 1 (Query): BatchItem/ResponsePayload/ObjectType[8]: expected PGPKey, got <absent> (missing)"},
		{name: "a not-offered entry of another type is not one", wantNotOffered: 0,
			mutate:      dropEnums(payload, "ObjectType", "SymmetricKey"),
			wantProblem: "exchange 1 (Query): BatchItem/ResponsePayload/ObjectType[1]: expected SymmetricKey, got <absent> (missing)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runEcho(t, s, queryEx, tt.mutate)
			if r.Passed() {
				t.Fatal("want FAIL, got PASS")
			}
			if !r.Exchanges[0].OK() || r.NotRun != 0 {
				t.Fatalf("the rest of the file must run and pass:\n%s", r.Report())
			}
			n := 0
			for _, m := range r.Exchanges[queryEx].Mismatches {
				if m.NotOffered {
					n++
				}
			}
			if n != tt.wantNotOffered {
				t.Errorf("%d not-offered mismatches, want %d:\n%s", n, tt.wantNotOffered, r.Report())
			}
			if got := r.FirstProblem(); got != tt.wantProblem {
				t.Errorf("FirstProblem()\n got %q\nwant %q", got, tt.wantProblem)
			}
		})
	}
}

// TestQueryNotOfferedRunGoesOn checks that, after a Query answer lacking a
// not-offered entry, the later exchanges run and their mismatches are
// reported first: rules.xml's Query (exchange 6) is made to list Put, and
// exchange 7 is altered.
func TestQueryNotOfferedRunGoesOn(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "rules.xml"))
	if err != nil {
		t.Fatal(err)
	}
	vendor := `<VendorIdentification type="TextString" value="server-vendor.com"/>`
	if strings.Count(string(data), vendor) != 1 {
		t.Fatalf("rules.xml: want one %s", vendor)
	}
	text := strings.Replace(string(data), vendor, `<Operation type="Enumeration" value="Put"/>`+vendor, 1)
	s, err := Parse([]byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	payload := "BatchItem/ResponsePayload"
	dropPut := dropEnums(payload, "Operation", "Put")
	t.Run("nothing else differs", func(t *testing.T) {
		r := runEchoAll(t, s, map[int]func(*testing.T, *Node){6: dropPut})
		want := "exchange 6 (Query): the Query answer lacks entries deliberately not offered: Operation Put"
		if r.Passed() || r.FirstProblem() != want {
			t.Fatalf("FirstProblem() = %q, want %q:\n%s", r.FirstProblem(), want, r.Report())
		}
		for _, e := range r.Exchanges {
			if e.Index != 6 && !e.OK() {
				t.Errorf("exchange %d fails:\n%s", e.Index, r.Report())
			}
		}
	})
	t.Run("a later mismatch comes first", func(t *testing.T) {
		r := runEchoAll(t, s, map[int]func(*testing.T, *Node){
			6: dropPut,
			7: setValue(payload+"/Attribute[0]/AttributeValue", time.Date(2012, 4, 1, 0, 0, 1, 0, time.UTC)),
		})
		got := r.FirstProblem()
		if r.Passed() || !strings.HasPrefix(got, "exchange 7 (GetAttributes): "+payload+"/Attribute[0]/AttributeValue") {
			t.Fatalf("FirstProblem() = %q:\n%s", got, r.Report())
		}
		if !strings.Contains(r.Report(), "expected Put, got <absent> (deliberately not offered)") {
			t.Errorf("report lacks the not-offered entry:\n%s", r.Report())
		}
	})
}

// TestNotOfferedListIsTheServers checks that the runner judges entries by
// the server's own list.
func TestNotOfferedListIsTheServers(t *testing.T) {
	tests := []struct {
		name string
		n    *Node
		want bool
	}{
		{"Notify", enumNode("Operation", uint32(kmip.OperationNotify)), true},
		{"Put", enumNode("Operation", uint32(kmip.OperationPut)), true},
		{"Create Split Key is offered", enumNode("Operation", uint32(kmip.OperationCreateSplitKey)), false},
		{"PGP Key is offered", enumNode("ObjectType", uint32(kmip.ObjectTypePGPKey)), false},
		{"Certify is offered", enumNode("Operation", uint32(kmip.OperationCertify)), false},
		{"Locate is offered", enumNode("Operation", uint32(kmip.OperationLocate)), false},
		{"Symmetric Key is offered", enumNode("ObjectType", uint32(kmip.ObjectTypeSymmetricKey)), false},
		{"another tag", enumNode("QueryFunction", uint32(kmip.OperationNotify)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notOffered(tt.n); got != tt.want {
				t.Errorf("notOffered = %v, want %v", got, tt.want)
			}
		})
	}
}

func enumNode(name string, v uint32) *Node {
	tag, _ := tagByName(name)
	return &Node{Tag: tag, Type: ttlv.TypeEnumeration, Value: v}
}
