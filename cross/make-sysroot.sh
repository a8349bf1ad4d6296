#!/usr/bin/env bash
# make-sysroot.sh — build a Debian 12 (bookworm) target sysroot for cross-compiling FlowDB.
#
#   cross/make-sysroot.sh [--force] ARCH [DEST]
#
#   ARCH   arm64 (alias aarch64) or armhf (aliases arm, armv7, armv7l)
#   DEST   sysroot directory; default <repo>/build/sysroot-<ARCH>, which is also the
#          default the toolchain files in cross/toolchains/ use.
#
# How it works (nothing foreign is ever *installed* on the host):
#   1. `dpkg --add-architecture ARCH` + `apt-get update` if the host does not know ARCH yet
#      (only so that apt can see the ARCH package indexes; needs root).
#   2. Resolve the Depends/Pre-Depends closure of the package list below for ARCH
#      (`apt-cache depends --recurse`), so every DT_NEEDED of every library is present both
#      for the linker (-rpath-link) and for running tests under qemu-user.
#   3. `apt-get download` the .debs into a cache dir (default <DEST>/../deb-cache-<ARCH>,
#      override with FLOWDB_SYSROOT_CACHE); already-cached files are reused (hash checked).
#   4. `dpkg -x` every .deb into <DEST>.partial, rewrite absolute symlinks as relative ones
#      (so the tree is relocatable and never points back into the host), check that the
#      dynamic loader, libc and every DT_NEEDED entry resolve inside the tree, write the
#      stamp file and atomically move the tree to DEST.
#
# Idempotent: DEST/.flowdb-sysroot.stamp holds a key derived from ARCH + package list +
# script format version; when it matches, the script exits without touching apt or DEST.
# --force (or FLOWDB_SYSROOT_FORCE=1) rebuilds anyway.
set -euo pipefail

# Bump when the layout/post-processing changes so existing sysroots get rebuilt.
FORMAT_VERSION=2

# Packages requested for ARCH (dependencies are added automatically, see step 2).
ARCH_PACKAGES=(
  # C/C++ runtime and headers (must match the crossbuild-essential gcc-12 toolchain)
  libc6 libc6-dev linux-libc-dev
  libstdc++6 libstdc++-12-dev libgcc-s1 libgcc-12-dev
  # storage engine
  liblz4-1 liblz4-dev
  libzstd1 libzstd-dev
  # Boost.JSON (its CMake config needs boost_container)
  libboost1.81-dev
  libboost-json1.81.0 libboost-json1.81-dev
  libboost-container1.81.0 libboost-container1.81-dev
  # config
  libyaml-cpp0.7 libyaml-cpp-dev
  # metrics: prometheus-cpp's CMake config needs civetweb (lib + the `civetweb` binary,
  # which civetweb-targets.cmake checks for), zlib and curl
  libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 prometheus-cpp-dev
  libcivetweb1 libcivetweb-dev civetweb
  zlib1g zlib1g-dev
  # HTTP (remote write); libcurl.so's own deps come in via the closure
  libcurl4 libcurl4-openssl-dev
  libssl3 libssl-dev libnghttp2-14
  # MQTT ingest (eclipse-paho-mqtt-c's CMake targets reference OpenSSL::SSL)
  libpaho-mqtt1.3 libpaho-mqtt-dev
  libpaho-mqttpp3-1 libpaho-mqttpp-dev
  # PromQL regular expressions (agent/promql)
  libre2-9 libre2-dev
  # tests: Catch2 v2 is header-only but Architecture: any in Debian 12
  catch2
)
# Architecture: all packages (downloaded without an :ARCH qualifier).
ALL_PACKAGES=(
  libcli11-dev
)

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "${1:-2}"; }
log() { printf '[make-sysroot] %s\n' "$*"; }
die() { printf '[make-sysroot] ERROR: %s\n' "$*" >&2; exit 1; }
run() { printf '[make-sysroot] + %s\n' "$*"; "$@"; }

FORCE=${FLOWDB_SYSROOT_FORCE:-0}
ARGS=()
for a in "$@"; do
  case "$a" in
    --force) FORCE=1 ;;
    -h|--help) usage 0 ;;
    -*) die "unknown option $a" ;;
    *) ARGS+=("$a") ;;
  esac
