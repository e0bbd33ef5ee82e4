"""Field kinds: how one dataclass field of a model maps to XML.

One small class per kind: :class:`Attr` (an attribute), :class:`Text`
(the element's own text), :class:`ChildText` (the text of a child
element), :class:`Child` (one nested element) and :class:`Children`
(repeated nested elements).  Each carries exactly what its kind needs (a
converter, an attribute or child name, an :class:`XmlTarget`) and knows
how to write its value; the engine (:mod:`~sriovirt.virt.libvirt.xml.
base`) compiles them into a per-class plan and reads elements with it.

Mapping only: this module must not import libvirt, configuration,
objects or the database, must not know the models, and decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from lxml import etree

from sriovirt import exception
from sriovirt.virt.libvirt.xml.convert import Converter


class XmlTarget:
    """Something that parses child elements with given tags.

    A model class, a tagged union of models or a choice of several; see
    :mod:`~sriovirt.virt.libvirt.xml.base`.
    """

    tags: frozenset[str] = frozenset()
    accepts_any: bool = False

    def parse(self, el: etree._Element) -> Any:
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class Field:
    """How one dataclass field maps to XML (stored in field metadata).

    ``kind`` is how an error message calls it ("missing required attr
    'dev'").
    """

    kind: ClassVar[str] = ""

    required: bool = False

    @property
    def label(self) -> str | None:
        """The XML name an error message quotes, or None for the field's."""
        return None

    def emit(self, el: etree._Element, value: Any, where: str) -> None:
        """Write ``value`` (never None) into ``el``; ``where``: the field."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class ValueField(Field):
    """A field holding one converted string value."""

    conv: Converter[Any]

    def read(self, text: str, tag: object, where: str) -> Any:
        """The value of ``text``; InvalidXml naming ``tag`` and ``where``."""
        try:
            return self.conv.parse(text)
        except ValueError as exc:
            raise exception.InvalidXml(
                what=f"<{tag}>", reason=f"{where}: {exc}"
            ) from exc

    def write(self, value: Any, tag: str, where: str) -> str:
        """The text of ``value``; InvalidXml naming ``tag`` and ``where``."""
        try:
            return self.conv.format(value)
        except ValueError as exc:
            raise exception.InvalidXml(
                what=f"<{tag}>", reason=f"{where}: {exc}"
            ) from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class Attr(ValueField):
    """An attribute of the element: ``<tag name='value'>``."""

    kind = "attr"

    name: str

    @property
    def label(self) -> str | None:
        return self.name

    def emit(self, el: etree._Element, value: Any, where: str) -> None:
        el.set(self.name, self.write(value, str(el.tag), where))


@dataclass(frozen=True, slots=True, kw_only=True)
class Text(ValueField):
    """The element's own text: ``<tag>value</tag>``."""

    kind = "text"

    def emit(self, el: etree._Element, value: Any, where: str) -> None:
        el.text = self.write(value, str(el.tag), where)


class ChildField(Field):
    """A field read from child elements (looked up by their tags)."""

    __slots__ = ()

    #: True when the field collects every matching child into a tuple.
    repeated: ClassVar[bool] = False

    @property
    def tags(self) -> frozenset[str]:
        raise NotImplementedError

    @property
    def accepts_any(self) -> bool:
        """True when unknown children belong to this field too."""
        return False

    def parse(self, sub: etree._Element) -> Any:
        """The value of the child element ``sub``."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildText(ValueField, ChildField):
    """The text of a child element that has no attributes of its own."""

    kind = "child text"

    name: str

    @property
    def label(self) -> str | None:
        return self.name

    @property
    def tags(self) -> frozenset[str]:
        return frozenset((self.name,))

    def parse(self, sub: etree._Element) -> Any:
        return self.read(sub.text or "", sub.tag, "text")

    def emit(self, el: etree._Element, value: Any, where: str) -> None:
        sub = etree.SubElement(el, self.name)
        sub.text = self.write(value, str(el.tag), where)


@dataclass(frozen=True, slots=True, kw_only=True)
class Child(ChildField):
    """One optional (or required) child element, parsed by ``target``."""

    kind = "child"

    target: XmlTarget

    @property
    def tags(self) -> frozenset[str]:
        return self.target.tags

    @property
    def accepts_any(self) -> bool:
        return self.target.accepts_any

    def parse(self, sub: etree._Element) -> Any:
        return self.target.parse(sub)

    def emit(self, el: etree._Element, value: Any, where: str) -> None:
        value.emit_into(el)


@dataclass(frozen=True, slots=True, kw_only=True)
class Children(Child):
    """Repeated child elements, in document order, as a tuple."""

    kind = "children"
    repeated = True

    def emit(self, el: etree._Element, value: Any, where: str) -> None:
        for item in value:
            item.emit_into(el)
