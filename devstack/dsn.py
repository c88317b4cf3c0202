"""PostgreSQL URLs rewritten: the same server, another database and, if given, another login."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit


def dsn_for(dsn: str, database: str, *, user: str | None = None, password: str = "") -> str:
    """``dsn`` with its path set to ``database`` (and its login to ``user``/``password``)."""
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if user is not None:
        login = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
        netloc = f"{login}@{netloc.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{database}"))
