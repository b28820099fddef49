package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client/device"
	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/sim/tape"
)

func newSimCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Simulated devices that ask keywarden for keys over the device protocol",
		Args:  cobra.NoArgs,
		RunE:  missingSubcommand,
	}
	tapeCmd := &cobra.Command{
		Use:   "tape",
		Short: "A simulated 3592 tape drive: write a file to a tape image and read it back",
		Long: `A simulated 3592 tape drive. "write" asks keywarden for a data key and writes a file
to an encrypted tape image (docs/tape-image.md) carrying the two EEDKs; "read" sends the
EEDKs back to keywarden and restores the file. Several --server flags are tried in order.`,
		Args: cobra.NoArgs,
		RunE: missingSubcommand,
	}
	tapeCmd.AddCommand(newSimTapeWriteCommand(), newSimTapeReadCommand())
	cmd.AddCommand(tapeCmd)
	return cmd
}

// simDrive holds the flags shared by the drive simulators: who the drive is
// and how it reaches keywarden.
type simDrive struct {
	serial        string
	servers       []string
	ca, cert, key string
	timeout       time.Duration
}

func addSimDriveFlags(cmd *cobra.Command, d *simDrive) {
	f := cmd.Flags()
	f.StringVar(&d.serial, "drive", "", "serial number of the drive (required)")
	f.StringArrayVar(&d.servers, "server", nil, "device listener HOST:PORT; repeat for failover order (required)")
	f.StringVar(&d.ca, "ca", "", "CA certificate of the server, PEM (required)")
	f.StringVar(&d.cert, "cert", "", "the drive's client certificate, PEM (required)")
	f.StringVar(&d.key, "key", "", "the drive's private key, PEM (required)")
	f.DurationVar(&d.timeout, "timeout", device.DefaultTimeout, "time allowed to each server")
	for _, name := range []string{"drive", "server", "ca", "cert", "key"} {
		_ = cmd.MarkFlagRequired(name) // only fails for an unknown flag
	}
}

// client returns a device-protocol client for the drive.
func (d *simDrive) client() (*device.Client, error) {
	conf, err := pki.ClientTLS(d.ca, d.cert, d.key)
	if err != nil {
		return nil, fmt.Errorf("sim: drive credentials: %w", err)
	}
	c, err := device.New(device.Config{Servers: d.servers, TLS: conf, Timeout: d.timeout})
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	return c, nil
}

