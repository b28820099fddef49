package conformance

import (
	"strings"
	"testing"
)

// TestQueryStructureReportedByField alters the Capability Information of
// TC-Q-CAP-1-14 (the one structure with its tag on both sides): the
// mismatch names the field, not the whole structure as missing. A list of
// structures (Profile Information) still reports a missing item.
func TestQueryStructureReportedByField(t *testing.T) {
	payload := "BatchItem/ResponsePayload"
	tests := []struct {
		name, file string
		mutate     func(*testing.T, *Node)
		wantPath   string
		wantNote   string
	}{
		{name: "one capability differs", file: "TC-Q-CAP-1-14.xml",
			mutate:   setValue(payload+"/CapabilityInformation/AsynchronousCapability", true),
			wantPath: payload + "/CapabilityInformation/AsynchronousCapability", wantNote: "expected false, got true"},
		{name: "a capability is absent", file: "TC-Q-CAP-1-14.xml",
			mutate:   drop(payload + "/CapabilityInformation/BatchUndoCapability"),
			wantPath: payload + "/CapabilityInformation/BatchUndoCapability", wantNote: "missing"},
		{name: "a profile is missing", file: "TC-Q-PROF-1-14.xml",
			mutate:   drop(payload + "/ProfileInformation[1]"),
			wantPath: payload + "/ProfileInformation[1]", wantNote: "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustLoad(t, vectorPath(t, "v1.4", tt.file))
			r := runEcho(t, s, 0, tt.mutate)
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
