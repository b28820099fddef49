package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

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
not hold; the data key stays the same. The image header authenticates the EEDKs, so the
drive also reads the data key once with the current EEDKs and seals the blocks again under
the new header (a fresh salt, the same data key); the plaintext never reaches disk. --out
may be --in: the image is replaced only when the new one is complete.`,
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
			dataKey, err := c.ReadKey(cmd.Context(), d.serial, h.Volser, old1, old2)
			if err != nil {
				return fmt.Errorf("sim tape rekey: volume %s: read the data key: %w", h.Volser, err)
			}
			defer clear(dataKey)
			r, err := tape.NewReader(src, h, dataKey)
			if err != nil {
				return fmt.Errorf("sim tape rekey: %s: %w", in, err)
			}
			nh := tape.Header{Volser: h.Volser, BlockSize: h.BlockSize,
				Key: tape.KeyRef{EEDKs: [2]tape.EEDK{tapeEEDK(n1), tapeEEDK(n2)}}}
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
				return fmt.Errorf("sim tape rekey: %s: %w", in, err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "rekeyed volume %s: %d bytes to %s, EEDK1 %s, EEDK2 %s (were %s, %s)\n",
				h.Volser, n, out, describeEEDK(n1), describeEEDK(n2), describeEEDK(old1), describeEEDK(old2))
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
