# dswap's own image, for running it as a compose sidecar or a CI container.
#
# It copies a static binary built on the host, so it builds with no registry
# and no base image:
#   CGO_ENABLED=0 go build -trimpath -o bin/dswap ./cmd/dswap
#   docker build -t dswap:local .
# (scripts/image.sh does both.)
FROM scratch
COPY bin/dswap /dswap
ENTRYPOINT ["/dswap"]
