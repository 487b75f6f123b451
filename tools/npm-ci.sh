#!/usr/bin/env bash
# Installs the packages of a package.json + package-lock.json exactly as
# locked (npm ci) into DEST, outside the source tree; again only when the
# lock file changed.  Never downloads a browser (PUPPETEER_SKIP_DOWNLOAD).
#   tools/npm-ci.sh SRC_DIR DEST_DIR
set -euo pipefail
src=$1
dest=$2
stamp=$dest/.installed
want=$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
   && [ -d "$dest/node_modules" ]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "npm-ci: installing nodejs and npm (apt)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm \
            >/dev/null
    else
        echo "npm-ci: npm not found; apt-get install nodejs npm" >&2
        exit 1
    fi
fi
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
echo "npm-ci: installing $src/package-lock.json into $dest" >&2
if ! PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix "$dest" --no-audit \
        --no-fund --loglevel=error >"$dest/install.log" 2>&1
then
    cat "$dest/install.log" >&2
    echo "npm-ci: could not install from the npm registry (offline?  set" \
         "npm's registry or proxy, or copy $dest from a machine that has" \
         "it)" >&2
    exit 1
fi
printf '%s' "$want" > "$stamp"
