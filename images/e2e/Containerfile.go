# The e2e run's Go builder image: the local base image plus the host's Go
# toolchain (imported as GOTOOL_IMAGE), used as GO_IMAGE for
# images/edgeproxy/Containerfile where no golang image can be pulled.
# GOPROXY=off: the build context carries vendor/, nothing is downloaded.
ARG BASE_IMAGE
ARG GOTOOL_IMAGE
FROM ${GOTOOL_IMAGE} AS gotool
FROM ${BASE_IMAGE}
COPY --from=gotool /usr/local/go /usr/local/go
ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=vendor
