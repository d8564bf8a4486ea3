# Shared set-up of the real services mlr talks to, for .ci/run and the
# examples: a Docker engine, an OCI registry on 127.0.0.1, git.
# Source it; every function is idempotent.

# Install Debian packages that are missing (needs root and apt).
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing ${missing[*]}"
  local opts=(-q -y -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300)
  apt-get "${opts[@]}" update
  DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install "${missing[@]}"
}

# Start dockerd unless an engine already answers (or is starting); wait
# until it answers.
ensure_dockerd() {
  if docker info >/dev/null 2>&1; then return 0; fi
  if [ -f /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    echo "== dockerd is starting (pid $(cat /var/run/docker.pid))"
  else
    echo "== starting dockerd (log: /tmp/dockerd.log)"
    setsid dockerd >/tmp/dockerd.log 2>&1 < /dev/null &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "dockerd did not start; its log:" >&2
  tail -n 50 /tmp/dockerd.log >&2
  return 1
}

# Start docker-registry on ADDR (127.0.0.1:PORT) with storage in DIR,
# unless something already answers /v2/ there.
ensure_registry() {
  local addr=$1 dir=$2
  if curl -fsS "http://$addr/v2/" >/dev/null 2>&1; then return 0; fi
  echo "== starting docker-registry on $addr"
  mkdir -p "$dir/data"
  cat > "$dir/config.yml" <<YML
version: 0.1
storage: { filesystem: { rootdirectory: $dir/data }, delete: { enabled: true } }
http: { addr: $addr }
YML
  setsid docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 < /dev/null &
  for _ in $(seq 1 30); do
    curl -fsS "http://$addr/v2/" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "docker-registry did not start; its log:" >&2
  tail -n 50 "$dir/registry.log" >&2
  return 1
}

# Import a busybox root filesystem as REF and push it (no Docker Hub needed).
push_busybox_image() {
  local ref=$1 rootfs
  if docker manifest inspect --insecure "$ref" >/dev/null 2>&1; then return 0; fi
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\n' > "$rootfs/etc/group"
  tar -C "$rootfs" -c . | docker import -c 'ENV PATH=/bin' - "$ref" >/dev/null
  docker push "$ref" >/dev/null
  rm -rf "$rootfs"
}

# The machine's Debian mirror: the first `URIs:` of debian.sources, else
# deb.debian.org.
debian_mirror() {
  local mirror
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  echo "${mirror:-http://deb.debian.org/debian}"
}

# A Debian bookworm minbase root filesystem in DIR (debootstrap), built once:
# skipped when DIR/etc/os-release exists. Built in DIR.partial and renamed,
# so an interrupted run never looks complete. The mirror is the machine's
# own (debian.sources `URIs:`), else deb.debian.org.
ensure_debian_rootfs() {
  local dir=$1 mirror
  if [ -e "$dir/etc/os-release" ]; then return 0; fi
  mirror=$(debian_mirror)
  echo "== debootstrap bookworm minbase into $dir (mirror $mirror)"
  rm -rf "$dir.partial"
  mkdir -p "$(dirname "$dir")"
  if ! debootstrap --variant=minbase bookworm "$dir.partial" "$mirror" >"$dir.log" 2>&1; then
    echo "debootstrap failed; its log:" >&2
    tail -n 50 "$dir.log" >&2
    tail -n 50 "$dir.partial/debootstrap/debootstrap.log" >&2 2>/dev/null || true
    return 1
  fi
  rm -rf "$dir"
  mv "$dir.partial" "$dir"
}

# The CPython the standalone-Python tests install: upstream 3.13.5, whose
# source Debian trixie ships as python3.13's orig tarball (another minor
# version than bookworm's 3.11).
STANDALONE_CPYTHON_VERSION=${STANDALONE_CPYTHON_VERSION:-3.13.5}

# The target triple python-build-standalone names this machine's builds by.
standalone_cpython_triple() {
  case "$(uname -m)" in
    x86_64 | amd64) echo x86_64-unknown-linux-gnu ;;
    aarch64 | arm64) echo aarch64-unknown-linux-gnu ;;
    *) echo "$(uname -m)-unknown-linux-gnu" ;;
  esac
}

# Upstream's file name with `mlrtest` for the release tag:
# cpython-3.13.5+mlrtest-x86_64-unknown-linux-gnu-install_only.tar.gz
standalone_cpython_name() {
  echo "cpython-${STANDALONE_CPYTHON_VERSION}+mlrtest-$(standalone_cpython_triple)-install_only.tar.gz"
}

