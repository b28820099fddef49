// Package interop holds interoperability tests: real third-party KMIP
// clients (ovh/kmip-go's kmipclient and PyKMIP) driving a real keywarden
// server started by testenv over mutual TLS, and the at-rest secrecy check
// that no key material reaches the data directory unsealed. It has no
// non-test code.
package interop
