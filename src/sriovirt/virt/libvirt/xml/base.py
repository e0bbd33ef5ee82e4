"""The declarative engine: frozen dataclasses <-> lxml elements.

A model is a frozen dataclass deriving from :class:`XmlModel` whose fields
are declared with :func:`attr`, :func:`text`, :func:`child_text`,
:func:`child` or :func:`children`.  That one declaration per field drives
both :meth:`XmlModel.to_element` and :meth:`XmlModel.from_element`; there
are no hand-written format/parse pairs.

What the engine guarantees:

* Deterministic output: fixed attributes (discriminators) first, then
  attributes and children in declaration order (or ``xml_order``), then the
  unknown attributes and elements that parsing kept, in document order.
* Unknown attributes and child elements survive a round trip: they are
  kept on the object (``xml_extra_attrs``, ``xml_extra``) as plain,
  comparable values and re-emitted.
* Values are data: everything is written through lxml, which escapes it,
  so a value can never change the structure of the document.

This module must not import libvirt, configuration, objects or the
database, and it decides nothing: it maps.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from lxml import etree

from sriovirt import exception
from sriovirt.virt.libvirt.xml.convert import STR, Converter

_META_KEY = "sriovirt.xml"


# --- field declarations ----------------------------------------------------

ATTR = "attr"
TEXT = "text"
CHILD_TEXT = "child_text"
CHILD = "child"
CHILDREN = "children"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one dataclass field maps to XML (stored in field metadata)."""

    kind: str
    name: str | None = None
    conv: Converter[Any] | None = None
    target: Target | type[XmlModel] | None = None
    required: bool = False


def _field(spec: FieldSpec) -> Any:
    meta = {_META_KEY: spec}
    if spec.required:
        return dataclasses.field(metadata=meta)
    # An absent child list is empty; anything else absent is None.
    default = () if spec.kind == CHILDREN else None
    return dataclasses.field(default=default, metadata=meta)


def attr(
    name: str,
    conv: Converter[Any] = STR,
    *,
    required: bool = False,
) -> Any:
    """An attribute of the element: ``<tag name='value'>``."""
    return _field(FieldSpec(ATTR, name, conv, required=required))


def text(conv: Converter[Any] = STR, *, required: bool = False) -> Any:
    """The element's own text: ``<tag>value</tag>``."""
    return _field(FieldSpec(TEXT, None, conv, required=required))


def child_text(
    name: str, conv: Converter[Any] = STR, *, required: bool = False
) -> Any:
    """The text of a child element that has no attributes of its own."""
    return _field(FieldSpec(CHILD_TEXT, name, conv, required=required))


def child(target: Target | type[XmlModel], *, required: bool = False) -> Any:
    """One optional (or required) child element, parsed by ``target``."""
    return _field(FieldSpec(CHILD, None, None, target, required))


def children(target: Target | type[XmlModel]) -> Any:
    """Repeated child elements, in document order, as a tuple."""
    return _field(FieldSpec(CHILDREN, None, None, target))


# --- targets: what parses a child element ----------------------------------


class Target:
    """Something that parses child elements with given tags."""

    tags: frozenset[str] = frozenset()
    accepts_any: bool = False

    def parse(self, el: etree._Element) -> Any:
        raise NotImplementedError


class _ModelTarget(Target):
    def __init__(self, cls: type[XmlModel]) -> None:
        self.cls = cls
        self.tags = frozenset((cls.xml_tag,))

    def parse(self, el: etree._Element) -> Any:
        return _parse(self.cls, el)


def as_target(t: Target | type[XmlModel]) -> Target:
    if isinstance(t, Target):
        return t
    return _ModelTarget(t)


class Union(Target):
    """A discriminated union: one tag, the variant chosen by an attribute.

    ``fallback`` (a model with a field for the discriminator, or
    :class:`RawXml` to keep the element verbatim) takes any value no
    variant claims; without it such an element is an error.
    """

    def __init__(
        self,
        tag: str,
        discriminator: str,
        variants: Iterable[type[XmlModel]],
        fallback: type[XmlModel] | type[RawXml] | None = None,
    ) -> None:
        self.tag = tag
        self.tags = frozenset((tag,))
        self.discriminator = discriminator
        self.fallback = fallback
        self.variants: dict[str, type[XmlModel]] = {}
        for cls in variants:
            fixed = dict(cls.xml_fixed)
            if cls.xml_tag != tag or discriminator not in fixed:
                raise TypeError(
                    f"{cls.__name__} is not a <{tag} {discriminator}=...> "
                    "variant"
                )
            self.variants[fixed[discriminator]] = cls

    def parse(self, el: etree._Element) -> Any:
        value = el.get(self.discriminator)
        cls = self.variants.get(value or "")
        if cls is not None:
            return _parse(cls, el)
        if self.fallback is RawXml:
            return RawXml.from_element(el)
        if self.fallback is None:
            raise exception.InvalidXml(
                what=self.tag,
                reason=f"{self.discriminator}={value!r} is not one of "
                f"{sorted(self.variants)}",
            )
        return _parse(self.fallback, el)

    def from_element(self, el: etree._Element) -> Any:
        if el.tag != self.tag:
            raise exception.InvalidXml(
                what=self.tag, reason=f"root element is <{el.tag!s}>"
            )
        return self.parse(el)

    def from_xml(self, xml: str | bytes) -> Any:
        return self.from_element(parse_document(xml, self.tag))


