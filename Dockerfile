# Image of one HelixTrack Attachments node: the static binary and nothing else.
#
# The image is built FROM scratch around a binary compiled beforehand, so that
# building it pulls nothing from a registry (no golang or distroless base).
# Build the binary first, then the image, from the repository root:
#
#   make build                                    # static bin/attachments (CGO_ENABLED=0)
#   docker build -t helixtrack/attachments:dev .
#
# The build context needs only the files copied below: bin/attachments and
# scripts/deploy/docker/data/. A binary built with cgo would not start here
# (there is no libc in the image); `make build` sets CGO_ENABLED=0.
#
# Run a single node (development secret; see docker-compose.yml for a cluster):
#
#   docker run --rm -p 127.0.0.1:8090:8090 -v attachments-data:/data \
#     helixtrack/attachments:dev
#
# What the binary needs, and why nothing else is here:
# - It serves plain HTTP and talks to its peers over plain TCP/UDP, so it needs
#   no CA certificates. Host names (service.advertise, --join) are resolved by
#   Go's own resolver from /etc/resolv.conf and /etc/hosts, which the container
#   runtime mounts into every container.
# - It writes only under its data directory (/data), never to /tmp, so the root
#   file system can be mounted read-only (docker-compose.yml does).
# - Without /etc/localtime it logs in UTC.
FROM scratch

COPY bin/attachments /attachments

# /data must exist owned by the non-root user: a named volume mounted there
# starts as a copy of it, owner included. scratch has no shell to mkdir and
# chown with, so a directory from the build context is copied in with its
# owner set; the README in it is the one file the copy brings along.
COPY --chown=65532:65532 scripts/deploy/docker/data /data

# A numeric user and group that exist in no passwd file: Kubernetes'
# runAsNonRoot can check a number, not a name.
USER 65532:65532

VOLUME ["/data"]

# 8090 API (HTTP), 9090 Raft (API + 1000), 10090 gossip over TCP and UDP
# (API + 2000). Only the API is for clients; the others are for peers.
EXPOSE 8090 9090 10090 10090/udp

# Flags after the image name are passed to serve, e.g.
#   --config /etc/attachments/config.json --join node1:8090
# The data directory is /data unless --data says otherwise: the embedded
# default path "./data" is relative to the working directory "/".
ENTRYPOINT ["/attachments", "serve"]
CMD ["--data", "/data"]
