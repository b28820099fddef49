// Package conformance replays the OASIS KMIP XML test vectors against a live
// KMIP server and compares every response with the one the vector expects.
//
// A vector file is a <KMIP> element holding alternating <RequestMessage> and
// <ResponseMessage> elements in the KMIP XML encoding. LoadFile parses a file
// into generic trees (Node) in which variables such as $UNIQUE_IDENTIFIER_0 or
// $NOW-3600 survive as variables, and corrects the few published defects no
// server could match (errata.go). Suite.Run sends each request in binary
// TTLV over a Conn, with $NOW±n replaced by the current time and the other
// variables by the values bound earlier, and compares the decoded response
// with the expected one:
//
//   - a variable first seen in an expected response binds to the value the
//     server returned; every later occurrence must equal the bound value, and
//     two identifier variables never bind to the same identifier;
//   - only server-chosen values are ignored: the response header time stamp;
//     dates, unless a request set them (Initial, Last Change, Original
//     Creation dates and $NOW… dates are always the server's); the lease
//     time; the material and digests of objects the server generated
//     (Create, Create Key Pair, Re-key, ...; see Provenance) and output
//     computed with them or with an IV the server chose; the Random Number
//     Generator attribute, unless a request set it; result messages; the
//     server information and vendor identification of a Query answer;
//   - Query lists may be a superset of the expected ones, and an entry
//     keywarden deliberately does not offer (notoffered.go) is a not-offered
//     difference, named only when nothing else differs; Locate identifiers
//     may come in any order, Get Attributes answers may list attributes in
//     any order (and, when the request named none, extra ones);
//   - everything else must match exactly, in order, and every mismatch is
//     reported with its path, for example
//     BatchItem[1]/ResponsePayload/Attribute[3]/AttributeValue.
//
// The 1.0–1.2 vectors were recorded with literal dates: these are moved by
// the time elapsed since the recording, so that "two minutes after the
// create" stays so, and a read-only request that the vector repeats
// expecting another answer (a key that becomes Deactivated) is polled.
package conformance
