package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client"
)

// remote holds the connection and output flags of a command that talks to
// a running server over the admin API.
type remote struct {
	addr, cacert, cert, key string
	output                  string
}

// addRemoteFlags adds --addr, --cacert, the client certificate flags and
// -o to cmd. certFlag names the client certificate flag: "cert" normally,
// "client-cert" where --cert means something else (device add/modify);
// the key flag follows ("key" or "client-key").
func addRemoteFlags(cmd *cobra.Command, r *remote, certFlag string) {
	keyFlag := "key"
	if certFlag != "cert" {
		keyFlag = "client-key"
	}
	f := cmd.Flags()
	f.StringVar(&r.addr, "addr", "", "admin API address https://HOST:PORT (default $"+client.EnvAddr+")")
	f.StringVar(&r.cacert, "cacert", "", "CA certificate of the server, PEM (default $"+client.EnvCACert+")")
	f.StringVar(&r.cert, certFlag, "", "client certificate, PEM (default $"+client.EnvClientCert+")")
	f.StringVar(&r.key, keyFlag, "", "client certificate's private key, PEM (default $"+client.EnvClientKey+")")
	addOutputFlag(cmd, &r.output)
}

// addOutputFlag adds -o/--output.
func addOutputFlag(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", "table", "output format: table or json")
}

// config is the client configuration: flags over environment variables.
func (r *remote) config() client.Config {
	cfg := client.ConfigFromEnv()
	if r.addr != "" {
		cfg.Addr = r.addr
	}
	if r.cacert != "" {
		cfg.CACert = r.cacert
	}
	if r.cert != "" {
		cfg.ClientCert = r.cert
	}
	if r.key != "" {
		cfg.ClientKey = r.key
	}
	return cfg
}

// client checks the output format and returns a client for the server.
func (r *remote) client() (*client.Client, error) {
	if err := checkOutput(r.output); err != nil {
		return nil, err
	}
	cfg := r.config()
	if cfg.Addr == "" {
		return nil, fmt.Errorf("no server address: give --addr https://HOST:PORT or set %s", client.EnvAddr)
	}
	if cfg.ClientCert == "" || cfg.ClientKey == "" {
		return nil, fmt.Errorf("no client certificate: give --cert and --key (or --client-cert and --client-key) or set %s and %s",
			client.EnvClientCert, client.EnvClientKey)
	}
	return client.New(cfg)
}

// checkOutput validates -o.
func checkOutput(output string) error {
	switch output {
	case "table", "json":
		return nil
	}
	return fmt.Errorf("--output %q: want table or json", output)
}

// print writes v as indented JSON when output is "json", else calls table.
func (r *remote) print(w io.Writer, v any, table func(*tabwriter.Writer)) error {
	if r.output == "json" {
		return printJSON(w, v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// row writes one tab-separated table row; empty cells show "-".
func row(w io.Writer, cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
	}
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}

// readPEMFile reads a PEM file given on the command line.
func readPEMFile(flag, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	return string(b), nil
}

// missingSubcommand is the RunE of a command group.
func missingSubcommand(cmd *cobra.Command, _ []string) error {
	return fmt.Errorf("%s: missing subcommand (see %q)", cmd.Name(), cmd.CommandPath()+" --help")
}

// changed returns &v when the flag was given, else nil.
func changed(cmd *cobra.Command, flag string, v string) *string {
	if cmd.Flags().Changed(flag) {
		return &v
	}
	return nil
}

// done reports an action the API answers without a body: a line in table
// output, nothing in JSON output (the API's answer is empty).
func (r *remote) done(cmd *cobra.Command, msg string) error {
	if r.output != "json" {
		fmt.Fprintln(cmd.OutOrStdout(), msg)
	}
	return nil
}

// with opens a client for the server (see client), runs fn with it and
// closes it.
func (r *remote) with(fn func(*client.Client) error) error {
	c, err := r.client()
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c)
}
