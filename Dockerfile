# syntax=docker/dockerfile:1
#
# presign serve as a container (Cloud Run, Kubernetes, any container host).
#
#   docker build -t presign .
#   docker run --rm -p 8080:8080 -e PRESIGN_S3_BUCKET=… -e AWS_ACCESS_KEY_ID=… \
#     -e AWS_SECRET_ACCESS_KEY=… -e PRESIGN_API_KEYS=… presign
#
# The image holds one static binary and no configuration or secrets: every
# setting comes from the environment at run time (README: Configuration).
# serve listens on :$PORT (Cloud Run sets PORT; 8080 otherwise) and shuts
# down gracefully on SIGTERM.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Dependencies first, so that a source change reuses the module layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
# .git is not in the build context: pass the commit for `presign version`,
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) -t presign .
ARG VERSION=dev
ARG COMMIT=unknown
# -tags nodevstore: the image serves; it never runs `presign dev`, whose
# embedded store (Versity Gateway) would double the binary and serve's memory
# and bring MPL-2.0 modules into the image (docs/benchmarks.md, docs/dependencies.md).
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false -tags nodevstore -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/presign ./cmd/presign

# distroless/static: CA certificates, /etc/passwd with nonroot (65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/presign /presign
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/presign", "serve"]
