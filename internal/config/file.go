package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/keygroups"
)

// Format is a configuration file's format.
type Format string

// Formats.
const (
	FormatNative     Format = "native"
	FormatProperties Format = "properties"
)

// Source kinds: where an effective value came from.
const (
	SourceDefault = "default"
	SourceFile    = "file"
	SourceEnv     = "environment"
	SourceFlag    = "flag"
)

// Source says where a setting's effective value came from.
type Source struct {
	// Kind is SourceDefault, SourceFile, SourceEnv or SourceFlag.
	Kind string
	// File and Line locate a file setting.
	File string
	Line int
	// Name is the key, property, environment variable or flag that set it.
	Name string
}

// String is "file.conf:12 (listeners.kmip)", "environment KEYWARDEN_KMIP_ADDR", …
func (s Source) String() string {
	switch s.Kind {
	case SourceFile:
		return fmt.Sprintf("%s:%d (%s)", s.File, s.Line, s.Name)
	case SourceEnv:
		return "environment " + s.Name
	case SourceFlag:
		return "flag --" + s.Name
	}
	return "default"
}

// File is a configuration read from a file (or from nothing), then
// overlaid by the environment and flags.
type File struct {
	// Path is the file's name; empty when there is no file.
	Path string
	// Format is the file's format.
	Format Format
	// Config is the effective configuration.
	Config Config
	// Sources says where each key (by dotted name) that is not a default
	// came from.
	Sources map[string]Source
	// Properties are the properties of a property file, in file order,
	// each with what keywarden does with it (nil for a native file).
	Properties []Property
	// Warnings are the values keywarden reads but does not act on as
	// their origin did, each saying what keywarden does instead.
	Warnings []Note
}

// Note is a message about one line of a file.
type Note struct {
	File string
	Line int
	Key  string
	Text string
}

// String is "FILE:LINE: KEY: TEXT".
func (n Note) String() string {
	return (&Error{File: n.File, Line: n.Line, Key: n.Key, Msg: n.Text}).Error()
}

func newFile(path string, format Format) *File {
	return &File{Path: path, Format: format, Config: Defaults(), Sources: map[string]Source{}}
}

// Empty returns the configuration of no file: the defaults.
func Empty() *File { return newFile("", FormatNative) }

// Load reads the file at path. A name ending in .properties (or
// .properties.zos and the like), or a first setting that is not
// "version", is read as an ISKLM/EKM property file; anything else as a
// native file.
func Load(path string) (*File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if fi.Size() > MaxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if DetectFormat(path, data) == FormatProperties {
		return ParseProperties(path, data)
	}
	return ParseNative(path, data)
}

// DetectFormat tells a property file from a native one by its name, else
// by its content: a native file's first setting is version, a section
// header, or uses "key = " with a quoted, numeric or boolean value.
func DetectFormat(path string, data []byte) Format {
	base := strings.ToLower(filepath.Base(path))
	if strings.HasSuffix(base, ".properties") || strings.Contains(base, ".properties.") {
		return FormatProperties
	}
	if strings.HasSuffix(base, ".conf") || strings.HasSuffix(base, ".toml") {
		return FormatNative
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		t := strings.TrimSpace(string(line))
		if t == "" || t[0] == '#' || t[0] == '!' {
			continue
		}
		if t[0] == '[' || strings.HasPrefix(t, "version") {
			return FormatNative
		}
		return FormatProperties
	}
	return FormatNative
}

