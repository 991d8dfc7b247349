# idbb production image: slim Python, non-root, gunicorn with uvicorn workers, migrations on start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    IDBB_OPENAPI_DIR=/srv/idbb/openapi \
    IDBB_HOST=0.0.0.0 \
    IDBB_PORT=8080 \
    IDBB_WORKERS=2

WORKDIR /srv/idbb
COPY pyproject.toml README.md ./
COPY app ./app
COPY openapi ./openapi
RUN pip install '.[postgres,redis]' \
 && useradd --system --uid 10001 --home-dir /data --create-home idbb

USER idbb
WORKDIR /data
EXPOSE 8080

HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2).status != 200)"

# Migrations first (idempotent), then the server. FORWARDED_ALLOW_IPS tells uvicorn which proxy
# may set X-Forwarded-Proto; idbb builds its URLs from IDBB_ISSUER, not from request headers.
CMD ["sh", "-c", "idbb init-db && exec gunicorn app.asgi:app -k uvicorn_worker.UvicornWorker -w \"$IDBB_WORKERS\" -b \"$IDBB_HOST:$IDBB_PORT\" --forwarded-allow-ips \"${FORWARDED_ALLOW_IPS:-127.0.0.1}\" --access-logfile /dev/null"]
