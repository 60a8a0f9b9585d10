"""Judging a matches_pattern check's regular expression before a scan runs it.

Spark evaluates the pattern with Java's regex engine; it is compiled here with Python's,
which agrees on the common syntax (classes, quantifiers, anchors, groups, alternation,
possessive quantifiers and atomic groups). The Java-only forms a user is likely to write are
translated for the check; the Python-only ones, which Java would refuse, are refused here.
"""

from __future__ import annotations

import re

MAX_PATTERN_LENGTH = 1000

# Java's named group (?<name>...), as Python writes it; not (?<= or (?<! lookbehinds.
_JAVA_NAMED_GROUP = re.compile(r"\(\?<([A-Za-z][A-Za-z0-9]*)>")
# Java's Unicode classes \p{L}, \P{Alpha}, \pL: any single letter stands in for them.
_JAVA_PROPERTY = re.compile(r"\\[pP](?:\{[A-Za-z_=]+\}|[A-Za-z])")
# Java's quoting \Q...\E (or to the end of the pattern).
_JAVA_QUOTE = re.compile(r"\\Q(.*?)(?:\\E|$)", re.DOTALL)
_PYTHON_ONLY = re.compile(r"\(\?P[<=>]")


def check_pattern(pattern: str) -> str:
    """The pattern if it compiles; ValueError saying why not."""
    if _PYTHON_ONLY.search(pattern):
        raise ValueError(
            "uses Python's (?P...) syntax, which Spark's Java regex refuses: write (?<name>...)"
        )
    translated = _JAVA_QUOTE.sub(lambda m: re.escape(m.group(1)), pattern)
    translated = _JAVA_NAMED_GROUP.sub(r"(?P<\1>", translated)
    translated = _JAVA_PROPERTY.sub("a", translated)
    try:
        re.compile(translated)
    except re.error as exc:
        raise ValueError(f"is not a valid regular expression: {exc.msg}") from None
    return pattern
