package audit

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"
)

// Defaults of Config.
const (
	// DefaultName is the audit file's name (Audit.handler.file.name).
	DefaultName = "audit.log"
	// DefaultMaxSize is the size at which the file is rotated: the seed's
	// Audit.handler.file.size default, 10000 KiB.
	DefaultMaxSize = 10000 << 10
	// DefaultSyncInterval is the longest time between two fsyncs of the
	// file (and two updates of the anchored chain head).
	DefaultSyncInterval = 100 * time.Millisecond
	// MinChainKey is the shortest chain key accepted, in bytes.
	MinChainKey = 16
)

// Config configures a Trail. Each field names the seed's property it
// stands for (ISKLMConfig.properties); see docs/audit.md.
type Config struct {
	// Dir is the directory of the audit files (Audit.handler.file.directory);
	// the server uses DIR/audit under its data directory. Required.
	Dir string
	// Name is the current file's name (Audit.handler.file.name);
	// DefaultName when empty. Rotated files are NAME.TIMESTAMP.
	Name string
	// MaxSize is the size in bytes at which the current file is closed and
	// renamed with a timestamp (Audit.handler.file.size, which the seed
	// gives in KiB); DefaultMaxSize when zero.
	MaxSize int64
	// MaxFiles keeps at most this many rotated files, removing the oldest;
	// zero keeps them all.
	MaxFiles int
	// MaxAge removes rotated files rotated longer ago than this; zero keeps
	// them forever.
	MaxAge time.Duration
	// Types records only events of these types (Audit.event.types); empty
	// records all ("all" in the seed's property).
	Types []Type
	// Outcomes records only events with these outcomes
	// (Audit.event.outcome); empty records all.
	Outcomes []Outcome
	// QueueMax is Audit.eventQueue.max. Zero: Record writes the record to
	// the file (one write system call) before it returns. More than zero:
	// Record queues the event (at most QueueMax waiting) and a writer
	// writes it; a write failure then cannot refuse the request any more.
	QueueMax int
	// FailOpen turns fail-closed off. By default (false) the trail fails
	// closed: when a record cannot be written, Record and Ready return an
	// error wrapping ErrUnavailable and the front end refuses the request.
	// With FailOpen such a record is logged, counted and dropped, and the
	// request goes on.
	FailOpen bool
	// ChainKey keys the HMAC-SHA256 chain (at least MinChainKey bytes).
	// The server passes barrier.IndexKey([]byte("audit-chain")), derived
	// from the master key. Required.
	ChainKey []byte
	// Anchor keeps the chain head in the sealed store; nil keeps none
	// (removing the last records is then not detected).
	Anchor Anchor
	// Syslog, when not nil, also sends every record to a syslog server.
	Syslog *SyslogConfig
	// SyncInterval is the longest time between fsyncs (and anchor
	// updates); DefaultSyncInterval when zero, at most one second.
	SyncInterval time.Duration
	// OnFailure is called, from any goroutine and possibly with the
	// trail's lock held (it must not call the trail), for every record
	// that could not be written (sink SinkFile) or sent (SinkSyslog), and
	// for every failed anchor update (SinkAnchor): the server counts them
	// in its metrics. nil counts nothing beyond Stats.
	OnFailure func(sink string, err error)
	// Logger receives failures and recoveries; nil discards.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, errors.New("audit: Config.Dir is required")
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Name != filepath.Base(c.Name) || c.Name == "." || c.Name == ".." || strings.ContainsAny(c.Name, `/\`) {
		return c, fmt.Errorf("audit: Config.Name %q: want a plain file name such as %q", c.Name, DefaultName)
	}
	if c.MaxSize == 0 {
		c.MaxSize = DefaultMaxSize
	}
	if c.MaxSize < 4<<10 {
		return c, fmt.Errorf("audit: Config.MaxSize %d: want at least 4096 bytes", c.MaxSize)
	}
	if c.MaxFiles < 0 || c.MaxAge < 0 || c.QueueMax < 0 {
		return c, errors.New("audit: Config.MaxFiles, MaxAge and QueueMax must not be negative")
	}
	if len(c.ChainKey) < MinChainKey {
		return c, fmt.Errorf("audit: Config.ChainKey: want at least %d bytes (barrier.IndexKey)", MinChainKey)
	}
	c.ChainKey = append([]byte(nil), c.ChainKey...)
	if c.SyncInterval == 0 {
		c.SyncInterval = DefaultSyncInterval
	}
	if c.SyncInterval < 0 || c.SyncInterval > time.Second {
		return c, fmt.Errorf("audit: Config.SyncInterval %v: want between 0 and 1s", c.SyncInterval)
	}
	for _, t := range c.Types {
		if !knownType(t) {
			return c, fmt.Errorf("audit: Config.Types: unknown event type %q", t)
		}
	}
	for _, o := range c.Outcomes {
		if o != Success && o != Failure && o != Denied {
			return c, fmt.Errorf("audit: Config.Outcomes: unknown outcome %q (want success, failure or denied)", o)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Syslog != nil {
		s, err := c.Syslog.withDefaults()
		if err != nil {
			return c, err
		}
		c.Syslog = &s
	}
	return c, nil
}

// Types lists every event type.
func Types() []Type {
	return []Type{TypeKey, TypeLifecycle, TypeAuth, TypeDevice, TypeConfig, TypeServer, TypeQuery}
}

func knownType(t Type) bool {
	for _, k := range Types() {
		if k == t {
			return true
		}
	}
	return false
}

// ParseTypes reads the seed's Audit.event.types value: "all" (or empty)
// for every type, else a comma-separated list of types.
func ParseTypes(s string) ([]Type, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "all") {
		return nil, nil
	}
	var out []Type
	for _, p := range strings.Split(s, ",") {
		t := Type(strings.ToLower(strings.TrimSpace(p)))
		if !knownType(t) {
			return nil, fmt.Errorf("audit: event type %q: want all or a list of %v", p, Types())
		}
		out = append(out, t)
	}
	return out, nil
}

// ParseOutcomes reads the seed's Audit.event.outcome value, such as
// "success,failure"; "all" or empty is every outcome. The seed knows
// success and failure; a failure filter also keeps denials, which the
// seed counts as failures, and undone requests (reversed because a later
// item of their KMIP batch failed).
func ParseOutcomes(s string) ([]Outcome, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "all") {
		return nil, nil
	}
	var out []Outcome
	for _, p := range strings.Split(s, ",") {
		switch o := Outcome(strings.ToLower(strings.TrimSpace(p))); o {
		case Success, Denied:
			out = append(out, o)
		case Failure:
			out = append(out, Failure, Denied, Undone)
		default:
			return nil, fmt.Errorf("audit: event outcome %q: want all, success, failure or denied", p)
		}
	}
	return out, nil
}

// wants reports whether the filters keep e.
func (c *Config) wants(e *Event) bool {
	if len(c.Types) > 0 && !contains(c.Types, e.Type) {
		return false
	}
	if len(c.Outcomes) > 0 && !contains(c.Outcomes, e.Outcome) {
		return false
	}
	return true
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
