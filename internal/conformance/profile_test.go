package conformance

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestProfileAndRequired(t *testing.T) {
	tests := []struct {
		file     string
		profile  string
		tc       string
		required bool
	}{
		{"SKLC-M-1-14.xml", "SKLC", "", true},
		{"SKLC_O_1_10-SymmetricKeysLifecycle_1.xml", "SKLC", "", true},
		{"TL_M_2_10_tape_write_new_key.xml", "TL", "", true},
		{"SASED-M-3-13.xml", "SASED", "", true},
		{"OMOS_O_1_10_big_opaque_object.xml", "OMOS", "", true},
		{"TC_312_10_Register_Create_Get_attributes_Destroy.xml", "TC", "312", true},
		{"TC-311-10-CREATE-DESTROY.xml", "TC", "311", true},
		{"TC_95_12_Obtain_Lease_for_Expired_Key.xml", "TC", "95", true},
		{"TC_314_10_Dual_Client_Test_Case_ID_Placeholder_linked_Locate_Get_Batch.xml", "TC", "314", false},
		{"TC_32_10_Asynchronous_Locate.xml", "TC", "32", false},
		{"TC-SK-CREATE-ENCRYPT-DECRYPT-DESTROY.xml", "TC", "", false},
		{"TC_ECC_1_10_Register_an_ECC_Key_Pair.xml", "TC", "", false},
		{"CS-BC-M-1-14.xml", "CS-BC", "", false},
		{"CS_BC_M_14_12_Encrypt_and_Decrypt_with_Known_Symmetric_Key_Date_Checks.xml", "CS-BC", "", false},
		{"SUITEB_128-M-1-14.xml", "SUITEB", "", false},
		{"AKLC-M-1-14.xml", "AKLC", "", false},
		{"SKFF_M_10_10_SymmetricKeyFoundryAdvanced_10.xml", "SKFF", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if got := Profile(tt.file); got != tt.profile {
				t.Errorf("Profile = %q, want %q", got, tt.profile)
			}
			if got := TCNumber(tt.file); got != tt.tc {
				t.Errorf("TCNumber = %q, want %q", got, tt.tc)
			}
			if got := Required("v1.4", tt.file); got != tt.required {
				t.Errorf("Required = %v, want %v", got, tt.required)
			}
			if Required("v2.1", tt.file) {
				t.Error("a 2.1 file is required")
			}
		})
	}
}

func TestListFilesNaturalOrder(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"SKFF-M-10-14.xml", "SKFF-M-2-14.xml", "SKFF-M-1-14.xml", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.xml"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := ListFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SKFF-M-1-14.xml", "SKFF-M-2-14.xml", "SKFF-M-10-14.xml"}
	if !slices.Equal(got, want) {
		t.Fatalf("ListFiles = %v, want %v", got, want)
	}
	if _, err := ListFiles(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("ListFiles of a missing folder succeeded")
	}
}

// TestRequiredFilesExist guards the required list against renamed vectors:
// every version folder must hold the required files named in the brief.
func TestRequiredFilesExist(t *testing.T) {
	root, err := VectorRoot()
	if err != nil {
		t.Fatalf("VectorRoot: %v", err)
	}
	count := map[string]int{}
	tcs := map[string]bool{}
	for _, v := range Versions {
		files, err := ListFiles(filepath.Join(root, v))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if Required(v, f) {
				count[Profile(f)]++
				if n := TCNumber(f); n != "" {
					tcs[n] = true
				}
			}
		}
	}
	for p, min := range map[string]int{"SKLC": 16, "TL": 9, "SASED": 9, "OMOS": 6, "TC": 40} {
		if count[p] < min {
			t.Errorf("%d required %s files, want at least %d", count[p], p, min)
		}
	}
	for n := range requiredTC {
		if !tcs[n] {
			t.Errorf("no TC file numbered %s", n)
		}
	}
}

func TestWriteMarkdown(t *testing.T) {
	outcomes := []Outcome{
		{Version: "v1.0", File: "SKLC_M_1_10_x.xml", Required: true, Passed: true},
		{Version: "v1.0", File: "SKLC_M_2_10_x.xml", Required: true, Problem: "exchange 1 (Get): BatchItem/ResultStatus: expected Success, got OperationFailed"},
		{Version: "v1.4", File: "SKLC-M-1-14.xml", Required: true, Passed: true},
		{Version: "v1.4", File: "CS-BC-M-1-14.xml", Passed: false, Problem: "cs-bc-problem"},
	}
	var b strings.Builder
	if err := WriteMarkdown(&b, outcomes, "go test ./internal/conformance -update"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"`go test ./internal/conformance -update`",
		"| profile | v1.0 | v1.4 | total |",
		"| SKLC | 1/2 | 1/1 | 2/3 |",
		"| CS-BC | – | 0/1 | 0/1 |",
		"| **all** | 1/2 | 1/2 | 2/4 |",
		"- `v1.0/SKLC_M_2_10_x.xml`: exchange 1 (Get): BatchItem/ResultStatus",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "| SKLC |") > strings.Index(out, "| CS-BC |") {
		t.Errorf("required profiles should come first:\n%s", out)
	}
	if strings.Contains(out, "cs-bc-problem") {
		t.Errorf("report lists an informational failure:\n%s", out)
	}
}
