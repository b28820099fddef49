package migrate

import (
	"os"
	"testing"
)

func FuzzParseDriveTable(f *testing.F) {
	if data, err := os.ReadFile("testdata/drives.csv"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("wwn,serial,family\n500507630240FBCC,000007888422,LTO\n# c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := ParseDriveTable(data)
		if err != nil {
			return
		}
		for _, d := range ds {
			if err := checkDrive(d); err != nil {
				t.Fatalf("accepted a drive that fails its own check: %+v: %v", d, err)
			}
		}
	})
}

func FuzzParseKeyGroups(f *testing.F) {
	if data, err := os.ReadFile("testdata/keygroups.xml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("name,aliases\nLTO_POOL,des01-1f\nG2,\"k1,k2\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		gs, err := ParseKeyGroups(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, g := range gs {
			if len(g.Expanded) == 0 {
				t.Fatalf("key group %q without aliases", g.Name)
			}
			for _, a := range g.Expanded {
				if seen[a] {
					t.Fatalf("alias %q in two groups", a)
				}
				seen[a] = true
			}
		}
	})
}

func FuzzParseProperties(f *testing.F) {
	if data, err := os.ReadFile("testdata/ISKLMConfig.properties"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("config.drivetable.file.url=FILE\\:/a\\\n  /b\nkey : value\n! comment\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseProperties(data)
	})
}
