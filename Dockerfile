# syntax=docker/dockerfile:1
#
# Cairn's container image: a static binary on distroless/static (CA
# certificates, tzdata, a non-root user; no shell, no package manager).
#
#   docker build -t cairn:dev --build-arg VERSION=$(git describe --tags --always) .
#   docker run -e CAIRN_DATABASE_URL=postgres://... -e CAIRN_STORAGE=s3 ... -p 8443:8443 cairn:dev
#
# The image has no embedded PostgreSQL: CAIRN_REQUIRE_DATABASE_URL=true makes
# `cairn serve` exit at start with an error naming CAIRN_DATABASE_URL when it
# is not set. Health is checked by the orchestrator (Kubernetes probes on
# /healthz and /readyz, see deploy/helm/cairn), so there is no HEALTHCHECK.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Dependencies first, so source edits reuse the module cache layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/cairn ./cmd/cairn \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cairn /usr/local/bin/cairn
COPY --from=build --chown=65532:65532 /out/data /data
# nonroot is uid 65532; /data is only used for generated TLS material when
# no certificate is given (and for fs blobs, which a replicated deployment
# does not use).
ENV CAIRN_REQUIRE_DATABASE_URL=true \
    CAIRN_DATA_DIR=/data \
    CAIRN_LISTEN=:8443 \
    CAIRN_LOG_FORMAT=json
USER 65532:65532
EXPOSE 8443 9090
# Extra arguments are serve's flags; other commands (cairn admin backup, ...)
# run with --entrypoint /usr/local/bin/cairn or kubectl exec.
ENTRYPOINT ["/usr/local/bin/cairn", "serve"]
