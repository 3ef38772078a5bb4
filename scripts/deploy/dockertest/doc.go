// Package dockertest checks the container deployment end to end: the
// Dockerfile and docker-compose.yml at the repository root and the node
// configurations under scripts/deploy/compose. It holds only a test.
//
// TestComposeCluster builds the static binary (CGO_ENABLED=0) into a
// temporary build context, builds an image FROM scratch with a unique tag,
// starts the 3-node compose cluster under a unique project name with node1's
// API published on a free loopback port, uploads a file through node1,
// downloads it, kills one node that is not the Raft leader with docker kill
// and downloads the file again. Both downloads must equal the upload byte
// for byte. Every wait is bounded; a failure prints every container's log.
// Cleanup removes the containers, the network, the volumes and the image,
// and fails the test if any of them is left behind.
//
// The test skips, saying why, when -short is set, when `docker info` fails
// (no engine, or no permission to use it) and when neither `docker compose`
// nor `docker-compose` is installed. It needs no registry: the image has no
// base to pull. The configurations are bind-mounted from the repository, so
// the engine must run on this machine (not a remote one).
//
// Run it alone with
//
//	go test -race -v ./scripts/deploy/dockertest/
//
// The payload is random; the test prints its seed, and DOCKERTEST_SEED=N
// replays a run with the same bytes and the same choice of node to kill.
package dockertest
