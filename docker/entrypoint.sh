#!/bin/sh
# Creates the demo secret and a self-signed certificate on first start.
set -e
mkdir -p /etc/kefu/secrets /etc/kefu/tls
[ -s /etc/kefu/secrets/demo.secret ] \
    || (umask 077; openssl rand -hex 32 > /etc/kefu/secrets/demo.secret)
[ -s /etc/kefu/tls/cert.pem ] \
    || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -nodes -days 365 -subj /CN=localhost \
        -keyout /etc/kefu/tls/key.pem -out /etc/kefu/tls/cert.pem 2>/dev/null
# KEFU_REDIS_CLUSTER="IP:port IP:port ...": a Redis Cluster instead of
# the one Redis, loss reports acknowledged once a replica has them
if [ -n "${KEFU_REDIS_CLUSTER:-}" ]; then
    sed -i "s|^    kefu_redis .*|    kefu_redis_cluster $KEFU_REDIS_CLUSTER timeout=200ms;\\
    kefu_report_replicas 1;|" /etc/nginx/nginx.conf
fi
nginx -t -q
exec nginx -g 'daemon off;'
