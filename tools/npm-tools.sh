#!/usr/bin/env bash
# Installs pinned npm packages into a project-local prefix when missing.
#   tools/npm-tools.sh DIR pkg@version...
# A stamp file holds the list, so changing a pin reinstalls.
set -euo pipefail
dir=$1
shift
want="$*"
stamp=$dir/.installed
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "npm-tools: installing nodejs and npm (apt)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm \
            >/dev/null
    else
        echo "npm-tools: npm not found; apt-get install nodejs npm" >&2
        exit 1
    fi
fi
mkdir -p "$dir"
echo "npm-tools: installing $want into $dir" >&2
if ! npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
        "$@" >"$dir/install.log" 2>&1
then
    cat "$dir/install.log" >&2
    echo "npm-tools: could not install $want from the npm registry" \
         "(offline?  set npm's registry or proxy, or copy $dir from a" \
         "machine that has it)" >&2
    exit 1
fi
printf '%s' "$want" > "$stamp"
