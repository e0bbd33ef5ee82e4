"""Hypothesis strategies for XML models, derived from their declarations.

Nothing here is written per model: the strategy of a class is built from
its field specs, so a new field is generated (and round-tripped) the day
it is declared.
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

from sriovirt.virt.libvirt.xml import base, convert, targets
from sriovirt.virt.libvirt.xml.document import RawXml
from sriovirt.virt.libvirt.xml.fields import (
    Child,
    Children,
    ValueField,
    XmlTarget,
)
from tests.unit.virt.libvirt.xml import introspect

# XML 1.0 characters only: no surrogates, controls, private/unassigned.
_CHARS = st.characters(
    blacklist_categories=("Cs", "Cc", "Co", "Cn"),
)
HOSTILE = st.sampled_from(
    [
        "'/>",
        '"',
        "<",
        ">",
        "&amp;",
        "</interface>",
        "a'b\"c<d>e&f",
        "]]>",
        "<!--x-->",
        "\t\n",
    ]
)
# Never blank: whitespace-only text is indistinguishable from no text.
TEXT = st.one_of(HOSTILE, st.text(_CHARS, min_size=1, max_size=12)).filter(
    lambda s: s.strip() != ""
)


def converter_strategy(conv: convert.Converter[Any]) -> st.SearchStrategy[Any]:
    if isinstance(conv, convert.Hex):
        return st.integers(0, conv.maximum)
    if isinstance(conv, convert.Dec):
        low = 0 if conv.minimum is None else conv.minimum
        high = 2**31 if conv.maximum is None else conv.maximum
        return st.integers(low, high)
    if isinstance(conv, convert.Bool):
        return st.booleans()
    if isinstance(conv, convert.OneOf):
        return st.sampled_from(conv.values)
    if isinstance(conv, convert.Mac):
        return st.binary(min_size=6, max_size=6).map(
            lambda b: ":".join(f"{x:02x}" for x in b)
        )
    if isinstance(conv, convert.Str):
        return TEXT
    raise TypeError(f"no strategy for converter {conv!r}")


RAW = st.sampled_from(
    [
        RawXml('<serial type="pty"/>'),
        RawXml('<x-unknown a="1"><b>t</b></x-unknown>'),
    ]
)


def target_strategy(
    target: XmlTarget | type[base.XmlModel], depth: int
) -> st.SearchStrategy[Any]:
    options: list[st.SearchStrategy[Any]] = []
    union = target if isinstance(target, targets.TaggedUnion) else None
    for cls in introspect.target_models(target):
        if cls is RawXml:
            options.append(RAW)
        elif union is not None and cls is union.fallback:
            taken = set(union.variants)
            options.append(
                model_strategy(cls, depth).filter(
                    lambda m, taken=taken, d=union.discriminator: (
                        getattr(m, d, None) not in taken
                    )
                )
            )
        else:
            options.append(model_strategy(cls, depth))
    return st.one_of(options)


@functools.cache
def model_strategy(
    cls: type[base.XmlModel], depth: int = 0
) -> st.SearchStrategy[Any]:
    """Instances of ``cls`` with any combination of declared fields."""
    kwargs: dict[str, st.SearchStrategy[Any]] = {}
    for name, spec in base.declared_fields(cls):
        if isinstance(spec, ValueField):
            value = converter_strategy(spec.conv)
        else:
            assert isinstance(spec, Child)
            value = target_strategy(spec.target, depth + 1)
        if isinstance(spec, Children):
            kwargs[name] = st.lists(value, max_size=0 if depth > 3 else 3).map(
                tuple
            )
        elif spec.required:
            kwargs[name] = value
        else:
            kwargs[name] = st.none() | value
    plan_names = {
        spec.label for _n, spec in base.declared_fields(cls) if spec.label
    }
    takes_any = any(
        isinstance(spec, Child) and spec.target.accepts_any
        for _n, spec in base.declared_fields(cls)
    )
    if "x-extra" not in plan_names:
        kwargs["xml_extra_attrs"] = st.sampled_from(
            [(), (("x-extra", "kept"),)]
        )
    if not takes_any:
        kwargs["xml_extra"] = st.sampled_from(
            [(), (RawXml('<x-extra-child n="1"/>'),)]
        )
    return st.builds(cls, **kwargs)
