// Package seedxml reads and writes the key-usage metadata file of the IBM
// Encryption Key Manager and ISKLM (SKLMData.xml): a <KeyUsageEvents> root
// holding <KeyUsageEvent> elements whose children are driveSSN, volSer,
// driveWWN, keyAlias1, keyAlias2 and dateTime, in any order.
//
// The package is pure: it knows nothing of the store or of the usage
// records' own type. Decode is all-or-nothing: a malformed file yields an
// *Error naming the line (and, where known, the column) of the problem and
// no events, so an import never half-succeeds.
//
// dateTime is written by Java's Date.toString ("EEE MMM dd HH:mm:ss zzz yyyy",
// for example "Tue Oct 18 19:35:08 GMT 2011"); see ParseJavaTime for the
// zones accepted.
package seedxml

import (
	"fmt"
	"time"
)

// Event is one <KeyUsageEvent>: the drive that asked, the volume, the two key
// aliases (or a key identifier in KeyAlias1 for LTO) and when.
//
// Time is whole seconds in UTC after Decode; Encode writes it in UTC as GMT.
type Event struct {
	DriveSSN  string
	VolSer    string
	DriveWWN  string
	KeyAlias1 string
	KeyAlias2 string
	Time      time.Time
}

// MaxValueBytes is the longest value, in bytes after trimming surrounding
// whitespace, that a child element may hold.
const MaxValueBytes = 256

// DefaultMaxEvents is the number of events Decode accepts before refusing the
// file; DecodeMax takes another limit.
const DefaultMaxEvents = 1_000_000

// Element names of the format.
const (
	elemRoot      = "KeyUsageEvents"
	elemEvent     = "KeyUsageEvent"
	elemDriveSSN  = "driveSSN"
	elemVolSer    = "volSer"
	elemDriveWWN  = "driveWWN"
	elemKeyAlias1 = "keyAlias1"
	elemKeyAlias2 = "keyAlias2"
	elemDateTime  = "dateTime"
)

// Error is a refused file or event. Line and Column are 1-based; Line is 0
// when the problem has no position (Encode's errors name the event index
// instead), Column is 0 when unknown (XML syntax errors report a line only).
type Error struct {
	Line   int
	Column int
	Msg    string
	Err    error // underlying cause, if any
}

// Error formats the position and the problem, e.g.
// `seedxml: line 7, column 1: dateTime "Tue Oct 99 ...": not a date`.
func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("seedxml: line %d, column %d: %s", e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("seedxml: line %d: %s", e.Line, e.Msg)
	default:
		return "seedxml: " + e.Msg
	}
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }
