"""Targets that choose a model: tagged unions and choices by tag.

A :class:`TaggedUnion` parses one tag into the variant its discriminator
attribute names (``<interface type='direct'>``); a :class:`Choice` parses
several tags, each with its own target (the devices of a domain).  A
single model class is a target by itself
(:class:`~sriovirt.virt.libvirt.xml.base.ModelTarget`).

Mapping only: this module must not import libvirt, configuration,
objects or the database, and decides nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lxml import etree

from sriovirt import exception
from sriovirt.virt.libvirt.xml.base import XmlModel, as_target, parse_as
from sriovirt.virt.libvirt.xml.document import RawXml, parse_document
from sriovirt.virt.libvirt.xml.fields import XmlTarget


class TaggedUnion(XmlTarget):
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
            return parse_as(cls, el)
        if self.fallback is RawXml:
            return RawXml.from_element(el)
        if self.fallback is None:
            raise exception.InvalidXml(
                what=self.tag,
                reason=f"{self.discriminator}={value!r} is not one of "
                f"{sorted(self.variants)}",
            )
        return parse_as(self.fallback, el)

    def from_element(self, el: etree._Element) -> Any:
        if el.tag != self.tag:
            raise exception.InvalidXml(
                what=self.tag, reason=f"root element is <{el.tag!s}>"
            )
        return self.parse(el)

    def from_xml(self, xml: str | bytes) -> Any:
        return self.from_element(parse_document(xml, self.tag))


class Choice(XmlTarget):
    """Any of several targets by tag; ``other=True`` keeps the rest raw."""

    def __init__(
        self, *targets: XmlTarget | type[XmlModel], other: bool = False
    ) -> None:
        self.by_tag: dict[str, XmlTarget] = {}
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
