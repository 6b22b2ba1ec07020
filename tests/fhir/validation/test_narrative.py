"""The narrative is untrusted input: txt-1/txt-2 on `Narrative.div`, without a database."""

from __future__ import annotations

import bz2
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from fixtures.shared_data import shared_data_dir
from samhandling.fhir.validation import validate_resource
from samhandling.fhir.validation.narrative import MAX_DEPTH, narrative_problem

OPEN = '<div xmlns="http://www.w3.org/1999/xhtml">'
BOMB = (
    '<?xml version="1.0"?><!DOCTYPE div [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    '<div xmlns="http://www.w3.org/1999/xhtml">&c;</div>'
)

HOSTILE = {
    "script": f"{OPEN}<p>x</p><script>alert(1)</script></div>",
    "script-in-other-namespace": f'{OPEN}x<s:script xmlns:s="urn:x">alert(1)</s:script></div>',
    "onclick": f'{OPEN}<p onclick="alert(1)">x</p></div>',
    "onerror-on-img": f'{OPEN}<img src="x.png" onerror="alert(1)"/></div>',
    "javascript-href": f'{OPEN}<a href="javascript:alert(1)">x</a></div>',
    "javascript-href-hidden": f'{OPEN}<a href=" java&#9;script:alert(1)">x</a></div>',
    "data-html-href": f'{OPEN}<a href="data:text/html;base64,PHNjcmlwdD4=">x</a></div>',
    "svg-data-image": f'{OPEN}<img src="data:image/svg+xml;base64,PHN2Zz4="/></div>',
    "iframe": f'{OPEN}x<iframe src="https://evil.example"></iframe></div>',
    "form": f"{OPEN}<form><p>x</p></form></div>",
    "object": f'{OPEN}x<object data="x.swf"></object></div>',
    "style-element": f"{OPEN}x<style>p {{}}</style></div>",
    "style-expression": f'{OPEN}<p style="width: expression(alert(1))">x</p></div>',
    "style-javascript-url": f"{OPEN}<p style=\"background: url('javascript:x')\">x</p></div>",
    "style-escape": f'{OPEN}<p style="width: \\65 xpression(alert(1))">x</p></div>',
    "xlink": f'{OPEN}<a xmlns:l="http://www.w3.org/1999/xlink" l:href="https://x">x</a></div>',
    "entity-bomb": BOMB,
    "doctype": f'<!DOCTYPE div SYSTEM "https://evil.example/x.dtd">{OPEN}x</div>',
    "html-entity": f"{OPEN}a&nbsp;b</div>",
    "processing-instruction": f"{OPEN}x<?php echo 1; ?></div>",
    "nested-deep": OPEN + "<span>" * (MAX_DEPTH + 1) + "x" + "</span>" * (MAX_DEPTH + 1) + "</div>",
    "not-well-formed": f"{OPEN}<p>x</div>",
    "whitespace-only": f"{OPEN} \n <p> </p></div>",
    "no-xhtml-namespace-inside": f'{OPEN}<p xmlns="">x</p></div>',
}


@pytest.mark.parametrize("div", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_narrative_is_refused(div: str) -> None:
    assert narrative_problem(div) is not None


def test_allowed_formatting_links_images_and_styles_pass() -> None:
    div = (
        f'{OPEN}<h1 style="color: red">Tittel</h1><p class="x" lang="nb" xml:lang="nb">'
        '<a href="https://helsenorge.no/x?a=1&amp;b=2">lenke</a> <a name="here"/>'
        '<a href="#here">her</a> <a href="mailto:a@b.no">e-post</a></p>'
        '<table border="1"><tr><td colspan="2" style="background-image: url(bg.png)">'
        '&#160;celle</td></tr></table><img src="data:image/png;base64,iVBORw0KGgo=" alt="x"/>'
        "<!-- a comment --><ul><li>én</li></ul></div>"
    )
    assert narrative_problem(div) is None
    assert narrative_problem(f'{OPEN}<img src="logo.png"/></div>') is None  # an image is content


def test_the_validator_reports_a_narrative_as_an_invariant_at_its_location() -> None:
    patient = {"resourceType": "Patient", "text": {"status": "generated", "div": HOSTILE["script"]}}
    (issue,) = validate_resource(patient)
    assert (issue.severity, issue.code, issue.expression) == (
        "error",
        "invariant",
        ("Patient.text.div",),
    )
    assert "<script>" in issue.diagnostics
    contained = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": patient}],
    }
    (issue,) = validate_resource(contained)
    assert issue.expression == ("Bundle.entry[0].resource.ofType(Patient).text.div",)


def _narratives(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        text = value.get("text")
        if isinstance(text, dict) and isinstance(text.get("div"), str):
            yield text["div"]
        for item in value.values():
            yield from _narratives(item)
    elif isinstance(value, list):
        for item in value:
            yield from _narratives(item)


def test_every_narrative_of_the_shared_data_passes() -> None:
    """The official R4 examples, IPS, no-basis, Synthea and the R4 definitions themselves."""
    folder = shared_data_dir()
    checked = 0
    paths = sorted(folder.rglob("*.json*"))
    # Synthea's narratives are all made by one generator: every tenth file is enough.
    synthea = [p for p in paths if "synthea" in p.parts]
    for path in [p for p in paths if p not in synthea] + synthea[::10]:
        if path.suffix == ".json":
            data = orjson.loads(path.read_bytes())
        elif path.name.endswith(".json.bz2"):
            data = orjson.loads(bz2.decompress(path.read_bytes()))
        else:
            continue
        for div in _narratives(data):
            assert narrative_problem(div) is None, (path.name, div[:200])
            checked += 1
    assert checked > 3000
