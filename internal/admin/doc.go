// Package admin is keywarden's administration API: JSON over HTTPS on the
// admin listener, mutual TLS only.
//
// Every route is declared once, in the route table (routes.go): method, path
// pattern, the roles allowed, the largest request body and the time limit.
// The table is enforced before a handler runs: the client certificate is
// resolved to a principal by the device registry (revoked certificates and
// device certificates are refused), the principal's role is checked, the
// body is capped and the request context gets its deadline. Handlers only
// see requests they are allowed to answer.
//
// Errors are RFC 9457 problem documents (application/problem+json). One
// table maps the domain sentinels of internal/devices and internal/keys to
// HTTP statuses; anything else is a 500 whose cause goes to the log, never
// to the client.
//
// The package also holds the server's Prometheus metrics (Metrics), served
// on /metrics from a registry of its own.
package admin