// validate checks the settings that depend on one another, and fills in
// the key group name of a key set.
func (f *File) validate() error {
	c := &f.Config
	var errs []error
	bad := func(full, format string, args ...any) {
		src := f.Sources[full]
		errs = append(errs, &Error{File: orWhere(src), Line: src.Line, Key: f.keyName(full), Msg: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir", "must not be empty")
	}
	for _, a := range []struct{ full, v string }{
		{"listeners.kmip", c.Listeners.KMIP}, {"listeners.device", c.Listeners.Device}, {"listeners.admin", c.Listeners.Admin},
	} {
		if a.v == "" {
			bad(a.full, "must not be empty: want %s", lookup(a.full).allowedText())
		}
	}
	for _, a := range []struct{ full, v string }{{"drive.alias1", c.Drive.Alias1}, {"drive.alias2", c.Drive.Alias2}} {
		if len(a.v) > 64 || strings.ContainsFunc(a.v, unicode.IsSpace) {
			bad(a.full, "%q: a key label is at most 64 characters without spaces", a.v)
		}
	}
	if c.Drive.KeySet != "" {
		if _, err := keygroups.ParseAliasSet(c.Drive.KeySet); err != nil {
			bad("drive.key_set", "%v: want a set such as \"des01-1f\" or \"lto001-lto0ff,spare1\"", err)
		}
		if c.Drive.KeyGroup == "" {
			c.Drive.KeyGroup = DefaultKeyGroupName
		}
	}
	if c.Drive.KeyGroup != "" {
		if err := devices.ValidateGroupName(c.Drive.KeyGroup); err != nil {
			bad("drive.key_group", "%v", err)
		}
	}
	a := c.Audit
	if a.Name != "" && (a.Name != filepath.Base(a.Name) || strings.ContainsAny(a.Name, `/\`) || a.Name == "." || a.Name == "..") {
		bad("audit.name", "%q: want a plain file name such as %q (put the directory in audit.dir)", a.Name, DefaultAuditName)
	}
	if a.MaxSize != 0 && a.MaxSize < 4<<10 {
		bad("audit.max_size", "%d bytes: want at least 4096", a.MaxSize)
	}
	switch {
	case a.SyslogNetwork != "" && a.SyslogAddress == "":
		bad("audit.syslog_network", "%q needs audit.syslog_address", a.SyslogNetwork)
	case a.SyslogNetwork == "" && a.SyslogAddress != "":
		bad("audit.syslog_address", "needs audit.syslog_network: udp, tcp or tls")
	case a.SyslogNetwork == "tls" && a.SyslogCA == "":
		bad("audit.syslog_network", "tls needs audit.syslog_ca, the syslog server's CA file")
	}
	if c.Limits.MaxMessageSize != 0 && (c.Limits.MaxMessageSize < 1024 || c.Limits.MaxMessageSize > maxMessageSizeCeiling) {
		bad("limits.max_message_size", "%d bytes: want 0 (default) or from 1024 to %d", c.Limits.MaxMessageSize, maxMessageSizeCeiling)
	}
	return errors.Join(errs...)
}

// keyName is the name a message uses for key full: the property or
// variable that set it, else the key.
func (f *File) keyName(full string) string {
	if src, ok := f.Sources[full]; ok && src.Name != "" && src.Name != full {
		return src.Name + " (" + full + ")"
	}
	return full
}

func orWhere(s Source) string {
	switch s.Kind {
	case SourceFile:
		return s.File
	case SourceEnv:
		return "environment"
	case SourceFlag:
		return "flags"
	}
	return "defaults"
}

// ApplyEnv overlays the KEYWARDEN_* variables of environ ("KEY=VALUE"
// pairs, as os.Environ returns) on f and validates the result. An empty
// variable counts as unset.
func (f *File) ApplyEnv(environ []string) error {
	vals := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "KEYWARDEN_") {
			vals[k] = v
		}
	}
	var errs []error
	for _, k := range schema {
		v, ok := vals[k.env]
		if k.env == "" || !ok || v == "" {
			continue
		}
		if err := assignRaw(&f.Config, k, v); err != nil {
			errs = append(errs, &Error{File: "environment", Key: k.env + " (" + k.full() + ")", Msg: err.Error()})
			continue
		}
		f.Sources[k.full()] = Source{Kind: SourceEnv, Name: k.env}
	}
	if len(errs) == 0 {
		errs = append(errs, f.validate())
	}
	return errors.Join(errs...)
}

// Set overlays one value given by flag on f: full is the key's dotted
// name ("listeners.kmip"), raw the flag's text. Call Validate after the
// last Set.
func (f *File) Set(full, flag, raw string) error {
	k := lookup(full)
	if k == nil {
		return fmt.Errorf("config: no key %q", full)
	}
	if err := assignRaw(&f.Config, k, raw); err != nil {
		return &Error{File: "flags", Key: "--" + flag, Msg: err.Error()}
	}
	f.Sources[full] = Source{Kind: SourceFlag, Name: flag}
	return nil
}

// Validate checks the settings that depend on one another.
func (f *File) Validate() error { return f.validate() }
