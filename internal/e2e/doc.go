// Package e2e holds end-to-end tests that cross components: a real server
// started by testenv, real certificates from its CA, real TLS, and the
// device registry, KMIP front end and admin API together.
package e2e