class Choice(Target):
    """Any of several targets by tag; ``other=True`` keeps the rest raw."""

    def __init__(
        self, *targets: Target | type[XmlModel], other: bool = False
    ) -> None:
        self.by_tag: dict[str, Target] = {}
        for t in targets:
            target = as_target(t)
            for tag in target.tags:
                self.by_tag[tag] = target
        self.tags = frozenset(self.by_tag)
        self.accepts_any = other

    def parse(self, el: etree._Element) -> Any:
        target = self.by_tag.get(str(el.tag))
        if target is None:
            return RawXml.from_element(el)
        return target.parse(el)


# --- raw fragments ---------------------------------------------------------


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


# --- the model base --------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class XmlModel:
    """Base of every model; subclasses set ``xml_tag`` and declare fields.

    ``xml_fixed`` are attributes every instance carries with a fixed value
    (the discriminator of a union variant).  ``xml_order`` names fields to
    emit first, in that order; the rest follow in declaration order.
    """

    xml_tag: ClassVar[str] = ""
    xml_fixed: ClassVar[tuple[tuple[str, str], ...]] = ()
    xml_order: ClassVar[tuple[str, ...]] = ()

    xml_extra_attrs: tuple[tuple[str, str], ...] = dataclasses.field(
        default=(), compare=True, repr=False
    )
    xml_extra: tuple[RawXml, ...] = dataclasses.field(
        default=(), compare=True, repr=False
    )

    @classmethod
    def from_element(cls, el: etree._Element) -> Self:
        if el.tag != cls.xml_tag:
            raise exception.InvalidXml(
                what=cls.xml_tag, reason=f"root element is <{el.tag!s}>"
            )
        parsed: Self = _parse(cls, el)
        return parsed

    @classmethod
    def from_xml(cls, xml: str | bytes) -> Self:
        return cls.from_element(parse_document(xml, cls.xml_tag))

    def to_element(self) -> etree._Element:
        el = etree.Element(self.xml_tag)
        _fill(self, el)
        return el

    def emit_into(self, parent: etree._Element) -> None:
        _fill(self, etree.SubElement(parent, self.xml_tag))

    def to_xml(self, pretty: bool = True) -> str:
        return to_string(self.to_element(), pretty=pretty)


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


# --- plans: the declarations compiled once per class ------------------------


@dataclass(slots=True)
class _Plan:
    attrs: dict[str, tuple[str, Converter[Any]]]
    text: tuple[str, Converter[Any]] | None
    by_tag: dict[str, tuple[str, FieldSpec, Target | None]]
    any_child: str | None
    required: tuple[tuple[str, FieldSpec], ...]
    list_fields: tuple[str, ...]
    fixed: dict[str, str]
    emit: tuple[tuple[str, FieldSpec], ...]


_PLANS: dict[type[Any], _Plan] = {}


def declared_fields(
    cls: type[XmlModel],
) -> tuple[tuple[str, FieldSpec], ...]:
    """The XML declarations of a model, in emission order."""
    specs = [
        (f.name, f.metadata[_META_KEY])
        for f in dataclasses.fields(cls)
        if _META_KEY in f.metadata
    ]
    first = {name: i for i, name in enumerate(cls.xml_order)}
    return tuple(
        sorted(specs, key=lambda item: first.get(item[0], len(first)))
    )


def _plan(cls: type[Any]) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is not None:
        return plan
    attrs: dict[str, tuple[str, Converter[Any]]] = {}
    by_tag: dict[str, tuple[str, FieldSpec, Target | None]] = {}
    text_field: tuple[str, Converter[Any]] | None = None
    any_child: str | None = None
    emit = declared_fields(cls)
    for name, spec in emit:
        if spec.kind == ATTR:
            assert spec.name is not None and spec.conv is not None
            attrs[spec.name] = (name, spec.conv)
        elif spec.kind == TEXT:
            assert spec.conv is not None
            text_field = (name, spec.conv)
        elif spec.kind == CHILD_TEXT:
            assert spec.name is not None
            by_tag[spec.name] = (name, spec, None)
        else:
            assert spec.target is not None
            target = as_target(spec.target)
            for tag in target.tags:
                by_tag[tag] = (name, spec, target)
            if target.accepts_any:
                any_child = name
    plan = _Plan(
        attrs=attrs,
        text=text_field,
        by_tag=by_tag,
        any_child=any_child,
        required=tuple((n, s) for n, s in emit if s.required),
        list_fields=tuple(n for n, s in emit if s.kind == CHILDREN),
        fixed=dict(cls.xml_fixed),
        emit=emit,
    )
    _PLANS[cls] = plan
    return plan


def _convert(conv: Converter[Any], value: str, tag: object, where: str) -> Any:
    try:
        return conv.parse(value)
    except ValueError as exc:
        raise exception.InvalidXml(
            what=f"<{tag}>", reason=f"{where}: {exc}"
        ) from exc


