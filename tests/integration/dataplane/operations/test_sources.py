"""What the readers derive from a datastore without Spark: JDBC URLs and options, refused
parameters, SQL quoting, the sample fraction, scrubbed messages. (No Spark: fast.)"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from dqplatform.dataplane.engine import KNOWN_JDBC_JARS, jdbc_jars
from dqplatform.dataplane.operations.context import OperationFailed
from dqplatform.dataplane.operations.errors import scrub
from dqplatform.dataplane.operations.jdbc import JdbcSource, mysql_driver_class
from dqplatform.dataplane.operations.readers import Container, sample_fraction
from dqplatform.messaging.operations import DatastoreSpec
from dqplatform.settings import Settings

JARS = ["/usr/share/java/postgresql.jar", "/usr/share/java/mariadb-java-client.jar"]


def spec(**fields: object) -> DatastoreSpec:
    values: dict[str, object] = {"kind": "jdbc", "host": "db.internal", "username": "reader"}
    values.update(fields)
    return DatastoreSpec(**values)  # type: ignore[arg-type]


def test_postgresql_url_options_and_defaults() -> None:
    source = JdbcSource.from_spec(
        spec(
            connection_type="postgresql",
            database="sales db?x=1",
            password=SecretStr("pw"),
            parameters={"sslmode": "require", "tcpKeepAlive": True},
        ),
        JARS,
    )
    # The database part is encoded: it cannot add URL options.
    assert source.url == "jdbc:postgresql://db.internal:5432/sales%20db%3Fx%3D1"
    assert source.namespace == "public"
    assert source.options["driver"] == "org.postgresql.Driver"
    assert source.options["user"] == "reader" and source.options["password"] == "pw"
    assert source.options["sslmode"] == "require" and source.options["tcpKeepAlive"] == "true"
    assert source.options["connectTimeout"] == "15"
    assert int(source.options["socketTimeout"]) > 0
    assert source.table('we"ird') == '"public"."we""ird"'
    assert source.literal("it's") == "'it''s'"


@pytest.mark.parametrize("kind", ["mysql", "mariadb"])
def test_mysql_and_mariadb_use_the_mysql_dialect_without_local_files(kind: str) -> None:
    source = JdbcSource.from_spec(spec(connection_type=kind, port=3307, database="shop"), JARS)
    assert source.url == "jdbc:mysql://db.internal:3307/shop"
    assert source.options["driver"] == "org.mariadb.jdbc.Driver"
    assert source.options["allowLocalInfile"] == "false"
    assert "password" not in source.options
    assert source.table("a`b") == "`shop`.`a``b`"
    assert source.literal("x\\' OR 1=1") == "'x\\\\'' OR 1=1'"


def test_mysql_connector_only_when_no_mariadb_jar() -> None:
    assert mysql_driver_class(["/opt/mysql-connector-j-9.1.0.jar"]) == "com.mysql.cj.jdbc.Driver"
    assert mysql_driver_class(["/opt/mysql-connector-j.jar", JARS[1]]) == "org.mariadb.jdbc.Driver"
    assert mysql_driver_class([]) == "org.mariadb.jdbc.Driver"


@pytest.mark.parametrize(
    "parameter",
    ["url", "dbtable", "Driver", "sessionInitStatement", "socketFactory", "allowLocalInfile"],
)
def test_parameters_that_would_change_what_is_run_are_refused(parameter: str) -> None:
    with pytest.raises(OperationFailed, match=f"parameter '{parameter}' is not allowed"):
        JdbcSource.from_spec(spec(connection_type="postgresql", parameters={parameter: "x"}), JARS)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"connection_type": "oracle"}, "cannot be read"),
        ({"connection_type": "mysql"}, "needs a database"),
        ({"connection_type": "mysql", "database": "a?b"}, "cannot be used in a JDBC URL"),
        ({"connection_type": "postgresql", "host": None}, "has no host"),
    ],
)
def test_unusable_datastores_fail_clearly(fields: dict[str, object], message: str) -> None:
    with pytest.raises(OperationFailed, match=message):
        JdbcSource.from_spec(spec(**fields), JARS)


def test_sampled_subqueries_are_repeatable() -> None:
    pg = JdbcSource.from_spec(spec(connection_type="postgresql"), JARS)
    assert pg.sampled_table("t", 0.25, 42) == (
        '(SELECT * FROM "public"."t" TABLESAMPLE BERNOULLI (25.000000000) REPEATABLE (42)) '
        "dqp_sample"
    )
    my = JdbcSource.from_spec(spec(connection_type="mariadb", database="d"), JARS)
    assert my.sampled_table("t", 0.5, 42) == (
        "(SELECT * FROM `d`.`t` WHERE RAND(42) < 0.500000000000) dqp_sample"
    )


def test_the_sample_fraction_is_the_limit_over_the_size() -> None:
    mib = 1024 * 1024
    assert sample_fraction(Container("t", "table", 4 * mib), 1) == 0.25
    assert sample_fraction(Container("t", "table", mib), 1) is None  # at the limit: whole
    assert sample_fraction(Container("v", "view", None), 1) is None  # size unknown: whole


def test_scrub_masks_the_secret_in_every_form_and_keeps_one_line() -> None:
    text = "failed for p@ss/w rd\n at host, url user:p%40ss%2Fw%20rd@h and p%40ss%2Fw+rd"
    scrubbed = scrub(text, ["p@ss/w rd"])
    assert "p@ss" not in scrubbed and "p%40ss" not in scrubbed
    assert "\n" not in scrubbed
    assert scrubbed.count("********") == 3
    assert len(scrub("x" * 5000, [])) == 400


def test_jdbc_jars_from_the_setting_or_the_known_locations(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    jar = tmp_path / "driver.jar"
    jar.write_bytes(b"PK")
    configured = Settings(data_dir=tmp_path, jdbc_jars=f" {jar} ,{tmp_path / 'missing.jar'},")
    with caplog.at_level(logging.WARNING):
        assert jdbc_jars(configured) == [str(jar)]
    assert "missing.jar" in caplog.text
    known = [path for path in KNOWN_JDBC_JARS if Path(path).is_file()]
    assert jdbc_jars(Settings(data_dir=tmp_path)) == known
    assert jdbc_jars(Settings(data_dir=tmp_path, jdbc_jars="")) == []
