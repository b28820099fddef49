package config

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/magiconair/properties"
)

// Redacted replaces every secret value in output.
const Redacted = "<redacted>"

// Property is one property of an ISKLM/EKM property file and what
// keywarden does with it.
type Property struct {
	// Line is the property's first line in the file.
	Line int
	// Name is the property's name (escapes resolved).
	Name string
	// Value is its value with the Java escapes resolved, or Redacted for
	// a secret (a password): secrets are not kept.
	Value string
	// Secret marks a password.
	Secret bool
	// Effect says what keywarden does with it.
	Effect string
	// carried: its value is in the native configuration.
	carried bool
}

// rawProperty is a property as read, before mapping.
type rawProperty struct {
	line        int
	name, value string
}

// readProperties splits data into properties in the Java format: key and
// value separated by "=", ":" or white space, "#" and "!" comments, "\"
// at the end of a line to continue it, and the escapes \t \n \r \f \uXXXX
// and "\" before any other character (as in FILE\:/KLMETC). Each logical
// line is decoded by github.com/magiconair/properties; the split keeps
// its line number and sees duplicates.
func readProperties(name string, data []byte) ([]rawProperty, error) {
	enc := properties.UTF8
	if !utf8.Valid(data) {
		enc = properties.ISO_8859_1 // the format's own encoding
	}
	var (
		out  []rawProperty
		errs []error
	)
	for _, ll := range logicalLines(string(data)) {
		p, err := decodeLine(ll.text, enc)
		if err != nil {
			errs = append(errs, &Error{File: name, Line: ll.line, Msg: fmt.Sprintf("not a property line: %v", err)})
			continue
		}
		keys := p.Keys()
		if len(keys) == 0 {
			continue
		}
		v, _ := p.Get(keys[0])
		out = append(out, rawProperty{line: ll.line, name: keys[0], value: v})
	}
	return out, errors.Join(errs...)
}

// decodeLine decodes one logical line, turning a panic of the decoder
// into an error.
func decodeLine(text string, enc properties.Encoding) (p *properties.Properties, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("undecodable: %v", r)
		}
	}()
	l := &properties.Loader{Encoding: enc, DisableExpansion: true}
	p, err = l.LoadBytes([]byte(text))
	if err != nil {
		// The decoder's message names line 1 of the fragment; the caller
		// names the file's line.
		msg := err.Error()
		if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "properties: Line") && i > 0 {
			if j := strings.Index(msg[i+2:], ": "); j >= 0 {
				msg = msg[i+2+j+2:]
			} else {
				msg = msg[i+2:]
			}
		}
		return nil, errors.New(msg)
	}
	return p, nil
}

type logicalLine struct {
	line int
	text string
}

// logicalLines joins continued lines: a line that is not a comment and
// ends with an odd number of backslashes continues on the next.
func logicalLines(s string) []logicalLine {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	phys := strings.Split(s, "\n")
	var out []logicalLine
	for i := 0; i < len(phys); i++ {
		start := i
		t := strings.TrimLeft(phys[i], " \t\f")
		if t == "" || t[0] == '#' || t[0] == '!' {
			continue
		}
		var b strings.Builder
		b.WriteString(phys[i])
		for endsContinued(phys[i]) && i+1 < len(phys) {
			i++
			b.WriteString("\n")
			b.WriteString(phys[i])
		}
		out = append(out, logicalLine{line: start + 1, text: b.String()})
	}
	return out
}

func endsContinued(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// ParseProperties reads an ISKLM/EKM property file (ISKLMConfig.properties)
// as it is: every property keywarden knows is mapped onto a Config (over
// the Defaults), every value keywarden does not act on as its origin did
// is named in a warning, and passwords are dropped. A malformed line or a
// bad value of a mapped property is an *Error naming name, the line and
// the property.
func ParseProperties(name string, data []byte) (*File, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: name, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize)}
	}
	raws, err := readProperties(name, data)
	if err != nil {
		return nil, err
	}
	f := newFile(name, FormatProperties)
	m := &mapper{f: f, name: name, seen: map[string]int{}}
	var errs []error
	for _, rp := range raws {
		if err := m.apply(rp); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, m.finish())
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}
