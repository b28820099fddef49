package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
		Short: "Simulated devices that ask keywarden for keys (device protocol, or KMIP for the tape library)",
		Args:  cobra.NoArgs,
		RunE:  missingSubcommand,
	}
	tapeCmd := &cobra.Command{
		Use:   "tape",
		Short: "A simulated 3592 tape drive: write a file to a tape image and read it back",
		Long: `A simulated 3592 tape drive. "write" asks keywarden for a data key and writes a file
to an encrypted tape image (docs/tape-image.md) carrying the two EEDKs; "read" sends the
EEDKs back to keywarden and restores the file. With "write --lto" it is an LTO drive: the
image carries the key identifier keywarden returns, and "read" sends that identifier back.
"rekey" re-wraps a 3592 volume's data key under two new labels. Several --server flags
are tried in order.`,
		Args: cobra.NoArgs,
		RunE: missingSubcommand,
	}
	tapeCmd.AddCommand(newSimTapeWriteCommand(), newSimTapeReadCommand(), newSimTapeRekeyCommand())
	cmd.AddCommand(tapeCmd, newSimArrayCommand(), newSimLibraryCommand())
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
	addSimDeviceFlags(cmd, d, "drive", "serial number of the drive (required)")
}

// addSimDeviceFlags adds the shared flags, naming the serial flag serialFlag.
func addSimDeviceFlags(cmd *cobra.Command, d *simDrive, serialFlag, serialUsage string) {
	f := cmd.Flags()
	f.StringVar(&d.serial, serialFlag, "", serialUsage)
	f.StringArrayVar(&d.servers, "server", nil, "device listener HOST:PORT; repeat for failover order (required)")
	f.StringVar(&d.ca, "ca", "", "CA certificate of the server, PEM (required)")
	f.StringVar(&d.cert, "cert", "", "the drive's client certificate, PEM (required)")
	f.StringVar(&d.key, "key", "", "the drive's private key, PEM (required)")
	f.DurationVar(&d.timeout, "timeout", device.DefaultTimeout, "time allowed to each server")
	for _, name := range []string{serialFlag, "server", "ca", "cert", "key"} {
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
		lto                  bool
		keyAlias             string
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
			if lto && (label1 != "" || label2 != "" || enc != "") {
				return errors.New("sim tape write: --lto takes no --label1, --label2 or --encoding (3592 only)")
			}
			if !lto && keyAlias != "" {
				return errors.New("sim tape write: --key-alias needs --lto")
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
			var (
				dataKey []byte
				h       = tape.Header{Volser: volser}
				summary string
			)
			if lto {
				var keyID string
				keyID, dataKey, err = c.LTOWrite(cmd.Context(), d.serial, volser, keyAlias)
				if err != nil {
					return fmt.Errorf("sim tape write: volume %s: %w", volser, err)
				}
				h.Key = tape.KeyRef{KeyID: keyID}
				summary = "key ID " + keyID
			} else {
				var e1, e2 codec.EEDK
				dataKey, e1, e2, err = c.WriteKey(cmd.Context(), codec.WriteKeyRequest{
					DriveSerial: d.serial, WWN: wwn, Volser: volser,
					Label1: label1, Label2: label2, Encoding1: encoding, Encoding2: encoding,
				})
				if err != nil {
					return fmt.Errorf("sim tape write: volume %s: %w", volser, err)
				}
				h.Key = tape.KeyRef{EEDKs: [2]tape.EEDK{tapeEEDK(e1), tapeEEDK(e2)}}
				summary = "EEDK1 " + describeEEDK(e1) + ", EEDK2 " + describeEEDK(e2)
			}
			defer clear(dataKey)
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
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "wrote volume %s: %d bytes to %s, %s\n", volser, n, out, summary)
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
	f.BoolVar(&lto, "lto", false, "act as an LTO drive: ask for a key of the drive's key group and write its identifier")
	f.StringVar(&keyAlias, "key-alias", "", "LTO: the alias of the key to use (default: the drive's, else its group's key group in round robin)")
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
			if strings.HasPrefix(h.Key.KeyID, libraryKeyPrefix) {
				return fmt.Errorf("sim tape read: %s: volume %s was written by a tape library (read it with \"keywarden sim library read\")", in, h.Volser)
			}
			c, err := d.client()
			if err != nil {
				return err
			}
			var dataKey []byte
			if h.Key.IsEEDK() {
				dataKey, err = c.ReadKey(cmd.Context(), d.serial, h.Volser, codecEEDK(h.Key.EEDKs[0]), codecEEDK(h.Key.EEDKs[1]))
			} else {
				dataKey, err = c.LTORead(cmd.Context(), d.serial, h.Volser, h.Key.KeyID)
			}
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

// simArrayState is the state file of a simulated DS8000 array: the EEDK
// pair keywarden returned, which the array sends back to unlock. It never
// holds the unlock key.
type simArrayState struct {
	Array string       `json:"array"`
	EEDK1 simStateEEDK `json:"eedk1"`
	EEDK2 simStateEEDK `json:"eedk2"`
}

// simStateEEDK is an EEDK in the state file: its encoding ("L" or "H"),
// key reference and wrapped key (base64).
type simStateEEDK struct {
	Encoding string `json:"encoding"`
	KeyRef   []byte `json:"key_ref"`
	Wrapped  []byte `json:"wrapped"`
}

// stateEEDK converts an EEDK of the protocol to its state-file form.
func stateEEDK(e codec.EEDK) simStateEEDK {
	enc := "L"
	if e.Encoding == codec.EncodingHash {
		enc = "H"
	}
	return simStateEEDK{Encoding: enc, KeyRef: e.KeyRef, Wrapped: e.Data}
}

// codec converts the EEDK back to the protocol's form; an absent EEDK
// (no encoding) stays zero.
func (e simStateEEDK) codec() (codec.EEDK, error) {
	switch e.Encoding {
	case "":
		return codec.EEDK{}, nil
	case "L":
		return codec.EEDK{Encoding: codec.EncodingLabel, KeyRef: e.KeyRef, Data: e.Wrapped}, nil
	case "H":
		return codec.EEDK{Encoding: codec.EncodingHash, KeyRef: e.KeyRef, Data: e.Wrapped}, nil
	}
	return codec.EEDK{}, fmt.Errorf("EEDK encoding %q: want L or H", e.Encoding)
}

func newSimArrayCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "array",
		Short: "A simulated DS8000 disk array: create its unlock key and unlock it",
		Long: `A simulated DS8000 disk array. "create-key" asks keywarden for the array's unlock key and
keeps the EEDK pair in a JSON state file (never the key); "unlock" sends the pair back and
gets the same unlock key. Both print a fingerprint of the key (a SHA-256 prefix), never the key.`,
		Args: cobra.NoArgs,
		RunE: missingSubcommand,
	}
	cmd.AddCommand(newSimArrayCreateKeyCommand(), newSimArrayUnlockCommand())
	return cmd
}

