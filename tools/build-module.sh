#!/usr/bin/env bash
# Builds ngx_http_kefu_module.so against Debian's nginx-dev, the way
# Debian's own nginx_mod build system does.  Usage: build-module.sh DIR CFLAGS
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bld=$1
extra=${2:-}
src=${NGX_SRC:-/usr/share/nginx/src}
[ -f "$src/conf_flags" ] || {
    echo "build-module: $src/conf_flags missing; apt-get install nginx-dev" >&2
    exit 1
}
mkdir -p "$bld"
# configure again only when the addon config, the flags or the list of
# sources or scripts changed (a script's text: make, config.make)
stamp="$bld/.configured"
want="$(cat "$top/config" "$top/config.make"; echo "$extra"
       ls "$top"/ngx_kefu_module "$top"/ngx_kefu_module/lua)"
if [ ! -f "$bld/Makefile" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]
then
    (
        cd "$src"
        # shellcheck disable=SC1091
        . ./conf_flags
        ./configure --with-cc-opt="-g -O2 -Wextra -Wno-unused-parameter $extra" \
            --with-ld-opt="$extra" "${NGX_CONF_FLAGS[@]}" \
            --add-dynamic-module="$top" --builddir="$bld"
    ) > "$bld/configure.log" 2>&1 || {
        cat "$bld/configure.log" >&2
        exit 1
    }
    printf '%s' "$want" > "$stamp"
fi
rm -f "$bld/ngx_http_kefu_module.so"
make -s --no-print-directory -f "$bld/Makefile" -C "$src" modules >&2
test -f "$bld/ngx_http_kefu_module.so"
