#!/usr/bin/env bash
# check-consistency.sh BUILD_DIR
#
# Checks that the Yocto layer agrees with the project it packages:
#   1. every LIC_FILES_CHKSUM in the layer matches the md5 of the file it names where
#      that file is in this repository; a third-party recipe must say which upstream
#      commit its checksums were taken from ("# LIC_FILES_CHKSUM-commit: <SRCREV>");
#   2. the recipe's DEPENDS (+ PACKAGECONFIG deps) are exactly the recipes providing
#      what the CMake build find_package()s / pkg_check_modules()s;
#   3. every file `cmake --install` produces is covered by the recipe's packages, and
#      the files the recipe and unit rely on are installed;
#   4. the systemd unit, the recipe and the default config agree on binary, config
#      path, user and state directory; every -D option the recipe passes exists and
#      every FLOWDB_* CMake option is passed (always or through a PACKAGECONFIG);
#   5. the layer's README agrees with the recipe on PACKAGECONFIG defaults, their -D
#      flags and the always-passed -D flags, and names a maintainer.
# Needs no git: the source tree is scanned with find, so it works in a plain copy.
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

# 1. License checksums (all recipes of the layer).
# md5 of FILE, or of its lines BEGIN..END (bitbake's beginline/endline, 1-based).
md5_of() {
  local file=$1 begin=$2 end=$3
  if [ -z "$begin$end" ]; then md5sum "$file" | cut -d' ' -f1; return; fi
  sed -n "${begin:-1},${end:-\$}p" "$file" | md5sum | cut -d' ' -f1
}
# Value of a plain `VAR = "..."` / `VAR ?= "..."` assignment in a recipe.
recipe_var() { sed -n -E "s/^$2 \??= \"(.*)\"\$/\1/p" "$1" | tail -1; }
check_licenses() {
  local r=$1 entries local_src srcrev commit e path md5 begin end want
  entries=$(sed -n -E 's/^LIC_FILES_CHKSUM \??= "(.*)"$/\1/p' "$r")
  [ -n "$entries" ] || { bad "$r: no LIC_FILES_CHKSUM line"; return; }
  # ${VAR} references to the recipe's own variables (FLOWDB_LICENSE_MD5).
  while [[ $entries =~ \$\{([A-Za-z0-9_]+)\} ]]; do
    entries=${entries//"${BASH_REMATCH[0]}"/$(recipe_var "$r" "${BASH_REMATCH[1]}")}
  done
  grep -q -E '^SRC_URI = "\$\{FLOWDB_SRC_URI\}"' "$r" && local_src=1 || local_src=0
  if [ "$local_src" = 0 ]; then
    srcrev=$(recipe_var "$r" SRCREV)
    commit=$(sed -n -E 's/^# LIC_FILES_CHKSUM-commit: ([0-9a-f]{40})$/\1/p' "$r")
    [ -n "$commit" ] || bad "$r: third-party recipe lacks '# LIC_FILES_CHKSUM-commit: <40-hex upstream commit>'"
    [ -z "$commit" ] || [ "$commit" = "$srcrev" ] ||
      bad "$r: LIC_FILES_CHKSUM was taken at $commit but SRCREV is $srcrev: re-verify the md5s"
    return # the licensed files are upstream, not in this repository
  fi
  for e in $entries; do
    path=${e#file://}; path=${path%%;*}
    md5=$(sed -n -E 's/.*;md5=([0-9a-f]+).*/\1/p' <<<"$e")
    begin=$(sed -n -E 's/.*;beginline=([0-9]+).*/\1/p' <<<"$e")
    end=$(sed -n -E 's/.*;endline=([0-9]+).*/\1/p' <<<"$e")
    [ -n "$md5" ] || { bad "$r: LIC_FILES_CHKSUM entry '$e' has no md5"; continue; }
    [ -f "$repo/$path" ] || { bad "$r: LIC_FILES_CHKSUM names $path, which is not in the repository"; continue; }
    want=$(md5_of "$repo/$path" "$begin" "$end")
    [ "$md5" = "$want" ] ||
      bad "$r: LIC_FILES_CHKSUM md5 of $path is $md5, the file's is $want (scripts/update-license-md5.sh)"
  done
}
while read -r r; do check_licenses "$r"; done < <(find "$layer" -name '*.bb' -o -name '*.bbappend' | sort)

# 2. Dependencies. Map CMake package / pkg-config names to Yocto recipe names;
#    build-only helpers map to nothing. An unmapped name is itself an error, so a
#    new find_package() cannot be forgotten here.
declare -A recipe_of=(
  [Threads]="" [PkgConfig]="" [Catch2]="" [GTest]="" [Git]=""
  [liblz4]=lz4 [libzstd]=zstd [Boost]=boost [yaml-cpp]=yaml-cpp
  [prometheus-cpp]=prometheus-cpp [PahoMqttCpp]=paho-mqtt-cpp [eclipse-paho-mqtt-c]=paho-mqtt-c
  [CLI11]=cli11 [CURL]=curl [civetweb]=civetweb [ZLIB]=zlib [OpenSSL]=openssl
  [Protobuf]=protobuf [Snappy]=snappy [RocksDB]="" [leveldb]=""
  [libsystemd]=systemd [systemd]=systemd [re2]=re2
)
# find, not git ls-files: the check must work without git and in a non-git copy.
# Build trees (build*/), .git, the test suites and cross/ are not the product's build.
mapfile -t cmake_files < <(cd "$repo" && find . \( -path './build*' -o -path ./.git -o -path ./tests \
                             -o -path ./cross \) -prune -o -type f \( -name CMakeLists.txt -o -name '*.cmake' \) \
                           -print | sed 's|^\./||' | sort)
[ "${#cmake_files[@]}" -gt 0 ] || bad "no CMakeLists.txt found under $repo"
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
# ... and every FLOWDB_* option is decided by the recipe (a new option, e.g. a
# dependency behind a switch, needs a PACKAGECONFIG or an EXTRA_OECMAKE flag).
for opt in $(sed -n -E 's/^option\((FLOWDB_[A-Z_]+) .*/\1/p' "$repo/CMakeLists.txt"); do
  grep -q -- "-D$opt=" "$recipe" || bad "CMakeLists.txt option $opt is not set by the recipe (PACKAGECONFIG or EXTRA_OECMAKE)"
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

# 5. The README documents what the recipe does.
readme="$layer/README.md"
check_readme() {
  local defaults names n on flag row rflags dflags
  defaults=" $(sed -n -E 's/^PACKAGECONFIG \?\?= "(.*)"$/\1/p' "$recipe") "
  names=$(sed -n -E 's/^PACKAGECONFIG\[([a-z0-9-]+)\] = .*/\1/p' "$recipe")
  for n in $names; do
    row=$(grep -E "^\| \`$n\` \|" "$readme")
    [ -n "$row" ] || { bad "README.md has no Options row for PACKAGECONFIG '$n'"; continue; }
    on=off; [[ $defaults == *" $n "* ]] && on=on
    [ "$(awk -F'|' '{gsub(/ /, "", $3); print $3}' <<<"$row")" = "$on" ] ||
      bad "README.md says PACKAGECONFIG '$n' is $(awk -F'|' '{gsub(/ /, "", $3); print $3}' <<<"$row") by default, the recipe has it $on"
    flag=$(sed -n -E "s/^PACKAGECONFIG\[$n\] = \"(-D[A-Z_]+)=ON,.*/\1/p" "$recipe")
    grep -q -- "\`$flag=ON/OFF\`" <<<"$row" || bad "README.md row '$n' does not name the recipe's flag $flag=ON/OFF"
  done
  for n in $(sed -n -E 's/^\| `([a-z0-9-]+)` \| (on|off) \|.*/\1/p' "$readme"); do
    grep -qx "$n" <<<"$names" || bad "README.md documents PACKAGECONFIG '$n', which the recipe does not have"
  done
  local plain; plain=$(echo $defaults)
  grep -q -x -F "PACKAGECONFIG:pn-flowdb = \"$plain\"" "$readme" ||
    bad "README.md's PACKAGECONFIG:pn-flowdb example is not the recipe default \"$plain\""
  rflags=$(sed -n -E 's/^ +(-D[A-Z_]+=[A-Z]+) *\\?$/\1/p' "$recipe" | sort)
  dflags=$(awk '/always passes/ { p = 1 } p && /^$/ { exit } p' "$readme" |
           grep -o -E -- '-D[A-Z_]+=[A-Z]+' | sort)
  [ -n "$rflags" ] || bad "no EXTRA_OECMAKE -D flags found in the recipe"
  [ "$rflags" = "$dflags" ] ||
    bad "README.md's always-passed flags ($(echo $dflags)) differ from the recipe's EXTRA_OECMAKE ($(echo $rflags))"
  grep -q -E '^Maintainer: .+ <[^>]+@[^>]+>' "$readme" || bad "README.md has no 'Maintainer: Name <email>' line"
  grep -q 'bitbake-layers add-layer .*meta-flowdb' "$readme" || bad "README.md does not show bitbake-layers add-layer"
}
check_readme
# layer.conf: the series CI tests on, and the layers the recipes come from.
grep -q -E '^LAYERSERIES_COMPAT_flowdb = ".*scarthgap' "$layer/conf/layer.conf" ||
  bad "layer.conf LAYERSERIES_COMPAT_flowdb lacks scarthgap (the series CI parses with)"
for l in core openembedded-layer meta-python networking-layer; do
  grep -q -E "^LAYERDEPENDS_flowdb = \".*\b$l\b" "$layer/conf/layer.conf" || bad "layer.conf LAYERDEPENDS_flowdb lacks $l"
done
grep -q 'AUTOREV' <<<"$(grep -v '^#' "$recipe")" && bad "recipe uses AUTOREV (bitbake would need the network to parse)"

[ "$fail" -eq 0 ] && echo "check-consistency: layer and project agree"
exit "$fail"
