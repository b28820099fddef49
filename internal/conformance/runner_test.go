package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// TestRulesVector runs the hand-written vector testdata/rules.xml against
// the echo fake, each case altering one response: what the server may choose
// must pass, anything else must fail at the right path.
func TestRulesVector(t *testing.T) {
	const (
		getGen      = 1 // Get of the created key
		getAttrsAll = 2 // Get Attributes naming none
		register    = 3
		getReg      = 4 // Get of the registered secret
		locateEx    = 5
		queryEx     = 6
		getAttrsNam = 7 // Get Attributes naming two
		failEx      = 8
	)
	payload := "BatchItem/ResponsePayload"
	tests := []struct {
		name     string
		ex       int
		mutate   func(*testing.T, *Node)
		wantPass bool
		wantPath string // the first mismatch's path
		wantNote string // a part of its note
	}{
		{name: "unchanged", wantPass: true},
		{name: "generated key material differs", ex: getGen, wantPass: true,
			mutate: setValue(payload+"/SymmetricKey/KeyBlock/KeyValue/KeyMaterial", []byte("another key of 32 bytes........."))},
		{name: "generated key digest differs", ex: getAttrsAll, wantPass: true,
			mutate: setValue(payload+"/Attribute[3]/AttributeValue/DigestValue", []byte{1, 2, 3})},
		{name: "server dates differ", ex: getAttrsAll, wantPass: true, mutate: all(
			setValue(payload+"/Attribute[2]/AttributeValue", time.Unix(1e9, 0)),
			setValue("ResponseHeader/TimeStamp", time.Unix(2e9, 0)))},
		{name: "attributes reordered and extended when none named", ex: getAttrsAll, wantPass: true, mutate: all(
			reverse(payload), insert(payload, 2, textAttr("x-extra", "more")))},
		{name: "locate order swapped", ex: locateEx, wantPass: true, mutate: reverse(payload)},
		{name: "query superset in another order", ex: queryEx, wantPass: true, mutate: all(
			reverse(payload),
			insert(payload, 0, leaf("Operation", ttlv.TypeEnumeration, uint32(kmip.OperationLocate))),
			setValue(payload+"/VendorIdentification", "keywarden"),
			drop(payload+"/ServerInformation"))},
		{name: "server's own generator differs", ex: getAttrsNam, wantPass: true, mutate: all(
			setValue(payload+"/Attribute[2]/AttributeValue/RNGAlgorithm", uint32(kmip.RNGAlgorithmUnspecified)),
			drop(payload+"/Attribute[2]/AttributeValue/CryptographicLength"))},
		{name: "result message differs", ex: failEx, wantPass: true,
			mutate: setValue("BatchItem/ResultMessage", "object does not exist")},
		{name: "result message absent", ex: failEx, wantPass: true, mutate: drop("BatchItem/ResultMessage")},

		{name: "registered material differs", ex: getReg,
			mutate:   setValue(payload+"/SecretData/KeyBlock/KeyValue/KeyMaterial", []byte("other")),
			wantPath: payload + "/SecretData/KeyBlock/KeyValue/KeyMaterial"},
		{name: "generated key length differs", ex: getGen,
			mutate:   setValue(payload+"/SymmetricKey/KeyBlock/CryptographicLength", int32(128)),
			wantPath: payload + "/SymmetricKey/KeyBlock/CryptographicLength"},
		{name: "attribute dropped when none named", ex: getAttrsAll, mutate: drop(payload + "/Attribute[1]"),
			wantPath: payload + "/Attribute[1]", wantNote: "missing"},
		{name: "name value differs", ex: getAttrsAll,
			mutate:   setValue(payload+"/Attribute[1]/AttributeValue/NameValue", "other-name"),
			wantPath: payload + "/Attribute[1]/AttributeValue/NameValue"},
		{name: "attribute type differs", ex: getAttrsAll, mutate: func(t *testing.T, resp *Node) {
			v := at(t, resp, payload+"/Attribute[0]/AttributeValue")
			v.Type, v.Value = ttlv.TypeLongInteger, int64(256)
		}, wantPath: payload + "/Attribute[0]/AttributeValue", wantNote: "type"},
		{name: "extra attribute when named", ex: getAttrsNam, mutate: insert(payload, 3, textAttr("x-extra", "more")),
			wantPath: payload + "/Attribute[2]", wantNote: "unexpected"},
		{name: "generator set by the client differs", ex: getAttrsAll,
			mutate:   setValue(payload+"/Attribute[4]/AttributeValue/RNGAlgorithm", uint32(kmip.RNGAlgorithmANSIX9_31)),
			wantPath: payload + "/Attribute[4]/AttributeValue/RNGAlgorithm", wantNote: "Random Number Generator"},
		{name: "client date differs", ex: getAttrsNam,
			mutate:   setValue(payload+"/Attribute[0]/AttributeValue", time.Date(2012, 4, 1, 0, 0, 1, 0, time.UTC)),
			wantPath: payload + "/Attribute[0]/AttributeValue", wantNote: "Activation Date"},
		{name: "query lacks an operation", ex: queryEx, mutate: drop(payload + "/Operation[1]"),
			wantPath: payload + "/Operation[1]", wantNote: "missing"},
		{name: "locate lacks an id", ex: locateEx, mutate: drop(payload + "/UniqueIdentifier[1]"),
			wantPath: payload + "/UniqueIdentifier[1]", wantNote: "missing"},
		{name: "locate returns an unknown id", ex: locateEx, mutate: setValue(payload+"/UniqueIdentifier[0]", "77"),
			wantPath: payload + "/UniqueIdentifier[0]", wantNote: "missing"},
		{name: "new object reuses a bound id", ex: register, mutate: setValue(payload+"/UniqueIdentifier", "1"),
			wantPath: payload + "/UniqueIdentifier", wantNote: "new object got the identifier of $UNIQUE_IDENTIFIER_0"},
		{name: "bound id changes", ex: getGen, mutate: setValue(payload+"/UniqueIdentifier", "2"),
			wantPath: payload + "/UniqueIdentifier", wantNote: "$UNIQUE_IDENTIFIER_0 is bound"},
		{name: "result reason differs", ex: failEx,
			mutate:   setValue("BatchItem/ResultReason", uint32(kmip.ResultReasonPermissionDenied)),
			wantPath: "BatchItem/ResultReason"},
		{name: "unexpected item", ex: getGen,
			mutate:   insert("BatchItem", 3, leaf("ResultReason", ttlv.TypeEnumeration, uint32(1))),
			wantPath: "BatchItem/ResultReason", wantNote: "unexpected"},
		{name: "batch count differs", ex: getGen, mutate: setValue("ResponseHeader/BatchCount", int32(2)),
			wantPath: "ResponseHeader/BatchCount"},
	}
	s := mustLoad(t, filepath.Join("testdata", "rules.xml"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runEcho(t, s, tt.ex, tt.mutate)
			if tt.wantPass {
				if !r.Passed() {
					t.Fatalf("want PASS, got:\n%s", r.Report())
				}
				return
			}
			if r.Passed() {
				t.Fatal("want FAIL, got PASS")
			}
			m := firstMismatch(t, r)
			if m.Path != tt.wantPath || !strings.Contains(m.String(), tt.wantNote) {
				t.Errorf("first mismatch %q, want path %q and note %q", m, tt.wantPath, tt.wantNote)
			}
		})
	}
}

