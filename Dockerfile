# Bollard's image: the controller on the official HAProxy image that the
# sidecar runs (the same patch release), so that the controller's
# `haproxy -c` is the sidecar's HAProxy. Build it with `make image` (no
# Docker engine is needed for anything else).
#
# e2e/deploy checks that GO_VERSION is the Makefile's GO_VERSION, that
# HAPROXY_IMAGE is the haproxy image pinned by the images: entry of
# deploy/components/pod (a patch release of a supported line), and that the
# entry point is the binary `make build` produces.
ARG GO_VERSION=1.26
ARG HAPROXY_IMAGE=haproxy:3.4.7

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
# The Makefile's own build command and ldflags.
RUN make build VERSION="${VERSION}" COMMIT="${COMMIT}" BIN=/out

FROM ${HAPROXY_IMAGE}
ARG HAPROXY_IMAGE
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="bollard" \
      org.opencontainers.image.description="Kubernetes Ingress controller that drives a real HAProxy" \
      org.opencontainers.image.source="https://github.com/bollard-io/bollard" \
      org.opencontainers.image.url="https://github.com/bollard-io/bollard" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.base.name="${HAPROXY_IMAGE}"
COPY --from=build /out/bollard /usr/local/bin/bollard
# The haproxy image's own non-root user. The HAProxy sidecar runs as the same
# uid, so both containers can use the sockets (mode 600) in /run/haproxy.
USER 99:99
ENTRYPOINT ["/usr/local/bin/bollard"]
CMD ["controller"]
