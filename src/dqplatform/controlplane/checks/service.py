"""Creating and changing quality checks and check templates.

Callers own the transaction. Every definition goes through checks.validation first, so
what is stored is what a scan can judge.
"""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dqplatform.controlplane.checks.models import CheckArchiveStatus, CheckStatus, QualityCheck
from dqplatform.controlplane.checks.schemas import (
    KNOWN_FIELDS,
    RESPONSE_FIELDS,
    CheckCreate,
    CheckUpdate,
    TemplateCreate,
    _CheckWrite,
)
from dqplatform.controlplane.checks.validation import CheckInvalid, Definition, Judged, judge
from dqplatform.controlplane.containers.models import Container
from dqplatform.controlplane.db.base import utcnow
from dqplatform.controlplane.errors import NotFound
from dqplatform.controlplane.validation import invalid_field
from dqplatform.messaging.rules import canonical_rule


def require_check(session: Session, check_id: int, *, template: bool | None = None) -> QualityCheck:
    row = session.get(QualityCheck, check_id)
    if row is None or (template is not None and row.is_template != template):
        kind = "check template" if template else "quality check"
        raise NotFound(f"no {kind} with id {check_id}")
    return row


def _container(session: Session, container_id: int) -> Container:
    row = session.get(Container, container_id)
    if row is None:
        raise invalid_field("container_id", f"no container with id {container_id}")
    return row


def container_of(session: Session, row: QualityCheck) -> Container | None:
    """The check's container as the latest catalog has it (None if it no longer sees it)."""
    if row.datastore_id is None or row.container is None:
        return None
    query = select(Container).where(
        Container.datastore_id == row.datastore_id, Container.name == row.container
    )
    return session.scalars(query).first()


def _judged(
    session: Session, definition: Definition, container: Container | None, template: bool
) -> Judged:
    try:
        return judge(session, definition, container, template=template)
    except CheckInvalid as exc:
        raise exc.as_request_error() from None


def _rule_of(body: CheckCreate | TemplateCreate | CheckUpdate) -> str | None:
    return body.rule or body.rule_type


def _apply_common(row: QualityCheck, body: _CheckWrite, judged: Judged) -> None:
    """The definition's judged parts and the fields set in `body`."""
    row.rule = judged.rule.value
    row.fields = judged.fields
    row.coverage = judged.coverage
    row.filter = judged.filter
    row.properties = judged.properties
    given = body.model_fields_set
    for name in ("description", "anomaly_message_field", "owner_id"):
        if name in given:
            setattr(row, name, getattr(body, name))
    if "default_anomaly_assignee_id" in given:
        row.default_anomaly_assignee_id = body.default_anomaly_assignee_id
    if "tags" in given:
        row.tags = list(dict.fromkeys(body.tags or []))
    if "additional_metadata" in given:
        row.additional_metadata = dict(body.additional_metadata or {})
    ignored = KNOWN_FIELDS | RESPONSE_FIELDS
    extra = {k: v for k, v in body.extra_fields().items() if k not in ignored}
    if extra:
        row.extra = {**(row.extra or {}), **extra}
    if "status" in given and body.status is not None:
        _set_status(row, body.status)


def _set_status(row: QualityCheck, status: str) -> None:
    """Active and Draft (re)activate; Archived keeps an archived check archived and
    archives (as Discarded) one that is not."""
    now = utcnow()
    if status == "Archived":
        if row.archived_at is None:
            row.archived_at = now
            row.archive_status = CheckArchiveStatus.DISCARDED.value
        return
    row.status = CheckStatus(status).value
    row.archived_at = None
    row.archive_status = None


def _definition(body: CheckCreate, template: QualityCheck | None) -> Definition:
    """The definition a new check is judged by: the body's, or, with a template, the
    template's rule, its properties (when left out, or when it is locked) and its filter
    and coverage when left out."""
    rule = _rule_of(body)
    given = body.model_fields_set
    if template is None:
        if rule is None:
            raise invalid_field("rule", "give the rule (or a template_id)")
        return Definition(
            rule=rule,
            fields=list(body.fields or []),
            coverage=body.coverage,
            filter=body.filter,
            properties=dict(body.properties or {}),
        )
    if rule is not None and _canonical(rule) != template.rule:
        raise invalid_field(
            "rule", f"template {template.id} is a {template.rule} check, not {rule}"
        )
    locked = template.template_locked
    return Definition(
        rule=template.rule,
        fields=list(body.fields or []),
        coverage=body.coverage if "coverage" in given else template.coverage,
        filter=body.filter if body.filter is not None else template.filter,
        properties=dict(
            template.properties if body.properties is None or locked else body.properties
        ),
    )


