"""Decoding the JSON entries of ``[pci] device_spec`` and ``[pci] alias``.

Both options are multi-valued, each value a JSON object or a JSON list of
objects.  This module turns the values into numbered
:class:`ConfigEntry` objects (:func:`iter_config_entries`,
:func:`iter_option_values`), remembers where each came from
(:class:`EntryOrigin`) and which keys were given twice, and holds the
field helpers both parsers share (hex ids, boolean tags, bounded
printable text, typo hints), so both options report errors the same way:
option, entry position, entry text, field and reason
(:func:`config_error`, the only place an entry error is built), and
warnings the same way (:func:`entry_warning`).

This module must not know what an entry means: which keys a device_spec
entry or an alias has, and what they select, belong to
:mod:`sriovirt.pci.devspec` and :mod:`sriovirt.pci.alias`.  It must not
read configuration itself; values come in as plain strings.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sriovirt import exception
from sriovirt.pci.device import hex_id
from sriovirt.pci.tags import parse_bool

# C0 controls, DEL and C1 controls: never meant in a name, and a NUL or
# a newline corrupts logs and messages.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(r"[ \t]*(?:\r\n|\r|\n)\s*")
_MAX_TEXT = 200


class SpecFieldError(Exception):
    """A field of one config entry is wrong.

    Internal: parsers raise it without knowing where the entry came from;
    the caller that knows the position turns it into the public
    ``InvalidDeviceSpec``/``InvalidPciAlias``.  It never escapes the
    package's public functions.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class EntryOrigin:
    """Where an entry came from: option, 1-based position, value, item.

    ``position`` counts entries across every value of the option;
    ``value`` is the 1-based index of the option value (one config line);
    ``item`` is the 1-based index inside that value when it is a list.
    """

    option: str
    position: int = 1
    value: int = 1
    item: int | None = None

    def __str__(self) -> str:
        text = f"entry {self.position}"
        if self.item is not None:
            text += f" (item {self.item} of value {self.value})"
        elif self.value != self.position:
            text += f" (value {self.value})"
        return text


def render_json(value: object) -> str:
    """The entry as the operator would recognise it, kept short."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (ValueError, TypeError, RecursionError):
        text = "<entry that cannot be printed>"
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 3] + "..."
    return text


def one_line(text: str) -> str:
    """A config value as one short line for a message.

    oslo.config joins continuation lines with newlines: fold each line
    break and its indentation into one space, escape any other control
    character, and cut what is too long.
    """
    folded = _LINE_BREAK.sub(" ", text)
    escaped = _CONTROL.sub(lambda found: repr(found.group())[1:-1], folded)
    if len(escaped) > _MAX_TEXT:
        escaped = escaped[: _MAX_TEXT - 3] + "..."
    return escaped


def describe_json(value: object) -> str:
    """Name a decoded JSON value's type for an error message."""
    if value is None:
        return "JSON null"
    if isinstance(value, bool):
        return f"the JSON boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the JSON number {render_json(value)}"
    if isinstance(value, str):
        return f"the JSON string {render_json(value)}"
    if isinstance(value, list):
        return "a JSON list"
    if isinstance(value, dict):
        return "a JSON object"
    return f"a {type(value).__name__}"


def config_error(
    cls: type[exception.InvalidConfigEntry],
    origin: EntryOrigin,
    text: str,
    field: str,
    reason: str,
) -> exception.InvalidConfigEntry:
    """Build the public error naming option, position, text and field.

    The one way an entry error is made: every parser raises
    :class:`SpecFieldError` and its caller, knowing the origin, turns it
    into ``cls`` here.
    """
    return cls(
        option=origin.option,
        where=str(origin),
        position=origin.position,
        value=origin.value,
        item=origin.item,
        entry=text,
        field=field,
        reason=reason,
    )


def entry_warning(origin: EntryOrigin, text: str, note: str) -> str:
    """A warning about one entry, placed as :func:`config_error` places
    an error: option, entry position and text, then the note."""
    return f"{origin.option}: {origin} {text}: {note}"


def duplicate_key_warnings(
    origin: EntryOrigin, text: str, keys: tuple[str, ...]
) -> list[str]:
    """One warning per key the entry gives more than once."""
    return [
        entry_warning(
            origin,
            text,
            f"key {key!r} is given more than once; the last value is used",
        )
        for key in keys
    ]


@dataclass(frozen=True, slots=True)
class OptionValue:
    """One value of a multi-valued option and the name it was read from.

    ``text`` should be a JSON text; anything else is reported as such.
    """

    option: str
    text: object


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """One decoded JSON object (or what stood in its place) of an option."""

    origin: EntryOrigin
    data: object
    duplicate_keys: tuple[str, ...] = ()


class _DuplicateKeys:
    """Remember keys given twice in one JSON object while decoding.

    ``json`` silently keeps the last duplicate; Nova does too, so a config
    with one must keep working, but the operator deserves a warning.
    """

    def __init__(self) -> None:
        self.by_object: dict[int, tuple[str, ...]] = {}

    def hook(self, pairs: list[tuple[str, object]]) -> dict[str, object]:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            dups = []
            for key, _ in pairs:
                if key in seen and key not in dups:
                    dups.append(key)
                seen.add(key)
            self.by_object[id(result)] = tuple(dups)
        return result

    def paths(self, data: object, prefix: str = "") -> tuple[str, ...]:
        """Duplicated keys of ``data`` and its nested objects, dotted.

        ``address.bus`` for ``{"address": {"bus": "81", "bus": "82"}}``.
        """
        found: list[str] = []
        if not self.by_object:
            return ()
        # Iterative: JSON nests as deep as the recursion limit allows.
        todo: list[tuple[object, str]] = [(data, prefix)]
        while todo:
            node, path = todo.pop()
            if isinstance(node, dict):
                found.extend(
                    path + k for k in self.by_object.get(id(node), ())
                )
                todo.extend((v, f"{path}{k}.") for k, v in node.items())
        return tuple(found)


