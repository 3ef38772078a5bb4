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
// Operator commands (admin permission), against any node of a cluster:
//
//	attachments cluster status [--json]
//	    members, leader, layout version and per-node figures
//	attachments node add|drain|remove ID
//	    change a member's place in the layout; one confirmation line
//
// Client commands, against any node:
//
//	attachments put FILE... --entity TYPE/ID [--description D] [--filename N]
//	    upload; prints each new reference id on its own line ('-' is stdin)
//	attachments get ID [-o FILE]
//	    download to stdout, or to FILE through a temporary file and a rename
//	attachments ls TYPE/ID [--json]
//	    every reference of an entity, across all pages
//	attachments rm ID...
//	    delete references
//	attachments stat ID
//	    a reference's metadata as JSON
//
// The commands that talk to a node take --url and --token, else
// ATTACHMENTS_URL and ATTACHMENTS_TOKEN; the URL defaults to
// http://127.0.0.1:8090. Transfers over 4 MiB draw a progress bar on
// stderr when stderr is a terminal, and stay silent otherwise.
//
// Without --config, serve, config and token use the embedded defaults,
// which suit one development node storing under ./data.
//
// Exit status: 0 on success, 1 when the command ran and failed (a bad
// configuration file, a port in use, a failed shutdown, an answer of the
// node such as "not found: ID" or a refused node action), 2 when the
// command line itself is wrong (unknown command or flag, a missing
// required flag or argument, a flag value out of range, no token).
// Errors go to stderr as one line; logs of serve go to stderr as slog
// text records.
package main
