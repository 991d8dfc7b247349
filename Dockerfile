# idbb production image: slim Python, non-root, gunicorn with uvicorn workers, migrations on start.
# docker/entrypoint.sh holds the start-up logic (workers, metrics directory, healthcheck); see its header.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    IDBB_OPENAPI_DIR=/srv/idbb/openapi \
    IDBB_HOST=0.0.0.0 \
    IDBB_PORT=8080
# IDBB_WORKERS: 1 by default, 2 when IDBB_REDIS_URL is set; more than 1 without Redis is refused.

# fonts-dejavu-core: the card's Unicode font (IDBB_CARD_FONT)
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/idbb
COPY pyproject.toml README.md ./
COPY app ./app
COPY openapi ./openapi
COPY docker/entrypoint.sh /usr/local/bin/idbb-entrypoint
RUN pip install '.[postgres,redis]' \
 && chmod 0755 /usr/local/bin/idbb-entrypoint \
 && useradd --system --uid 10001 --home-dir /data --create-home idbb

USER idbb
WORKDIR /data
# A SQLite database (the default IDBB_DATABASE_URL, sqlite:///idbb.db) and anything else idbb writes lives here.
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 CMD ["idbb-entrypoint", "healthcheck"]

ENTRYPOINT ["idbb-entrypoint"]
