"""The declarative engine: frozen dataclasses <-> lxml elements.

A model is a frozen dataclass deriving from :class:`XmlModel` whose fields
are declared with :func:`attr`, :func:`text`, :func:`child_text`,
:func:`child` or :func:`children` (each makes one field kind of
:mod:`~sriovirt.virt.libvirt.xml.fields`).  That one declaration per
field drives both :meth:`XmlModel.to_element` and
:meth:`XmlModel.from_element`; there are no hand-written format/parse
pairs.  A child is parsed by an :class:`~sriovirt.virt.libvirt.xml.
fields.XmlTarget`: a model class (:class:`ModelTarget`), or a tagged
union or choice of models (:mod:`~sriovirt.virt.libvirt.xml.targets`).

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
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from lxml import etree

from sriovirt import exception
from sriovirt.virt.libvirt.xml.convert import STR, Converter
from sriovirt.virt.libvirt.xml.document import (
    START,
    RawXml,
    parse_document,
    to_string,
)
from sriovirt.virt.libvirt.xml.fields import (
    Attr,
    Child,
    ChildField,
    Children,
    ChildText,
    Field,
    Text,
    XmlTarget,
)

_META_KEY = "sriovirt.xml"


# --- field declarations ----------------------------------------------------


def _field(spec: Field) -> Any:
    meta = {_META_KEY: spec}
    if spec.required:
        return dataclasses.field(metadata=meta)
    # An absent child list is empty; anything else absent is None.
    default = () if isinstance(spec, Children) else None
    return dataclasses.field(default=default, metadata=meta)


def attr(
    name: str,
    conv: Converter[Any] = STR,
    *,
    required: bool = False,
) -> Any:
    """An attribute of the element: ``<tag name='value'>``."""
    return _field(Attr(name=name, conv=conv, required=required))


def text(conv: Converter[Any] = STR, *, required: bool = False) -> Any:
    """The element's own text: ``<tag>value</tag>``."""
    return _field(Text(conv=conv, required=required))


def child_text(
    name: str, conv: Converter[Any] = STR, *, required: bool = False
) -> Any:
    """The text of a child element that has no attributes of its own."""
    return _field(ChildText(name=name, conv=conv, required=required))


def child(
    target: XmlTarget | type[XmlModel], *, required: bool = False
) -> Any:
    """One optional (or required) child element, parsed by ``target``."""
    return _field(Child(target=as_target(target), required=required))


def children(target: XmlTarget | type[XmlModel]) -> Any:
    """Repeated child elements, in document order, as a tuple."""
    return _field(Children(target=as_target(target)))


# --- targets: what parses a child element ----------------------------------


class ModelTarget(XmlTarget):
    """One model class, by its tag."""

    def __init__(self, cls: type[XmlModel]) -> None:
        self.cls = cls
        self.tags = frozenset((cls.xml_tag,))

    def parse(self, el: etree._Element) -> Any:
        return parse_as(self.cls, el)


def as_target(t: XmlTarget | type[XmlModel]) -> XmlTarget:
    if isinstance(t, XmlTarget):
        return t
    return ModelTarget(t)


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
        parsed: Self = parse_as(cls, el)
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


# --- plans: the declarations compiled once per class ------------------------


@dataclass(slots=True)
class _Plan:
    attrs: dict[str, tuple[str, Attr]]
    text: tuple[str, Text] | None
    by_tag: dict[str, tuple[str, ChildField]]
    any_child: str | None
    required: tuple[tuple[str, Field], ...]
    fixed: dict[str, str]
    emit: tuple[tuple[str, Field], ...]


_PLANS: dict[type[Any], _Plan] = {}


def declared_fields(
    cls: type[XmlModel],
) -> tuple[tuple[str, Field], ...]:
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
    emit = declared_fields(cls)
    plan = _Plan(
        attrs={},
        text=None,
        by_tag={},
        any_child=None,
        required=tuple((n, s) for n, s in emit if s.required),
        fixed=dict(cls.xml_fixed),
        emit=emit,
    )
    for name, spec in emit:
        if isinstance(spec, Attr):
            plan.attrs[spec.name] = (name, spec)
        elif isinstance(spec, Text):
            plan.text = (name, spec)
        elif isinstance(spec, ChildField):
            for tag in spec.tags:
                plan.by_tag[tag] = (name, spec)
            if spec.accepts_any:
                plan.any_child = name
    _PLANS[cls] = plan
    return plan


# --- reading ---------------------------------------------------------------


def parse_as(cls: type[Any], el: etree._Element) -> Any:
    """``el`` as a ``cls``, its tag not checked (the caller chose ``cls``
    by it)."""
    plan = _PLANS.get(cls) or _plan(cls)
    kw: dict[str, Any] = {}
    tag = str(el.tag)
    extra_attrs = _parse_attributes(plan, el, tag, cls.__name__, kw)
    if plan.text is not None:
        content = el.text
        if content is not None and content.strip():
            name, text_spec = plan.text
            kw[name] = text_spec.read(content, tag, "text")
    extra = _parse_children(plan, el, tag, kw)
    for name, spec in plan.required:
        if name not in kw:
            raise exception.InvalidXml(
                what=f"<{tag}>",
                reason=f"missing required {spec.kind} {spec.label or name!r}",
            )
    if extra_attrs:
        kw["xml_extra_attrs"] = tuple(extra_attrs)
    if extra:
        kw["xml_extra"] = tuple(extra)
    return cls(**kw)


def _parse_attributes(
    plan: _Plan, el: etree._Element, tag: str, model: str, kw: dict[str, Any]
) -> list[tuple[str, str]]:
    """Fill ``kw`` from the attributes of ``el``; return the unknown ones."""
    extra_attrs: list[tuple[str, str]] = []
    for key, value in el.attrib.items():
        hit = plan.attrs.get(key)
        if hit is not None:
            kw[hit[0]] = hit[1].read(value, tag, f"attribute {key}")
        elif key in plan.fixed:
            if plan.fixed[key] != value:
                raise exception.InvalidXml(
                    what=f"<{tag}>",
                    reason=f"{key}={value!r}, {model} needs "
                    f"{plan.fixed[key]!r}",
                )
        else:
            extra_attrs.append((str(key), value))
    return extra_attrs


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
        hit = plan.by_tag.get(sub_tag)
        if hit is None:
            if plan.any_child is not None:
                lists.setdefault(plan.any_child, []).append(
                    RawXml.from_element(sub)
                )
            else:
                extra.append(RawXml.from_element(sub, last))
            continue
        name, spec = hit
        last = name
        if spec.repeated:
            lists.setdefault(name, []).append(spec.parse(sub))
            continue
        if name in kw:
            raise exception.InvalidXml(
                what=f"<{tag}>", reason=f"more than one <{sub_tag}>"
            )
        kw[name] = spec.parse(sub)
    for name, items in lists.items():
        kw[name] = tuple(items)
    return extra


# --- writing ---------------------------------------------------------------


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
            if value is not None:
                spec.emit(el, value, name)
            elif spec.required:
                raise exception.InvalidXml(
                    what=f"<{tag}>",
                    reason=f"required field {name!r} is not set",
                )
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