# A relocatable CPython $STANDALONE_CPYTHON_VERSION in python-build-standalone's
# "install_only" layout (python/bin/python3, python/lib/python3.13/…), as
# the gzipped tarball OUT, built once: skipped when OUT exists and matches
# the sha256 recorded in OUT.sha256. It stands in for upstream's GitHub
# release, which is not reachable here.
#
# The source is the upstream tarball from the Debian mirror
# (pool/main/p/python3.13/python3.13_<version>.orig.tar.xz), checked
# against trixie's source index, which is checked against the InRelease
# signed by the Debian archive key. Built without PGO/LTO and, like
# upstream's builds, with every stdlib extension module and its library
# (OpenSSL, libffi, zlib, bz2, xz, sqlite, uuid; the Debian -dev packages'
# static archives) linked into bin/python3.13, so it runs on any glibc
# base: it needs only libc and libm. No readline, curses, dbm or tkinter.
# Packed with sorted names, clamped mtimes and owner 0, and built in a
# fixed directory with SOURCE_DATE_EPOCH, so a rebuild gives the same
# bytes where the toolchain allows. Log: OUT.log.
ensure_standalone_cpython() {
  local out=$1
  mkdir -p "$(dirname "$out")" || return 1
  # One builder at a time: the cache is shared by every checkout.
  (
    flock 9 || exit 1
    _standalone_cpython_build "$out"
  ) 9>"$out.lock"
}