def iter_config_entries(
    values: object,
    option: str,
    error_cls: type[exception.InvalidConfigEntry],
    errors: list[exception.ConfigError] | None = None,
) -> Iterator[ConfigEntry]:
    """Decode a MultiStrOpt: each value a JSON object or list of objects.

    Yields one :class:`ConfigEntry` per object in config order, numbering
    positions across values.  Value-level problems (not a string, bad
    JSON, neither object nor list) raise ``error_cls`` at once, or, when
    an ``errors`` list is given, are appended to it and the value is
    skipped (so a checker can report every problem in one pass).
    """
    if isinstance(values, str | bytes) or not isinstance(values, list | tuple):
        raise error_cls.option_error(
            option=option,
            reason="expected a list of strings (one per config line), "
            f"got {type(values).__name__}",
        )
    return iter_option_values(
        [OptionValue(option, raw) for raw in values], error_cls, errors
    )


def iter_option_values(
    values: Sequence[OptionValue],
    error_cls: type[exception.InvalidConfigEntry],
    errors: list[exception.ConfigError] | None = None,
) -> Iterator[ConfigEntry]:
    """Like :func:`iter_config_entries`, each value with its own option.

    Positions count across every value whatever its option (they are the
    entry numbers matching goes by); ``value`` counts within the option,
    so "value 2" is the option's second line.
    """
    position = 0
    counts: dict[str, int] = {}
    for labelled in values:
        option = labelled.option
        value_index = counts[option] = counts.get(option, 0) + 1
        where = EntryOrigin(option, position + 1, value_index)
        try:
            items, dups = _decode(labelled.text, where, error_cls)
        except exception.ConfigError as problem:
            # A value that cannot be read still takes a position, so two
            # bad lines are never both called "entry 1".
            position += 1
            if errors is None:
                # The JSON error being handled is in the message already.
                problem.__suppress_context__ = True
                raise
            errors.append(problem)
            continue
        for item_index, data in items:
            position += 1
            yield ConfigEntry(
                EntryOrigin(option, position, value_index, item_index),
                data,
                dups.paths(data),
            )


def _decode(
    raw: object,
    where: EntryOrigin,
    error_cls: type[exception.InvalidConfigEntry],
) -> tuple[list[tuple[int | None, object]], _DuplicateKeys]:
    """The objects of one option value, each with its item index.

    A lone object has no item index; the items of a list count from 1.
    Raises ``error_cls`` when the value is not a JSON text of an object
    or a list.
    """

    def bad(text: str, reason: str) -> exception.InvalidConfigEntry:
        return config_error(error_cls, where, text, "value", reason)

    if not isinstance(raw, str):
        raise bad(
            render_json(raw), f"expected a JSON text, got {type(raw).__name__}"
        )
    text = one_line(raw)
    dups = _DuplicateKeys()
    try:
        decoded = json.loads(raw, object_pairs_hook=dups.hook)
    except json.JSONDecodeError as exc:
        # Some messages end in "at" ("Invalid control character at"):
        # the position follows once.
        raise bad(
            text,
            f"not valid JSON: {exc.msg.removesuffix(' at')} at "
            f"line {exc.lineno} column {exc.colno}",
        ) from None
    except (ValueError, RecursionError) as exc:
        raise bad(text, f"not valid JSON: {one_line(str(exc))}") from None
    if isinstance(decoded, dict):
        return [(None, decoded)], dups
    if isinstance(decoded, list):
        return list(enumerate(decoded, start=1)), dups
    raise bad(
        text,
        "expected a JSON object or a list of objects, got "
        f"{describe_json(decoded)}",
    )


def parse_hex_id(value: object, field: str, *, wildcard: bool) -> str | None:
    """A vendor/product id as 4 lowercase hex digits; ``None`` for ``*``."""
    if wildcard and isinstance(value, str) and value.strip() == "*":
        return None
    normal = hex_id(value)
    if normal is not None:
        return normal
    wanted = 'a hex string of up to 4 digits like "8086"'
    if wildcard:
        wanted += ' or "*"'
    raise SpecFieldError(
        field, f"expected {wanted}, got {describe_json(value)}"
    )


def parse_bool_tag(value: object, field: str) -> str:
    """A boolean tag as "true"/"false" (JSON boolean or yes/no words)."""
    parsed = parse_bool(value)
    if parsed is not None:
        return "true" if parsed else "false"
    raise SpecFieldError(
        field,
        "expected a boolean (true/false, or one of the strings "
        f"true/false, yes/no, on/off, y/n, t/f, 1/0), got "
        f"{describe_json(value)}",
    )


def suggest(
    key: str, known: tuple[str, ...], *, cutoff: float = 0.8
) -> str | None:
    """The known key an unknown one is probably a typo of, if any."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=cutoff)
    return close[0] if close else None


def check_text(text: str, field: str, what: str, limit: int) -> str:
    """``text`` if it is printable and at most ``limit`` characters."""
    if len(text) > limit:
        raise SpecFieldError(
            field,
            f"the {what} is {len(text)} characters long; at most {limit} "
            "are allowed",
        )
    bad = _CONTROL.search(text)
    if bad is not None:
        raise SpecFieldError(
            field,
            f"the {what} {render_json(text)} contains the control "
            f"character {bad.group()!r} at position {bad.start()}",
        )
    return text
