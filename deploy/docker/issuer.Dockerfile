# syntax=docker/dockerfile:1

# The gatepass issuer as a static binary on a distroless, non-root image.
# Build from the repository root, which is the build context:
#
#   docker build -f deploy/docker/issuer.Dockerfile -t gatepass/issuer .
#
# The image runs `issuer serve` by default; pass another subcommand to run it
# instead, for example `docker run --rm gatepass/issuer migrate`.

# golang:1.26 follows the latest 1.26 patch release. go.mod requires at least
# 1.26.8, and the image sets GOTOOLCHAIN=local, so an older cached image fails
# the build with a clear message instead of downloading a toolchain.
FROM golang:1.26 AS build
WORKDIR /src

# Dependencies get their own layer, so editing source does not refetch them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY . .
# CGO_ENABLED=0 works because every dependency is pure Go, including the
# embedded SQLite driver (modernc.org/sqlite).
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/issuer ./cmd/issuer

# The issuer keeps its state under ./data (the SQLite file and a generated
# key-encryption key when no database URL is set). The final image has no
# shell to create that directory, so it is made here and copied with the
# nonroot owner. A named volume mounted on it starts with that owner too.
RUN mkdir -p /out/workdir/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/issuer /usr/local/bin/issuer
COPY --from=build --chown=65532:65532 /out/workdir/ /var/lib/gatepass/
WORKDIR /var/lib/gatepass
# 65532 is the nonroot user of the distroless image.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/issuer"]
CMD ["serve"]
