package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/internal/config"
)

// knownPerms are the values --perms accepts, in the order help lists them.
var knownPerms = []api.Perm{api.PermRead, api.PermWrite, api.PermDelete, api.PermAdmin}

// tokenOptions are the flags of token.
type tokenOptions struct {
	configPath string
	user       string
	perms      []string
	ttl        time.Duration
}

func newTokenCommand() *cobra.Command {
	var o tokenOptions
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a bearer token signed with the configuration's JWT secret",
		Long: "token prints an HS256 JWT for --user with the given permissions,\n" +
			"signed with security.jwt_secret of --config, or with the embedded\n" +
			"development secret when --config is not given. Nodes that share the\n" +
			"secret accept the token until it expires.",
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	f.StringVar(&o.configPath, "config", "",
		"JSON configuration `file` (default: embedded defaults)")
	f.StringVar(&o.user, "user", "", "subject of the token: the user who will own uploads")
	f.StringSliceVar(&o.perms, "perms", nil,
		"comma-separated permissions: read, write, delete, admin")
	f.DurationVar(&o.ttl, "ttl", time.Hour, "how long the token stays valid")
	for _, name := range []string{"user", "perms"} {
		if err := cmd.MarkFlagRequired(name); err != nil {
			panic(err) // the flag is defined just above
		}
	}

	cmd.RunE = runE(o.run)
	return cmd
}

// run mints the token and prints it.
func (o *tokenOptions) run(cmd *cobra.Command) error {
	if err := o.check(); err != nil {
		return err
	}
	cfg, err := loadConfig(o.configPath)
	if err != nil {
		return err
	}
	token, err := api.MintToken([]byte(cfg.Security.JWTSecret), o.user, o.perms, o.ttl)
	if err != nil {
		return err
	}

	if cfg.Security.JWTSecret == config.DevelopmentJWTSecret {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: note: signed with the public development "+
			"secret; only nodes running with it accept this token\n", cmd.CommandPath())
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), token)
	return err
}

// check rejects flag values no configuration could make right.
func (o tokenOptions) check() error {
	if o.user == "" {
		return usageErrorf("--user: must not be empty")
	}
	if len(o.perms) == 0 {
		return usageErrorf("--perms: name at least one of read, write, delete, admin")
	}
	for _, p := range o.perms {
		if !slices.Contains(knownPerms, api.Perm(p)) {
			return usageErrorf("--perms: unknown permission %q, "+
				"want read, write, delete or admin", p)
		}
	}
	if o.ttl <= 0 {
		return usageErrorf("--ttl: must be positive, got %v", o.ttl)
	}
	return nil
}
