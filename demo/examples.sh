# Sourced by tools/demo.sh after its own examples ($http_port, $tok, $top
# are set): "猜你关心" commands, printed, never run.
# shellcheck shell=bash disable=SC2154

cat <<EOF

猜你关心 — suggestions before the user types (welcome questions first):
  curl -s -H "Authorization: Bearer \$TOKEN" 'http://127.0.0.1:$http_port/kefu/v1/suggestions?limit=5'
Report a failed transfer, then ask again: 转账失败 comes first, with the reason:
  curl -s -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"events":[{"type":"transfer_failed","attrs":{"amount":500}}]}' http://127.0.0.1:$http_port/kefu/v1/events
  curl -s -H "Authorization: Bearer \$TOKEN" 'http://127.0.0.1:$http_port/kefu/v1/suggestions?limit=5'
On the bill screen, with a bill coming due:
  curl -s -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"events":[{"type":"bill_due"}]}' http://127.0.0.1:$http_port/kefu/v1/events
  curl -s -H "Authorization: Bearer \$TOKEN" 'http://127.0.0.1:$http_port/kefu/v1/suggestions?scene=bill'
A fraud pattern (new device, then a large transfer to a new payee): anti-fraud first, with 一键挂失/报案:
  curl -s -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d "{\"events\":[{\"type\":\"login_new_device\",\"ts\":\$((\$(date +%s)-300))},{\"type\":\"transfer_new_payee\"},{\"type\":\"transfer_large\"}]}" \\
       http://127.0.0.1:$http_port/kefu/v1/events
  curl -s -H "Authorization: Bearer \$TOKEN" 'http://127.0.0.1:$http_port/kefu/v1/suggestions'
EOF
