package main

import (
	"github.com/spf13/cobra"
)

func newConfigCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the configuration",
		RunE:  groupRunE,
	}
	cmd.AddCommand(newConfigPrintCommand())
	return cmd
}

func newConfigPrintCommand() *cobra.Command {
	var (
		configPath  string
		showSecrets bool
	)
	cmd := &cobra.Command{
		Use:   "print",
		Short: "Print the effective configuration as JSON",
		Long: "print writes the configuration a node would run with: the embedded\n" +
			"defaults overlaid by --config, validated. Secrets are shown as \"***\"\n" +
			"unless --show-secrets is given.",
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&configPath, "config", "",
		"JSON configuration `file` (default: embedded defaults)")
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false,
		"print secrets in clear, for a file to load again")

	cmd.RunE = runE(func(cmd *cobra.Command) error {
		cfg, err := loadConfig(configPath)
		if err != nil {
			return err
		}
		out, err := cfg.JSON()
		if showSecrets {
			out, err = cfg.JSONWithSecrets()
		}
		if err != nil {
			return err
		}
		_, err = cmd.OutOrStdout().Write(out)
		return err
	})
	return cmd
}
