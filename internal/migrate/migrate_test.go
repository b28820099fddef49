package migrate

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

const (
	label20 = "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20"
	label21 = "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21"
)

func TestParsePropertiesSeedSample(t *testing.T) {
	p, err := ReadProperties("testdata/ISKLMConfig.properties")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"drive.default.alias1", p.DefaultAlias1, label20},
		{"drive.default.alias2", p.DefaultAlias2, label21},
		{"symmetricKeySet", p.SymmetricKeySet, "des01-1f"},
		{"config.drivetable.file.url (FILE\\: escape)", p.DriveTable, "/KLMETC/Z1/filedrive.table"},
		{"config.keygroup.xml.file", p.KeyGroupFile, "/KLMETC/Z1/keygroup.xml"},
		{"Audit.metadata.file.name", p.Metadata, "/KLMETC/Z1/metadata/SKLMDData.xml"},
		{"config.keystore.file (safkeyring: not a file)", p.Keystore, ""},
		{"config.keystore.type (JCECCARACFKS: not a file keystore)", p.KeystoreType, ""},
		{"config.keystore.password", p.KeystorePassword, "password"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("got %q, want %q", c.got, c.want)
			}
		})
	}
	joined := strings.Join(p.Warnings, "\n")
	for _, want := range []string{"safkeyring", "ICSF", "JCECCARACFKS"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings %q do not mention %s", joined, want)
		}
	}
	if strings.Contains(joined, "password") {
		t.Errorf("a warning shows the password: %q", joined)
	}
}

// p12Label writes a PKCS#12 file holding an RSA-1024 key pair whose
// certificate's CN is cn (go-pkcs12 writes no friendlyName: the alias is
// the CN), as keytool's lowercased alias would be.
func p12Label(t *testing.T, dir, cn, password string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	data, err := pkcs12.Modern.Encode(key, cert, nil, password)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, cn+".p12")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// seedSources copies the seed's setup into a directory: the properties,
// the metadata file next to them (found by base name), the drive table
// and key groups exports, and the two labels in PKCS#12 files with
// lowercased aliases.
func seedSources(t *testing.T) Sources {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"ISKLMConfig.properties", "SKLMDData.xml", "drives.csv", "keygroups.xml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return Sources{
		Product: ISKLM, Properties: filepath.Join(dir, "ISKLMConfig.properties"),
		Keystores:        []string{p12Label(t, dir, strings.ToLower(label20), "pw"), p12Label(t, dir, strings.ToLower(label21), "pw")},
		KeystorePassword: "pw",
		DriveTable:       filepath.Join(dir, "drives.csv"),
		KeyGroups:        filepath.Join(dir, "keygroups.xml"),
	}
}

func TestLoadSeedSetup(t *testing.T) {
	b, err := Load(seedSources(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Labels) != 2 || b.Labels[0].Name != label20 || b.Labels[1].Name != label21 {
		t.Fatalf("labels %v: want the seed's two, their case restored", names(b.Labels))
	}
	if b.Labels[0].Bits != 1024 || b.Labels[0].KeyPEM == "" {
		t.Fatalf("label 20: %d bits, key %v", b.Labels[0].Bits, b.Labels[0].KeyPEM != "")
	}
	if len(b.Drives) != 1 || b.Drives[0].Serial != "000007888422" || b.Drives[0].WWN != "500507630240FBCC" {
		t.Fatalf("drives = %+v", b.Drives)
	}
	if len(b.KeyGroups) != 2 || b.KeyGroups[1].Name != SymmetricKeySetGroup || len(b.KeyGroups[1].Expanded) != 31 {
		t.Fatalf("key groups = %+v: want LTO_POOL and symmetricKeySet (des01-1f, 31 keys)", b.KeyGroups)
	}
	if len(b.Usage) != 1 || b.Usage[0].VolSer != "WXY662" {
		t.Fatalf("usage = %+v: want the seed's WXY662 (found next to the properties)", b.Usage)
	}
	if b.Alias1 != label20 || b.Alias2 != label21 || b.Group != "ekm" {
		t.Fatalf("defaults %q %q in group %q", b.Alias1, b.Alias2, b.Group)
	}
}

func names(ls []Label) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return out
}

