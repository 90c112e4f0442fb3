# Nodewright's container image: the worker (the entrypoint) and the starter CLI, static binaries
# on a distroless base with CA certificates (the worker calls AWS and Temporal Cloud over TLS),
# running as a non-root user, with no shell. Build it with `make image`, which passes:
#   --build-arg SOURCE_DATE_EPOCH=<unix time of the last commit>  timestamps of the binaries and,
#       with BuildKit, of the image's layers and history, so one commit gives one image
#   --build-arg REVISION=<commit>                                 the revision label
#
# The bases are pinned by tag. To pin them by digest as well, so a re-pushed tag cannot change
# the image, look the digest up and append it to the tag:
#   docker buildx imagetools inspect golang:1.26.8      (or: crane digest golang:1.26.8)
#   FROM golang:1.26.8@sha256:<digest> AS build
# The builder's Go is the go line of go.mod (worker/image's test checks it).

FROM golang:1.26.8 AS build
WORKDIR /src
# Modules first: this layer is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG SOURCE_DATE_EPOCH
# The one build recipe, shared with `make static` outside the image.
RUN make static STATIC_DIR=/out && \
    if [ -n "$SOURCE_DATE_EPOCH" ]; then touch -d "@$SOURCE_DATE_EPOCH" /out/worker /out/starter; fi

FROM gcr.io/distroless/static-debian12:nonroot
ARG REVISION
LABEL org.opencontainers.image.title="nodewright" \
      org.opencontainers.image.description="Kubernetes node autoscaler: every node's life a durable Temporal workflow" \
      org.opencontainers.image.source="https://github.com/nodewright/nodewright" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/worker /worker
COPY --from=build /out/starter /starter
# distroless's nonroot user, by number so Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
ENTRYPOINT ["/worker"]
