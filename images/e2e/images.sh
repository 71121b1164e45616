# shellcheck shell=bash
# images.sh — the local images of the end-to-end run (sourced by e2e.sh after engine.sh).
#
#   edgeproxy-e2e/base:<hash>    debootstrap --variant=minbase bookworm + images/base/packages,
#                                `docker import`ed; the tarball is cached in $E2E_CACHE (the
#                                podman run reads the docker run's, $E2E_BASE_FROM, when it has
#                                none, so debootstrap runs once per machine)
#   edgeproxy-e2e/go:<ver>       the host's Go + /bin/sh, imported: the GO_IMAGE of
#                                images/edgeproxy/Containerfile
#   edgeproxy-e2e/router:test    images/testrouter/Containerfile: base + the fake skrouterd
#                                (skipped when E2E_ROUTER_IMAGE names a real router image)
#   edgeproxy-e2e/netfilter:test images/netfilter/Containerfile on base
#   edgeproxy-e2e/edgeproxy:test images/edgeproxy/Containerfile, GO_IMAGE=go, ROUTER_IMAGE=router

E2E_SUITE=${E2E_SUITE:-bookworm}
# Where else a base tarball may already be (read only): the docker run's cache.
E2E_BASE_FROM=${E2E_BASE_FROM:-/var/cache/edgeproxy-e2e}
GO_ROOT=${GO_ROOT:-$(go env GOROOT 2>/dev/null || echo /usr/local/go)}

# debian_mirror prints the Debian mirror apt is configured with (E2E_MIRROR wins).
debian_mirror() {
	if [[ -n ${E2E_MIRROR:-} ]]; then echo "$E2E_MIRROR"; return; fi
	local m
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -oE '(https?|file)://[^ ]+/debian/?( |$)' | grep -v security | head -n 1 | tr -d ' ')
	echo "${m:-http://deb.debian.org/debian}"
}

image_exists() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

# build_base makes edgeproxy-e2e/base:<hash of the recipe> unless it exists.
build_base() {
	local pkgs hash tarball rootfs
	pkgs=$(grep -vE '^\s*(#|$)' "$REPO/images/base/packages" | tr '\n' ',' | sed 's/,$//')
	hash=$(printf '%s\n' "$E2E_SUITE" "$pkgs" "recipe-1" | sha256sum | cut -c1-12)
	BASE_IMAGE=edgeproxy-e2e/base:$hash
	if image_exists "$BASE_IMAGE"; then log "base image $BASE_IMAGE (cached)"; return; fi
	tarball=$E2E_CACHE/base-$hash.tar
	if [[ ! -s $tarball && -s $E2E_BASE_FROM/base-$hash.tar ]]; then
		tarball=$E2E_BASE_FROM/base-$hash.tar
	fi
	if [[ ! -s $tarball ]]; then
		rootfs=$E2E_CACHE/rootfs-$hash
		umount_under "$rootfs"
		rm -rf "$rootfs"
		log "debootstrap $E2E_SUITE from $(debian_mirror) (about 1-2 min)"
		if ! debootstrap --variant=minbase --include="$pkgs" "$E2E_SUITE" "$rootfs" "$(debian_mirror)" \
			>"$E2E_LOGS/debootstrap.log" 2>&1; then
			umount_under "$rootfs"
			tail -n 20 "$E2E_LOGS/debootstrap.log" >&2
			die "debootstrap failed (log: $E2E_LOGS/debootstrap.log)"
		fi
		umount_under "$rootfs"
		# Slim it: no package cache, no default site on :80, no daemons started by policy.
		rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
			"$rootfs"/etc/nginx/sites-enabled/default
		tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" .
		mv "$tarball.tmp" "$tarball"
		rm -rf "$rootfs"
	fi
	log "docker import $tarball"
	"$DOCKER" import \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["/bin/bash"]' \
		"$tarball" "$BASE_IMAGE" >/dev/null
}

# umount_under unmounts whatever a killed debootstrap left mounted in a rootfs.
umount_under() {
	local m
	while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
		awk -v r="$1" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r)
}

# build_go makes edgeproxy-e2e/go:<host Go version>: the host's Go toolchain
# (statically linked) plus /bin/sh (dash and the two libraries it loads), /tmp
# and /root: all that the Containerfile's build stage runs (`/bin/sh -c "go
# build ..."` with CGO_ENABLED=0). It does not need the base image, so the
# build stage can compile while debootstrap runs.
build_go() {
	local ver stage
	ver=$("$GO_ROOT/bin/go" env GOVERSION) || die "no Go at $GO_ROOT"
	GO_IMAGE=edgeproxy-e2e/go:$ver
	if image_exists "$GO_IMAGE"; then log "go image $GO_IMAGE (cached)"; return; fi
	log "importing $GO_ROOT as $GO_IMAGE"
	stage=$E2E_RUN/go-stage
	rm -rf "$stage"
	mkdir -p "$stage/bin" "$stage/root" "$stage/tmp" "$stage/lib64"
	chmod 1777 "$stage/tmp"
	cp -L /bin/dash "$stage/bin/sh"
	cp -L /lib64/ld-linux-x86-64.so.2 "$stage/lib64/"
	local lib
	for lib in $(ldd /bin/dash | awk '$3 ~ /^\// {print $3}'); do
		mkdir -p "$stage$(dirname "$lib")"
		cp -L "$lib" "$stage$lib"
	done
	# One ENV per --change: podman's import takes the rest of the line as one value.
	tar -c --numeric-owner -C "$stage" . \
		-C "$GO_ROOT/.." --transform "s,^$(basename "$GO_ROOT"),usr/local/go," "$(basename "$GO_ROOT")" |
		"$DOCKER" import \
			--change 'ENV PATH=/usr/local/go/bin:/usr/bin:/bin' \
			--change 'ENV GOTOOLCHAIN=local' --change 'ENV GOPROXY=off' --change 'ENV GOFLAGS=-mod=vendor' \
			- "$GO_IMAGE" >/dev/null
	rm -rf "$stage"
}

