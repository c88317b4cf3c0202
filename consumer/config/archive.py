"""Where `consumer archive` and `export-raw` reach the raw archive: a local directory needs
nothing; an S3-compatible bucket (R2, SeaweedFS, AWS) takes its endpoint and keys from here.
One frozen object per process, loaded from the env; the secret key is shown only masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from feed.settings import boolean, env, load, masked_repr, secret


@dataclass(frozen=True, slots=True)
class ArchiveSettings:
    # An S3-compatible endpoint (https://<account>.r2.cloudflarestorage.com); empty: AWS.
    s3_endpoint: str = field(default="", metadata=env("VINOPS_ARCHIVE_S3_ENDPOINT"))
    s3_region: str = field(default="auto", metadata=env("VINOPS_ARCHIVE_S3_REGION"))
    s3_access_key_id: str = field(default="", metadata=env("VINOPS_ARCHIVE_S3_ACCESS_KEY_ID"))
    s3_secret_access_key: str = field(
        default="", metadata=secret("VINOPS_ARCHIVE_S3_SECRET_ACCESS_KEY")
    )
    # Plain http to the endpoint: only for a server on the same host (tests, devstack).
    s3_allow_http: bool = field(
        default=False, metadata=env("VINOPS_ARCHIVE_S3_ALLOW_HTTP", boolean)
    )

    def __repr__(self) -> str:
        return masked_repr(self)

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ArchiveSettings:
        return load(cls, environ)
