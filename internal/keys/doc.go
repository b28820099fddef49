// Package keys is keywarden's lifecycle core: managed objects (symmetric
// keys, key pairs, certificates, secret data, opaque objects), their
// attributes and states as KMIP 1.4 defines them, and blind indexes that let
// Locate answer without scanning.
//
// The core speaks the KMIP vocabulary (object types, attribute names and
// values from github.com/ovh/kmip-go) but holds no transport code: the KMIP
// front end, the device protocol and the admin API all call the Manager.
//
// Every write follows the same path: random values (ids, key material) are
// produced first, the object record and its index entries are sealed by the
// barrier, and one store.Command applies them atomically. Updates use the
// sealed bytes they read as a precondition (optimistic concurrency), so the
// same commands replay identically on a replicated store.
package keys
