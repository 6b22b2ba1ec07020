"""NEWS2 against the Royal College of Physicians' chart (NEWS2, 2017, chart 1 and 2):
every band of every parameter at both of its edges, both SpO2 scales, and worked examples
of the aggregate and the clinical risk."""

from __future__ import annotations

import pytest

from samhandling.services.measurements import news2
from samhandling.services.measurements.news2 import VitalSigns

# (parameter, value, score): both edges of every band, from the published chart
CHART: list[tuple[news2.Parameter, float, int]] = [
    # Respiration rate: ≤8 3 | 9–11 1 | 12–20 0 | 21–24 2 | ≥25 3
    (news2.RESPIRATION, 0, 3), (news2.RESPIRATION, 8, 3),
    (news2.RESPIRATION, 9, 1), (news2.RESPIRATION, 11, 1),
    (news2.RESPIRATION, 12, 0), (news2.RESPIRATION, 20, 0),
    (news2.RESPIRATION, 21, 2), (news2.RESPIRATION, 24, 2),
    (news2.RESPIRATION, 25, 3), (news2.RESPIRATION, 60, 3),
    # SpO2 scale 1: ≤91 3 | 92–93 2 | 94–95 1 | ≥96 0
    (news2.SPO2_SCALE_1, 70, 3), (news2.SPO2_SCALE_1, 91, 3),
    (news2.SPO2_SCALE_1, 92, 2), (news2.SPO2_SCALE_1, 93, 2),
    (news2.SPO2_SCALE_1, 94, 1), (news2.SPO2_SCALE_1, 95, 1),
    (news2.SPO2_SCALE_1, 96, 0), (news2.SPO2_SCALE_1, 100, 0),
    # SpO2 scale 2 on air: ≤83 3 | 84–85 2 | 86–87 1 | ≥88 (incl. ≥93 on air) 0
    (news2.SPO2_SCALE_2_ON_AIR, 83, 3), (news2.SPO2_SCALE_2_ON_AIR, 84, 2),
    (news2.SPO2_SCALE_2_ON_AIR, 85, 2), (news2.SPO2_SCALE_2_ON_AIR, 86, 1),
    (news2.SPO2_SCALE_2_ON_AIR, 87, 1), (news2.SPO2_SCALE_2_ON_AIR, 88, 0),
    (news2.SPO2_SCALE_2_ON_AIR, 92, 0), (news2.SPO2_SCALE_2_ON_AIR, 93, 0),
    (news2.SPO2_SCALE_2_ON_AIR, 100, 0),
    # SpO2 scale 2 on oxygen: … | 88–92 0 | 93–94 1 | 95–96 2 | ≥97 3
    (news2.SPO2_SCALE_2_ON_OXYGEN, 83, 3), (news2.SPO2_SCALE_2_ON_OXYGEN, 84, 2),
    (news2.SPO2_SCALE_2_ON_OXYGEN, 85, 2), (news2.SPO2_SCALE_2_ON_OXYGEN, 86, 1),
    (news2.SPO2_SCALE_2_ON_OXYGEN, 87, 1), (news2.SPO2_SCALE_2_ON_OXYGEN, 88, 0),
    (news2.SPO2_SCALE_2_ON_OXYGEN, 92, 0), (news2.SPO2_SCALE_2_ON_OXYGEN, 93, 1),
    (news2.SPO2_SCALE_2_ON_OXYGEN, 94, 1), (news2.SPO2_SCALE_2_ON_OXYGEN, 95, 2),
    (news2.SPO2_SCALE_2_ON_OXYGEN, 96, 2), (news2.SPO2_SCALE_2_ON_OXYGEN, 97, 3),
    (news2.SPO2_SCALE_2_ON_OXYGEN, 100, 3),
    # Air 0 | oxygen 2
    (news2.AIR_OR_OXYGEN, 0, 0), (news2.AIR_OR_OXYGEN, 1, 2),
    # Systolic: ≤90 3 | 91–100 2 | 101–110 1 | 111–219 0 | ≥220 3
    (news2.SYSTOLIC, 60, 3), (news2.SYSTOLIC, 90, 3),
    (news2.SYSTOLIC, 91, 2), (news2.SYSTOLIC, 100, 2),
    (news2.SYSTOLIC, 101, 1), (news2.SYSTOLIC, 110, 1),
    (news2.SYSTOLIC, 111, 0), (news2.SYSTOLIC, 219, 0),
    (news2.SYSTOLIC, 220, 3), (news2.SYSTOLIC, 260, 3),
    # Pulse: ≤40 3 | 41–50 1 | 51–90 0 | 91–110 1 | 111–130 2 | ≥131 3
    (news2.PULSE, 30, 3), (news2.PULSE, 40, 3),
    (news2.PULSE, 41, 1), (news2.PULSE, 50, 1),
    (news2.PULSE, 51, 0), (news2.PULSE, 90, 0),
    (news2.PULSE, 91, 1), (news2.PULSE, 110, 1),
    (news2.PULSE, 111, 2), (news2.PULSE, 130, 2),
    (news2.PULSE, 131, 3), (news2.PULSE, 200, 3),
    # Consciousness: alert 0 | new confusion, voice, pain, unresponsive 3
    (news2.CONSCIOUSNESS, 0, 0), (news2.CONSCIOUSNESS, 1, 3),
    # Temperature: ≤35.0 3 | 35.1–36.0 1 | 36.1–38.0 0 | 38.1–39.0 1 | ≥39.1 2
    (news2.TEMPERATURE, 33.0, 3), (news2.TEMPERATURE, 35.0, 3),
    (news2.TEMPERATURE, 35.1, 1), (news2.TEMPERATURE, 36.0, 1),
    (news2.TEMPERATURE, 36.1, 0), (news2.TEMPERATURE, 38.0, 0),
    (news2.TEMPERATURE, 38.1, 1), (news2.TEMPERATURE, 39.0, 1),
    (news2.TEMPERATURE, 39.1, 2), (news2.TEMPERATURE, 41.5, 2),
]  # fmt: skip