def _canonical(rule: str) -> str | None:
    try:
        return canonical_rule(rule).value
    except ValueError:
        return None


def _store_new(
    session: Session, row: QualityCheck, body: _CheckWrite, judged: Judged
) -> QualityCheck:
    """A new check or template, placed by the caller: Active, with what the body gives."""
    now = utcnow()
    row.status = CheckStatus.ACTIVE.value
    row.tags, row.additional_metadata, row.extra = [], {}, {}
    row.created_at = row.updated_at = now
    _apply_common(row, body, judged)
    session.add(row)
    session.flush()
    return row


def create_check(session: Session, body: CheckCreate) -> QualityCheck:
    container = _container(session, body.container_id)
    template = require_template(session, body.template_id) if body.template_id is not None else None
    definition = _definition(body, template)
    judged = _judged(session, definition, container, False)
    row = QualityCheck(
        datastore_id=container.datastore_id,
        container=container.name,
        is_template=False,
        template_id=template.id if template is not None else None,
        template_locked=template.template_locked if template is not None else False,
    )
    return _store_new(session, row, body, judged)


def require_template(session: Session, template_id: int) -> QualityCheck:
    row = session.get(QualityCheck, template_id)
    if row is None or not row.is_template:
        raise invalid_field("template_id", f"no check template with id {template_id}")
    return row


def create_template(session: Session, body: TemplateCreate) -> QualityCheck:
    rule = _rule_of(body)
    if rule is None:
        raise invalid_field("rule", "give the rule")
    definition = Definition(
        rule=rule,
        fields=list(body.fields or []),
        coverage=body.coverage,
        filter=body.filter,
        properties=dict(body.properties or {}),
    )
    judged = _judged(session, definition, None, True)
    row = QualityCheck(
        datastore_id=None, container=None, is_template=True, template_locked=body.template_locked
    )
    return _store_new(session, row, body, judged)


def update_check(session: Session, row: QualityCheck, body: CheckUpdate) -> QualityCheck:
    """Change what `body` sets; the definition as a whole is judged again."""
    given = body.model_fields_set
    container: Container | None = None
    if not row.is_template:
        if body.container_id is not None:
            container = _container(session, body.container_id)
            if container.datastore_id != row.datastore_id:
                raise invalid_field("container_id", "a check stays in its datastore")
        else:
            # None if the latest catalog no longer sees it: the check can still be changed
            # (archived, restored, described), its field names then taken as they are.
            container = container_of(session, row)
    rule = _rule_of(body) or row.rule
    properties = body.properties if "properties" in given else row.properties
    if rule != row.rule and "properties" not in given:
        properties = {}  # the old rule's properties mean nothing to the new one
    definition = Definition(
        rule=rule,
        fields=list(body.fields or []) if "fields" in given else list(row.fields),
        coverage=body.coverage if "coverage" in given else row.coverage,
        filter=body.filter if "filter" in given else row.filter,
        properties=dict(properties or {}),
    )
    judged = _judged(session, definition, container, row.is_template)
    if row.template_locked and row.template_id is not None:
        _refuse_unlocked_change(session, row, judged)
    if container is not None:
        row.container = container.name
    if row.is_template and body.template_locked is not None:
        row.template_locked = body.template_locked
    _apply_common(row, body, judged)
    row.updated_at = utcnow()
    if row.is_template and row.template_locked:
        _follow_template(session, row)
    session.flush()
    return row


def _refuse_unlocked_change(session: Session, row: QualityCheck, judged: Judged) -> None:
    template = session.get(QualityCheck, row.template_id)
    if template is None:
        return
    if judged.rule.value != template.rule or judged.properties != template.properties:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "properties"),
                    "msg": f"the check follows locked template {template.id}: its rule and "
                    "properties are the template's",
                    "type": "value_error",
                }
            ]
        )


def _follow_template(session: Session, template: QualityCheck) -> None:
    """Checks made from a locked template take its rule and properties."""
    now = utcnow()
    session.execute(
        update(QualityCheck)
        .where(QualityCheck.template_id == template.id, QualityCheck.template_locked.is_(True))
        .values(rule=template.rule, properties=template.properties, updated_at=now)
    )
