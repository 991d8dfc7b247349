#!/bin/sh
# The idbb image's entrypoint (POSIX sh; tests/unit/test_container_entrypoint.py runs it with stubs).
#
#   entrypoint.sh              migrations (idempotent), then gunicorn with uvicorn workers
#   entrypoint.sh healthcheck  exit 0 when GET /health on IDBB_PORT answers 200 (the image's HEALTHCHECK)
#   entrypoint.sh CMD ...      run that command instead (docker run IMAGE idbb keys list)
#
# Workers: without IDBB_REDIS_URL the long-poll wake-ups (link-status, link-auth-code) reach only the worker
# that made them, so the default is 1 worker, and more than 1 without Redis is refused rather than run
# half-working. With Redis the default is 2. Several workers get PROMETHEUS_MULTIPROC_DIR so /metrics merges
# them (prometheus_client reads it at import, hence here, before gunicorn starts).
set -eu

port="${IDBB_PORT:-8080}"

if [ "${1:-}" = "healthcheck" ]; then
  exec python -c 'import sys, urllib.request
sys.exit(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=2).status != 200)' "$port"
fi
if [ "$#" -gt 0 ]; then
  exec "$@"
fi

if [ -n "${IDBB_REDIS_URL:-}" ]; then default_workers=2; else default_workers=1; fi
workers="${IDBB_WORKERS:-$default_workers}"
case "$workers" in
  '' | *[!0-9]* | 0 | 0*) echo "idbb: IDBB_WORKERS must be a positive whole number, not '$workers'" >&2; exit 64 ;;
esac
if [ "$workers" -gt 1 ] && [ -z "${IDBB_REDIS_URL:-}" ]; then
  echo "idbb: IDBB_WORKERS=$workers needs IDBB_REDIS_URL (without Redis a wallet's reply wakes only one" \
       "worker's long polls); set IDBB_REDIS_URL or run 1 worker" >&2
  exit 64
fi
if [ "$workers" -gt 1 ]; then
  PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/idbb-metrics}"
  export PROMETHEUS_MULTIPROC_DIR
  rm -rf "$PROMETHEUS_MULTIPROC_DIR"  # a previous run's files would be counted again
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi

idbb init-db
# FORWARDED_ALLOW_IPS tells uvicorn which proxy may set X-Forwarded-Proto; idbb builds its URLs from
# IDBB_ISSUER, not from request headers.
exec gunicorn app.asgi:app -k uvicorn_worker.UvicornWorker -w "$workers" -b "${IDBB_HOST:-0.0.0.0}:$port" \
  --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" --access-logfile /dev/null