done
[ "${#ARGS[@]}" -ge 1 ] && [ "${#ARGS[@]}" -le 2 ] || usage

case "${ARGS[0]}" in
  arm64|aarch64) ARCH=arm64; TRIPLET=aarch64-linux-gnu; LOADER=lib/ld-linux-aarch64.so.1 ;;
  armhf|arm|armv7|armv7l) ARCH=armhf; TRIPLET=arm-linux-gnueabihf; LOADER=lib/ld-linux-armhf.so.3 ;;
  *) die "unsupported ARCH '${ARGS[0]}' (use arm64 or armhf)" ;;
esac

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
DEST=${ARGS[1]:-$REPO_ROOT/build/sysroot-$ARCH}
DEST=$(realpath -m -- "$DEST")
case "$DEST" in
  /|/bin|/boot|/dev|/etc|/home|/lib|/lib64|/opt|/proc|/root|/run|/sbin|/srv|/sys|/tmp|/usr|/usr/*|/var)
    die "refusing to use '$DEST' as a sysroot" ;;
esac
CACHE=${FLOWDB_SYSROOT_CACHE:-$(dirname "$DEST")/deb-cache-$ARCH}
STAMP_NAME=.flowdb-sysroot.stamp
STAMP=$DEST/$STAMP_NAME

# ---------------------------------------------------------------------------------------
# 0. Up to date?
# ---------------------------------------------------------------------------------------
KEY=$( { echo "format=$FORMAT_VERSION arch=$ARCH triplet=$TRIPLET"
         printf '%s\n' "${ARCH_PACKAGES[@]}" | sort
         echo "--all--"
         printf '%s\n' "${ALL_PACKAGES[@]}" | sort; } | sha256sum | cut -d' ' -f1)

if [ "$FORCE" != 1 ] && [ -f "$STAMP" ] && [ "$(sed -n 's/^key=//p' "$STAMP")" = "$KEY" ] \
   && [ -e "$DEST/$LOADER" ] && [ -e "$DEST/usr/include/$TRIPLET/bits/libc-header-start.h" ]; then
  log "sysroot $DEST is up to date (key ${KEY:0:12}); nothing to do (--force to rebuild)"
  exit 0
fi
if [ -e "$DEST" ] && [ ! -f "$STAMP" ] && [ -n "$(ls -A "$DEST" 2>/dev/null)" ]; then
  die "$DEST exists, is not empty and was not made by this script; remove it or pick another DEST"
fi

START=$(date +%s)
log "building $ARCH ($TRIPLET) sysroot in $DEST"
log "deb cache: $CACHE"
for tool in dpkg dpkg-deb apt-get apt-cache sha256sum realpath; do
  command -v "$tool" >/dev/null || die "$tool not found (this script needs a Debian/Ubuntu host)"
done

# ---------------------------------------------------------------------------------------
# 1. Make apt aware of ARCH (indexes only — nothing gets installed)
# ---------------------------------------------------------------------------------------
APT_LOCK_OPTS=(-o DPkg::Lock::Timeout=600)
apt_update() {
  [ "$(id -u)" = 0 ] || die "apt-get update needs root (re-run this script with sudo)"
  # A partially failed update (e.g. a mirror mid-sync for one index) is not fatal as
  # long as the indexes we need are usable; the resolve/download steps check that.
  run apt-get "${APT_LOCK_OPTS[@]}" update -qq || log "warning: apt-get update reported errors; continuing with the indexes it did get"
}
NEED_UPDATE=0
if [ "$(dpkg --print-architecture)" != "$ARCH" ] && ! [[ $'\n'"$(dpkg --print-foreign-architectures)"$'\n' == *$'\n'"$ARCH"$'\n'* ]]; then
  [ "$(id -u)" = 0 ] || die "dpkg does not know $ARCH; run as root or first: sudo dpkg --add-architecture $ARCH && sudo apt-get update"
  run dpkg --add-architecture "$ARCH"
  NEED_UPDATE=1
fi
# (no `cmd | grep -q` under pipefail: grep exiting early would SIGPIPE apt-cache)
has_candidate() { [[ "$(apt-cache policy "$1" 2>/dev/null)" == *"Candidate: "[0-9]* ]]; }
if [ "$NEED_UPDATE" = 0 ] && ! has_candidate "libc6:$ARCH"; then
  NEED_UPDATE=1
fi
[ "$NEED_UPDATE" = 1 ] && apt_update

# ---------------------------------------------------------------------------------------
# 2. Resolve the dependency closure
# ---------------------------------------------------------------------------------------
resolve() {
  {
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
      --no-replaces --no-enhances "${QUALIFIED[@]}" \
      | grep -v '^[ <]' | grep -E ":$ARCH\$" || true
    printf '%s\n' "${ALL_PACKAGES[@]}"
  } | sort -u
}
# Every requested package must exist for ARCH (one apt-cache call: they are slow).
QUALIFIED=()
for p in "${ARCH_PACKAGES[@]}"; do QUALIFIED+=("$p:$ARCH"); done
POLICY=$(apt-cache policy "${QUALIFIED[@]}" "${ALL_PACKAGES[@]}" 2>/dev/null || true)
NOCAND=$(awk '/^[^ ]/ {pkg=$1; sub(/:$/, "", pkg); seen[pkg]=1}
              /^  Candidate: [0-9]/ {ok[pkg]=1}
              END {for (p in seen) if (!ok[p]) print p}' <<<"$POLICY")
for p in "${QUALIFIED[@]}" "${ALL_PACKAGES[@]}"; do
  [[ $'\n'"$POLICY" == *$'\n'"$p:"$'\n'* ]] || NOCAND+=$'\n'"$p"
done
NOCAND=$(sed '/^$/d' <<<"$NOCAND" | sort -u)
[ -z "$NOCAND" ] || die "no installation candidate for: $(echo $NOCAND) (check with: apt-cache policy NAME)"
mapfile -t PKGS < <(resolve)
log "${#ARCH_PACKAGES[@]} requested $ARCH packages + ${#ALL_PACKAGES[@]} arch:all -> ${#PKGS[@]} packages with dependencies"

# ---------------------------------------------------------------------------------------
# 3. Download (cached)
# ---------------------------------------------------------------------------------------
mkdir -p "$CACHE"
# 'URI' filename size SHA256:hash   — one line per package, nothing is downloaded here.
# Run it in an empty dir: apt-get download silently omits packages whose .deb is already
# present in the current directory.
URI_TMP=$(mktemp -d)
trap 'rm -rf "$URI_TMP"' EXIT
print_uris() { (cd "$URI_TMP" && apt-get download --print-uris "${PKGS[@]}"); }
# Fills DEBS (all .deb file names) and downloads the ones not (validly) in the cache.
fetch_all() {
  local uris file hash pkg rest ver arch _uri _size
  uris=$(print_uris) || return 1
  MISSING=()
  DEBS=()
  while read -r _uri file _size hash; do
    [ -n "${file:-}" ] || continue
    DEBS+=("$file")
    if [ -f "$CACHE/$file" ] && [ "${hash#SHA256:}" = "$(sha256sum "$CACHE/$file" | cut -d' ' -f1)" ]; then
      continue
    fi
    rm -f "$CACHE/$file"
    # file is pkg_version_arch.deb; download exactly that version
    pkg=${file%%_*}; rest=${file#*_}; ver=${rest%_*}; arch=${rest##*_}; arch=${arch%.deb}
    ver=${ver//%3a/:}
    if [ "$arch" = all ]; then MISSING+=("$pkg=$ver"); else MISSING+=("$pkg:$arch=$ver"); fi
  done <<<"$uris"
  [ "${#DEBS[@]}" -eq "${#PKGS[@]}" ] || die "apt resolved ${#PKGS[@]} packages but gave ${#DEBS[@]} download URIs"
  log "${#DEBS[@]} .debs needed, $(( ${#DEBS[@]} - ${#MISSING[@]} )) cached, ${#MISSING[@]} to download"
  if [ "${#MISSING[@]}" -gt 0 ]; then
    (cd "$CACHE" && run apt-get download -q "${MISSING[@]}") || return 1
  fi
}
if ! fetch_all; then
  # Typically stale indexes: the version they name is gone from the mirror.
  log "download failed; refreshing the apt indexes and retrying once"
  apt_update
  fetch_all || die "could not download the packages (see apt's messages above)"
fi
for f in "${DEBS[@]}"; do [ -f "$CACHE/$f" ] || die "missing $CACHE/$f after download"; done

# ---------------------------------------------------------------------------------------
# 4. Extract, fix symlinks, verify, commit
# ---------------------------------------------------------------------------------------
STAGE=$DEST.partial
trap 'rm -rf "$URI_TMP" "$STAGE"' EXIT   # never leave a half-built tree behind
rm -rf "$STAGE"
mkdir -p "$STAGE"
log "extracting ${#DEBS[@]} packages into $STAGE"
for f in "${DEBS[@]}"; do dpkg -x "$CACHE/$f" "$STAGE"; done

# Absolute symlinks (e.g. usr/lib/<triplet>/libz.so -> /lib/<triplet>/libz.so.1.2.13)
# would point into the *host*; rewrite them relative to the sysroot root.
nfixed=0
while IFS= read -r -d '' link; do
  target=$(readlink "$link")
  case "$target" in
    /*)
      rel=$(realpath -s -m --relative-to="$(dirname "$link")" "$STAGE$target")
      ln -sfn "$rel" "$link"
      nfixed=$((nfixed + 1)) ;;
  esac
done < <(find "$STAGE" -type l -print0)
log "rewrote $nfixed absolute symlinks as relative ones"

# Drop what is useless in a sysroot (docs, man pages, locales); keeps it small.
rm -rf "$STAGE/usr/share/doc" "$STAGE/usr/share/man" "$STAGE/usr/share/info" \
       "$STAGE/usr/share/locale" "$STAGE/usr/share/lintian"

# Sanity checks
[ -e "$STAGE/$LOADER" ] || die "dynamic loader $LOADER missing from sysroot"
for f in "usr/lib/$TRIPLET/libc.so" "lib/$TRIPLET/libc.so.6" "usr/lib/$TRIPLET/libc_nonshared.a"; do
  [ -e "$STAGE/$f" ] || die "$f missing from sysroot"
done
dangling=$(find "$STAGE" -xtype l -print | sed "s|^$STAGE/||" | sort)
if [ -n "$dangling" ]; then
  log "warning: dangling symlinks (harmless unless a build needs them):"
  printf '    %s\n' $dangling
fi
READELF=$(command -v "$TRIPLET-readelf" || command -v readelf || true)
if [ -n "$READELF" ]; then
  libdirs=("$STAGE/lib/$TRIPLET" "$STAGE/usr/lib/$TRIPLET")
  unresolved=()
  while IFS= read -r -d '' so; do
    while read -r need; do
      found=0
      for d in "${libdirs[@]}"; do [ -e "$d/$need" ] && { found=1; break; }; done
      [ "$found" = 1 ] || [[ "$need" == ld-linux* ]] || unresolved+=("${so#$STAGE/}: $need")
    done < <("$READELF" -d "$so" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  done < <(find "${libdirs[@]}" -maxdepth 1 -type f -name '*.so*' -print0)
  if [ "${#unresolved[@]}" -gt 0 ]; then
    printf '    %s\n' "${unresolved[@]}" >&2
    die "${#unresolved[@]} DT_NEEDED entries do not resolve inside the sysroot"
  fi
  log "all DT_NEEDED entries of the sysroot's shared libraries resolve inside it"
else
  log "warning: no readelf found; skipped the DT_NEEDED closure check"
fi

{
  echo "key=$KEY"
  echo "arch=$ARCH"
  echo "triplet=$TRIPLET"
  echo "created=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# packages:"
  printf '%s\n' "${DEBS[@]}" | sed 's/\.deb$//'
} > "$STAGE/$STAMP_NAME"

rm -rf "$DEST"
mv "$STAGE" "$DEST"
log "done: $DEST ($(du -sh "$DEST" | cut -f1), ${#DEBS[@]} packages, $(( $(date +%s) - START ))s)"
