// Package backup writes and restores a keywarden server's complete state as
// one encrypted, authenticated file, and keeps the record of the last
// backup.
//
// A backup holds a consistent copy of the bbolt store (every bucket: keys,
// keyring, devices, groups, usage records, the audit chain head), the PKI
// files of DIR/pki and the audit trail files of DIR/audit. The store's
// values stay sealed by the barrier as they are; what ties them to the
// server's master key — the wrapped keyring and the sealed CA and server
// private keys — is carried unwrapped instead, inside the backup's own
// encryption, so that a backup restores on a new machine under a new
// master key (a file key, a passphrase-sealed key or a key in an HSM) and
// never depends on the old master.key file, which a backup does not hold.
//
// The archive (a tar stream) is encrypted as a whole under a passphrase:
// Argon2id, HKDF-SHA256, then AES-256-GCM in 64 KiB chunks following the
// STREAM construction (see Writer), with an HMAC over the header that
// tells a wrong passphrase from a damaged file. Restore reads the file
// twice: once to verify every chunk and every entry, writing nothing, then
// to write into a temporary directory next to the target, which is renamed
// into place only once complete.
package backup
