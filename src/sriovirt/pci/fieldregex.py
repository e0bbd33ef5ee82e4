"""Operators' per-field address regexes, evaluated in bounded time.

A ``device_spec`` address may be an object of regular expressions, one per
PCI address field.  Those expressions come from a configuration file, so a
hostile or careless one (``(.?){150}g``) must not make matching burn CPU:
with Python's backtracking ``re`` such a pattern takes minutes per device.

This module compiles them with RE2 (``google-re2``), whose matching time is
linear in the input, and then goes further: an address field has a small
finite set of values (bus 256, slot 32, function 8), so the values a
pattern accepts are computed once, at parse time, and matching a device is
a set lookup.  Domains (65,536 values) are evaluated on first use and
remembered.  Constructs RE2 cannot run in linear time (backreferences,
lookarounds) are refused with a reason the caller puts in its error.

This module must not import anything of the project but the stdlib and
``re2``; it knows nothing of config entries or devices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

import re2

#: Longer patterns are refused: no PCI field needs one, and RE2's memory
#: use grows with the pattern.
MAX_PATTERN: Final = 256
#: Fields with at most this many values are evaluated entirely at parse
#: time (bus, slot, function); larger ones (domain) lazily.
_EAGER_LIMIT: Final = 256
_PLAIN_HEX: Final = re.compile(r"[0-9a-fA-F]+")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class PatternError(Exception):
    """A pattern cannot be used; ``reason`` says why (internal)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    # RE2 would print its own diagnostics to stderr; the caller reports.
    options.log_errors = False
    options.never_capture = True
    # Bounded memory for the compiled program (bytes).
    options.max_mem = 1 << 20
    return options


def _reason(exc: Exception) -> str:
    detail = exc.args[0] if exc.args else exc
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    # RE2 quotes the offending part of the pattern raw: keep the message
    # on one line.
    text = _CONTROL.sub(lambda found: repr(found.group())[1:-1], str(detail))
    if "invalid perl operator" in text or "invalid escape sequence" in text:
        text += (
            " (backreferences and lookarounds are not supported: "
            "patterns run on a linear-time engine)"
        )
    return text


@dataclass(frozen=True, slots=True, eq=False)
class FieldPattern:
    """One compiled field pattern; it must match the whole field.

    ``width`` is the field's zero-padded hex width and ``top`` its largest
    value.  Equality and hashing go by ``(source, width)``.
    """

    source: str
    width: int
    top: int
    _regex: re2._Regexp[str] = field(repr=False)
    #: Accepted values, when computed eagerly.
    _values: frozenset[int] | None = field(repr=False)
    #: Lazy answers for large fields; bounded by ``top + 1`` entries.
    _seen: dict[int, bool] = field(repr=False)

    @classmethod
    def compile(cls, source: str, width: int, top: int) -> FieldPattern:
        """Compile ``source``; raise :class:`PatternError` with a reason."""
        if len(source) > MAX_PATTERN:
            raise PatternError(
                f"the pattern is {len(source)} characters long; at most "
                f"{MAX_PATTERN} are allowed"
            )
        try:
            regex = re2.compile(source, _options())
        except re2.error as exc:
            raise PatternError(
                f"{source!r} is not a supported regular expression: "
                f"{_reason(exc)}"
            ) from None
        values: frozenset[int] | None = None
        if top < _EAGER_LIMIT:
            values = frozenset(
                value
                for value in range(top + 1)
                if regex.fullmatch(f"{value:0{width}x}") is not None
            )
        return cls(source, width, top, regex, values, {})

    def matches(self, value: int) -> bool:
        """Does the pattern fully match ``value`` as a padded hex field?"""
        if self._values is not None:
            return value in self._values
        known = self._seen.get(value)
        if known is None:
            known = (
                0 <= value <= self.top
                and self._regex.fullmatch(f"{value:0{self.width}x}")
                is not None
            )
            self._seen[value] = known
        return known

    @property
    def plain_value(self) -> int | None:
        """The value of a pattern that is plain hex digits within range.

        Nova reads such a field as an exact number (``"a"`` is bus 0x0a),
        not as a pattern; an address whose four fields are all plain is
        one exact address.
        """
        if _PLAIN_HEX.fullmatch(self.source) is None:
            return None
        number = int(self.source, 16)
        return number if number <= self.top else None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldPattern):
            return NotImplemented
        return (self.source, self.width) == (other.source, other.width)

    def __hash__(self) -> int:
        return hash((self.source, self.width))
