package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client/device"
	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/sim/tape"
)

func newSimTapeRekeyCommand() *cobra.Command {
	var (
		d              simDrive
		in, out        string
		label1, label2 string
		enc            string
	)
	cmd := &cobra.Command{
		Use:   "rekey --drive SERIAL --in IMAGE --out IMAGE --label1 L --label2 L --server HOST:PORT --ca CA.pem --cert DRIVE.pem --key DRIVE-key.pem",
		Short: "Re-wrap a 3592 volume's data key under two new labels (e.g. a business partner's)",
		Long: `Re-wrap a 3592 volume's data key under two new labels. The drive sends the volume's
EEDKs and the new labels to keywarden (Rekey), which unwraps the data key and wraps it
again under each new label, possibly a partner's certificate whose private key it does
not hold; the data key stays the same and never reaches the drive.

As on a real 3592, only the EEDKs are rewritten: every data block stays byte for byte
what it was. When --out is --in and the new header has the old one's length, the header
is rewritten in place; otherwise a new image is written (the new header, then the
blocks copied unchanged) and replaces --out only once it is complete.

An image in format 1 authenticates its EEDKs, so it cannot take new ones as is: the
drive then also reads the data key with the current EEDKs and encrypts the data again
into a format 2 image (a fresh salt; the plaintext never reaches disk), and says so.
Later rekeys of that image rewrite the EEDKs only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var encoding codec.Encoding
			switch strings.ToUpper(enc) {
			case "":
			case "L":
				encoding = codec.EncodingLabel
			case "H":
				encoding = codec.EncodingHash
			default:
				return fmt.Errorf("sim tape rekey: --encoding %q: want L (label) or H (hash of the public key)", enc)
			}
			src, err := os.Open(in)
			if err != nil {
				return fmt.Errorf("sim tape rekey: %w", err)
			}
			defer src.Close()
			h, err := tape.ReadHeader(src)
			if err != nil {
				return fmt.Errorf("sim tape rekey: %s: %w", in, err)
			}
			if !h.Key.IsEEDK() {
				return fmt.Errorf("sim tape rekey: %s: volume %s carries a key identifier, not EEDKs: only 3592 volumes are rekeyed", in, h.Volser)
			}
			if h.Version != tape.FormatVersion1 {
				// Check the blocks' framing before the server records a rekey.
				if err := checkRecords(src, h); err != nil {
					return fmt.Errorf("sim tape rekey: %s: %w", in, err)
				}
			}
			c, err := d.client()
			if err != nil {
				return err
			}
			old1, old2 := codecEEDK(h.Key.EEDKs[0]), codecEEDK(h.Key.EEDKs[1])
			n1, n2, err := c.Rekey(cmd.Context(), codec.RekeyRequest{
				DriveSerial: d.serial, Volser: h.Volser, Label1: label1, Label2: label2,
				Encoding1: encoding, Encoding2: encoding, EEDK1: old1, EEDK2: old2,
			})
			if err != nil {
				return fmt.Errorf("sim tape rekey: volume %s: %w", h.Volser, err)
			}
			newEEDKs := [2]tape.EEDK{tapeEEDK(n1), tapeEEDK(n2)}
			var how string
			if h.Version == tape.FormatVersion1 {
				how, err = reencryptV1(cmd.Context(), c, d.serial, src, h, newEEDKs, out)
			} else {
				how, err = replaceEEDKs(src, h, newEEDKs, in, out)
			}
			if err != nil {
				return fmt.Errorf("sim tape rekey: %s: %w", in, err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "rekeyed volume %s: %s, EEDK1 %s, EEDK2 %s (were %s, %s)\n",
				h.Volser, how, describeEEDK(n1), describeEEDK(n2), describeEEDK(old1), describeEEDK(old2))
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&in, "in", "", "tape image to rekey (required)")
	f.StringVar(&out, "out", "", "rekeyed tape image to write; may be --in (required)")
	f.StringVar(&label1, "label1", "", "new first key label (required)")
	f.StringVar(&label2, "label2", "", "new second key label (required)")
	f.StringVar(&enc, "encoding", "", "how both new EEDKs name their key: L (label) or H (hash of the public key); default: the server's (L)")
	for _, name := range []string{"in", "out", "label1", "label2"} {
		_ = cmd.MarkFlagRequired(name)
	}
	addSimDriveFlags(cmd, &d)
	return cmd
}

// checkRecords checks the framing of the blocks after the header (no key is
// needed) and leaves src just after the header again.
func checkRecords(src *os.File, h tape.Header) error {
	start, err := src.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := tape.CopyRecords(io.Discard, src, h); err != nil {
		return err
	}
	_, err = src.Seek(start, io.SeekStart)
	return err
}

// replaceEEDKs writes a format 2 image's new EEDKs, leaving its data blocks
// byte for byte as they are: in place when out is in and the header keeps its
// length, else into a new image (the new header, then the blocks copied).
// src is just after the header. It returns what was done, for the summary.
func replaceEEDKs(src *os.File, h tape.Header, eedks [2]tape.EEDK, in, out string) (string, error) {
	nh, err := h.WithEEDKs(eedks)
	if err != nil {
		return "", err
	}
	hdr, err := nh.Encode()
	if err != nil {
		return "", err
	}
	oldLen, err := src.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", err
	}
	same, err := sameFile(in, out)
	if err != nil {
		return "", err
	}
	if same && int64(len(hdr)) == oldLen {
		if err := rewriteHeader(in, hdr); err != nil {
			return "", err
		}
		return fmt.Sprintf("EEDKs rewritten in place in %s, data blocks untouched", out), nil
	}
	n, err := writeAtomically(out, func(w io.Writer) (int64, error) {
		if _, err := w.Write(hdr); err != nil {
			return 0, err
		}
		return tape.CopyRecords(w, src, h)
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("new header (%d bytes, was %d) and %d bytes of data blocks copied unchanged to %s", len(hdr), oldLen, n, out), nil
}

// rewriteHeader writes hdr over the first len(hdr) bytes of path and syncs.
// Like a drive updating its cartridge memory, this is not atomic: a crash in
// the middle may leave a mix of old and new EEDKs.
func rewriteHeader(path string, hdr []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return fmt.Errorf("rewrite header: %w", err)
	}
	return f.Sync()
}

// sameFile reports whether out names the file in names; a missing out is
// another file.
func sameFile(in, out string) (bool, error) {
	a, err := os.Stat(in)
	if err != nil {
		return false, err
	}
	b, err := os.Stat(out)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(a, b), nil
}

// reencryptV1 rekeys a format 1 image, whose blocks authenticate the old
// EEDKs: it reads the data key with the current EEDKs and encrypts the data
// again into a format 2 image with the new EEDKs and a fresh salt, block by
// block, without writing plaintext to disk. src is just after the header.
func reencryptV1(ctx context.Context, c *device.Client, serial string, src io.Reader, h tape.Header, eedks [2]tape.EEDK, out string) (string, error) {
	dataKey, err := c.ReadKey(ctx, serial, h.Volser, codecEEDK(h.Key.EEDKs[0]), codecEEDK(h.Key.EEDKs[1]))
	if err != nil {
		return "", fmt.Errorf("volume %s: read the data key: %w", h.Volser, err)
	}
	defer clear(dataKey)
	r, err := tape.NewReader(src, h, dataKey)
	if err != nil {
		return "", err
	}
	nh := tape.Header{Volser: h.Volser, BlockSize: h.BlockSize, Key: tape.KeyRef{EEDKs: eedks}}
	n, err := writeAtomically(out, func(w io.Writer) (int64, error) {
		tw, err := tape.NewWriter(w, nh, dataKey)
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(tw, r)
		if err != nil {
			return n, err
		}
		return n, tw.Close()
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("format %d image, whose blocks authenticate its EEDKs: %d bytes encrypted again into a format %d image %s (fresh salt, same data key); later rekeys rewrite the EEDKs only",
		tape.FormatVersion1, n, tape.FormatVersion, out), nil
}
