"""Rules on time: each record's time against a bound (notFuture, afterDateTime,
beforeDateTime, betweenTimes), the newest record's age (freshness) and the records per
interval (timeDistributionSize).

Times are compared as instants. A naive timestamp (TIMESTAMP_NTZ) and a property's time
without an offset are UTC; a date is its midnight UTC; text is parsed, an offset in it
honoured, and text that is no time fails the per-record rules. Nulls pass.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Row
from pyspark.sql import functions as F

from dqplatform.dataplane.operations.rules.base import (
    AggregateRule,
    PassRule,
    RecordRule,
    RuleInput,
    Verdict,
    instant,
    never_null,
    timestamp_literal,
    utc,
)
from dqplatform.messaging.rule_properties import (
    BetweenTimesProperties,
    DateTimeProperties,
    FreshnessProperties,
    TimeDistributionProperties,
)


def _session_tz(rule: RuleInput) -> str:
    return rule.df.sparkSession.conf.get("spark.sql.session.timeZone") or "UTC"


def _moment(rule: RuleInput) -> tuple[Column, Column]:
    """(the record's instant, "is no time")."""
    name, value, data_type = rule.single()
    moment = instant(name, value, data_type, _session_tz(rule))
    return moment, value.isNotNull() & moment.isNull()


def not_future(rule: RuleInput) -> RecordRule:
    # current_timestamp() is one instant for the whole query: every record sees the same now.
    moment, bad = _moment(rule)
    return RecordRule(never_null(moment > F.current_timestamp()) | bad, "are in the future")


def _text(moment: dt.datetime) -> str:
    return utc(moment).isoformat()


def after_date_time(rule: RuleInput) -> RecordRule:
    p: DateTimeProperties = rule.props(DateTimeProperties)
    moment, bad = _moment(rule)
    failing = never_null(moment <= timestamp_literal(p.datetime)) | bad
    return RecordRule(failing, f"are not after {_text(p.datetime)}")


def before_date_time(rule: RuleInput) -> RecordRule:
    p: DateTimeProperties = rule.props(DateTimeProperties)
    moment, bad = _moment(rule)
    failing = never_null(moment >= timestamp_literal(p.datetime)) | bad
    return RecordRule(failing, f"are not before {_text(p.datetime)}")


def between_times(rule: RuleInput) -> RecordRule:
    # Inclusive bounds, as `between`'s default.
    p: BetweenTimesProperties = rule.props(BetweenTimesProperties)
    moment, bad = _moment(rule)
    outside = (moment < timestamp_literal(p.min_time)) | (moment > timestamp_literal(p.max_time))
    text = f"are not between {_text(p.min_time)} and {_text(p.max_time)}"
    return RecordRule(never_null(outside) | bad, text)


def freshness(rule: RuleInput) -> AggregateRule:
    """The newest time of the field in `fields[0]` must be less than `value` ms old."""
    p: FreshnessProperties = rule.props(FreshnessProperties)
    name = rule.check.fields[0] if rule.check.fields else None
    moment, _ = _moment(rule)
    newest = f"{rule.alias}_newest"
    age = f"{rule.alias}_age"
    latest = F.max(F.when(rule.judged, moment))
    # Milliseconds from the newest record to now, computed by Spark with its one now.
    elapsed = (F.unix_micros(F.current_timestamp()) - F.unix_micros(latest)) / 1000
    columns = [latest.alias(newest), elapsed.alias(age)]

    def judge(row: Row) -> Verdict:
        if row[newest] is None:
            return Verdict(False, 0, 0, f"field {name} holds no time: the freshness is unknown")
        age_ms = float(row[age])
        passed = age_ms < p.value
        message = f"the newest {name} is {age_ms:.0f} ms old" + (
            "" if passed else f", older than the {p.value} ms allowed"
        )
        return Verdict(passed, 0, 0, message, value=age_ms)

    return AggregateRule(columns, judge)


_TRUNC = {"hour": "hour", "day": "day", "week": "week", "month": "month", "year": "year"}


def time_distribution_size(rule: RuleInput) -> PassRule:
    """Every interval (of the field's UTC time) that holds records must hold between min and
    max of them; intervals without any record are not judged (there is no range to fill)."""
    p: TimeDistributionProperties = rule.props(TimeDistributionProperties)
    moment, _ = _moment(rule)
    bucket = F.date_trunc(_TRUNC[p.interval], F.to_utc_timestamp(moment, _session_tz(rule)))
    name = rule.check.fields[0]

    def run(df: DataFrame) -> Verdict:
        counts = df.select(bucket.alias("bucket")).where(F.col("bucket").isNotNull())
        counts = counts.groupBy("bucket").count()
        bad = F.lit(False)
        if p.min is not None:
            bad = bad | (F.col("count") < p.min)
        if p.max is not None:
            bad = bad | (F.col("count") > p.max)
        summary = counts.agg(
            F.count(F.lit(1)).alias("buckets"),
            F.count(F.when(bad, 1)).alias("bad"),
            F.sum(F.when(bad, F.col("count"))).alias("bad_records"),
            F.sum("count").alias("records"),
        ).first()
        assert summary is not None
        buckets, failing = int(summary["buckets"]), int(summary["bad"])
        records = int(summary["records"] or 0)
        bounds = f"{p.min if p.min is not None else 0} to {p.max if p.max is not None else 'any'}"
        message = (
            f"{failing} of {buckets} {p.interval} intervals of {name} do not hold {bounds} records"
        )
        return Verdict(failing == 0, records, int(summary["bad_records"] or 0), message)

    return PassRule(run)
