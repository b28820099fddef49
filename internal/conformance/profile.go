package conformance

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
)

// VectorModule is the Go module that ships the OASIS KMIP 1.x vectors.
const VectorModule = "github.com/ovh/kmip-go"

// Versions are the KMIP versions whose vectors VectorModule ships, each a
// folder of its kmiptest/testdata.
var Versions = []string{"v1.0", "v1.1", "v1.2", "v1.3", "v1.4"}

// requiredProfiles are the profiles whose every file must pass.
var requiredProfiles = map[string]bool{"SKLC": true, "TL": true, "SASED": true, "OMOS": true}

// requiredTC are the numbered TC test cases that must pass.
var requiredTC = map[string]bool{
	"311": true, "312": true, "313": true, "315": true, "41": true, "51": true,
	"81": true, "82": true, "91": true, "92": true, "93": true, "94": true, "95": true,
}

// Profile derives a vector file's profile from its name: "SKLC-M-1-14.xml"
// and "SKLC_M_1_10_...xml" are SKLC, "CS-BC-M-1-14.xml" is CS-BC,
// "TC_312_10_...xml" and "TC-311-10-...xml" are TC.
func Profile(file string) string {
	tokens := nameTokens(file)
	if len(tokens) == 0 {
		return ""
	}
	p := strings.ToUpper(tokens[0])
	if p == "CS" && len(tokens) > 1 {
		return p + "-" + strings.ToUpper(tokens[1])
	}
	return p
}

// TCNumber returns the number of a numbered TC file ("312" for
// "TC_312_10_...xml"), or "".
func TCNumber(file string) string {
	tokens := nameTokens(file)
	if len(tokens) < 2 || strings.ToUpper(tokens[0]) != "TC" {
		return ""
	}
	for _, r := range tokens[1] {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return tokens[1]
}

// Required reports whether keywarden must pass a vector file of a version
// folder: for KMIP 1.0 to 1.4 (Versions), every SKLC, TL, SASED and OMOS
// file, and the TC files numbered 311, 312, 313, 315, 41, 51, 81, 82, 91 to
// 95. No 2.x file is required yet.
func Required(version, file string) bool {
	if !slices.Contains(Versions, version) {
		return false
	}
	return requiredProfiles[Profile(file)] || requiredTC[TCNumber(file)]
}

func nameTokens(file string) []string {
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	return strings.FieldsFunc(base, func(r rune) bool { return r == '-' || r == '_' })
}

// VectorRoot returns the kmiptest/testdata folder of VectorModule in the
// module cache, which holds one folder per entry of Versions. It asks the go
// command first, then looks in GOMODCACHE for the version this binary was
// built with; the module must have been downloaded (go mod download).
func VectorRoot() (string, error) {
	dir, errList := moduleDirFromGoList()
	if errList != nil {
		var errCache error
		dir, errCache = moduleDirFromCache()
		if errCache != nil {
			return "", fmt.Errorf("conformance: find %s: %w", VectorModule, errors.Join(errList, errCache))
		}
	}
	root := filepath.Join(dir, "kmiptest", "testdata")
	if _, err := os.Stat(filepath.Join(root, Versions[0])); err != nil {
		return "", fmt.Errorf("conformance: vectors of %s: %w", VectorModule, err)
	}
	return root, nil
}

func moduleDirFromGoList() (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", VectorModule)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", errors.New("go list: module not downloaded")
	}
	return dir, nil
}

func moduleDirFromCache() (string, error) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "", errors.New("no build information")
	}
	version := ""
	for _, d := range info.Deps {
		if d.Path == VectorModule {
			version = d.Version
			if d.Replace != nil {
				version = d.Replace.Version
			}
		}
	}
	if version == "" {
		return "", errors.New("module not in build information")
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("home directory: %w", err)
			}
			gopath = filepath.Join(home, "go")
		}
		cache = filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod")
	}
	return filepath.Join(cache, escapeModule(VectorModule)+"@"+escapeModule(version)), nil
}

// escapeModule applies the module cache's case encoding ("A" → "!a").
func escapeModule(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ListFiles returns the .xml files of a folder in natural order
// ("SKFF-M-2" before "SKFF-M-10"), the order in which dependent vectors
// (SASED-M-1, -2, -3) must run.
func ListFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("conformance: list %q: %w", dir, err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".xml") {
			files = append(files, e.Name())
		}
	}
	slices.SortFunc(files, naturalCompare)
	return files, nil
}

// naturalCompare orders strings with their digit runs compared as numbers.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
