// Package importer holds what keywarden's two import paths share: the
// migration of an EKM or ISKLM instance (internal/migrate, POST /v1/import)
// and the label bundle of another keywarden server (internal/bundle, POST
// /v1/labels/import-bundle).
//
// Both check every object against the server before writing anything and
// resolve each conflict — an object the server holds under the same name
// with other content — by the caller's Policy: refuse the whole import,
// skip the object, or write it under a new name (Renamer). Both then write
// their objects in order and stop at the first failure (Run), undoing the
// writes before it when their steps say how.
//
// What makes two objects "the same" or "in conflict" is not here: it
// depends on what each path carries (a migration compares a label's EEDK
// key hash and a key group's alias set, a bundle the certificate's public
// key and every key's material) and stays with each path.
package importer

// Policy is what an import does with a conflict: an object the server
// holds under the same name (or identity) with other content.
type Policy uint8

// The policies. Each import path keeps its own word for Refuse on the
// wire ("fail" for a migration, "refuse" for a bundle).
const (
	// Refuse refuses the whole import: nothing is written.
	Refuse Policy = iota
	// Skip keeps the server's object and leaves the import's out.
	Skip
	// Rename writes the import's object under a new name, when it can
	// take one.
	Rename
)

// Words are one import path's words for the policies on its wire.
type Words struct{ Refuse, Skip, Rename string }

// Policy returns the policy named word; ok is false when word names none
// (the policy is then Refuse).
func (w Words) Policy(word string) (p Policy, ok bool) {
	switch word {
	case w.Refuse:
		return Refuse, true
	case w.Skip:
		return Skip, true
	case w.Rename:
		return Rename, true
	}
	return Refuse, false
}

// Verdict is what becomes of one conflicting object.
type Verdict uint8

// The verdicts.
const (
	// Refused: the conflict refuses the whole import.
	Refused Verdict = iota
	// Skipped: the object is left out; the server's stays.
	Skipped
	// Renamed: the object is written under a new name.
	Renamed
)

// Resolve returns what p does with a conflict. renamable says whether this
// object can take another name; unrenamable is what Rename does with one
// that cannot (Refused or Skipped: the paths differ, see each caller).
func (p Policy) Resolve(renamable bool, unrenamable Verdict) Verdict {
	switch {
	case p == Skip:
		return Skipped
	case p == Rename && renamable:
		return Renamed
	case p == Rename:
		return unrenamable
	}
	return Refused
}
