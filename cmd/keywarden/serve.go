package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/internal/server"
)

func newServeCommand() *cobra.Command {
	var (
		cfg      server.Config
		logLevel string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server (initialising the data directory first if needed)",
		Long: `Run the KMIP, device and admin listeners, all TLS with client certificates.
An uninitialised data directory is initialised first, as by init.

Once every listener is bound, serve prints one line per listener, then "keywarden ready":

  kmip listening on HOST:PORT
  device listening on HOST:PORT
  admin listening on HOST:PORT
  keywarden ready

HOST:0 picks a free port. SIGTERM or SIGINT drains (no new connections, in-flight
requests get --shutdown-grace) and exits 0; a second signal exits at once.

A master key in an HSM (init --seal pkcs11) is unlocked with the PIN of --pin-file or
$KEYWARDEN_PKCS11_PIN; a wrong PIN or a missing token stops startup.

--fips runs on Go's FIPS 140-3 module: a process not started with GODEBUG=fips140=on
re-executes itself with it. In FIPS mode only approved algorithms are offered (see
docs/hsm.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			cfg.Logger = logger
			if cfg.FIPS {
				if err := enterFIPSMode(); err != nil {
					return err
				}
			}
			cfg.Version, _ = buildVersion()
			return serve(cmd.Context(), cmd, cfg)
		},
	}
	addDataDirFlags(cmd, &cfg.DataDir, &cfg.PassphraseFile)
	addPINFlag(cmd, &cfg.PINFile)
	cmd.Flags().BoolVar(&cfg.FIPS, "fips", false, "run in FIPS 140-3 mode (re-executes with GODEBUG=fips140=on when needed)")
	cmd.Flags().StringVar(&cfg.KMIPAddr, "kmip-addr", server.DefaultKMIPAddr, "KMIP listener address (HOST:PORT)")
	cmd.Flags().StringVar(&cfg.DeviceAddr, "device-addr", server.DefaultDeviceAddr, "device listener address (HOST:PORT)")
	cmd.Flags().StringVar(&cfg.AdminAddr, "admin-addr", server.DefaultAdminAddr, "admin HTTPS listener address (HOST:PORT)")
	cmd.Flags().StringArrayVar(&cfg.SANs, "san", nil, "extra server certificate name when initialising: an IP address or a DNS name (repeatable)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cmd.Flags().DurationVar(&cfg.ShutdownGrace, "shutdown-grace", server.DefaultShutdownGrace, "how long in-flight requests may run after SIGTERM")
	return cmd
}

// serve runs the server until a signal or a listener failure.
func serve(parent context.Context, cmd *cobra.Command, cfg server.Config) error {
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, restore the default handling so that a
	// second one ends the process at once.
	stopOnSignal := context.AfterFunc(ctx, stop)
	defer stopOnSignal()

	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	kmipAddr, deviceAddr, adminAddr := srv.Addrs()
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "kmip listening on %s\n", kmipAddr)
	fmt.Fprintf(out, "device listening on %s\n", deviceAddr)
	fmt.Fprintf(out, "admin listening on %s\n", adminAddr)
	fmt.Fprintln(out, "keywarden ready")
	return srv.Wait()
}
