package config

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxFileSize bounds a configuration file.
const MaxFileSize = 1 << 20

// ParseNative reads a native configuration file: a strict subset of TOML.
//
//	version = 1                 # required
//	data_dir = "/var/lib/keywarden"
//	[listeners]
//	device = ":1443"
//	[tls]
//	cipher_suites = ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]
//
// Values are quoted strings ("…" with \ escapes, or '…' literally),
// whole numbers, true or false, or one-line lists of quoted strings.
// Comments start with #. Every key is known and set once; every mistake
// is reported (all of them, joined) as an *Error naming name, the line
// and the key. Settings not in the file keep their Defaults.
func ParseNative(name string, data []byte) (*File, error) {
	f := newFile(name, FormatNative)
	if len(data) > MaxFileSize {
		return nil, &Error{File: name, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize)}
	}
	if !utf8.Valid(data) {
		return nil, &Error{File: name, Msg: "file is not UTF-8 text"}
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // a byte order mark, as some editors write
	var errs []error
	fail := func(line int, k, format string, args ...any) {
		errs = append(errs, &Error{File: name, Line: line, Key: k, Msg: fmt.Sprintf(format, args...)})
	}
	section := ""
	seenSections := map[string]int{"": 1}
	for i, raw := range strings.Split(string(data), "\n") {
		line := i + 1
		text := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if text == "" || text[0] == '#' {
			continue
		}
		if text[0] == '[' {
			s, err := parseHeader(text)
			if err != nil {
				fail(line, "", "%v", err)
				section = "\x00" // keys below belong to no known section
				continue
			}
			if !slices.Contains(sections, s) || s == "" {
				msg := fmt.Sprintf("unknown section [%s]: want one of %s", s, sectionList())
				if m := suggest(s, sections[1:]); m != "" {
					msg += fmt.Sprintf(" (did you mean [%s]?)", m)
				}
				fail(line, "", "%s", msg)
				section = "\x00"
				continue
			}
			if prev, dup := seenSections[s]; dup {
				fail(line, "", "section [%s] appears twice (first on line %d): merge them", s, prev)
			}
			seenSections[s] = line
			section = s
			continue
		}
		keyName, rest, ok := strings.Cut(text, "=")
		keyName = strings.TrimSpace(keyName)
		if !ok {
			fail(line, keyName, "want KEY = VALUE")
			continue
		}
		if !validKeyName(keyName) {
			fail(line, keyName, "a key is letters, digits and underscores, such as data_dir")
			continue
		}
		if section == "\x00" {
			continue // already reported at the section header
		}
		full := keyName
		if section != "" {
			full = section + "." + keyName
		}
		k := lookup(full)
		if k == nil {
			fail(line, full, "%s", unknownKeyMessage(section, keyName))
			continue
		}
		v, err := parseValue(strings.TrimSpace(rest))
		if err != nil {
			fail(line, full, "%v; want %s", err, k.allowedText())
			continue
		}
		if prev, dup := f.Sources[full]; dup {
			fail(line, full, "set twice (first on line %d)", prev.Line)
			continue
		}
		if err := assign(&f.Config, k, v); err != nil {
			fail(line, full, "%v", err)
			continue
		}
		f.Sources[full] = Source{Kind: SourceFile, File: name, Line: line, Name: full}
	}
	if src, ok := f.Sources["version"]; !ok {
		fail(0, "version", "missing: the file must say version = %d", Version)
	} else if f.Config.Version != Version {
		fail(src.Line, "version", "%d is not supported: want %d", f.Config.Version, Version)
	}
	if len(errs) == 0 {
		errs = append(errs, f.validate())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f, nil
}

// sectionList is "[listeners], [tls], …".
func sectionList() string {
	q := make([]string, 0, len(sections))
	for _, s := range sections[1:] {
		q = append(q, "["+s+"]")
	}
	return strings.Join(q, ", ")
}

// unknownKeyMessage explains an unknown key of section, with the closest
// key of the section or the section the key belongs to.
func unknownKeyMessage(section, name string) string {
	known := keysIn(section)
	where := "top level (before any [section])"
	if section != "" {
		where = "[" + section + "]"
	}
	msg := fmt.Sprintf("unknown key in %s: want one of %s", where, strings.Join(known, ", "))
	if m := suggest(name, known); m != "" {
		return msg + fmt.Sprintf(" (did you mean %q?)", m)
	}
	for _, k := range schema {
		if strings.EqualFold(k.name, name) && k.section != section {
			if k.section == "" {
				return msg + fmt.Sprintf(" (%q is a top-level key: move it before the first [section])", k.name)
			}
			return msg + fmt.Sprintf(" (%q belongs in [%s])", k.name, k.section)
		}
	}
	return msg
}

func parseHeader(text string) (string, error) {
	end := strings.IndexByte(text, ']')
	if end < 0 {
		return "", errors.New("a section header is [name]")
	}
	if rest := strings.TrimSpace(text[end+1:]); rest != "" && rest[0] != '#' {
		return "", fmt.Errorf("unexpected %q after the section header", rest)
	}
	name := strings.TrimSpace(text[1:end])
	if !validKeyName(name) {
		return "", fmt.Errorf("section name %q: want letters, digits and underscores", name)
	}
	return name, nil
}

func validKeyName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// parseValue reads one value and checks that only a comment follows.
func parseValue(s string) (any, error) {
	if s == "" {
		return nil, errors.New("no value")
	}
	var (
		v    any
		rest string
		err  error
	)
	switch {
	case s[0] == '"' || s[0] == '\'':
		v, rest, err = parseString(s)
	case s[0] == '[':
		v, rest, err = parseList(s[1:])
	case strings.HasPrefix(s, "true"):
		v, rest = true, s[4:]
	case strings.HasPrefix(s, "false"):
		v, rest = false, s[5:]
	case s[0] == '-' || s[0] >= '0' && s[0] <= '9':
		end := strings.IndexFunc(s[1:], func(r rune) bool { return !(r >= '0' && r <= '9' || r == '_') }) + 1
		if end == 0 {
			end = len(s)
		}
		var n int64
		n, err = strconv.ParseInt(strings.ReplaceAll(s[:end], "_", ""), 10, 64)
		if err != nil {
			err = fmt.Errorf("%q is not a whole number", s[:end])
		}
		v, rest = n, s[end:]
	default:
		word := s
		if i := strings.IndexAny(s, " \t#"); i > 0 {
			word = s[:i]
		}
		return nil, fmt.Errorf("unquoted value %s: write it in quotes, \"%s\"", word, word)
	}
	if err != nil {
		return nil, err
	}
	rest = strings.TrimSpace(rest)
	if rest != "" && rest[0] != '#' {
		return nil, fmt.Errorf("unexpected %q after the value", rest)
	}
	return v, nil
}

// parseString reads a "basic" (escapes) or 'literal' string at the start
// of s and returns what follows it.
func parseString(s string) (string, string, error) {
	q := s[0]
	if q == '\'' {
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return "", "", errors.New("string not closed with '")
		}
		return s[1 : 1+end], s[end+2:], nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 >= len(s) {
				return "", "", errors.New("string ends with a lone \\")
			}
			i++
			switch s[i] {
			case '"', '\\':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'u', 'U':
				n := 4
				if s[i] == 'U' {
					n = 8
				}
				if i+n >= len(s) {
					return "", "", errors.New("short \\u escape")
				}
				r, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					return "", "", fmt.Errorf("bad escape \\%s", s[i:i+1+n])
				}
				b.WriteRune(rune(r))
				i += n
			default:
				return "", "", fmt.Errorf("unknown escape \\%c (a Windows path? use 'single quotes' or \\\\)", s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("string not closed with \"")
}

// parseList reads quoted strings up to "]" (s starts after "[").
func parseList(s string) ([]string, string, error) {
	out := []string{}
	for {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, "", errors.New("list not closed with ] (a list is written on one line)")
		}
		if s[0] == ']' {
			return out, s[1:], nil
		}
		if s[0] != '"' && s[0] != '\'' {
			return nil, "", errors.New("list items are quoted strings")
		}
		item, rest, err := parseString(s)
		if err != nil {
			return nil, "", err
		}
		out = append(out, item)
		rest = strings.TrimSpace(rest)
		switch {
		case strings.HasPrefix(rest, ","):
			s = rest[1:]
		case strings.HasPrefix(rest, "]"):
			s = rest
		default:
			return nil, "", errors.New("list items are separated by commas")
		}
	}
}