func TestPlanApplyTwice(t *testing.T) {
	ctx := context.Background()
	b, err := Load(seedSources(t))
	if err != nil {
		t.Fatal(err)
	}
	f := newFake()
	p, err := NewPlan(ctx, f, b, Fail)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range p.Items {
		if it.Verb != Create {
			t.Errorf("fresh server: %s %s is %s, want create", it.Kind, it.Name, it.Verb)
		}
	}
	sum, err := p.Apply(ctx, f, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created["label"] != 2 || sum.Created["device"] != 1 || sum.Created["keygroup"] != 2 || sum.UsageImported != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if g := f.groups["ekm"]; g.Alias1 != label20 || g.Alias2 != label21 {
		t.Fatalf("group ekm = %+v: want the default labels", g)
	}
	writes := f.writes
	p2, err := NewPlan(ctx, f, b, Fail)
	if err != nil {
		t.Fatalf("second plan: %v", err)
	}
	for _, it := range p2.Items {
		if it.Verb != Identical {
			t.Errorf("second run: %s %s is %s, want identical", it.Kind, it.Name, it.Verb)
		}
	}
	if _, err := p2.Apply(ctx, f, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if f.writes != writes {
		t.Fatalf("second run wrote %d times", f.writes-writes)
	}
}

func TestConflicts(t *testing.T) {
	ctx := context.Background()
	b, err := Load(seedSources(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		on         OnConflict
		wantErr    bool
		wantLabel  string // the name label 20 ends up under
		wantAlias1 string // the drive's alias 1
	}{
		{Fail, true, "", ""},
		{Skip, false, "", label20},
		{Rename, false, label20 + "_ekm", label20 + "_ekm"},
	}
	for _, tc := range tests {
		t.Run(string(tc.on), func(t *testing.T) {
			f := newFake()
			f.labels[label20] = ExistingLabel{Name: label20, KeyHash: "another-key", HasPrivateKey: true}
			p, err := NewPlan(ctx, f, b, tc.on)
			if tc.wantErr {
				if !errors.Is(err, ErrConflict) || p == nil || len(p.Conflicts()) != 1 {
					t.Fatalf("err = %v, plan %v: want ErrConflict with one conflict reported", err, p)
				}
				if f.writes != 0 {
					t.Fatal("a refused plan wrote")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Apply(ctx, f, ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
			if tc.wantLabel != "" {
				if _, ok := f.labels[tc.wantLabel]; !ok {
					t.Fatalf("no label %q after rename", tc.wantLabel)
				}
			}
			if got := f.labels[label20].KeyHash; got != "another-key" {
				t.Fatal("the server's own label was replaced")
			}
			if d := f.devices["3592/000007888422"]; d.Alias1 != tc.wantAlias1 {
				t.Fatalf("device alias1 = %q, want %q", d.Alias1, tc.wantAlias1)
			}
		})
	}
}

func TestApplyUndoes(t *testing.T) {
	ctx := context.Background()
	b, err := Load(seedSources(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		failOn   string
		failUndo bool
		want     error
	}{
		{"device 000007888422", false, ErrUndone},
		{"label " + label21, false, ErrUndone},
		{"keygroup " + SymmetricKeySetGroup, false, ErrUndone},
		{"usage", false, ErrUndone},
		{"usage", true, ErrPartial},
	}
	for _, tc := range tests {
		t.Run(tc.failOn+map[bool]string{true: " (undo fails)"}[tc.failUndo], func(t *testing.T) {
			f := newFake()
			f.groups["default"] = ExistingGroup{Name: "default", Family: "GENERIC"}
			before := f.dump()
			p, err := NewPlan(ctx, f, b, Fail)
			if err != nil {
				t.Fatal(err)
			}
			f.failOn, f.failUndo = tc.failOn, tc.failUndo
			_, err = p.Apply(ctx, f, ApplyOptions{})
			if !errors.Is(err, tc.want) || !errors.Is(err, errInjected) {
				t.Fatalf("err = %v, want %v wrapping the cause", err, tc.want)
			}
			var se *StepError
			words := strings.Fields(tc.failOn)
			if !errors.As(err, &se) || !strings.Contains(se.Kind+" "+se.Name, words[len(words)-1]) {
				t.Fatalf("step error %+v does not name %q", se, tc.failOn)
			}
			if tc.failUndo {
				if len(se.Left) == 0 {
					t.Fatal("a failed undo names nothing left")
				}
				return
			}
			if len(f.devices) != 0 || len(f.groups) != 1 || len(f.usage) != 0 {
				t.Fatalf("after undo: %s; before: %s", f.dump(), before)
			}
			if len(f.labels) != 0 {
				t.Fatalf("labels after undo: %v", f.labels)
			}
			// A second run, without the failure, goes through.
			f.failOn = ""
			p2, err := NewPlan(ctx, f, b, Fail)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p2.Apply(ctx, f, ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseDriveTable(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		errHas   string
	}{
		{"seed drive", "serial,wwn,alias1,alias2,group\n000007888422,500507630240fbcc,A,B,\n", 1, ""},
		{"comments and any column order", "# exported\nwwn,serial\n\n500507630240FBCC,000007888422\n", 1, ""},
		{"empty", "", 0, ""},
		{"native filedrive.table", "\x00\x01binary", 0, "no public description"},
		{"unknown column", "serial,color\n1,red\n", 0, `column "color"`},
		{"no serial column", "wwn\nAB\n", 0, "no serial column"},
		{"short row", "serial,wwn\n1\n", 0, "line 2"},
		{"duplicate serial", "serial\nA1\nA1\n", 0, "line 3: serial A1 already on line 2"},
		{"bad wwn", "serial,wwn\nA1,XYZ\n", 0, "line 2: wwn"},
		{"bad family", "serial,family\nA1,FLOPPY\n", 0, "family"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := ParseDriveTable([]byte(tc.in))
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) || !errors.Is(err, ErrSource) {
					t.Fatalf("err = %v, want one containing %q", err, tc.errHas)
				}
				return
			}
			if err != nil || len(ds) != tc.n {
				t.Fatalf("got %d drives, %v; want %d", len(ds), err, tc.n)
			}
			if tc.n == 1 && (ds[0].WWN != "500507630240FBCC" || ds[0].Family != "3592") {
				t.Fatalf("drive = %+v", ds[0])
			}
		})
	}
}

func TestParseKeyGroups(t *testing.T) {
	tests := []struct {
		name, in string
		keys     []int
		errHas   string
	}{
		{"xml", `<keygroups><keygroup name="LTO_POOL" aliases="lto001-00f"/><keygroup name="G2" aliases="k1,k2"/></keygroups>`, []int{15, 2}, ""},
		{"csv with header", "name,aliases\nLTO_POOL,des01-1f\nG2,\"k1,k2\"\n", []int{31, 2}, ""},
		{"csv without header", "LTO_POOL,des01-1f\n", []int{31}, ""},
		{"bad xml", "<keygroups><keygroup", nil, "no public description"},
		{"bad range", "G,des1f-01\n", nil, "key group"},
		{"bad name", "1G,des01-1f\n", nil, "name"},
		{"duplicate name", "G,a1\nG,b1\n", nil, "already used"},
		{"overlapping aliases", "G,des01-0f\nH,des0f-1f\n", nil, "in key group"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gs, err := ParseKeyGroups([]byte(tc.in))
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want one containing %q", err, tc.errHas)
				}
				return
			}
			if err != nil || len(gs) != len(tc.keys) {
				t.Fatalf("got %v, %v", gs, err)
			}
			for i, n := range tc.keys {
				if len(gs[i].Expanded) != n {
					t.Fatalf("group %s: %d keys, want %d", gs[i].Name, len(gs[i].Expanded), n)
				}
			}
		})
	}
}

func TestValidateRecomputes(t *testing.T) {
	b, err := Load(seedSources(t))
	if err != nil {
		t.Fatal(err)
	}
	w := b.Wire()
	want := w.Labels[0].KeyHash
	w.Labels[0].KeyHash, w.Labels[0].Bits = "forged", 4096
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	if w.Labels[0].KeyHash != want || w.Labels[0].Bits != 1024 || len(w.Usage) != 1 {
		t.Fatalf("Validate kept the sender's values: %+v", w.Labels[0])
	}
	swapped := b.Wire()
	swapped.Labels[0].KeyPEM = swapped.Labels[1].KeyPEM
	if err := swapped.Validate(); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("a key of another label: err = %v", err)
	}
}

func TestGroupDefaults(t *testing.T) {
	ctx := context.Background()
	b := &Bundle{Group: "ekm", Alias1: label20, Alias2: label21}
	tests := []struct {
		name     string
		existing *ExistingGroup
		want     Verb
		kind     string
	}{
		{"group created with the defaults", nil, Create, "group"},
		{"group without defaults: set", &ExistingGroup{Name: "ekm", Family: "3592"}, Update, "defaults"},
		{"same defaults", &ExistingGroup{Name: "ekm", Family: "3592", Alias1: label20, Alias2: label21}, Identical, "defaults"},
		{"other defaults", &ExistingGroup{Name: "ekm", Family: "3592", Alias1: "X", Alias2: "Y"}, Conflict, "defaults"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			if tc.existing != nil {
				f.groups["ekm"] = *tc.existing
			}
			p, _ := NewPlan(ctx, f, b, Skip)
			if len(p.Items) != 1 || p.Items[0].Kind != tc.kind || p.Items[0].Verb != tc.want {
				t.Fatalf("items %+v, want one %s %s", p.Items, tc.kind, tc.want)
			}
			if _, err := p.Apply(ctx, f, ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
			g := f.groups["ekm"]
			if tc.want != Conflict && (g.Alias1 != label20 || g.Alias2 != label21) {
				t.Fatalf("group after apply: %+v", g)
			}
			if tc.want == Conflict && g.Alias1 != "X" {
				t.Fatalf("skip changed the server's defaults: %+v", g)
			}
		})
	}
}

func TestLoadFromPropertiesAlone(t *testing.T) {
	dir := t.TempDir()
	p12 := p12Label(t, dir, "lbl", "pw")
	props := "config.keystore.file=FILE\\:/old/system/" + filepath.Base(p12) + "\n" +
		"config.keystore.type=PKCS12\nconfig.keystore.password=pw\n" +
		"config.drivetable.file.url=FILE\\:/KLMETC/Z1/filedrive.table\n"
	path := filepath.Join(dir, "KeyManagerConfig.properties")
	if err := os.WriteFile(path, []byte(props), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := Load(Sources{Product: EKM, Properties: path})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Labels) != 1 || b.Labels[0].Name != "lbl" {
		t.Fatalf("labels %v: want the keystore the properties name, found next to them", names(b.Labels))
	}
	if len(b.Warnings) != 1 || !strings.Contains(b.Warnings[0], "filedrive.table") {
		t.Fatalf("warnings %q: want one naming the missing drive table", b.Warnings)
	}
	if _, err := Load(Sources{Properties: path, DriveTable: filepath.Join(dir, "nosuch.csv")}); err == nil {
		t.Fatal("a missing file named by a flag is not an error")
	}
}

func TestValidateRefuses(t *testing.T) {
	b, err := Load(seedSources(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(w *Bundle)
		errHas string
	}{
		{"bad label name", func(w *Bundle) { w.Labels[0].Name = "a label" }, "label name"},
		{"bad group", func(w *Bundle) { w.Group = "1ekm" }, "group"},
		{"drive twice", func(w *Bundle) { w.Drives = append(w.Drives, w.Drives[0]) }, "given twice"},
		{"drive group", func(w *Bundle) { w.Drives[0].Group = "no-dash" }, "group name"},
		{"alias in two key groups", func(w *Bundle) {
			w.KeyGroups = append(w.KeyGroups, KeyGroup{Name: "OTHER", Aliases: "des05"})
		}, "too"},
		{"year 10000", func(w *Bundle) { w.UsageEvents[0].Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "year"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := b.Wire()
			w.Labels = append([]Label(nil), w.Labels...)
			w.Drives = append([]Drive(nil), w.Drives...)
			tc.change(w)
			err := w.Validate()
			if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("err = %v, want ErrSource mentioning %q", err, tc.errHas)
			}
		})
	}
}