@pytest.mark.parametrize(("parameter", "value", "expected"), CHART)
def test_every_band_edge_scores_as_the_chart(
    parameter: news2.Parameter, value: float, expected: int
) -> None:
    assert news2.band_of(parameter, value).score == expected


def test_every_band_of_the_chart_is_covered_by_the_table() -> None:
    covered = {(p.title, news2.band_of(p, v).label) for p, v, _ in CHART}
    every = {
        (p.title, b.label)
        for p in (
            news2.RESPIRATION, news2.SPO2_SCALE_1, news2.SPO2_SCALE_2_ON_AIR,
            news2.SPO2_SCALE_2_ON_OXYGEN, news2.AIR_OR_OXYGEN, news2.SYSTOLIC, news2.PULSE,
            news2.CONSCIOUSNESS, news2.TEMPERATURE,
        )
        for b in p.bands
    }  # fmt: skip
    assert covered == every


@pytest.mark.parametrize(
    ("value", "expected"),
    [(20.4, 0), (20.5, 2), (8.49, 3), (8.5, 1), (95.5, 0), (95.49, 1)],
)
def test_values_between_whole_numbers_are_rounded_to_the_chart(value: float, expected: int) -> None:
    parameter = news2.RESPIRATION if value < 30 else news2.SPO2_SCALE_1
    assert news2.band_of(parameter, value).score == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(35.04, 3), (35.05, 1), (38.04, 0), (38.05, 1), (39.05, 2)]
)
def test_temperature_is_rounded_to_one_decimal(value: float, expected: int) -> None:
    assert news2.band_of(news2.TEMPERATURE, value).score == expected


NORMAL = VitalSigns(16, 97, False, 120, 70, "A", 37.0)

# (vital signs, total, red score, risk): worked examples of the aggregate
WORKED: list[tuple[VitalSigns, int, bool, news2.Risk]] = [
    (NORMAL, 0, False, "low"),
    (VitalSigns(22, 95, False, 105, 95, "A", 38.5), 2 + 1 + 1 + 1 + 1, False, "medium"),
    (VitalSigns(10, 94, False, 115, 88, "A", 37.0), 1 + 1, False, "low"),
    (VitalSigns(16, 97, False, 120, 70, "C", 37.0), 3, True, "low-medium"),
    (VitalSigns(16, 97, False, 120, 70, "V", 37.0), 3, True, "low-medium"),
    (VitalSigns(16, 97, False, 120, 70, "P", 37.0), 3, True, "low-medium"),
    (VitalSigns(16, 97, False, 120, 70, "U", 37.0), 3, True, "low-medium"),
    (VitalSigns(16, 97, True, 120, 70, "A", 37.0), 2, False, "low"),
    (VitalSigns(21, 96, True, 115, 91, "A", 37.0), 2 + 0 + 2 + 0 + 1, False, "medium"),
    (VitalSigns(26, 90, True, 88, 135, "V", 34.8), 3 + 3 + 2 + 3 + 3 + 3 + 3, True, "high"),
    (VitalSigns(24, 93, False, 100, 111, "A", 39.1), 2 + 2 + 2 + 2 + 2, False, "high"),
    # scale 2: 90 % on air scores 0; 97 % on oxygen scores 3 (over-oxygenated)
    (VitalSigns(16, 90, False, 120, 70, "A", 37.0, spo2_scale=2), 0, False, "low"),
    (VitalSigns(16, 97, True, 120, 70, "A", 37.0, spo2_scale=2), 3 + 2, True, "medium"),
    (VitalSigns(16, 94, True, 120, 70, "A", 37.0, spo2_scale=2), 1 + 2, False, "low"),
    (VitalSigns(16, 84, False, 120, 70, "A", 37.0, spo2_scale=2), 2, False, "low"),
    # every parameter at its worst: 20, the VKP NEWS2 example's total; that example scores
    # "93–94 on oxygen" 3, but the chart scores it 1 (so its own values make 18)
    (VitalSigns(25, 97, True, 90, 40, "U", 35.0, spo2_scale=2), 20, True, "high"),
    (VitalSigns(25, 94, True, 90, 40, "U", 35.0, spo2_scale=2), 18, True, "high"),
]


@pytest.mark.parametrize(("signs", "total", "red", "risk"), WORKED)
def test_worked_examples(signs: VitalSigns, total: int, red: bool, risk: news2.Risk) -> None:
    result = news2.score(signs)
    assert (result.total, result.red_score, result.risk) == (total, red, risk)
    assert len(result.parts) == 7


@pytest.mark.parametrize(
    ("total", "red", "risk"),
    [(0, False, "low"), (4, False, "low"), (3, True, "low-medium"), (4, True, "low-medium"),
     (5, False, "medium"), (6, True, "medium"), (7, False, "high"), (12, True, "high")],
)  # fmt: skip
def test_clinical_risk_thresholds(total: int, red: bool, risk: news2.Risk) -> None:
    assert news2.clinical_risk(total, red) == risk


@pytest.mark.parametrize(
    "signs",
    [
        VitalSigns(16, 97, False, 120, 70, "X", 37.0),
        VitalSigns(16, 97, False, 120, 70, "A", 37.0, spo2_scale=3),
        VitalSigns(float("nan"), 97, False, 120, 70, "A", 37.0),
    ],
)
def test_impossible_input_is_a_value_error(signs: VitalSigns) -> None:
    with pytest.raises(ValueError, match=r"must be|not a number"):
        news2.score(signs)
