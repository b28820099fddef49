package migrate

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/keygroups"
)

// Limits of the import formats.
const (
	maxDrives    = 100000
	maxKeyGroups = 10000
	maxField     = 256
)

// driveColumns are the columns of the drive table export; serial is
// required, the others optional, in any order given by the header.
var driveColumns = []string{"serial", "wwn", "alias1", "alias2", "group", "family"}

// ParseDriveTable reads the drive table export: CSV with a header row
// naming its columns among serial, wwn, alias1, alias2, group and family
// (3592, LTO, DS8K or GENERIC; 3592 when absent). Blank lines and lines
// starting with '#' are ignored. A serial given twice is an error.
func ParseDriveTable(data []byte) ([]Drive, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: drive table: %v", ErrSource, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		known := false
		for _, c := range driveColumns {
			known = known || c == h
		}
		if !known {
			return nil, fmt.Errorf("%w: drive table line 1: column %q: want a header of %s "+
				"(filedrive.table's own format has no public description: export it as this CSV, see docs/migrating-from-ekm.md)",
				ErrSource, h, strings.Join(driveColumns, ","))
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("%w: drive table line 1: column %q given twice", ErrSource, h)
		}
		col[h] = i
	}
	if _, ok := col["serial"]; !ok {
		return nil, fmt.Errorf("%w: drive table line 1: no serial column", ErrSource)
	}
	var out []Drive
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: drive table: %v", ErrSource, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			return nil, fmt.Errorf("%w: drive table line %d: %d fields, the header has %d", ErrSource, line, len(rec), len(header))
		}
		field := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		d := Drive{Serial: field("serial"), WWN: strings.ToUpper(field("wwn")), Alias1: field("alias1"),
			Alias2: field("alias2"), Group: field("group"), Family: strings.ToUpper(field("family")), Line: line}
		if d.Family == "" {
			d.Family = "3592"
		}
		if err := checkDrive(d); err != nil {
			return nil, fmt.Errorf("%w: drive table line %d: %v", ErrSource, line, err)
		}
		key := d.Family + "/" + d.Serial
		if prev, dup := seen[key]; dup {
			return nil, fmt.Errorf("%w: drive table line %d: serial %s already on line %d", ErrSource, line, d.Serial, prev)
		}
		seen[key] = line
		if len(out) == maxDrives {
			return nil, fmt.Errorf("%w: drive table: more than %d drives", ErrSource, maxDrives)
		}
		out = append(out, d)
	}
	return out, nil
}

// checkDrive checks the shape of a drive row; the server checks the rest.
func checkDrive(d Drive) error {
	if d.Serial == "" {
		return errors.New("empty serial")
	}
	switch d.Family {
	case "3592", "LTO", "DS8K", "GENERIC":
	default:
		return fmt.Errorf("family %q: want 3592, LTO, DS8K or GENERIC", d.Family)
	}
	for _, f := range []string{d.Serial, d.WWN, d.Alias1, d.Alias2, d.Group} {
		if len(f) > maxField {
			return fmt.Errorf("a field of %d bytes (at most %d)", len(f), maxField)
		}
		for _, c := range f {
			if c < 0x20 || c == 0x7f {
				return fmt.Errorf("control character in %q", f)
			}
		}
	}
	if d.Group != "" {
		if err := devices.ValidateGroupName(d.Group); err != nil {
			return err
		}
	}
	if d.WWN != "" {
		for _, c := range d.WWN {
			if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
				return fmt.Errorf("wwn %q: want hexadecimal digits", d.WWN)
			}
		}
	}
	return nil
}

// keyGroupsXML is the key groups export in XML:
//
//	<keygroups>
//	  <keygroup name="LTO_POOL_1" aliases="des01-1f"/>
//	</keygroups>
type keyGroupsXML struct {
	XMLName xml.Name `xml:"keygroups"`
	Groups  []struct {
		Name    string `xml:"name,attr"`
		Aliases string `xml:"aliases,attr"`
	} `xml:"keygroup"`
}

// ParseKeyGroups reads the key groups export: the XML form above, or CSV
// lines "name,aliases" (a header "name,aliases" is optional; the alias set
// is quoted when it holds commas). Aliases use symmetricKeySet's syntax.
func ParseKeyGroups(data []byte) ([]KeyGroup, error) {
	type pair struct {
		name, aliases string
		line          int
	}
	var pairs []pair
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '<' {
		var doc keyGroupsXML
		dec := xml.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("%w: key groups XML: %v (KeyGroups.xml's own format has no public description: "+
				"export it as <keygroups><keygroup name=\"…\" aliases=\"…\"/></keygroups>, see docs/migrating-from-ekm.md)", ErrSource, err)
		}
		for i, g := range doc.Groups {
			pairs = append(pairs, pair{g.Name, g.Aliases, i + 1})
		}
	} else {
		r := csv.NewReader(bytes.NewReader(data))
		r.Comment = '#'
		r.FieldsPerRecord = 2
		r.TrimLeadingSpace = true
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%w: key groups: %v", ErrSource, err)
			}
			line, _ := r.FieldPos(0)
			if len(pairs) == 0 && strings.EqualFold(rec[0], "name") && strings.EqualFold(rec[1], "aliases") {
				continue
			}
			pairs = append(pairs, pair{strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1]), line})
		}
	}
	in := make([]KeyGroup, 0, len(pairs))
	for _, p := range pairs {
		in = append(in, KeyGroup{Name: p.name, Aliases: p.aliases})
	}
	return checkKeyGroups(in)
}

// checkKeyGroups expands every group's alias set and refuses a name or an
// alias used twice. Groups are numbered from 1 in errors.
func checkKeyGroups(in []KeyGroup) ([]KeyGroup, error) {
	if len(in) > maxKeyGroups {
		return nil, fmt.Errorf("%w: more than %d key groups", ErrSource, maxKeyGroups)
	}
	out := make([]KeyGroup, 0, len(in))
	seenName, seenAlias := map[string]int{}, map[string]string{}
	for i, kg := range in {
		g, err := newKeyGroup(kg.Name, kg.Aliases)
		if err != nil {
			return nil, fmt.Errorf("%w: key group %d: %v", ErrSource, i+1, err)
		}
		if prev, dup := seenName[strings.ToLower(g.Name)]; dup {
			return nil, fmt.Errorf("%w: key group %d: name %q already used by key group %d", ErrSource, i+1, g.Name, prev)
		}
		seenName[strings.ToLower(g.Name)] = i + 1
		for _, a := range g.Expanded {
			if other, dup := seenAlias[strings.ToLower(a)]; dup {
				return nil, fmt.Errorf("%w: key group %q: alias %s is in key group %q too", ErrSource, g.Name, a, other)
			}
			seenAlias[strings.ToLower(a)] = g.Name
		}
		out = append(out, g)
	}
	return out, nil
}

// newKeyGroup checks a key group's name and expands its alias set.
func newKeyGroup(name, aliases string) (KeyGroup, error) {
	if err := devices.ValidateGroupName(name); err != nil {
		return KeyGroup{}, fmt.Errorf("key group name: %w", err)
	}
	exp, err := keygroups.ParseAliasSet(aliases)
	if err != nil {
		return KeyGroup{}, fmt.Errorf("key group %q: %w", name, err)
	}
	return KeyGroup{Name: name, Aliases: aliases, Expanded: exp}, nil
}