# make_context lays a clean build context: the files git knows (tracked and
# untracked-but-not-ignored, as in the work tree) plus vendor/, so the
# Containerfile's build stage needs no network.
make_context() {
	CONTEXT=$E2E_RUN/context
	rm -rf "$CONTEXT"
	mkdir -p "$CONTEXT"
	(cd "$REPO" && git ls-files -z -co --exclude-standard | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -C "$CONTEXT" -xf -
	(cd "$REPO" && go mod vendor -o "$CONTEXT/vendor") >"$E2E_LOGS/vendor.log" 2>&1 ||
		{ cat "$E2E_LOGS/vendor.log" >&2; die "go mod vendor failed"; }
}

# build_image TAG CONTAINERFILE CONTEXT [docker build args...]
build_image() {
	local tag=$1 file=$2 ctx=$3 logf
	shift 3
	logf=$E2E_LOGS/build-$(echo "$tag" | tr '/:' '__').log
	log "docker build $tag ($(realpath --relative-to="$REPO" "$file"))"
	DOCKER_BUILDKIT=0 "$DOCKER" build --network none -q -t "$tag" -f "$file" "$@" "$ctx" >"$logf" 2>&1 ||
		{ tail -n 40 "$logf" >&2; die "docker build $tag failed (log: $logf)"; }
}

build_images() {
	local pid_go rc=0
	# Stamped once: the stage build and the final build must agree, or the
	# final build misses the cached stage.
	VERSION=$(cd "$REPO" && git describe --tags --always --dirty 2>/dev/null || echo dev)
	COMMIT=$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo none)
	make_context
	build_go
	# The edgeproxy build stage compiles while debootstrap runs; the full image
	# build below then finds that stage in the build cache.
	build_edgeproxy --target build >"$E2E_LOGS/build-stage.log" 2>&1 &
	pid_go=$!
	build_base
	wait "$pid_go" || rc=$?
	((rc == 0)) || { tail -n 40 "$E2E_LOGS/build-stage.log" >&2; die "the edgeproxy build stage failed"; }
	if [[ -n ${E2E_ROUTER_IMAGE:-} ]]; then
		image_exists "$E2E_ROUTER_IMAGE" ||
			die "E2E_ROUTER_IMAGE=$E2E_ROUTER_IMAGE is not a local image of the $E2E_ENGINE e2e engine (docker load or import it first, DOCKER_HOST=$DOCKER_HOST)"
		ROUTER_IMAGE=$E2E_ROUTER_IMAGE
		log "router image $ROUTER_IMAGE (given)"
	else
		[[ -f $CONTEXT/internal/routertest/testdata/fake-skrouterd ]] ||
			die "internal/routertest/testdata/fake-skrouterd is missing: no test router image"
		ROUTER_IMAGE=edgeproxy-e2e/router:test
		build_image "$ROUTER_IMAGE" "$CONTEXT/images/testrouter/Containerfile" "$CONTEXT" \
			--build-arg "BASE_IMAGE=$BASE_IMAGE"
	fi
	NETFILTER_IMAGE=edgeproxy-e2e/netfilter:test
	build_image "$NETFILTER_IMAGE" "$CONTEXT/images/netfilter/Containerfile" "$CONTEXT/images/netfilter" \
		--build-arg "BASE_IMAGE=$BASE_IMAGE"
	build_edgeproxy
	export BASE_IMAGE GO_IMAGE ROUTER_IMAGE NETFILTER_IMAGE EDGEPROXY_IMAGE
}

# build_edgeproxy [--target build]: images/edgeproxy/Containerfile, as `make image`
# does it, with the local Go image and router image.
build_edgeproxy() {
	EDGEPROXY_IMAGE=edgeproxy-e2e/edgeproxy:test
	local tag=$EDGEPROXY_IMAGE
	[[ ${1:-} == --target ]] && tag=edgeproxy-e2e/edgeproxy-build:test
	build_image "$tag" "$CONTEXT/images/edgeproxy/Containerfile" "$CONTEXT" "$@" \
		--build-arg "GO_IMAGE=$GO_IMAGE" --build-arg "ROUTER_IMAGE=${ROUTER_IMAGE:-scratch}" \
		--build-arg "VERSION=$VERSION" --build-arg "COMMIT=$COMMIT"
}
