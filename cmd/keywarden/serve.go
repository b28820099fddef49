package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/config"
	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/server"
)

// configEnv names the environment variable that gives the configuration
// file when --config is not given.
const configEnv = "KEYWARDEN_CONFIG"

// serveFlags are the flags of serve that set a configuration key: flag
// name → the key's dotted name. A flag given on the command line wins
// over the environment, the file and the defaults.
var serveFlags = map[string]string{
	"data-dir":        "data_dir",
	"passphrase-file": "passphrase_file",
	"pin-file":        "pin_file",
	"fips":            "fips",
	"kmip-addr":       "listeners.kmip",
	"device-addr":     "listeners.device",
	"admin-addr":      "listeners.admin",
	"log-level":       "log_level",
	"shutdown-grace":  "limits.shutdown_grace",
}

func newServeCommand() *cobra.Command {
	var (
		cfg        server.Config
		logLevel   string
		configPath string
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

--config FILE (or $KEYWARDEN_CONFIG) reads a keywarden configuration file or an
ISKLM/EKM property file (ISKLMConfig.properties) as it is; see docs/configuration.md.
A setting comes from the first of: a flag given, its KEYWARDEN_* environment
variable, the file, the default. SIGHUP re-reads the file: the server certificate,
the unknown-device policy and the default labels and key group take effect at once;
the log names the changed settings that need a restart.

A master key in an HSM (init --seal pkcs11) is unlocked with the PIN of --pin-file or
$KEYWARDEN_PKCS11_PIN; a wrong PIN or a missing token stops startup.

--cluster-addr HOST:PORT --node-id ID [--bootstrap | --join MEMBER_CLUSTER_ADDR] runs the
server as a node of a replicated cluster, and prints "cluster listening on HOST:PORT" before
"keywarden ready"; see docs/cluster.md.

--fips runs on Go's FIPS 140-3 module: a process not started with GODEBUG=fips140=on
re-executes itself with it. In FIPS mode only approved algorithms are offered (see
docs/hsm.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resolve := func() (*config.File, error) { return resolveConfig(cmd, configPath) }
			f, err := resolve()
			if err != nil {
				return err
			}
			logger, err := newLogger(f.Config.LogLevel)
			if err != nil {
				return err
			}
			for _, w := range f.Warnings {
				logger.Warn("configuration: " + w.String())
			}
			scfg, err := serverConfig(f)
			if err != nil {
				return err
			}
			if w := fallbackAuditDir(f, &scfg); w != "" {
				logger.Warn("configuration: " + w)
			}
			scfg.SANs = cfg.SANs
			scfg.Cluster = cfg.Cluster // flags only (docs/cluster.md)
			scfg.KMIPHTTPAddr = cfg.KMIPHTTPAddr
			scfg.Logger = logger
			if scfg.FIPS {
				if err := enterFIPSMode(); err != nil {
					return err
				}
			}
			scfg.Version, _ = buildVersion()
			return serve(cmd.Context(), cmd, scfg, f.Config.LogLevel, resolve)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "configuration file: keywarden's native format or an ISKLM/EKM .properties file (default $"+configEnv+")")
	addDataDirFlags(cmd, &cfg.DataDir, &cfg.PassphraseFile)
	addPINFlag(cmd, &cfg.PINFile)
	cmd.Flags().BoolVar(&cfg.FIPS, "fips", false, "run in FIPS 140-3 mode (re-executes with GODEBUG=fips140=on when needed)")
	cmd.Flags().StringVar(&cfg.KMIPAddr, "kmip-addr", server.DefaultKMIPAddr, "KMIP listener address (HOST:PORT)")
	cmd.Flags().StringVar(&cfg.DeviceAddr, "device-addr", server.DefaultDeviceAddr, "device listener address (HOST:PORT)")
	cmd.Flags().StringVar(&cfg.AdminAddr, "admin-addr", server.DefaultAdminAddr, "admin HTTPS listener address (HOST:PORT)")
	cmd.Flags().StringVar(&cfg.KMIPHTTPAddr, "kmip-http-addr", "", "KMIP over HTTPS listener address (HOST:PORT): TTLV, KMIP XML and KMIP JSON POSTed to /kmip; empty: not served")
	cmd.Flags().StringArrayVar(&cfg.SANs, "san", nil, "extra server certificate name when initialising: an IP address or a DNS name (repeatable)")
	cmd.Flags().BoolVar(&cfg.RequireBackup, "require-backup", false, "serve only keys that are in a backup (created before the last backup's snapshot): KMIP Get, and 3592, LTO and disk writes over the device protocol")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cmd.Flags().DurationVar(&cfg.ShutdownGrace, "shutdown-grace", server.DefaultShutdownGrace, "how long in-flight requests may run after SIGTERM")
	addClusterFlags(cmd, &cfg.Cluster)
	return cmd
}

// resolveConfig reads the configuration of serve: the defaults, the file
// of --config (else $KEYWARDEN_CONFIG), the KEYWARDEN_* environment, then
// the flags given on the command line.
func resolveConfig(cmd *cobra.Command, configPath string) (*config.File, error) {
	if configPath == "" {
		configPath = os.Getenv(configEnv)
	}
	f := config.Empty()
	if configPath != "" {
		var err error
		if f, err = config.Load(configPath); err != nil {
			return nil, err
		}
	}
	if err := f.ApplyEnv(os.Environ()); err != nil {
		return nil, err
	}
	var errs []error
	for flag, key := range serveFlags {
		fl := cmd.Flags().Lookup(flag)
		if fl == nil || !fl.Changed {
			continue
		}
		errs = append(errs, f.Set(key, flag, fl.Value.String()))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// fallbackAuditDir keeps a server migrated from ISKLM starting when the
// properties file names an audit directory of the old host (the seed's
// /KLMLOGS/Z1/logs) that cannot be created here: the trail then goes to
// DATA_DIR/audit, and the returned warning says so. A directory named in
// the native file, the environment or a flag is never replaced.
func fallbackAuditDir(f *config.File, sc *server.Config) string {
	dir := sc.AuditTrail.Dir
	if dir == "" || f.Format != config.FormatProperties {
		return ""
	}
	if src, ok := f.Sources["audit.dir"]; ok && src.Kind != config.SourceFile {
		return ""
	}
	if err := os.MkdirAll(dir, 0o700); err == nil {
		return ""
	}
	sc.AuditTrail.Dir = ""
	return fmt.Sprintf("Audit.handler.file.directory %s cannot be created on this host; the audit trail goes to %s instead",
		dir, filepath.Join(sc.DataDir, server.AuditDir))
}

// serverConfig turns a configuration into the server's. The
// unknown-device policy reaches the store only when the configuration
// names it, so that a policy set with keywarden group modify stays.
func serverConfig(f *config.File) (server.Config, error) {
	c := f.Config
	minVersion, err := c.TLS.TLSMinVersion()
	if err != nil {
		return server.Config{}, err
	}
	suites, err := c.TLS.TLSCipherSuites()
	if err != nil {
		return server.Config{}, err
	}
	sc := server.Config{
		DataDir: c.DataDir, PassphraseFile: c.PassphraseFile, PINFile: c.PINFile, FIPS: c.FIPS,
		KMIPAddr: c.Listeners.KMIP, DeviceAddr: c.Listeners.Device, AdminAddr: c.Listeners.Admin,
		ShutdownGrace: c.Limits.ShutdownGrace, Node: c.Node,
		TLSMinVersion: minVersion, TLSCipherSuites: suites,
		MaxConns: c.Limits.MaxConns, MaxMessageSize: c.Limits.MaxMessageSize,
		RequireHSM:   c.RequireHSM,
		NoAuditTrail: !c.Audit.Enabled,
		FreshGroups:  c.KMIP.FreshGroups,
		Defaults: server.GroupDefaults{
			Unknown: devices.Policy(c.Devices.Unknown),
			Alias1:  c.Drive.Alias1, Alias2: c.Drive.Alias2,
			KeyGroup: c.Drive.KeyGroup, KeySet: c.Drive.KeySet,
		},
	}
	if _, named := f.Sources["devices.unknown"]; !named {
		sc.Defaults.Unknown = ""
	}
	a := c.Audit
	sc.AuditTrail = audit.Config{
		Dir: a.Dir, Name: a.Name, MaxSize: a.MaxSize, MaxFiles: a.MaxFiles, MaxAge: a.MaxAge,
		QueueMax: a.QueueMax, FailOpen: a.FailOpen,
	}
	for _, t := range a.Types {
		sc.AuditTrail.Types = append(sc.AuditTrail.Types, audit.Type(t))
	}
	for _, o := range a.Outcomes {
		sc.AuditTrail.Outcomes = append(sc.AuditTrail.Outcomes, audit.Outcome(o))
	}
	if a.SyslogNetwork != "" {
		sl := &audit.SyslogConfig{Network: a.SyslogNetwork, Address: a.SyslogAddress}
		if a.SyslogNetwork == "tls" {
			pem, err := os.ReadFile(a.SyslogCA)
			if err != nil {
				return server.Config{}, fmt.Errorf("audit.syslog_ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return server.Config{}, fmt.Errorf("audit.syslog_ca %s: no PEM certificate", a.SyslogCA)
			}
			sl.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		sc.AuditTrail.Syslog = sl
	}
	return sc, nil
}

// serve runs the server until a signal or a listener failure. SIGHUP
// re-resolves the configuration and reloads what can be reloaded.
func serve(parent context.Context, cmd *cobra.Command, cfg server.Config, level string, resolve func() (*config.File, error)) error {
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
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go reloadOnHUP(ctx, hup, srv, cfg, level, resolve)

	kmipAddr, deviceAddr, adminAddr := srv.Addrs()
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "kmip listening on %s\n", kmipAddr)
	fmt.Fprintf(out, "device listening on %s\n", deviceAddr)
	fmt.Fprintf(out, "admin listening on %s\n", adminAddr)
	if addr := srv.ClusterAddr(); addr != "" {
		fmt.Fprintf(out, "cluster listening on %s\n", addr)
	}
	if addr := srv.KMIPHTTPAddr(); addr != "" {
		fmt.Fprintf(out, "kmip-http listening on %s\n", addr)
	}
	fmt.Fprintln(out, "keywarden ready")
	return srv.Wait()
}

// reloadOnHUP reloads the server on every SIGHUP until ctx ends. A
// configuration that does not load is logged and the server keeps its
// running configuration.
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, srv *server.Server, running server.Config, level string, resolve func() (*config.File, error)) {
	logger := running.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		logger.Info("SIGHUP: reloading the configuration")
		f, err := resolve()
		if err != nil {
			logger.Error("reload: configuration not loaded; the server keeps running with its configuration", "err", err)
			continue
		}
		for _, w := range f.Warnings {
			logger.Warn("configuration: " + w.String())
		}
		next, err := serverConfig(f)
		if err != nil {
			logger.Error("reload: configuration not applied", "err", err)
			continue
		}
		next.SANs = running.SANs
		next.Cluster = running.Cluster // flags only
		res, err := srv.Reload(ctx, next)
		if err != nil {
			logger.Error("reload failed", "err", err)
			continue
		}
		for _, a := range res.Applied {
			logger.Info("reload: applied", "change", a)
		}
		if f.Config.LogLevel != level {
			res.RestartNeeded = append(res.RestartNeeded, "log level")
		}
		if len(res.RestartNeeded) > 0 {
			logger.Warn("reload: these changed settings need a restart", "settings", res.RestartNeeded)
		} else {
			logger.Info("reload: no changed setting needs a restart")
		}
	}
}
