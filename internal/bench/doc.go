// Package bench holds keywarden's end-to-end performance benchmarks: a real
// server (bbolt store with fsync, sealed records, mutual TLS) started by
// internal/testenv on the loopback interface, driven by hand-built KMIP
// requests over persistent and fresh TLS connections, next to a bare TLS 1.3
// echo server that gives the ceiling of the transport on the same machine.
//
// The package has no API: everything lives in its _test.go files. The
// figures and the command that produces them are in docs/BENCHMARKS.md:
//
//	go test -run '^$' -bench . -benchtime 3s ./internal/bench/ ./internal/keys/
//
// Every benchmark reports its throughput as "ops/s"; the request loops
// target 127.0.0.1 only, and each operation carries a deadline so that a
// stuck server fails the benchmark instead of hanging it.
package bench
