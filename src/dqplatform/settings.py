"""The platform's one settings object, read from `DQP_*` environment variables."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Platform = Literal["aws", "gcp", "azure", "local"]
Engine = Literal["kubernetes", "databricks", "local"]
Size = Literal["small", "medium", "large", "xlarge"]

# The Helm chart of the platform we follow derives the deployment size from the
# dataplane driver's cores.
_SIZE_BY_MAX_CORES: tuple[tuple[int, str], ...] = (
    (4, "small"),
    (8, "medium"),
    (16, "large"),
    (32, "xlarge"),
)


def size_for_cores(cores: int) -> str:
    """Deployment size for a driver with `cores` cores, as the platform's chart derives it."""
    for max_cores, size in _SIZE_BY_MAX_CORES:
        if 1 <= cores <= max_cores:
            return size
    return "unspecified"


class Settings(BaseSettings):
    """Every knob of the platform. Each field is `DQP_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="DQP_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path(".dqp"),
        description="Directory for the embedded database, the generated secrets and the "
        "embedded broker's messages.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the controlplane database. Default: a SQLite file "
        "in the data dir. PostgreSQL: postgresql+psycopg://user:pass@host:5432/db.",
    )
    broker_url: str | None = Field(
        default=None,
        description="kombu URL of the message broker. Default: the broker-free "
        "filesystem:// transport under the data dir. RabbitMQ: amqp://user:pass@host:5672//.",
    )
    jwt_secret: SecretStr | None = Field(
        default=None,
        description="HMAC secret that signs tokens. Default: generated once and kept in "
        "<data dir>/jwt_secret with mode 0600.",
    )
    secrets_key: SecretStr | None = Field(
        default=None,
        description="Key that encrypts connection passwords at rest: a Fernet key, or any "
        "secret of at least 32 characters. To rotate, give several separated by commas: the "
        "first encrypts, every one decrypts. Default: generated once and kept in "
        "<data dir>/secrets_key with mode 0600 (losing it loses the stored passwords).",
    )
    jwt_ttl_seconds: int = Field(
        default=3600, ge=60, le=30 * 24 * 3600, description="Lifetime of session tokens."
    )
    platform: Platform = Field(default="local", description="Cloud provider reported by GET /api.")
    engine: Engine = Field(default="local", description="Compute engine reported by GET /api.")
    size: Size | None = Field(
        default=None,
        description="Deployment size reported by GET /api. Default: derived from "
        "DQP_DRIVER_CORES (1-4 small, 5-8 medium, 9-16 large, 17-32 xlarge).",
    )
    driver_cores: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="Cores of the dataplane driver, used to derive the size. Default: "
        "this machine's cores.",
    )
    host: str = Field(default="127.0.0.1", description="Address the controlplane listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port of the controlplane.")
    workers: int = Field(
        default=1, ge=1, le=64, description="Controlplane server worker processes."
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=1024**3,
        description="Largest request body the controlplane reads, in bytes; a larger one is "
        "answered 413 without being read.",
    )
    auth_cache_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="How often the controlplane reloads users (and so how soon a deleted "
        "user or changed role takes effect).",
    )
    spark_master: str = Field(default="local[*]", description="Spark master of the dataplane.")
    spark_conf: str | None = Field(
        default=None,
        description="More Spark configuration for the dataplane's session, as comma-separated "
        "key=value pairs (spark.executor.memory=2g,spark.executor.cores=2). Applied last, so "
        "it wins over the platform's own choices. A part without '=' continues the previous "
        "value, so list values such as spark.jars=a.jar,b.jar pass through.",
    )
    spark_driver_memory: str = Field(
        default="1g", pattern=r"^\d+[kmgt]?$", description="spark.driver.memory of the dataplane."
    )
    jdbc_jars: str | None = Field(
        default=None,
        description="JDBC driver jars the dataplane's Spark loads, comma-separated paths. "
        "Default: those of the known locations that exist (the Debian packages "
        "libpostgresql-jdbc-java and libmariadb-java install them under /usr/share/java).",
    )
    thread_pool_parallelism: int = Field(
        default=4, ge=1, le=256, description="Operations the dataplane runs at once."
    )
    max_dataframe_size_mb: int = Field(
        default=2048, ge=1, description="Largest dataframe an operation may load, in MB."
    )
    shutdown_grace_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="Time the dataplane has to drain and exit."
    )
    probe_timeout_seconds: float = Field(
        default=2.0, gt=0, le=60, description="Deadline of each GET /api/status check."
    )
    status_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="Age under which a dataplane probe result is reused by later status calls.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level of both planes."
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log lines of both planes: text for people, json for log collectors "
        "(one JSON object per line).",
    )
    files_roots: Annotated[tuple[Path, ...], NoDecode] = Field(
        default=(),
        description="The folders file datastores must be inside, comma-separated absolute "
        "paths. A datastore's path is judged after '..' and symbolic links are resolved: by "
        "the controlplane when the datastore is saved (422 otherwise) and by the dataplane "
        "before it reads, file by file. Default: <data dir>/files, created when the "
        "dataplane starts. Give both planes the same value.",
    )
    metrics_public: bool = Field(
        default=True,
        description="Whether GET /api/metrics answers without a token (Prometheus scrapers "
        "usually carry none); false requires the Member role like the rest of the API.",
    )

    @field_validator("broker_url", "database_url")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        return value

    @field_validator("files_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("files_roots")
    @classmethod
    def _absolute_roots(cls, value: tuple[Path, ...]) -> tuple[Path, ...]:
        relative = [str(root) for root in value if not root.is_absolute()]
        if relative:
            # A relative root would mean another folder in each process's working directory.
            raise ValueError(f"must be absolute paths, not {', '.join(relative)}")
        return value

    @field_validator("spark_conf")
    @classmethod
    def _spark_pairs(cls, value: str | None) -> str | None:
        if value is not None:
            parse_spark_conf(value)  # raises ValueError naming the bad part
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str | None) -> str | None:
        if value is not None and value.split("://", 1)[0] not in {
            "amqp",
            "pyamqp",
            "filesystem",
            "memory",
        }:
            raise ValueError("must start with amqp://, filesystem:// or memory://")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:// or postgresql+psycopg:// URL")
        return value

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dqp.db').resolve()}"

    @cached_property
    def resolved_broker_url(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def broker_folder(self) -> Path:
        """Where the embedded filesystem broker keeps its messages."""
        return (self.data_dir / "broker").resolve()

    @cached_property
    def resolved_files_roots(self) -> tuple[Path, ...]:
        """The folders file datastores must be inside, links resolved, without repeats."""
        roots = self.files_roots or (self.default_files_root,)
        return tuple(dict.fromkeys(root.resolve() for root in roots))

    @property
    def default_files_root(self) -> Path:
        return self.data_dir / "files"

    @cached_property
    def spark_conf_pairs(self) -> dict[str, str]:
        """DQP_SPARK_CONF as a mapping, in the order given."""
        return parse_spark_conf(self.spark_conf) if self.spark_conf else {}

    @property
    def deployment_size(self) -> str:
        return self.size or size_for_cores(self.driver_cores)

    @cached_property
    def signing_secret(self) -> str:
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return _read_or_create_secret(self.data_dir / "jwt_secret")

    @cached_property
    def encryption_secret(self) -> str:
        """The key material of DQP_SECRETS_KEY, or of the key generated in the data dir."""
        if self.secrets_key is not None:
            return self.secrets_key.get_secret_value()
        return _read_or_create_secret(self.data_dir / "secrets_key")


_SPARK_KEY = re.compile(r"spark\.[A-Za-z0-9_.\-]+")


def parse_spark_conf(text: str) -> dict[str, str]:
    """Comma-separated spark.key=value pairs; a part without '=' continues the last value."""
    pairs: dict[str, str] = {}
    last: str | None = None
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep:
            if last is None:
                if not part.strip():
                    continue
                raise ValueError(f"expected spark.key=value, got {part.strip()!r}")
            pairs[last] += "," + part.strip()
            continue
        key = key.strip()
        if not _SPARK_KEY.fullmatch(key):
            raise ValueError(f"{key!r} is not a Spark configuration key (spark.*)")
        pairs[key] = value.strip()
        last = key
    return pairs


def _read_or_create_secret(path: Path) -> str:
    """Return the secret in `path`, creating it (mode 0600) on first use.

    The secret is written to a file of its own and then linked into place, so that a process
    starting at the same moment never reads a half-written (empty) secret: whichever link
    lands first wins, and everyone reads that one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):
                os.link(candidate, path)
        finally:
            candidate.unlink(missing_ok=True)
    value = path.read_text().strip()
    if not value:
        raise SettingsError(f"the secret file {path} is empty: remove it to generate a new one")
    return value


class SettingsError(Exception):
    """A setting has an invalid value; the message names the variable."""


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation error into one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        raise SettingsError(f"invalid setting DQP_{field.upper()}: {first['msg']}") from None
