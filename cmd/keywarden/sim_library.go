package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/sim/library"
	"github.com/keywarden/keywarden/internal/sim/tape"
)

// libraryKeyPrefix starts the key identifier that a library-written image
// carries: the Application Specific Information namespace, then the key
// identifier in hexadecimal (docs/tape-image.md).
const libraryKeyPrefix = library.Namespace + ":"

func newSimLibraryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "library",
		Short: "A simulated KMIP tape library: write a file to an LTO tape image and read it back",
		Long: `A simulated tape library that gets its keys over KMIP (Tape Library profile), not over
the device protocol. "write" makes a key identifier for the cartridge, asks keywarden to
Create an AES-256 key with Application Specific Information LIBRARY-LTO (the identifier in
hexadecimal) and the barcode as Alternative Name, Activates and Gets it, then writes the
tape image with the identifier in its header; "read" Locates the key by that identifier,
Gets it and restores the file. Several --server flags (KMIP listeners, default port 5696)
are tried in order. The library's client certificate must be known to keywarden (for
example "keywarden device add --family LTO --serial LIB01 --cert library.pem").`,
		Args: cobra.NoArgs,
		RunE: missingSubcommand,
	}
	cmd.AddCommand(newSimLibraryWriteCommand(), newSimLibraryReadCommand())
	return cmd
}

// simLibrary holds the flags that say how the library reaches keywarden.
type simLibrary struct {
	servers       []string
	ca, cert, key string
	timeout       time.Duration
}

func addSimLibraryFlags(cmd *cobra.Command, l *simLibrary) {
	f := cmd.Flags()
	f.StringArrayVar(&l.servers, "server", nil, "KMIP listener HOST[:PORT] (default port "+library.DefaultPort+"); repeat for failover order (required)")
	f.StringVar(&l.ca, "ca", "", "CA certificate of the server, PEM (required)")
	f.StringVar(&l.cert, "cert", "", "the library's KMIP client certificate, PEM (required)")
	f.StringVar(&l.key, "key", "", "the library's private key, PEM (required)")
	f.DurationVar(&l.timeout, "timeout", library.DefaultTimeout, "time allowed to each server")
	for _, name := range []string{"server", "ca", "cert", "key"} {
		_ = cmd.MarkFlagRequired(name) // only fails for an unknown flag
	}
}

// client returns a KMIP client for the library.
func (l *simLibrary) client() (*library.Client, error) {
	conf, err := pki.ClientTLS(l.ca, l.cert, l.key)
	if err != nil {
		return nil, fmt.Errorf("sim: library credentials: %w", err)
	}
	c, err := library.New(library.Config{Servers: l.servers, TLS: conf, Timeout: l.timeout})
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	return c, nil
}

func newSimLibraryWriteCommand() *cobra.Command {
	var (
		l                        simLibrary
		volser, barcode, in, out string
	)
	cmd := &cobra.Command{
		Use:   "write --volser V --in FILE --out IMAGE --server HOST[:PORT] --ca CA.pem --cert LIBRARY.pem --key LIBRARY-key.pem",
		Short: "Write a file to an encrypted tape image with a new key from keywarden over KMIP",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !tape.ValidVolser(volser) {
				return fmt.Errorf("sim library write: --volser %q: want 1 to 6 characters A-Z, 0-9", volser)
			}
			if barcode == "" {
				barcode = volser
			}
			if !strings.HasPrefix(barcode, volser) {
				return fmt.Errorf("sim library write: --barcode %q must start with the volser %s", barcode, volser)
			}
			src, err := os.Open(in)
			if err != nil {
				return fmt.Errorf("sim library write: %w", err)
			}
			defer src.Close()
			c, err := l.client()
			if err != nil {
				return err
			}
			k, err := c.CreateKey(cmd.Context(), barcode)
			if err != nil {
				return fmt.Errorf("sim library write: volume %s: %w", volser, err)
			}
			defer clear(k.Material)
			h := tape.Header{Volser: volser, Key: tape.KeyRef{KeyID: libraryKeyPrefix + k.KeyID}}
			n, err := writeAtomically(out, func(w io.Writer) (int64, error) {
				tw, err := tape.NewWriter(w, h, k.Material)
				if err != nil {
					return 0, err
				}
				n, err := io.Copy(tw, src)
				if err != nil {
					return n, err
				}
				return n, tw.Close()
			})
			if err != nil {
				return fmt.Errorf("sim library write: %w", err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "wrote volume %s: %d bytes to %s, key identifier %s (object %s)\n",
				volser, n, out, k.KeyID, k.UniqueIdentifier)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&volser, "volser", "", "volume serial, 1 to 6 characters A-Z, 0-9 (required)")
	f.StringVar(&barcode, "barcode", "", "cartridge barcode kept as the key's Alternative Name, starting with the volser (default: the volser; LTO labels add the media type, e.g. VOL001L8)")
	f.StringVar(&in, "in", "", "file to write to tape (required)")
	f.StringVar(&out, "out", "", "tape image to create (required)")
	for _, name := range []string{"volser", "in", "out"} {
		_ = cmd.MarkFlagRequired(name)
	}
	addSimLibraryFlags(cmd, &l)
	return cmd
}

func newSimLibraryReadCommand() *cobra.Command {
	var (
		l       simLibrary
		in, out string
	)
	cmd := &cobra.Command{
		Use:   "read --in IMAGE --out FILE --server HOST[:PORT] --ca CA.pem --cert LIBRARY.pem --key LIBRARY-key.pem",
		Short: "Read a library-written tape image back to a file with its key from keywarden over KMIP",
		Long: `Read a tape image written by "sim library write" back to a file. The output file
appears only once the whole image has been authenticated; a refused key, a truncated or a
tampered image leaves no file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, err := os.Open(in)
			if err != nil {
				return fmt.Errorf("sim library read: %w", err)
			}
			defer src.Close()
			h, err := tape.ReadHeader(src)
			if err != nil {
				return fmt.Errorf("sim library read: %s: %w", in, err)
			}
			keyID, ok := strings.CutPrefix(h.Key.KeyID, libraryKeyPrefix)
			if !ok {
				return fmt.Errorf("sim library read: %s: volume %s was not written by a tape library (read it with \"keywarden sim tape read\")", in, h.Volser)
			}
			c, err := l.client()
			if err != nil {
				return err
			}
			k, err := c.FetchKey(cmd.Context(), keyID)
			if err != nil {
				if errors.Is(err, library.ErrNoKey) {
					return fmt.Errorf("sim library read: volume %s: %w (destroyed, or kept by another server or group)", h.Volser, err)
				}
				return fmt.Errorf("sim library read: volume %s: %w", h.Volser, err)
			}
			defer clear(k.Material)
			r, err := tape.NewReader(src, h, k.Material)
			if err != nil {
				return fmt.Errorf("sim library read: %s: %w", in, err)
			}
			n, err := writeAtomically(out, func(w io.Writer) (int64, error) { return io.Copy(w, r) })
			if err != nil {
				return fmt.Errorf("sim library read: %s: %w", in, err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "read volume %s: %d bytes to %s, key identifier %s\n", h.Volser, n, out, keyID)
			return err
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "tape image to read (required)")
	cmd.Flags().StringVar(&out, "out", "", "file to restore (required)")
	_ = cmd.MarkFlagRequired("in")
	_ = cmd.MarkFlagRequired("out")
	addSimLibraryFlags(cmd, &l)
	return cmd
}
