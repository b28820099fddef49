package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keywarden/keywarden/internal/keystore/keytooltest"
)

// The seed's labels, drive and volume.
const (
	seedLabel20 = "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20"
	seedLabel21 = "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21"
	seedDrive   = "000007888422"
	seedVolser  = "WXY662"
	storePass   = "Seed-Store-Pass-7"
)

// migrationReport is the JSON of keywarden migrate -o json.
type migrationReport struct {
	Items []struct {
		Kind, Name, Verb, Detail string
	} `json:"items"`
	Warnings []string `json:"warnings"`
	Applied  bool     `json:"applied"`
	Summary  *struct {
		Created       map[string]int `json:"created"`
		Identical     map[string]int `json:"identical"`
		UsageImported int            `json:"usage_imported"`
	} `json:"summary"`
	Error string `json:"error"`
}

// seedInstance lays out the old instance's files in a directory: the
// seed's sample properties, its metadata file next to them, the drive
// table and key groups exports, a password file and the keystore(s) made
// by the real tools holding the seed's two labels (RSA-1024).
func seedInstance(t *testing.T, ksType string) (dir string, args []string) {
	t.Helper()
	dir = t.TempDir()
	src := filepath.Join("..", "..", "internal", "migrate", "testdata")
	for _, name := range []string{"ISKLMConfig.properties", "SKLMDData.xml", "drives.csv", "keygroups.xml"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	passFile := filepath.Join(dir, "storepass")
	if err := os.WriteFile(passFile, []byte(storePass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args = []string{"migrate", "isklm", "--properties", filepath.Join(dir, "ISKLMConfig.properties"),
		"--keystore-password-file", passFile,
		"--drivetable", filepath.Join(dir, "drives.csv"), "--keygroups", filepath.Join(dir, "keygroups.xml")}
	switch ksType {
	case "pkcs12":
		for _, l := range []string{seedLabel20, seedLabel21} {
			args = append(args, "--keystore", keytooltest.PKCS12(t, dir, l, storePass, 1024))
		}
	default:
		ks := filepath.Join(dir, "keystore."+ksType)
		for _, l := range []string{seedLabel20, seedLabel21} {
			keytooltest.GenKeyPair(t, ks, ksType, storePass, storePass, l, 1024)
		}
		args = append(args, "--keystore", ks, "--keystore-type", ksType)
	}
	return dir, args
}

func TestMigrateSeedSetup(t *testing.T) {
	keytooltest.Keytool(t)
	for _, ksType := range []string{"jks", "jceks", "pkcs12"} {
		t.Run(ksType, func(t *testing.T) {
			_, args := seedInstance(t, ksType)
			dataDir := filepath.Join(t.TempDir(), "data")
			srv := startServe(t, dataDir)
			env := adminEnv(srv, dataDir)

			// Dry run: the plan, and nothing written.
			stdout, stderr, code := runEnv(t, env, append(args, "--dry-run")...)
			if code != 0 {
				t.Fatalf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
			}
			for _, want := range []string{seedLabel20, seedLabel21, seedDrive, "des01-1f", "dry run: nothing was written"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("dry run output lacks %q:\n%s", want, stdout)
				}
			}
			if !strings.Contains(stderr, "safkeyring") {
				t.Errorf("no warning about the seed's RACF key ring:\n%s", stderr)
			}
			if out := mustRun(t, env, "label", "list", "-o", "json"); strings.Contains(out, seedLabel20) {
				t.Fatalf("the dry run created labels: %s", out)
			}

			// The real run.
			stdout, stderr, code = runEnv(t, env, append(args, "-o", "json")...)
			if code != 0 {
				t.Fatalf("migrate: exit %d\n%s\n%s", code, stdout, stderr)
			}
			if strings.Contains(stdout+stderr, storePass) || strings.Contains(stdout+stderr, "PRIVATE KEY") {
				t.Fatal("the keystore password or key material appears in the output")
			}
			var rep migrationReport
			decodeJSON(t, stdout, &rep)
			s := rep.Summary
			if !rep.Applied || s == nil || s.Created["label"] != 2 || s.Created["device"] != 1 ||
				s.Created["keygroup"] != 2 || s.UsageImported != 1 {
				t.Fatalf("report: %s", stdout)
			}
			t.Logf("migrate -o json: applied=%v created=%v usage=%d", rep.Applied, s.Created, s.UsageImported)
			labels := mustRun(t, env, "label", "list", "-o", "json")
			for _, l := range []string{`"name": "` + seedLabel20 + `"`, `"name": "` + seedLabel21 + `"`, `"bits": 1024`} {
				if !strings.Contains(labels, l) {
					t.Fatalf("label list lacks %s (keytool's lowercased aliases restored?):\n%s", l, labels)
				}
			}

			// The migrated drive gets its certificate, then writes and
			// reads a 3592 volume under the migrated labels.
			var devs []struct{ ID, Alias1, Alias2, Group string }
			decodeJSON(t, mustRun(t, env, "device", "list", "--serial", seedDrive, "-o", "json"), &devs)
			if len(devs) != 1 || devs[0].Alias1 != seedLabel20 || devs[0].Alias2 != seedLabel21 || devs[0].Group != "ekm" {
				t.Fatalf("device list: %+v", devs)
			}
			creds := issueDriveCert(t, dataDir, "drive-"+seedDrive)
			mustRun(t, env, "device", "modify", devs[0].ID, "--cert", creds.cert)
			work := t.TempDir()
			in, data, _ := plaintextFile(t, work)
			image := filepath.Join(work, "tape.img")
			out := mustRun(t, nil, append([]string{"sim", "tape", "write", "--drive", seedDrive, "--volser", "WXY663",
				"--in", in, "--out", image, "--encoding", "L"}, creds.args(srv.addrs["device"])...)...)
			if !strings.Contains(out, seedLabel20) {
				t.Fatalf("write summary %q does not name the migrated label", out)
			}
			if got := imageLabels(t, image); got[0] != seedLabel20 || got[1] != seedLabel21 {
				t.Fatalf("EEDK labels %v, want the migrated labels", got)
			}
			restored := filepath.Join(work, "restored.bin")
			mustRun(t, nil, append([]string{"sim", "tape", "read", "--drive", seedDrive, "--in", image, "--out", restored},
				creds.args(srv.addrs["device"])...)...)
			if got, err := os.ReadFile(restored); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes, %v", len(got), err)
			}

			// The seed's metadata made it in.
			usage := mustRun(t, env, "usage", "list", "--volser", seedVolser, "-o", "json")
			if !strings.Contains(usage, seedDrive) || !strings.Contains(usage, seedLabel21) {
				t.Fatalf("usage list --volser %s: %s", seedVolser, usage)
			}

			// The dry run and the real run are one audit event each.
			var events []map[string]any
			decodeJSON(t, mustRun(t, env, "audit", "search", "--operation", "POST /v1/import", "-o", "json"), &events)
			if len(events) != 2 {
				t.Fatalf("%d audit records of POST /v1/import, want 2 (dry run, run)", len(events))
			}

			// Twice changes nothing.
			stdout = mustRun(t, env, append(args, "-o", "json")...)
			var again migrationReport
			decodeJSON(t, stdout, &again)
			for _, it := range again.Items {
				if it.Verb != "identical" {
					t.Errorf("second run: %s %s is %s", it.Kind, it.Name, it.Verb)
				}
			}
			if again.Summary == nil || len(again.Summary.Created) != 0 {
				t.Fatalf("second run created: %s", stdout)
			}
		})
	}
}

func TestMigrateConflictsAndUndo(t *testing.T) {
	keytooltest.Keytool(t)
	dir, args := seedInstance(t, "jks")
	dataDir := filepath.Join(t.TempDir(), "data")
	srv := startServe(t, dataDir)
	env := adminEnv(srv, dataDir)
	mustRun(t, env, "label", "create", seedLabel20) // another key under the seed's name

	nothingWritten := func(t *testing.T) {
		t.Helper()
		if out := mustRun(t, env, "device", "list", "-o", "json"); strings.Contains(out, seedDrive) {
			t.Fatalf("a device was left behind: %s", out)
		}
		if out := mustRun(t, env, "group", "list", "-o", "json"); strings.Contains(out, `"ekm"`) {
			t.Fatalf("a group was left behind: %s", out)
		}
		if out := mustRun(t, env, "label", "list", "-o", "json"); strings.Contains(out, seedLabel21) {
			t.Fatalf("a label was left behind: %s", out)
		}
	}

	t.Run("fail by default", func(t *testing.T) {
		stdout, stderr, code := runEnv(t, env, args...)
		if code == 0 || !strings.Contains(stdout, "conflict") || !strings.Contains(stderr, "--on-conflict") {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		nothingWritten(t)
	})

	t.Run("a failing step is undone", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.csv")
		table := "serial,wwn,alias1,alias2,group\n" + seedDrive + ",500507630240FBCC," + seedLabel20 + "," + seedLabel21 + ",\n" +
			strings.Repeat("9", 70) + ",,,,\n" // longer than the device table allows
		if err := os.WriteFile(bad, []byte(table), 0o600); err != nil {
			t.Fatal(err)
		}
		a := append(append([]string(nil), args...), "--drivetable", bad, "--on-conflict", "rename")
		stdout, stderr, code := runEnv(t, env, a...)
		if code == 0 || !strings.Contains(stderr, "undone") {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		nothingWritten(t)
	})

	t.Run("rename", func(t *testing.T) {
		stdout := mustRun(t, env, append(args, "--on-conflict", "rename")...)
		if !strings.Contains(stdout, seedLabel20+"_ekm") {
			t.Fatalf("no renamed label in:\n%s", stdout)
		}
		var devs []struct{ Alias1 string }
		decodeJSON(t, mustRun(t, env, "device", "list", "--serial", seedDrive, "-o", "json"), &devs)
		if len(devs) != 1 || devs[0].Alias1 != seedLabel20+"_ekm" {
			t.Fatalf("device aliases follow the rename: %+v", devs)
		}
		// And now the same run finds everything identical.
		stdout = mustRun(t, env, append(args, "--on-conflict", "rename")...)
		if strings.Contains(stdout, "create") || strings.Contains(stdout, "rename ") {
			t.Fatalf("second renamed run was not a no-op:\n%s", stdout)
		}
	})
}
