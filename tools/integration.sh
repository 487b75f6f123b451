#!/usr/bin/env bash
# Runs the integration tests against the module built with ASan/UBSan,
# loaded into Debian's /usr/sbin/nginx with the ASan runtime preloaded.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export KEFU_MODULE=${KEFU_MODULE:-$top/build/nginx-asan/ngx_http_kefu_module.so}
cd "$top"
exec prove -I lua-free-tests/lib ${PROVE_ARGS:-} lua-free-tests/t/
