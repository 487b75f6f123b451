# Sourced by bench/*.sh: the settings they share (each may be set in the
# environment) and the module and token tool, built when missing.
#   bench_setup NAME [COMMAND...]   NAME for messages; COMMANDs needed
#                                   besides wrk

top=$(cd "$(dirname "$0")/.." && pwd)
export KEFU_MODULE=${KEFU_MODULE:-$top/build/nginx/ngx_http_kefu_module.so}
export DURATION=${DURATION:-5s} CONNS=${CONNS:-50} THREADS=${THREADS:-2}
export WORKERS=${WORKERS:-2} APPENDFSYNC=${APPENDFSYNC:-everysec}

bench_setup() {
    local name=$1 c
    shift
    for c in wrk "$@"; do
        command -v "$c" >/dev/null \
            || { echo "$name: $c missing" >&2; exit 1; }
    done
    [ -f "$KEFU_MODULE" ] || make -C "$top" --no-print-directory module
    [ -x "$top/build/tools/kefu_token" ] \
        || make -C "$top" --no-print-directory tools
}
