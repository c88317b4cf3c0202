# vinops-ingest: one image for `consumer run` (default), `consumer migrate` and `producer`.
# An exact release, not a floating tag: a rebuild later runs what was tested.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed unprivileged user: the service needs no root, and volumes get a stable owner.
RUN groupadd --system --gid 10001 vinops \
 && useradd --system --uid 10001 --gid vinops --home-dir /app --shell /usr/sbin/nologin vinops

WORKDIR /app

# Dependencies change less often than the code: installed in their own layer from
# pyproject.toml alone, so a code change rebuilds from the COPY of the code on.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY README.md ./
COPY feed/ feed/
COPY producer/ producer/
COPY consumer/ consumer/
RUN pip install --no-deps . && rm -rf build *.egg-info

# Migrations are data, not a package: the runner is told where they are.
COPY migrations/ migrations/
ENV VINOPS_MIGRATIONS_DIR=/app/migrations \
    VINOPS_METRICS_PORT=9108

USER vinops
EXPOSE 9108

# Ready, not only alive (as the compose healthcheck): partitions assigned, PostgreSQL and the
# broker reachable.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('VINOPS_METRICS_PORT', '9108') + '/readyz', timeout=4)"]

CMD ["consumer", "run"]
