package config

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Native returns the configuration as a native file. With sources, each
// line is followed by where its value came from; without, only settings
// that differ from the defaults are written, and the properties of a
// property file that keywarden does not act on become comments. Secrets
// are never written: a native configuration holds none.
func (f *File) Native(sources bool) []byte {
	var b strings.Builder
	def := Defaults()
	if !sources {
		fmt.Fprintf(&b, "# keywarden configuration (docs/configuration.md)\n")
		if f.Path != "" {
			fmt.Fprintf(&b, "# converted from %s\n", f.Path)
		}
		if f.Format == FormatProperties {
			f.writeNotCarried(&b)
		}
	}
	for _, sec := range sections {
		var lines []string
		for _, k := range schema {
			if k.section != sec {
				continue
			}
			v := render(k, &f.Config)
			_, set := f.Sources[k.full()]
			if !sources && !set && k.name != "version" && v == render(k, &def) {
				continue
			}
			line := k.name + " = " + v
			if sources {
				src, ok := f.Sources[k.full()]
				if !ok {
					src = Source{Kind: SourceDefault}
				}
				note := src.String()
				if k.reload {
					note += "; SIGHUP applies it"
				}
				line = fmt.Sprintf("%-44s # %s", line, note)
			}
			lines = append(lines, line)
		}
		if len(lines) == 0 {
			continue
		}
		if sec != "" {
			fmt.Fprintf(&b, "\n[%s]\n", sec)
		}
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	return []byte(b.String())
}

// writeNotCarried writes, as comments, the properties whose value the
// native file does not carry and what keywarden does instead.
func (f *File) writeNotCarried(b *strings.Builder) {
	var lines []string
	for _, p := range f.Properties {
		if f.carried(p) {
			continue
		}
		val := p.Value
		if p.Secret {
			val = Redacted
		}
		lines = append(lines, fmt.Sprintf("#   %s=%s (line %d): %s", oneLine(p.Name), oneLine(val), p.Line, oneLine(p.Effect)))
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("#\n# Not carried over (keywarden does not act on them, or keywarden migrate imports them):\n")
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
}

// carried reports whether property p's value is in the native
// configuration.
func (f *File) carried(p Property) bool { return p.carried }

// oneLine escapes the control characters and line separators of s, so
// that it prints on one line.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, needsEscape) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if needsEscape(r) {
			fmt.Fprintf(&b, `\u%04X`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func needsEscape(r rune) bool {
	return r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 || r == utf8.RuneError
}

// render writes k's value in c as a native value.
func render(k *key, c *Config) string {
	switch p := k.ptr(c).(type) {
	case *string:
		return quote(*p)
	case *bool:
		return strconv.FormatBool(*p)
	case *int:
		return strconv.Itoa(*p)
	case *int64:
		return strconv.FormatInt(*p, 10)
	case *time.Duration:
		return quote(p.String())
	case *[]string:
		q := make([]string, len(*p))
		for i, s := range *p {
			q[i] = quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return `""`
}

// quote writes s as a native basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// WriteCheck writes what config check prints: the file and its format,
// every warning, for a property file every property with what keywarden
// does with it (passwords redacted), then the effective configuration
// with the source of each value.
func (f *File) WriteCheck(w io.Writer) error {
	var b strings.Builder
	switch {
	case f.Path == "":
		b.WriteString("configuration: no file (defaults, environment and flags)\n")
	case f.Format == FormatProperties:
		fmt.Fprintf(&b, "configuration: %s (ISKLM/EKM properties): OK\n", f.Path)
	default:
		fmt.Fprintf(&b, "configuration: %s (keywarden native, version %d): OK\n", f.Path, f.Config.Version)
	}
	if len(f.Warnings) > 0 {
		notes := slices.Clone(f.Warnings)
		slices.SortStableFunc(notes, func(a, b Note) int { return a.Line - b.Line })
		fmt.Fprintf(&b, "\nwarnings (%d):\n", len(notes))
		for _, n := range notes {
			fmt.Fprintf(&b, "  %s\n", oneLine(n.String()))
		}
	}
	if len(f.Properties) > 0 {
		b.WriteString("\nproperties:\n")
		for _, p := range f.Properties {
			val := p.Value
			if p.Secret {
				val = Redacted
			}
			fmt.Fprintf(&b, "  line %d: %s=%s\n      → %s\n", p.Line, oneLine(p.Name), oneLine(val), oneLine(p.Effect))
		}
	}
	b.WriteString("\neffective configuration:\n")
	b.Write(f.Native(true))
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("config: write: %w", err)
	}
	return nil
}
