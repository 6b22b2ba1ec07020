"""The summary as HTML and PDF: content negotiation, escaping, sanitising, the PDF's page 1.

The PDF's first page is turned into a PNG with Debian's `pdftoppm` (poppler-utils; `.ci/run`
installs it when missing) and kept under `test-artefacts/` (git-ignored) for a person to look
at; the test checks the PDF's text and that the picture is not blank.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader

from fixtures.critical_information import CITIZEN, World, drug_reaction
from fixtures.patient_summary import fill
from fixtures.shared_data import shared_data_dir
from samhandling.fhir.outcome import FhirError
from samhandling.services.patient_summary import rendering

ARTEFACTS = Path(__file__).resolve().parents[3] / "test-artefacts"
URL = f"/fhir/Patient/{CITIZEN}/$summary"
TITLES = {
    "nb": ("Varsler", "Allergier og intoleranser", "Legemidler", "Problemer og tilstander",
           "Prøvesvar"),
    "en": ("Alerts", "Allergies and intolerances", "Medication summary", "Problem list",
           "Results"),
}  # fmt: skip
ALERT = "Ikke aktuelt med HLR"  # the procedural change `fill` registers


def _get(world: World, **headers_and_params: Any) -> Any:
    params = headers_and_params.pop("params", {})
    headers = {**world.as_("gp"), **headers_and_params}
    return world.client.get(URL, params=params, headers=headers)


def test_html_in_both_languages_holds_every_section(world: World) -> None:
    fill(world)
    for language in ("nb", "en"):
        page = _get(world, Accept="text/html", params={"language": language})
        assert page.status_code == 200, page.text
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        html = page.text
        assert "Cecilie" in html and "Fenoksymetylpenicillin" in html
        for title in TITLES[language]:
            assert f"<h2>{title} <small>" in html, (language, title)
        assert "LOINC 104605-1" in html and ALERT in html
        # the implant's Volven 7518 coding travels without a display: the bundled list's
        assert "<td>Pacemaker</td>" in html
        assert f'<html lang="{language}">' in html
    json_answer = _get(world, Accept="application/fhir+json")
    assert json_answer.json()["resourceType"] == "Bundle"


def test_format_overrides_accept_and_unknown_formats_are_refused(world: World) -> None:
    html = _get(world, Accept="application/fhir+json", params={"_format": "html"})
    assert html.headers["content-type"].startswith("text/html")
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert _get(world, Accept=browser).headers["content-type"].startswith("text/html")
    refused = _get(world, params={"_format": "docx"})
    assert refused.status_code == 406, refused.text
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert _get(world, Accept="image/png").status_code == 406


def test_values_are_escaped_in_the_page(world: World) -> None:
    hostile = drug_reaction(CITIZEN)
    hostile["code"]["text"] = '<img src="http://evil.example/x" onerror="alert(1)">Penicillin'
    assert world.create("gp", hostile).status_code == 201
    html = _get(world, Accept="text/html").text
    assert "<img" not in html  # no element: the value is text, its "<" escaped
    assert '&lt;img src="http://evil.example/x"' in html
    assert "Penicillin" in html


def test_a_foreign_narrative_is_sanitised() -> None:
    bundle = json.loads((shared_data_dir() / "ips" / "Bundle-bundle-minimal.json").read_text())
    section = bundle["entry"][0]["resource"]["section"][0]
    section["text"]["div"] = (
        '<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="steal()" '
        'style="background:url(http://evil.example/)">Kept</p><script>alert(1)</script>'
        '<img src="http://evil.example/t.png"/><a href="javascript:x()">link</a></div>'
    )
    html = rendering.render_html(bundle, "en")
    assert "Kept" in html
    for attack in ("<script", "onclick", "evil.example", "javascript:", "<img"):
        assert attack not in html, attack


def test_accept_negotiation_picks_the_highest_quality() -> None:
    pick = rendering.requested_format
    assert pick(None, None) == rendering.JSON
    assert pick(None, "application/pdf;q=0.5, text/html;q=0.9") == rendering.HTML
    assert pick("application/pdf", "text/html") == rendering.PDF
    with pytest.raises(FhirError):
        pick(None, "image/png")


def test_the_pdf_renders_with_its_content_and_page_one_as_a_picture(world: World) -> None:
    fill(world)
    answer = _get(world, Accept="application/pdf", params={"language": "en"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    assert "Cecilie" in text and "Fenoksymetylpenicillin" in text and ALERT in text
    for title in TITLES["en"]:
        assert title in text, title
    picture = _first_page_png(answer.content, "patient-summary-en")
    with Image.open(picture) as image:
        grey = image.convert("L")
        dark = sum(grey.histogram()[:200])  # pixels clearly darker than white paper
        assert grey.size[0] > 500 and dark > 0.01 * grey.size[0] * grey.size[1]


def _first_page_png(pdf: bytes, name: str) -> Path:
    assert shutil.which("pdftoppm"), "pdftoppm (Debian poppler-utils) is required"
    ARTEFACTS.mkdir(exist_ok=True)
    source = ARTEFACTS / f"{name}.pdf"
    source.write_bytes(pdf)
    command = ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile"]
    subprocess.run([*command, str(source), str(ARTEFACTS / name)], check=True, timeout=60)
    return ARTEFACTS / f"{name}.png"
