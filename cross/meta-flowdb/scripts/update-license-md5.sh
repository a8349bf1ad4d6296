#!/bin/sh
# update-license-md5.sh [--check]
#
# Keeps FLOWDB_LICENSE_MD5 in recipes-core/flowdb/flowdb_git.bb equal to the md5 of the
# repository's root LICENSE (what bitbake checks through LIC_FILES_CHKSUM).
#   (no args)  rewrite the recipe if the value differs
#   --check    change nothing; exit 1 if it differs (for CI / consistency tests)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
layer=$(dirname "$here")
repo=$(cd "$layer/../.." && pwd)
recipe="$layer/recipes-core/flowdb/flowdb_git.bb"
license="$repo/LICENSE"

[ -f "$license" ] || { echo "update-license-md5: $license does not exist" >&2; exit 1; }
want=$(md5sum "$license" | cut -d' ' -f1)
have=$(sed -n 's/^FLOWDB_LICENSE_MD5 = "\([0-9a-f]*\)"$/\1/p' "$recipe")
[ -n "$have" ] || { echo "update-license-md5: no FLOWDB_LICENSE_MD5 line in $recipe" >&2; exit 1; }

if [ "$have" = "$want" ]; then
    echo "update-license-md5: OK ($want)"
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    echo "update-license-md5: MISMATCH: recipe has $have, LICENSE is $want" >&2
    echo "  run: $0" >&2
    exit 1
fi
sed -i "s/^FLOWDB_LICENSE_MD5 = \"$have\"$/FLOWDB_LICENSE_MD5 = \"$want\"/" "$recipe"
echo "update-license-md5: $recipe: $have -> $want"