// TestOASISVectorsFail alters the echoed responses of real OASIS vectors.
func TestOASISVectorsFail(t *testing.T) {
	tests := []struct {
		name, version, file string
		ex                  int
		mutate              func(*testing.T, *Node)
		wantPath, wantNote  string
	}{
		{name: "changed result status", version: "v1.4", file: "SKLC-M-1-14.xml", ex: 0,
			mutate:   setValue("BatchItem/ResultStatus", uint32(kmip.ResultStatusOperationFailed)),
			wantPath: "BatchItem/ResultStatus", wantNote: "OperationFailed"},
		{name: "changed name value", version: "v1.4", file: "TL-M-3-14.xml", ex: 2,
			mutate:   setValue("BatchItem[1]/ResponsePayload/Attribute[17]/AttributeValue/NameValue", "AAAAAAA1A1AA00000000000000000"),
			wantPath: "BatchItem[1]/ResponsePayload/Attribute[17]/AttributeValue/NameValue", wantNote: `attribute "Name"`},
		{name: "dropped attribute", version: "v1.0", file: "TC_312_10_Register_Create_Get_attributes_Destroy.xml", ex: 2,
			mutate:   drop("BatchItem/ResponsePayload/Attribute[2]"),
			wantPath: "BatchItem/ResponsePayload/Attribute[2]", wantNote: "missing"},
		{name: "wrong re-use of a bound id", version: "v1.4", file: "SKLC-M-1-14.xml", ex: 2,
			mutate:   setValue("BatchItem/ResponsePayload/UniqueIdentifier", "99"),
			wantPath: "BatchItem/ResponsePayload/UniqueIdentifier", wantNote: "$UNIQUE_IDENTIFIER_0 is bound"},
		{name: "created object gets a bound id", version: "v1.0", file: "TC_312_10_Register_Create_Get_attributes_Destroy.xml", ex: 1,
			mutate:   setValue("BatchItem/ResponsePayload/UniqueIdentifier", "1"),
			wantPath: "BatchItem/ResponsePayload/UniqueIdentifier", wantNote: "new object"},
		{name: "changed registered secret", version: "v1.4", file: "SASED-M-3-14.xml", ex: 3,
			mutate:   setValue("BatchItem/ResponsePayload/SecretData/KeyBlock/KeyValue/KeyMaterial", []byte("x")),
			wantPath: "BatchItem/ResponsePayload/SecretData/KeyBlock/KeyValue/KeyMaterial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustLoad(t, vectorPath(t, tt.version, tt.file))
			if r := runEcho(t, s, -1, nil); !r.Passed() {
				t.Fatalf("unaltered run fails:\n%s", r.Report())
			}
			r := runEcho(t, s, tt.ex, tt.mutate)
			if r.Passed() {
				t.Fatal("want FAIL, got PASS")
			}
			m := firstMismatch(t, r)
			if m.Path != tt.wantPath || !strings.Contains(m.String(), tt.wantNote) {
				t.Errorf("first mismatch %q, want path %q and note %q", m, tt.wantPath, tt.wantNote)
			}
			if !strings.Contains(r.FirstProblem(), tt.wantPath) {
				t.Errorf("FirstProblem() = %q, want the path", r.FirstProblem())
			}
		})
	}
}

