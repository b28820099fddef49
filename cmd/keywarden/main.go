// Command keywarden is the keywarden key server and its command line.
//
//	keywarden init        create a server in a data directory
//	keywarden serve       run the server (initialising the directory if needed)
//	keywarden cert issue  issue a client certificate with a role
//	keywarden version     print version information
//
// and, against a running server over the admin API (docs/admin-api.md):
//
//	keywarden status
//	keywarden group   list|show|create|modify|delete
//	keywarden device  list|show|add|modify|delete|approve|reject
//	keywarden pending list|accept|reject
//	keywarden key     list|show|destroy
//	keywarden cert    list|revoke|issue
//
// The data directory defaults to $KEYWARDEN_DATA_DIR, else ./keywarden-data.
// A running server is reached through $KEYWARDEN_ADDR, $KEYWARDEN_CACERT,
// $KEYWARDEN_CLIENT_CERT and $KEYWARDEN_CLIENT_KEY, or the matching flags.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "keywarden: %v\n", err)
		os.Exit(1)
	}
}
