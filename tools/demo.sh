#!/usr/bin/env bash
# The demo service behind `make run` / `make stop` / `make reload` /
# `make cluster`: a private Redis (or a Redis Cluster) and Debian's nginx
# with the kefu module and a demo tenant, all state under run/demo/ in the
# checkout (the local cluster of `make cluster` under build/cluster/).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dir=$top/run/demo
http_port=${KEFU_HTTP_PORT:-8080}
https_port=${KEFU_HTTPS_PORT:-8443}
redis_port=${KEFU_REDIS_PORT:-6390}
kb=${KEFU_KB:-$top/demo/kb.json}
module=${KEFU_MODULE:-$top/build/nginx/ngx_http_kefu_module.so}
nginx=${KEFU_NGINX:-/usr/sbin/nginx}
webnpm=${KEFU_WEB_NPM:-$top/build/web-npm}
cluster_dir=$top/build/cluster
cluster_port=${KEFU_CLUSTER_PORT:-7101}

# `make reload` without KEFU_REDIS / KEFU_REDIS_CLUSTER keeps the Redis
# the demo was started on
if [ "${1:-}" = reload ] && [ -z "${KEFU_REDIS:-}${KEFU_REDIS_CLUSTER:-}" ] \
   && [ -f "$dir/redis.env" ]; then
    # shellcheck disable=SC1091
    . "$dir/redis.env"
fi

redis_opts="timeout=200ms connect_timeout=500ms"
mode() {
    if [ -n "${KEFU_REDIS_CLUSTER:-}" ]; then
        redis_addr="Redis Cluster, seeds $KEFU_REDIS_CLUSTER (loss reports"
        redis_addr+=" acknowledged once a replica has them)"
        # a loss report is acknowledged once a replica of its master has it
        redis_conf="kefu_redis_cluster ${KEFU_REDIS_CLUSTER//,/ } $redis_opts;"
        redis_conf+="\n    kefu_report_replicas 1;"
        own_redis=0
    elif [ -n "${KEFU_REDIS:-}" ]; then
        redis_addr=$KEFU_REDIS
        redis_conf="kefu_redis $redis_addr $redis_opts;"
        own_redis=0
    else
        redis_addr=127.0.0.1:$redis_port
        redis_conf="kefu_redis $redis_addr $redis_opts;"
        own_redis=1
    fi
}
mode

running() {
    [ -f "$1" ] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null
}

write_files() {
    mkdir -p "$dir"/{secrets,logs,tmp,redis}
    chmod 755 "$dir"
    if [ ! -s "$dir/secrets/demo.secret" ]; then
        (umask 077; openssl rand -hex 32 > "$dir/secrets/demo.secret")
    fi
    if [ ! -s "$dir/cert.pem" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
            -nodes -days 365 -subj /CN=localhost \
            -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
            -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
    fi
    kb=$(readlink -f "$kb")
    [ -r "$kb" ] || { echo "demo: cannot read KEFU_KB $kb" >&2; exit 1; }

    # AOF with fsync on every write: an acknowledged loss report survives
    # a crash of Redis (see README, "Redis durability").
    cat > "$dir/redis.conf" <<EOF
port $redis_port
bind 127.0.0.1
dir $dir/redis
pidfile $dir/redis/redis.pid
logfile $dir/redis/redis.log
daemonize yes
save ""
appendonly yes
appendfsync always
EOF

    sed -e "s|@DIR@|$dir|g" -e "s|@MODULE@|$module|g" -e "s|@KB@|$kb|g" \
        -e "s|@REDIS_CONF@|$redis_conf|g" -e "s|@HTTP_PORT@|$http_port|g" \
        -e "s|@HTTPS_PORT@|$https_port|g" \
        "$top/demo/nginx.conf.in" > "$dir/nginx.conf"
    sed -e "s|@WEB@|$top/web|g" -e "s|@WEBNPM@|$webnpm|g" \
        "$top/demo/web.conf.in" > "$dir/web.conf"
}

start() {
    [ -f "$module" ] || { echo "demo: build the module first" >&2; exit 1; }
    write_files
    printf 'KEFU_REDIS=%q\nKEFU_REDIS_CLUSTER=%q\n' "${KEFU_REDIS:-}" \
        "${KEFU_REDIS_CLUSTER:-}" > "$dir/redis.env"

    if [ "$own_redis" = 1 ] && ! running "$dir/redis/redis.pid"; then
        redis-server "$dir/redis.conf"
        for _ in $(seq 100); do
            redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
            sleep 0.05
        done
    fi

    "$nginx" -p "$dir/" -c "$dir/nginx.conf" -t -q
    if running "$dir/nginx.pid"; then
        "$nginx" -p "$dir/" -c "$dir/nginx.conf" -s reload
    else
        "$nginx" -p "$dir/" -c "$dir/nginx.conf"
    fi
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$http_port/kefu/v1/health" >/dev/null \
            && break
        sleep 0.05
    done

    examples
}

examples() {
    local tok adm
    tok=$("$top/build/tools/kefu_token" --secret-file \
          "$dir/secrets/demo.secret" --tenant demo --user u1 --ttl 3600)
    adm=$("$top/build/tools/kefu_token" --secret-file \
          "$dir/secrets/demo.secret" --tenant demo --user trainer \
          --scope admin --ttl 3600)
    cat <<EOF

ngx_kefu demo is running (state in $dir)
  HTTP   http://127.0.0.1:$http_port/kefu/v1/
  HTTPS  https://127.0.0.1:$https_port/kefu/v1/   (self-signed, HTTP/2)
  Redis  $redis_addr

Open in a browser (the token rides in the URL fragment, never sent to the
server; the page keeps it for this tab and removes it from the address bar):
  Chat page, demo user u1:
    http://127.0.0.1:$http_port/kefu/web/chat.html?scene=bill#token=$tok
  Trainer's console, admin "trainer":
    http://127.0.0.1:$http_port/kefu/web/console.html#token=$adm

Tokens (1 hour; more with: make token USER=u2 [SCOPE=admin]):
  export TOKEN=$tok
  export ADMIN=$adm

Try:
  curl -s http://127.0.0.1:$http_port/kefu/v1/health
  curl -s -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$http_port/kefu/v1/whoami
  curl -sk --http2 -H "Authorization: Bearer \$TOKEN" https://127.0.0.1:$https_port/kefu/v1/whoami

Ask, then follow up in the same session:
  curl -s -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"question":"蚁花怎么开通","session_id":"demo-1"}' http://127.0.0.1:$http_port/kefu/v1/ask
  curl -s -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"question":"那怎么关闭呢","session_id":"demo-1"}' http://127.0.0.1:$http_port/kefu/v1/ask
  curl -s -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"question":"我手机丢了,怎么办"}' http://127.0.0.1:$http_port/kefu/v1/ask

