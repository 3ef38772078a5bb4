// Command attachments is the single binary of HelixTrack Attachments. It
// parses flags, builds the configuration and starts things; the work
// itself lives in the node, api and internal/config packages.
//
// Subcommands:
//
//	attachments serve [--config FILE] [--data DIR] [--port N]
//	    run one node until SIGINT or SIGTERM, then stop it gracefully
//	attachments config print [--config FILE] [--show-secrets]
//	    print the effective configuration as JSON, secrets masked
//	attachments token [--config FILE] --user U --perms read,write [--ttl 1h]
//	    print a bearer token signed with the configuration's JWT secret
//	attachments version
//	    print the release and the Go toolchain it was built with
//
// Without --config every command uses the embedded defaults, which suit
// one development node storing under ./data.
//
// Exit status: 0 on success, 1 when the command ran and failed (a bad
// configuration file, a port in use, a failed shutdown), 2 when the
// command line itself is wrong (unknown command or flag, a missing
// required flag, a flag value out of range). Errors go to stderr as one
// line; logs of serve go to stderr as slog text records.
package main