_standalone_cpython_build() {
  local out=$1
  local version=$STANDALONE_CPYTHON_VERSION
  local series=${version%.*}
  local orig=python${series}_${version}.orig.tar.xz
  local work=$out.build log=$out.log
  local mirror keyring sources_sum orig_sum dir start sum size

  die() {
    echo "ensure_standalone_cpython: $*" >&2
    exit 1
  }
  report() {
    sum=$(sha256sum "$out" | cut -d' ' -f1)
    size=$(stat -c %s "$out")
    echo "== standalone CPython $out"
    echo "   sha256 $sum, $size bytes"
  }

  if [ -f "$out" ] && [ -f "$out.sha256" ] &&
    [ "$(sha256sum "$out" | cut -d' ' -f1)" = "$(cat "$out.sha256")" ]; then
    report
    return 0
  fi
  start=$(date +%s)
  mirror=$(debian_mirror)
  keyring=$(awk '/^Signed-By:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  keyring=${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}
  echo "== building standalone CPython $version into $out (mirror $mirror, log $log)"
  rm -rf "$work" "$out.partial"
  : >"$log"
  mkdir -p "$work/dl"
  # Expanded now: `work` is gone by the time the subshell exits.
  # shellcheck disable=SC2064
  trap "rm -rf $(printf %q "$work")" EXIT

  ensure_packages curl gpgv xz-utils build-essential pkg-config libssl-dev zlib1g-dev \
    libffi-dev libbz2-dev liblzma-dev libsqlite3-dev uuid-dev ||
    die "cannot install the build dependencies"

  # The source: InRelease (signed) → Sources.xz (its sha256) → orig tarball.
  fetch() { curl -fsS --retry 3 -o "$2" "$1" || die "cannot download $1"; }
  check() { echo "$1  $2" | sha256sum -c --quiet - >/dev/null || die "$2: sha256 is not $1"; }
  fetch "$mirror/dists/trixie/InRelease" "$work/dl/InRelease"
  gpgv --keyring "$keyring" --output "$work/dl/Release" "$work/dl/InRelease" 2>>"$log" ||
    die "trixie InRelease: bad signature (keyring $keyring)"
  sources_sum=$(awk '/^SHA256:/{s=1; next} /^[^ ]/{s=0} s && $3 == "main/source/Sources.xz" {print $1}' "$work/dl/Release")
  [ -n "$sources_sum" ] || die "trixie Release lists no main/source/Sources.xz"
  fetch "$mirror/dists/trixie/main/source/Sources.xz" "$work/dl/Sources.xz"
  check "$sources_sum" "$work/dl/Sources.xz"
  read -r orig_sum dir < <(xz -dc "$work/dl/Sources.xz" | awk -v f="$orig" -v pkg="python$series" '
    /^Package:/ {p = ($2 == pkg); s = 0}
    p && /^Directory:/ {d = $2}
    p && /^Checksums-Sha256:/ {s = 1; next}
    p && /^[^ ]/ {s = 0}
    p && s && $3 == f {sum = $1}
    p && /^$/ && sum {exit}
    END {if (sum) print sum, d}') || true
  if [ -z "$orig_sum" ] || [ -z "$dir" ]; then
    die "trixie's source index has no $orig; it has: $(xz -dc "$work/dl/Sources.xz" |
      grep -o "python${series}_[^ ]*\.orig\.tar\.xz" | sort -u | tr '\n' ' ')(set STANDALONE_CPYTHON_VERSION)"
  fi
  fetch "$mirror/$dir/$orig" "$work/dl/$orig"
  check "$orig_sum" "$work/dl/$orig"
  echo "   $dir/$orig: sha256 $orig_sum (trixie Sources, signed InRelease)"

  tar -C "$work" -xJf "$work/dl/$orig" || die "cannot unpack $orig"
  local src=$work/Python-$version
  [ -x "$src/configure" ] || die "$orig has no Python-$version/configure"
  # __DATE__ in sys.version, and hash-based .pyc files (py_compile).
  export SOURCE_DATE_EPOCH
  SOURCE_DATE_EPOCH=$(stat -c %Y "$src/Include/patchlevel.h")
  echo "   configure; make -j$(nproc); make install"
  (
    cd "$src" &&
      env MODULE_BUILDTYPE=static PY_UNSUPPORTED_OPENSSL_BUILD=static \
        LIBFFI_LIBS=-l:libffi.a ZLIB_LIBS=-l:libz.a BZIP2_LIBS=-l:libbz2.a \
        LIBLZMA_LIBS=-l:liblzma.a LIBSQLITE3_LIBS="-l:libsqlite3.a -lm" \
        LIBUUID_LIBS=-l:libuuid.a OPT="-DNDEBUG -O3 -Wall" \
        ./configure --prefix=/install --disable-test-modules --without-static-libpython \
        py_cv_module_readline=n/a py_cv_module__curses=n/a py_cv_module__curses_panel=n/a \
        py_cv_module__dbm=n/a py_cv_module__gdbm=n/a py_cv_module__tkinter=n/a &&
      make -j"$(nproc)" &&
      make install DESTDIR="$work/dest"
  ) >>"$log" 2>&1 || {
    tail -n 50 "$log" >&2
    die "the build failed; its log: $log"
  }

  # install_only layout: python/ is the prefix.
  mv "$work/dest/install" "$work/python" || die "make install left no $work/dest/install"
  local py=$work/python
  [ -e "$py/bin/python3" ] && [ -x "$py/bin/python$series" ] || die "no bin/python3 in the install"
  # Scripts name the build prefix; give them upstream's relocatable
  # trampoline, which runs the python3.13 next to the script.
  local script
  for script in "$py"/bin/*; do
    [ -f "$script" ] && [ ! -L "$script" ] || continue
    case "$(head -c 11 "$script" | tr -d '\0')" in
    '#!/install/')
      {
        printf '#!/bin/sh\n'
        printf "'''exec' \"\$(dirname -- \"\$(realpath -- \"\$0\")\")\"/'python%s' \"\$0\" \"\$@\"\n" "$series"
        printf "' '''\n"
        tail -n +2 "$script"
      } >"$script.new" && chmod 755 "$script.new" && mv "$script.new" "$script" || die "cannot rewrite $script"
      ;;
    esac
  done
  # Runs on any glibc base: nothing but libc and libm (and the loader).
  local needed
  needed=$(readelf -d "$py/bin/python$series" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
    grep -vE '^(libc|libm|libdl|libpthread|librt|libutil)\.so\.|^ld-linux' || true)
  [ -z "$needed" ] || die "bin/python$series needs more than libc: $needed"

  # Deterministic pack.
  tar -C "$work" --sort=name --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime \
    --owner=0 --group=0 --numeric-owner --format=gnu -cf - python |
    gzip -9n >"$out.partial" || die "cannot pack $out.partial"

  # Relocatable: unpacked elsewhere, it imports what mlr needs and makes a
  # venv whose pip runs.
  local elsewhere
  elsewhere=$(mktemp -d) || die "mktemp failed"
  if ! (
    tar -C "$elsewhere" -xzf "$out.partial" &&
      "$elsewhere/python/bin/python3" -c \
        'import ssl, zlib, ctypes, venv, ensurepip, hashlib, bz2, lzma, sqlite3, sys; ctypes.CDLL(None); print(sys.version.split()[0], ssl.OPENSSL_VERSION, "pip", ensurepip.version())' &&
      "$elsewhere/python/bin/python3" -m venv "$elsewhere/venv" &&
      "$elsewhere/venv/bin/pip" --version &&
      "$elsewhere/python/bin/pip3" --version
  ) >>"$log" 2>&1; then
    tail -n 20 "$log" >&2
    rm -rf "$elsewhere"
    die "the packed CPython does not run from another directory; log: $log"
  fi
  tail -n 3 "$log" | sed 's/^/   /'
  rm -rf "$elsewhere"

  mv "$out.partial" "$out" || die "cannot move $out.partial"
  sha256sum "$out" | cut -d' ' -f1 >"$out.sha256"
  echo "   built in $(($(date +%s) - start)) s"
  report
}
