package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
)

func newCertCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Manage client certificates",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return errors.New("cert: missing subcommand (see \"keywarden cert --help\")")
		},
	}
	cmd.AddCommand(newCertIssueCommand(), newCertListCommand(), newCertRevokeCommand())
	return cmd
}

// issuedFiles is what cert issue prints with -o json: where the pair was
// written (the private key itself is never printed).
type issuedFiles struct {
	Name            string    `json:"name"`
	Role            string    `json:"role"`
	Fingerprint     string    `json:"fingerprint"`
	NotAfter        time.Time `json:"not_after"`
	CertificateFile string    `json:"certificate_file"`
	KeyFile         string    `json:"key_file"`
}

func newCertIssueCommand() *cobra.Command {
	var (
		dataDir, passphraseFile string
		name, outDir, role      string
		r                       remote
	)
	cmd := &cobra.Command{
		Use:   "issue",
		Short: "Issue a client certificate with a role from the server's CA",
		Long: `Issue a client certificate (clientAuth) from the server's CA and write OUT/NAME.pem and
OUT/NAME-key.pem (mode 0600). Existing files are not overwritten.

Offline (--data-dir given, or no server address configured): the CA in the data
directory signs; the role travels inside the certificate, so nothing is written to the
store and this works while the server runs.

Online (no --data-dir, and --addr or $` + client.EnvAddr + ` set): a running server issues
the certificate over the admin API (administrators only).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(r.output); err != nil {
				return err
			}
			r2, err := pki.ParseRole(role)
			if err != nil {
				return err
			}
			var certPath, keyPath string
			if online := !cmd.Flags().Changed("data-dir") && r.config().Addr != ""; online {
				certPath, keyPath, err = issueOnline(cmd, &r, name, r2, outDir)
			} else {
				certPath, keyPath, err = issueOffline(dataDir, passphraseFile, name, r2, outDir)
			}
			if err != nil {
				return err
			}
			if r.output == "json" {
				cert, err := parseCertFile(certPath)
				if err != nil {
					return fmt.Errorf("cert issue: read %s: %w", certPath, err)
				}
				return printJSON(cmd.OutOrStdout(), issuedFiles{
					Name: name, Role: string(r2), Fingerprint: pki.Fingerprint(cert), NotAfter: cert.NotAfter.UTC(),
					CertificateFile: certPath, KeyFile: keyPath,
				})
			}
			fmt.Fprintln(cmd.OutOrStdout(), certPath)
			fmt.Fprintln(cmd.OutOrStdout(), keyPath)
			return nil
		},
	}
	addDataDirFlags(cmd, &dataDir, &passphraseFile)
	cmd.Flags().StringVar(&name, "name", "", "client name: letters, digits, '.', '_', '-' (required)")
	cmd.Flags().StringVar(&outDir, "out", "", "directory for NAME.pem and NAME-key.pem (required)")
	cmd.Flags().StringVar(&role, "role", string(pki.RoleOperator), "role: "+rolesList())
	_ = cmd.MarkFlagRequired("name") // only fails for an unknown flag
	_ = cmd.MarkFlagRequired("out")
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

// rolesList names the roles pki knows.
func rolesList() string {
	s := ""
	for i, r := range pki.Roles() {
		if i > 0 {
			s += ", "
		}
		s += string(r)
	}
	return s
}

// issueOffline issues from the CA in dataDir.
func issueOffline(dataDir, passphraseFile, name string, role pki.Role, outDir string) (string, string, error) {
	initialised, err := server.Initialized(dataDir)
	if err != nil {
		return "", "", err
	}
	if !initialised {
		return "", "", fmt.Errorf("cert issue: %s is not initialised (run \"keywarden init --data-dir %s\" first)", dataDir, dataDir)
	}
	mk, err := barrier.OpenMasterKey(dataDir, passphraseFile)
	if err != nil {
		return "", "", fmt.Errorf("cert issue: %w", err)
	}
	return pki.IssueClient(dataDir, mk, name, role, outDir)
}

// issueOnline has the server issue the pair and writes it to outDir.
func issueOnline(cmd *cobra.Command, r *remote, name string, role pki.Role, outDir string) (string, string, error) {
	certPath := filepath.Join(outDir, name+".pem")
	keyPath := filepath.Join(outDir, name+"-key.pem")
	if filepath.Base(certPath) != name+".pem" {
		return "", "", fmt.Errorf("cert issue: name %q is not a plain file name", name)
	}
	for _, p := range []string{certPath, keyPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("cert issue: %s already exists", p)
		}
	}
	c, err := r.client()
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	issued, err := c.IssueCert(cmd.Context(), name, string(role))
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return "", "", fmt.Errorf("cert issue: %w", err)
	}
	key := []byte(issued.PrivateKey)
	defer clear(key)
	if err := writeNewFile(keyPath, key, 0o600); err != nil {
		return "", "", err
	}
	if err := writeNewFile(certPath, []byte(issued.Certificate), 0o644); err != nil {
		_ = os.Remove(keyPath)
		return "", "", err
	}
	return certPath, keyPath, nil
}

// writeNewFile creates path (which must not exist) with mode and data.
func writeNewFile(path string, data []byte, mode os.FileMode) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("cert issue: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("cert issue: close %s: %w", path, cerr)
		}
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("cert issue: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("cert issue: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cert issue: %w", err)
	}
	return nil
}

func newCertListCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List revoked certificates",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.with(func(c *client.Client) error {
				list, err := c.RevokedCerts(cmd.Context())
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), list, revokedTable(list...))
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

// revokedTable prints revoked certificates as a table.
func revokedTable(list ...client.RevokedCert) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "FINGERPRINT", "SUBJECT", "REVOKED", "REASON")
		for _, rc := range list {
			row(w, rc.Fingerprint, rc.Subject, formatTime(rc.Revoked), rc.Reason)
		}
	}
}

func newCertRevokeCommand() *cobra.Command {
	var (
		r            remote
		file, reason string
	)
	cmd := &cobra.Command{
		Use:   "revoke (FINGERPRINT | --file CERT.pem) [--reason TEXT]",
		Short: "Revoke a client certificate: every listener refuses it from now on (administrators only)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rev := client.Revocation{Reason: reason}
			switch {
			case len(args) == 1 && file == "":
				rev.Fingerprint = args[0]
			case len(args) == 0 && file != "":
				pem, err := readPEMFile("--file", file)
				if err != nil {
					return err
				}
				rev.Certificate = pem
			default:
				return errors.New("cert revoke: give a FINGERPRINT or --file CERT.pem (one of them)")
			}
			return r.with(func(c *client.Client) error {
				rc, err := c.RevokeCert(cmd.Context(), rev)
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), rc, revokedTable(*rc))
			})
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "the certificate to revoke, PEM")
	cmd.Flags().StringVar(&reason, "reason", "", "why (kept with the revocation)")
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}