The trainer's console (admin token):
  curl -s -H "Authorization: Bearer \$ADMIN" -H 'Content-Type: application/json' \\
       -d '{"question":"花呗怎么还款","k":3}' http://127.0.0.1:$http_port/kefu/v1/admin/search
EOF
    cat <<EOF

一键挂失 (idempotent: repeat it with the same key and get the same report):
  curl -s -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -H 'Idempotency-Key: demo-lost-phone-1' \\
       -d '{"kind":"phone","reason":"stolen","police_report":true}' http://127.0.0.1:$http_port/kefu/v1/loss-reports
Hand the dialogue to a human agent, and the trainer's statistics:
  curl -s -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"session_id":"demo-1"}' http://127.0.0.1:$http_port/kefu/v1/handoff
  curl -s -H "Authorization: Bearer \$ADMIN" 'http://127.0.0.1:$http_port/kefu/v1/admin/stats?days=7'
Prometheus metrics (loopback only):
  curl -s http://127.0.0.1:$http_port/metrics | head -30
EOF
    if [ -f "$top/demo/examples.sh" ]; then
        # shellcheck disable=SC1091
        . "$top/demo/examples.sh"
    fi
    echo
    echo "Stop with: make stop"
}

stop() {
    if running "$dir/nginx.pid"; then
        "$nginx" -p "$dir/" -c "$dir/nginx.conf" -s quit
        for _ in $(seq 100); do
            running "$dir/nginx.pid" || break
            sleep 0.05
        done
    fi
    if running "$dir/redis/redis.pid"; then
        kill "$(cat "$dir/redis/redis.pid")"
        for _ in $(seq 100); do
            running "$dir/redis/redis.pid" || break
            sleep 0.05
        done
    fi
    if [ -d "$cluster_dir" ]; then
        "$top/tools/cluster.pl" stop "$cluster_dir"
    fi
    echo "ngx_kefu demo stopped"
}

# the local cluster (3 masters + 3 replicas on ports KEFU_CLUSTER_PORT..+5)
# and the demo on it
cluster() {
    KEFU_REDIS_CLUSTER=$("$top/tools/cluster.pl" start "$cluster_dir" \
                         "$cluster_port")
    export KEFU_REDIS_CLUSTER
    mode
    start
}

reload() {
    write_files
    "$nginx" -p "$dir/" -c "$dir/nginx.conf" -t -q
    "$nginx" -p "$dir/" -c "$dir/nginx.conf" -s reload
    echo "ngx_kefu demo reloaded"
}

case "${1:-}" in
    start) start ;;
    cluster) cluster ;;
    stop) stop ;;
    reload) reload ;;
    *) echo "usage: $0 start|cluster|stop|reload" >&2; exit 2 ;;
esac
