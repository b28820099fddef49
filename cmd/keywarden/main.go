// Command keywarden is the keywarden key server and its command line.
//
//	keywarden init        create a server in a data directory
//	keywarden serve       run the server (initialising the directory if needed)
//	keywarden cert issue  issue a client certificate with a role
//	keywarden version     print version information
//
// The data directory defaults to $KEYWARDEN_DATA_DIR, else ./keywarden-data.
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