// TestEchoEveryVector replays every vector file (1.0 to 1.4 and 2.1) against
// the echo fake: each must load, send well-formed requests with its
// variables filled in, and pass.
func TestEchoEveryVector(t *testing.T) {
	root, err := VectorRoot()
	if err != nil {
		t.Fatalf("VectorRoot: %v", err)
	}
	dirs := map[string]string{"v2.1": filepath.Join("testdata", "v2.1")}
	for _, v := range Versions {
		dirs[v] = filepath.Join(root, v)
	}
	for version, dir := range dirs {
		files, err := ListFiles(dir)
		if err != nil {
			t.Fatalf("ListFiles: %v", err)
		}
		if len(files) < 20 {
			t.Fatalf("%s: only %d files", dir, len(files))
		}
		for _, f := range files {
			t.Run(version+"/"+f, func(t *testing.T) {
				s := mustLoad(t, filepath.Join(dir, f))
				if r := runEcho(t, s, -1, nil); !r.Passed() {
					t.Fatalf("echo run fails:\n%s", r.Report())
				}
			})
		}
	}
}

// TestRunStopsOnUnboundVariable checks that a request using a variable no
// response bound stops the run with an error.
func TestRunStopsOnUnboundVariable(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "rules.xml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), `value="no-such-object"`, `value="$NEVER_BOUND"`, 1)
	s, err := Parse([]byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	r := runEcho(t, s, -1, nil)
	last := r.Exchanges[len(r.Exchanges)-1]
	if r.Passed() || last.Err == nil || !strings.Contains(last.Err.Error(), "$NEVER_BOUND") {
		t.Fatalf("want an error naming $NEVER_BOUND, got:\n%s", r.Report())
	}
}
