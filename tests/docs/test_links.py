"""The links of the README and ``docs/*.md``: every relative link names a file of the repository, and
every ``#anchor`` a heading of its page (as GitHub makes anchors from headings)."""

from __future__ import annotations

import re

from ..conftest import REPO
from .code_blocks import documents

_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_FENCED = re.compile(r"^ *```.*?^ *```", re.S | re.M)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", lambda m: "_" if m.group() == "_" else "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path) -> set[str]:
    text = _FENCED.sub("", path.read_text(encoding="utf-8"))
    return {anchor(line.lstrip("#")) for line in text.splitlines() if re.match(r"^#{1,6} ", line)}


def test_anchor_follows_githubs_rule():
    assert anchor("Whole-network atlas (`deepdream atlas`)") == "whole-network-atlas-deepdream-atlas"
    assert anchor("Python API: `deep_dream_image`") == "python-api-deep_dream_image"
    assert anchor("Reproducibility: a unit's image depends on its (seed, layer, unit, recipe) only") == (
        "reproducibility-a-units-image-depends-on-its-seed-layer-unit-recipe-only"
    )


def test_every_relative_link_and_anchor_exists():
    broken = []
    for document in documents():
        source = REPO / document
        text = _FENCED.sub("", source.read_text(encoding="utf-8"))
        for target in _LINK.findall(text):
            if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, fragment = target.partition("#")
            linked = (source.parent / path).resolve() if path else source
            if not linked.exists():
                broken.append(f"{document}: {target} (no such file)")
            elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
                broken.append(f"{document}: {target} (no such heading)")
    assert not broken, "\n".join(broken)
