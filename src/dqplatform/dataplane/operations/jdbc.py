"""Databases read through Spark's JDBC reader: URLs, driver options, catalog and size queries."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from pyspark.sql import DataFrame, SparkSession

from dqplatform.dataplane.operations.context import OperationFailed
from dqplatform.messaging.operations import DatastoreSpec

Dialect = Literal["postgresql", "mysql"]

_DIALECTS: dict[str, Dialect] = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
}
_DEFAULT_PORTS: dict[Dialect, int] = {"postgresql": 5432, "mysql": 3306}
CONNECT_TIMEOUT_SECONDS = 15
# A read streams rows in batches; this bounds one wait for the next batch, not the whole read.
SOCKET_TIMEOUT_SECONDS = 1800
# Catalog and size queries are small; one that takes longer than this is stuck.
METADATA_QUERY_TIMEOUT_SECONDS = 60
FETCH_SIZE = 10_000
# Spark's own JDBC options: a datastore's driver parameters must not replace them (what is
# read, from where, as whom) nor run statements of their own.
_RESERVED_OPTIONS = {
    "url",
    "dbtable",
    "query",
    "driver",
    "user",
    "password",
    "preparequery",
    "sessioninitstatement",
    "customschema",
    "partitioncolumn",
    "lowerbound",
    "upperbound",
    "numpartitions",
    "pushdownaggregate",
    "pushdowntablesample",
    # Driver properties that name a class to load or a local file to read or write: whoever
    # may edit a datastore must not get code or files of the dataplane through them.
    "socketfactory",
    "socketfactoryarg",
    "sslfactory",
    "sslfactoryarg",
    "sslhostnameverifier",
    "sslpasswordcallback",
    "authenticationpluginclassname",
    "credentialtype",
    "loggerfile",
    "allowlocalinfile",
    "allowloadlocalinfile",
}
# Characters that would end the database part of a MySQL JDBC URL and start options.
_URL_SEPARATORS = set("/?&#;\\")


def dialect_of(spec: DatastoreSpec) -> Dialect:
    dialect = _DIALECTS.get((spec.connection_type or "").lower())
    if dialect is None:
        raise OperationFailed(
            f"connection type {spec.connection_type!r} cannot be read: "
            "use postgresql, mysql or mariadb"
        )
    return dialect


def mysql_driver_class(jars: list[str]) -> str:
    """MariaDB's driver when its jar is loaded (it serves MySQL too), else MySQL's own."""
    names = [os.path.basename(jar).lower() for jar in jars]
    if any("mariadb" in name for name in names) or not any("mysql" in name for name in names):
        return "org.mariadb.jdbc.Driver"
    return "com.mysql.cj.jdbc.Driver"


@dataclass(frozen=True)
class JdbcSource:
    dialect: Dialect
    url: str
    options: dict[str, str]  # driver, user, password, timeouts and the datastore's parameters
    namespace: str  # the PostgreSQL schema or the MySQL database the containers live in

    @classmethod
    def from_spec(cls, spec: DatastoreSpec, jars: list[str]) -> JdbcSource:
        dialect = dialect_of(spec)
        if not spec.host:
            raise OperationFailed("the datastore has no host")
        port = spec.port or _DEFAULT_PORTS[dialect]
        if dialect == "postgresql":
            namespace = spec.schema_name or "public"
            # The PostgreSQL driver decodes the database part of its URL.
            database = quote(spec.database or "postgres", safe="")
            driver = "org.postgresql.Driver"
            timeouts = {
                "connectTimeout": str(CONNECT_TIMEOUT_SECONDS),
                "loginTimeout": str(CONNECT_TIMEOUT_SECONDS),
                "socketTimeout": str(SOCKET_TIMEOUT_SECONDS),
            }
        else:
            if not spec.database:
                raise OperationFailed("a MySQL or MariaDB datastore needs a database")
            if _URL_SEPARATORS & set(spec.database):
                raise OperationFailed(
                    f"the database name {spec.database!r} cannot be used in a JDBC URL"
                )
            database = namespace = spec.database
            driver = mysql_driver_class(jars)
            timeouts = {
                "connectTimeout": str(CONNECT_TIMEOUT_SECONDS * 1000),
                "socketTimeout": str(SOCKET_TIMEOUT_SECONDS * 1000),
                # A server may answer any query by asking for a client file (LOAD DATA LOCAL):
                # the dataplane never sends one.
                "allowLocalInfile": "false",
            }
        # jdbc:mysql also for MariaDB: Spark picks its MySQL dialect (backquoted names,
        # MySQL types) by that prefix, and MariaDB's driver accepts it.
        scheme = "postgresql" if dialect == "postgresql" else "mysql"
        host = f"[{spec.host}]" if ":" in spec.host else spec.host
        options = {"driver": driver, "fetchsize": str(FETCH_SIZE), **timeouts}
        for key, value in spec.parameters.items():
            if key.lower() in _RESERVED_OPTIONS:
                raise OperationFailed(f"the datastore parameter {key!r} is not allowed")
            options[key] = str(value).lower() if isinstance(value, bool) else str(value)
        if spec.username:
            options["user"] = spec.username
        if spec.password is not None:
            options["password"] = spec.password.get_secret_value()
        url = f"jdbc:{scheme}://{host}:{port}/{database}"
        return cls(dialect, url, options, namespace)

    # --- SQL text --------------------------------------------------------------------------

    def quote(self, identifier: str) -> str:
        mark = '"' if self.dialect == "postgresql" else "`"
        return mark + identifier.replace(mark, mark * 2) + mark

    def literal(self, text: str) -> str:
        escaped = text.replace("'", "''")
        if self.dialect == "mysql":
            # Unless NO_BACKSLASH_ESCAPES is on, MySQL reads backslashes in literals.
            escaped = escaped.replace("\\", "\\\\")
        return f"'{escaped}'"

    def table(self, name: str) -> str:
        return f"{self.quote(self.namespace)}.{self.quote(name)}"

    def sampled_table(self, name: str, fraction: float, seed: int) -> str:
        """A subquery drawing about `fraction` of the rows, the same ones on every read of
        unchanged data; the database draws them, so only the sample crosses the network."""
        if self.dialect == "postgresql":
            percent = f"{fraction * 100:.9f}"
            sample = (
                f"SELECT * FROM {self.table(name)} "  # noqa: S608 - quoted identifiers only
                f"TABLESAMPLE BERNOULLI ({percent}) REPEATABLE ({seed})"
            )
        else:
            # RAND(seed) gives the same sequence on every scan in the same order.
            table = self.table(name)
            sample = f"SELECT * FROM {table} WHERE RAND({seed}) < {fraction:.12f}"  # noqa: S608
        return f"({sample}) dqp_sample"

    def containers_query(self) -> str:
        """name, type ('table' or 'view') and size_bytes (NULL where unknown) per container.

        The one value in it, the schema's name, is an escaped literal (S608 below)."""
        schema = self.literal(self.namespace)
        if self.dialect == "postgresql":
            return (
                "SELECT t.table_name AS name, "  # noqa: S608
                "CASE WHEN t.table_type = 'VIEW' THEN 'view' ELSE 'table' END AS type, "
                "CASE WHEN t.table_type = 'VIEW' THEN NULL ELSE pg_total_relation_size("
                "format('%I.%I', t.table_schema, t.table_name)::regclass) END AS size_bytes "
                "FROM information_schema.tables t "
                f"WHERE t.table_schema = {schema} "
                "AND t.table_type IN ('BASE TABLE', 'VIEW', 'FOREIGN') "
                "ORDER BY t.table_name"
            )
        return (
            "SELECT t.table_name AS name, "  # noqa: S608
            "CASE WHEN t.table_type = 'VIEW' THEN 'view' ELSE 'table' END AS type, "
            "CASE WHEN t.table_type = 'VIEW' THEN NULL "
            "ELSE t.data_length + t.index_length END AS size_bytes "
            "FROM information_schema.tables t "
            f"WHERE t.table_schema = {schema} "
            "AND t.table_type IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED') "
            "ORDER BY t.table_name"
        )

    # --- reading ---------------------------------------------------------------------------

    def read_query(self, spark: SparkSession, query: str) -> DataFrame:
        return (
            spark.read.format("jdbc")
            .options(**self.options)
            .option("url", self.url)
            .option("query", query)
            .option("queryTimeout", str(METADATA_QUERY_TIMEOUT_SECONDS))
            .load()
        )

    def read_table(self, spark: SparkSession, dbtable: str, count_in_database: bool) -> DataFrame:
        """`dbtable` (a quoted name or a subquery); with `count_in_database`, a count()
        runs as SELECT COUNT(*) in the database instead of streaming every row."""
        return (
            spark.read.format("jdbc")
            .options(**self.options)
            .option("url", self.url)
            .option("dbtable", dbtable)
            .option("pushDownAggregate", "true" if count_in_database else "false")
            .load()
        )