func newSimArrayCreateKeyCommand() *cobra.Command {
	var (
		d     simDrive
		state string
	)
	cmd := &cobra.Command{
		Use:   "create-key --array SERIAL --state FILE --server HOST:PORT --ca CA.pem --cert ARRAY.pem --key ARRAY-key.pem",
		Short: "Ask keywarden for the array's unlock key and keep its EEDK pair in the state file",
		Long: `Ask keywarden for the array's unlock key. The EEDK pair goes to the state file, which
must not exist yet (replacing it would lose the way to the current unlock key).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := os.Lstat(state); err == nil {
				return fmt.Errorf("sim array create-key: state file %s exists; the array already has a key", state)
			} else if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("sim array create-key: %w", err)
			}
			c, err := d.client()
			if err != nil {
				return err
			}
			uk, e1, e2, err := c.DiskKeyCreate(cmd.Context(), d.serial)
			if err != nil {
				return fmt.Errorf("sim array create-key: array %s: %w", d.serial, err)
			}
			defer clear(uk)
			raw, err := json.MarshalIndent(simArrayState{Array: d.serial, EEDK1: stateEEDK(e1), EEDK2: stateEEDK(e2)}, "", "  ")
			if err != nil {
				return fmt.Errorf("sim array create-key: encode state: %w", err)
			}
			if _, err := writeAtomically(state, func(w io.Writer) (int64, error) {
				n, err := w.Write(append(raw, '\n'))
				return int64(n), err
			}); err != nil {
				return fmt.Errorf("sim array create-key: write state: %w", err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "array %s: unlock key created, fingerprint %s, EEDK1 %s, EEDK2 %s, state in %s\n",
				d.serial, keyFingerprint(uk), describeEEDK(e1), describeEEDK(e2), state)
			return err
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "JSON state file to create for the EEDK pair (required)")
	_ = cmd.MarkFlagRequired("state")
	addSimDeviceFlags(cmd, &d, "array", "serial number of the array (required)")
	return cmd
}

func newSimArrayUnlockCommand() *cobra.Command {
	var (
		d     simDrive
		state string
	)
	cmd := &cobra.Command{
		Use:   "unlock --array SERIAL --state FILE --server HOST:PORT --ca CA.pem --cert ARRAY.pem --key ARRAY-key.pem",
		Short: "Send the array's EEDK pair to keywarden and get its unlock key back",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := os.ReadFile(state)
			if err != nil {
				return fmt.Errorf("sim array unlock: %w", err)
			}
			var st simArrayState
			if err := json.Unmarshal(raw, &st); err != nil {
				return fmt.Errorf("sim array unlock: state file %s: %w", state, err)
			}
			e1, err := st.EEDK1.codec()
			if err != nil {
				return fmt.Errorf("sim array unlock: state file %s: %w", state, err)
			}
			e2, err := st.EEDK2.codec()
			if err != nil {
				return fmt.Errorf("sim array unlock: state file %s: %w", state, err)
			}
			if e1.IsZero() {
				return fmt.Errorf("sim array unlock: state file %s holds no EEDK", state)
			}
			if st.Array != d.serial {
				return fmt.Errorf("sim array unlock: state file %s belongs to array %q, not %q", state, st.Array, d.serial)
			}
			c, err := d.client()
			if err != nil {
				return err
			}
			uk, err := c.DiskUnlock(cmd.Context(), d.serial, e1, e2)
			if err != nil {
				return fmt.Errorf("sim array unlock: array %s: %w", d.serial, err)
			}
			defer clear(uk)
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "array %s: unlocked, fingerprint %s\n", d.serial, keyFingerprint(uk))
			return err
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "JSON state file written by create-key (required)")
	_ = cmd.MarkFlagRequired("state")
	addSimDeviceFlags(cmd, &d, "array", "serial number of the array (required)")
	return cmd
}

// keyFingerprint names a key without revealing it: "sha256:" and the first
// 8 bytes of its SHA-256 hash, in hexadecimal.
func keyFingerprint(key []byte) string {
	sum := sha256.Sum256(key)
	return "sha256:" + hex.EncodeToString(sum[:8])
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
