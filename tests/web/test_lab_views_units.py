"""The lab results table of the web views in isolation: a correction is shown as one."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from samhandling.web.display import lab_rows, when
from samhandling.web.texts import TEXTS, texts


def _bundle(report_status: str, result_status: str) -> dict[str, Any]:
    result = {
        "resourceType": "Observation",
        "id": "hb",
        "status": result_status,
        "code": {"text": "Hemoglobin"},
        "valueQuantity": {"value": 9.9, "unit": "g/dL"},
    }
    report = {
        "resourceType": "DiagnosticReport",
        "id": "r1",
        "status": report_status,
        "code": {"text": "Blodprøver"},
        "issued": "2026-12-01T10:00:00+01:00",
        "result": [{"reference": "Observation/hb"}],
    }
    return {"entry": [{"resource": report}, {"resource": result}]}


def _table(bundle: dict[str, Any], lang: str) -> str:
    pages = Environment(
        loader=PackageLoader("samhandling.web", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
    )
    pages.filters["when"] = when
    macro = pages.get_template("_sections.html").module.labs  # type: ignore[attr-defined]
    return str(macro(texts(lang), {"refused": None, "rows": lab_rows(bundle)}, True))


def test_a_corrected_result_and_an_amended_report_are_marked_as_corrections() -> None:
    (row,) = lab_rows(_bundle("amended", "corrected"))
    assert row["corrected"] and row["results"][0]["corrected"]
    (plain,) = lab_rows(_bundle("final", "final"))
    assert not plain["corrected"] and not plain["results"][0]["corrected"]
    for lang, word in (("nb", "korrigert"), ("en", "corrected")):
        shown = _table(_bundle("final", "corrected"), lang)
        assert shown.count(f'<strong class="correction">({word})</strong>') == 1, lang
        assert "Hemoglobin: 9.9 g/dL <strong" in shown
        assert "correction" not in _table(_bundle("final", "final"), lang)
    bokmal, english = TEXTS["corrected"]
    assert bokmal and english and bokmal != english
