# vinops-ingest: one image for `consumer run` (default), `consumer migrate` and `producer`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed unprivileged user: the service needs no root, and volumes get a stable owner.
RUN groupadd --system --gid 10001 vinops \
 && useradd --system --uid 10001 --gid vinops --home-dir /app --shell /usr/sbin/nologin vinops

WORKDIR /app

# Dependencies change less often than the code: install them in their own layer.
COPY pyproject.toml README.md ./
COPY feed/ feed/
COPY producer/ producer/
COPY consumer/ consumer/
RUN pip install . && rm -rf build *.egg-info

# Migrations are data, not a package: the runner is told where they are.
COPY migrations/ migrations/
ENV VINOPS_MIGRATIONS_DIR=/app/migrations \
    VINOPS_METRICS_PORT=9108

USER vinops
EXPOSE 9108

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('VINOPS_METRICS_PORT', '9108') + '/healthz', timeout=4)"]

CMD ["consumer", "run"]
