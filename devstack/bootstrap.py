"""The cluster bootstrap as a postgres container runs it: which files go where, which
passwords it reads. docker-compose.yml mounts the same files at the same paths (a test holds
the two equal); devstack/pg.sh runs the same wrapper on the local cluster."""

from __future__ import annotations

from pathlib import Path

# (file in the repository, path in the container, mode): the image's entrypoint runs what
# is in /docker-entrypoint-initdb.d once, on an empty data directory.
BOOTSTRAP_FILES: tuple[tuple[Path, str, int], ...] = (
    (Path("deploy/postgres-init.sh"), "/docker-entrypoint-initdb.d/10-vinops-bootstrap.sh", 0o755),
    (Path("devstack/bootstrap.sql"), "/vinops/bootstrap.sql", 0o644),
)
# The logins' passwords the wrapper reads (besides the image's own POSTGRES_PASSWORD), in the
# order vinops_admin, vinops_etl.
PASSWORD_VARIABLES = ("VINOPS_ADMIN_PASSWORD", "VINOPS_ETL_PASSWORD")
