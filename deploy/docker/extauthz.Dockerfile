# syntax=docker/dockerfile:1

# The gatepass ext_authz sidecar as a static binary on a distroless, non-root
# image. Build from the repository root, which is the build context:
#
#   docker build -f deploy/docker/extauthz.Dockerfile -t gatepass/extauthz .
#
# The sidecar keeps no state on disk. Mount its policy file read-only and
# point GATEPASS_POLICY_FILE at it (docker-compose.yml does both).

# golang:1.26 follows the latest 1.26 patch release. go.mod requires at least
# 1.26.8, and the image sets GOTOOLCHAIN=local, so an older cached image fails
# the build with a clear message instead of downloading a toolchain.
FROM golang:1.26 AS build
WORKDIR /src

# Dependencies get their own layer, so editing source does not refetch them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/extauthz ./cmd/extauthz

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/extauthz /usr/local/bin/extauthz
# 65532 is the nonroot user of the distroless image.
USER 65532:65532
# gRPC: envoy.service.auth.v3.Authorization/Check and grpc.health.v1.Health.
EXPOSE 9191
ENTRYPOINT ["/usr/local/bin/extauthz"]