def _parse(cls: type[Any], el: etree._Element) -> Any:
    plan = _PLANS.get(cls) or _plan(cls)
    kw: dict[str, Any] = {}
    extra_attrs: list[tuple[str, str]] = []
    tag = str(el.tag)
    for key, value in el.attrib.items():
        hit = plan.attrs.get(key)
        if hit is not None:
            try:
                kw[hit[0]] = hit[1].parse(value)
            except ValueError as exc:
                raise exception.InvalidXml(
                    what=f"<{tag}>", reason=f"attribute {key}: {exc}"
                ) from exc
        elif key in plan.fixed:
            if plan.fixed[key] != value:
                raise exception.InvalidXml(
                    what=f"<{tag}>",
                    reason=f"{key}={value!r}, {cls.__name__} needs "
                    f"{plan.fixed[key]!r}",
                )
        else:
            extra_attrs.append((str(key), value))
    if plan.text is not None:
        content = el.text
        if content is not None and content.strip():
            kw[plan.text[0]] = _convert(plan.text[1], content, tag, "text")
    extra = _parse_children(plan, el, tag, kw)
    for name, spec in plan.required:
        if name not in kw:
            what = spec.name or name
            raise exception.InvalidXml(
                what=f"<{tag}>",
                reason=f"missing required {spec.kind.replace('_', ' ')} "
                f"{what!r}",
            )
    if extra_attrs:
        kw["xml_extra_attrs"] = tuple(extra_attrs)
    if extra:
        kw["xml_extra"] = tuple(extra)
    return cls(**kw)


def _parse_children(
    plan: _Plan, el: etree._Element, tag: str, kw: dict[str, Any]
) -> list[RawXml]:
    """Fill ``kw`` from the children of ``el``; return the unknown ones."""
    lists: dict[str, list[Any]] = {}
    extra: list[RawXml] = []
    last = START
    for sub in el:
        sub_tag = sub.tag
        if not isinstance(sub_tag, str):
            continue  # comments and processing instructions are not data
        hit2 = plan.by_tag.get(sub_tag)
        if hit2 is None:
            if plan.any_child is not None:
                lists.setdefault(plan.any_child, []).append(
                    RawXml.from_element(sub)
                )
            else:
                extra.append(RawXml.from_element(sub, last))
            continue
        name, spec, target = hit2
        last = name
        if spec.kind == CHILDREN:
            assert target is not None
            lists.setdefault(name, []).append(target.parse(sub))
            continue
        if name in kw:
            raise exception.InvalidXml(
                what=f"<{tag}>", reason=f"more than one <{sub_tag}>"
            )
        if target is None:
            assert spec.conv is not None
            kw[name] = _convert(spec.conv, sub.text or "", sub_tag, "text")
        else:
            kw[name] = target.parse(sub)
    for name, items in lists.items():
        kw[name] = tuple(items)
    return extra


def _format(conv: Converter[Any], value: Any, tag: str, where: str) -> str:
    try:
        return conv.format(value)
    except ValueError as exc:
        raise exception.InvalidXml(
            what=f"<{tag}>", reason=f"{where}: {exc}"
        ) from exc


def _fill(obj: XmlModel, el: etree._Element) -> None:
    plan = _PLANS.get(type(obj)) or _plan(type(obj))
    tag = obj.xml_tag
    where = "attributes"
    placed: dict[str | None, list[RawXml]] = {}
    for raw in obj.xml_extra:
        placed.setdefault(raw.after, []).append(raw)
    try:
        for key, value in obj.xml_fixed:
            el.set(key, value)
        for raw in placed.pop(START, ()):
            raw.emit_into(el)
        for name, spec in plan.emit:
            where = name
            value = getattr(obj, name)
            kind = spec.kind
            if value is None:
                if spec.required:
                    raise exception.InvalidXml(
                        what=f"<{tag}>",
                        reason=f"required field {name!r} is not set",
                    )
            elif kind == ATTR:
                assert spec.conv is not None and spec.name is not None
                el.set(spec.name, _format(spec.conv, value, tag, name))
            elif kind == TEXT:
                assert spec.conv is not None
                el.text = _format(spec.conv, value, tag, name)
            elif kind == CHILD_TEXT:
                assert spec.conv is not None and spec.name is not None
                sub = etree.SubElement(el, spec.name)
                sub.text = _format(spec.conv, value, tag, name)
            elif kind == CHILD:
                value.emit_into(el)
            else:
                for item in value:
                    item.emit_into(el)
            for raw in placed.pop(name, ()):
                raw.emit_into(el)
        where = "unknown XML kept from parsing"
        for key, value in obj.xml_extra_attrs:
            el.set(key, value)
        for raws in placed.values():  # anchors gone or None: at the end
            for raw in raws:
                raw.emit_into(el)
    except (ValueError, etree.XMLSyntaxError) as exc:
        # lxml refuses strings that XML cannot carry (NUL, most control
        # characters); report it as our error, naming element and field.
        raise exception.InvalidXml(
            what=f"<{tag}>", reason=f"{where}: {exc}"
        ) from exc
