"""Documents and verbatim fragments: text <-> lxml elements.

:func:`parse_document` reads text safely (no entities, no network, blank
text and comments dropped) and :func:`to_string` writes an element back;
:class:`RawXml` is an element no model knows, kept verbatim so that a
round trip preserves it.

Mapping only: this module must not import libvirt, configuration,
objects or the database, must not know the models, and decides nothing.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

from lxml import etree

from sriovirt import exception

START = ""


@dataclass(frozen=True, slots=True)
class RawXml:
    """An element the models do not know, kept verbatim as a string.

    ``after`` names the field whose element preceded it when parsed
    (:data:`START` when it came first), so it is written back in the same
    place: libvirt's nodedev schema is ordered, and an unknown element
    moved to the end would make valid XML invalid.  None (the default,
    for hand-made fragments) means "at the end".
    """

    xml: str
    after: str | None = dataclasses.field(default=None, compare=False)

    @classmethod
    def from_element(
        cls, el: etree._Element, after: str | None = None
    ) -> RawXml:
        return cls(
            etree.tostring(el, encoding="unicode", with_tail=False), after
        )

    @property
    def tag(self) -> str:
        return str(etree.fromstring(self.xml).tag)

    def emit_into(self, parent: etree._Element) -> None:
        parent.append(etree.fromstring(self.xml))


def to_string(el: etree._Element, pretty: bool = True) -> str:
    """Serialise an element as text (no declaration)."""
    return etree.tostring(el, encoding="unicode", pretty_print=pretty)


_PARSERS = threading.local()


def _parser() -> etree.XMLParser:
    # lxml parsers must not be shared between threads; one each is cheap.
    parser: etree.XMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            remove_blank_text=True,
            remove_comments=True,
            resolve_entities=False,
            no_network=True,
        )
        _PARSERS.parser = parser
    return parser


def parse_document(xml: str | bytes, what: str) -> etree._Element:
    """Parse text into an element, blank text removed; InvalidXml if bad."""
    try:
        if isinstance(xml, str):
            xml = xml.encode("utf-8")
        return etree.fromstring(xml, _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise exception.InvalidXml(what=what, reason=str(exc)) from exc
