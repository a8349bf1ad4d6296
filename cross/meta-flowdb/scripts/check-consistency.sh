#!/usr/bin/env bash
# check-consistency.sh BUILD_DIR
#
# Checks that the Yocto layer agrees with the project it packages:
#   1. LIC_FILES_CHKSUM matches the root LICENSE;
#   2. the recipe's DEPENDS (+ PACKAGECONFIG deps) are exactly the recipes providing
#      what the CMake build find_package()s / pkg_check_modules()s;
#   3. every file `cmake --install` produces is covered by the recipe's packages, and
#      the files the recipe and unit rely on are installed;
#   4. the systemd unit, the recipe and the default config agree on binary, config
#      path, user and state directory; every -D option the recipe passes exists.
# Exits non-zero with one line per disagreement. Run by CTest (cross_layer_consistency).
set -uo pipefail
build=${1:?usage: check-consistency.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
layer=$(dirname "$here")
repo=$(cd "$layer/../.." && pwd)
recipe="$layer/recipes-core/flowdb/flowdb_git.bb"
unit="$repo/configs/flowdb-agent.service"
config="$repo/configs/flowdb-agent.yaml"
fail=0
bad() { echo "check-consistency: $*" >&2; fail=1; }

# 1. License checksum.
"$here/update-license-md5.sh" --check >/dev/null || bad "LIC_FILES_CHKSUM does not match LICENSE"

# 2. Dependencies. Map CMake package / pkg-config names to Yocto recipe names;
#    build-only helpers map to nothing. An unmapped name is itself an error, so a
#    new find_package() cannot be forgotten here.
declare -A recipe_of=(
  [Threads]="" [PkgConfig]="" [Catch2]="" [GTest]=""
  [liblz4]=lz4 [libzstd]=zstd [Boost]=boost [yaml-cpp]=yaml-cpp
  [prometheus-cpp]=prometheus-cpp [PahoMqttCpp]=paho-mqtt-cpp [eclipse-paho-mqtt-c]=paho-mqtt-c
  [CLI11]=cli11 [CURL]=curl [civetweb]=civetweb [ZLIB]=zlib [OpenSSL]=openssl
  [Protobuf]=protobuf [Snappy]=snappy [RocksDB]="" [leveldb]=""
)
mapfile -t cmake_files < <(cd "$repo" && git ls-files '*CMakeLists.txt' '*.cmake' |
                           grep -v -E '^(tests|cross)/')
needed=()
for f in "${cmake_files[@]}"; do
  while read -r name; do
    [ -z "$name" ] && continue
    if [ -z "${recipe_of[$name]+x}" ]; then
      bad "$f: find_package/pkg_check_modules($name) has no recipe mapping in $(basename "$0")"
    elif [ -n "${recipe_of[$name]}" ]; then
      needed+=("${recipe_of[$name]}")
    fi
  done < <(sed -n -E 's/^[[:space:]]*find_package\(([A-Za-z0-9_+-]+).*/\1/p;
                      s/^[[:space:]]*pkg_check_modules\([A-Z0-9_]+ +(REQUIRED +)?(IMPORTED_TARGET +)?([A-Za-z0-9_+-]+).*/\3/p' \
           "$repo/$f")
done
depends=$(sed -n -E 's/^DEPENDS = "(.*)"/\1/p' "$recipe")
pkgconfig_deps=$(sed -n -E 's/^PACKAGECONFIG\[[a-z-]+\] = "[^,]*,[^,]*,([^"]*)".*/\1/p' "$recipe")
declared=$(echo "$depends $pkgconfig_deps" | tr ' ' '\n' | grep -v -- '-native$' | sort -u)
wanted=$(printf '%s\n' "${needed[@]}" | sort -u)
for d in $wanted; do
  grep -qx "$d" <<<"$declared" || bad "CMake needs '$d' but the recipe's DEPENDS lacks it"
done
for d in $declared; do
  grep -qx "$d" <<<"$wanted" || bad "recipe DEPENDS on '$d' but no CMake file finds it"
done
# Every -D option the recipe passes must be a real option of the build.
for opt in $(grep -o -E -- '-D(FLOWDB_[A-Z_]+)=' "$recipe" | sed -E 's/-D(.*)=/\1/' | sort -u); do
  grep -q "option($opt " "$repo/CMakeLists.txt" || bad "recipe passes -D$opt, which CMakeLists.txt does not define"
done

# 3. Installed files. The recipe packages bin/ in ${PN}, headers and cmake config
#    in ${PN}-dev, static libraries in ${PN}-staticdev (oe-core's default FILES).
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null || bad "cmake --install $build failed"
while read -r f; do
  rel=${f#"$prefix"/}
  case "$rel" in
    bin/*|include/flowdb/*|lib/*.a|lib/cmake/flowdb/*|share/doc/flowdb/*) ;;
    *) bad "installed file '$rel' is not covered by any package of the recipe" ;;
  esac
done < <(find "$prefix" -type f)
for must in bin/flowdb-agent bin/flowdb include/flowdb/engine.h lib/cmake/flowdb/flowdbConfig.cmake; do
  [ -f "$prefix/$must" ] || bad "cmake --install does not produce $must"
done

# 4. Unit file, recipe and config agree.
[ -f "$unit" ] || bad "missing $unit (the recipe installs it)"
[ -f "$config" ] || bad "missing $config (the recipe installs it)"
if [ -f "$unit" ]; then
  grep -q -E '^ExecStart=/usr/bin/flowdb-agent .*--config /etc/flowdb/flowdb-agent.yaml' "$unit" ||
    bad "unit ExecStart must run /usr/bin/flowdb-agent --config /etc/flowdb/flowdb-agent.yaml"
  grep -q -E '^User=flowdb$' "$unit" || bad "unit must run as User=flowdb (the recipe's user)"
  grep -q -E '^StateDirectory=flowdb$' "$unit" ||
    bad "unit StateDirectory must be flowdb (/var/lib/flowdb, the recipe's data dir)"
fi
grep -q 'SYSTEMD_SERVICE:${PN} = "flowdb-agent.service"' "$recipe" || bad "recipe SYSTEMD_SERVICE"
grep -q 'CONFFILES:${PN} = "${sysconfdir}/flowdb/flowdb-agent.yaml"' "$recipe" || bad "recipe CONFFILES"
grep -q -- '--home-dir ${localstatedir}/lib/flowdb' "$recipe" || bad "recipe user home"

[ "$fail" -eq 0 ] && echo "check-consistency: layer and project agree"
exit "$fail"