func newSimTapeWriteCommand() *cobra.Command {
	var (
		d                    simDrive
		volser, in, out, wwn string
		label1, label2, enc  string
	)
	cmd := &cobra.Command{
		Use:   "write --drive SERIAL --volser V --in FILE --out IMAGE --server HOST:PORT --ca CA.pem --cert DRIVE.pem --key DRIVE-key.pem",
		Short: "Write a file to an encrypted tape image with a data key from keywarden",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !tape.ValidVolser(volser) {
				return fmt.Errorf("sim tape write: --volser %q: want 1 to 6 characters A-Z, 0-9", volser)
			}
			var encoding codec.Encoding
			switch strings.ToUpper(enc) {
			case "":
			case "L":
				encoding = codec.EncodingLabel
			case "H":
				encoding = codec.EncodingHash
			default:
				return fmt.Errorf("sim tape write: --encoding %q: want L (label) or H (hash of the public key)", enc)
			}
			if wwn == "" {
				wwn = d.serial
			}
			src, err := os.Open(in)
			if err != nil {
				return fmt.Errorf("sim tape write: %w", err)
			}
			defer src.Close()
			c, err := d.client()
			if err != nil {
				return err
			}
			dataKey, e1, e2, err := c.WriteKey(cmd.Context(), codec.WriteKeyRequest{
				DriveSerial: d.serial, WWN: wwn, Volser: volser,
				Label1: label1, Label2: label2, Encoding1: encoding, Encoding2: encoding,
			})
			if err != nil {
				return fmt.Errorf("sim tape write: volume %s: %w", volser, err)
			}
			defer clear(dataKey)
			h := tape.Header{Volser: volser, Key: tape.KeyRef{EEDKs: [2]tape.EEDK{tapeEEDK(e1), tapeEEDK(e2)}}}
			n, err := writeAtomically(out, func(w io.Writer) (int64, error) {
				tw, err := tape.NewWriter(w, h, dataKey)
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
				return fmt.Errorf("sim tape write: %w", err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "wrote volume %s: %d bytes to %s, EEDK1 %s, EEDK2 %s\n",
				volser, n, out, describeEEDK(e1), describeEEDK(e2))
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&volser, "volser", "", "volume serial, 1 to 6 characters A-Z, 0-9 (required)")
	f.StringVar(&in, "in", "", "file to write to tape (required)")
	f.StringVar(&out, "out", "", "tape image to create (required)")
	f.StringVar(&wwn, "wwn", "", "world-wide name of the drive (default: the drive serial)")
	f.StringVar(&label1, "label1", "", "first key label (default: the drive's, else its group's)")
	f.StringVar(&label2, "label2", "", "second key label (default: the drive's, else its group's)")
	f.StringVar(&enc, "encoding", "", "how both EEDKs name their key: L (label) or H (hash of the public key); default: the server's (L)")
	for _, name := range []string{"volser", "in", "out"} {
		_ = cmd.MarkFlagRequired(name)
	}
	addSimDriveFlags(cmd, &d)
	return cmd
}

func newSimTapeReadCommand() *cobra.Command {
	var (
		d       simDrive
		in, out string
	)
	cmd := &cobra.Command{
		Use:   "read --drive SERIAL --in IMAGE --out FILE --server HOST:PORT --ca CA.pem --cert DRIVE.pem --key DRIVE-key.pem",
		Short: "Read a tape image back to a file with the data key from keywarden",
		Long: `Read a tape image back to a file. The output file appears only once the whole image
has been authenticated; a refused key, a truncated or a tampered image leaves no file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, err := os.Open(in)
			if err != nil {
				return fmt.Errorf("sim tape read: %w", err)
			}
			defer src.Close()
			h, err := tape.ReadHeader(src)
			if err != nil {
				return fmt.Errorf("sim tape read: %s: %w", in, err)
			}
			if !h.Key.IsEEDK() {
				return fmt.Errorf("sim tape read: %s: volume %s carries an LTO key identifier, not 3592 EEDKs", in, h.Volser)
			}
			c, err := d.client()
			if err != nil {
				return err
			}
			dataKey, err := c.ReadKey(cmd.Context(), d.serial, h.Volser, codecEEDK(h.Key.EEDKs[0]), codecEEDK(h.Key.EEDKs[1]))
			if err != nil {
				return fmt.Errorf("sim tape read: volume %s: %w", h.Volser, err)
			}
			defer clear(dataKey)
			r, err := tape.NewReader(src, h, dataKey)
			if err != nil {
				return fmt.Errorf("sim tape read: %s: %w", in, err)
			}
			n, err := writeAtomically(out, func(w io.Writer) (int64, error) { return io.Copy(w, r) })
			if err != nil {
				return fmt.Errorf("sim tape read: %s: %w", in, err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "read volume %s: %d bytes to %s\n", h.Volser, n, out)
			return err
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "tape image to read (required)")
	cmd.Flags().StringVar(&out, "out", "", "file to restore (required)")
	_ = cmd.MarkFlagRequired("in")
	_ = cmd.MarkFlagRequired("out")
	addSimDriveFlags(cmd, &d)
	return cmd
}

// writeAtomically writes path through fill into a temporary file in the
// same directory and renames it to path only when fill succeeds; on any
// error the temporary file is removed and path is left untouched.
func writeAtomically(path string, fill func(io.Writer) (int64, error)) (n int64, err error) {
	if path == "" {
		return 0, errors.New("no output file")
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if n, err = fill(tmp); err != nil {
		return n, err
	}
	if err = tmp.Sync(); err != nil {
		return n, err
	}
	if err = tmp.Close(); err != nil {
		return n, err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return n, err
	}
	return n, nil
}

// tapeEEDK converts an EEDK of the protocol to its form in a tape header;
// the key reference is kept byte for byte (a label, or the 32-byte hash).
func tapeEEDK(e codec.EEDK) tape.EEDK {
	return tape.EEDK{Encoding: tape.Encoding(e.Encoding), LabelOrHash: string(e.KeyRef), Wrapped: e.Data}
}

// codecEEDK converts an EEDK of a tape header back to the protocol's form.
func codecEEDK(e tape.EEDK) codec.EEDK {
	return codec.EEDK{Encoding: codec.Encoding(e.Encoding), KeyRef: []byte(e.LabelOrHash), Data: e.Wrapped}
}

// describeEEDK names an EEDK's key for the summary line: L:label or
// H:hex hash.
func describeEEDK(e codec.EEDK) string {
	if e.Encoding == codec.EncodingHash {
		return "H:" + hex.EncodeToString(e.KeyRef)
	}
	return "L:" + string(e.KeyRef)
}
