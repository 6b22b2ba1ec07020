"""NEWS2, the National Early Warning Score 2 (Royal College of Physicians, 2017), as data.

The chart is `PARAMETERS`: per physiological parameter its bands, each the highest value
it covers (inclusive) and the score. A value is first rounded to the chart's precision
(whole numbers; temperature to one decimal, half up), so 20.4 breaths/min is "12–20" and
38.05 °C is "38.1–39.0". SpO2 has two scales; scale 2 (for patients with hypercapnic
respiratory failure, chosen by a clinician) scores high saturations only on supplemental
oxygen. Pure functions, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

Risk = Literal["low", "low-medium", "medium", "high"]
INF = math.inf


@dataclass(frozen=True)
class Band:
    """Values up to `upper` (inclusive, after rounding) score `score`; `label` is the
    chart's text for the band."""

    upper: float
    score: int
    label: str


@dataclass(frozen=True)
class Parameter:
    """One row of the chart: its key, the SNOMED CT code of its sub-score (as the national
    VKP NEWS2 profile's components), the decimals values are rounded to and the bands."""

    key: str
    title: str
    score_code: str
    decimals: int
    bands: tuple[Band, ...]


def _bands(*rows: tuple[float, int, str]) -> tuple[Band, ...]:
    return tuple(Band(upper, score, label) for upper, score, label in rows)


RESPIRATION = Parameter(
    "respiration",
    "Respiration rate (per minute)",
    "1104301000000104",
    0,
    _bands((8, 3, "≤8"), (11, 1, "9–11"), (20, 0, "12–20"), (24, 2, "21–24"), (INF, 3, "≥25")),
)
SPO2_SCALE_1 = Parameter(
    "spo2-scale-1",
    "SpO2 Scale 1 (%)",
    "1104311000000102",
    0,
    _bands((91, 3, "≤91"), (93, 2, "92–93"), (95, 1, "94–95"), (INF, 0, "≥96")),
)
SPO2_SCALE_2_ON_AIR = Parameter(
    "spo2-scale-2",
    "SpO2 Scale 2 (%), on air",
    "1104321000000108",
    0,
    _bands((83, 3, "≤83"), (85, 2, "84–85"), (87, 1, "86–87"), (INF, 0, "≥88 on air")),
)
SPO2_SCALE_2_ON_OXYGEN = Parameter(
    "spo2-scale-2",
    "SpO2 Scale 2 (%), on oxygen",
    "1104321000000108",
    0,
    _bands(
        (83, 3, "≤83"),
        (85, 2, "84–85"),
        (87, 1, "86–87"),
        (92, 0, "88–92"),
        (94, 1, "93–94 on oxygen"),
        (96, 2, "95–96 on oxygen"),
        (INF, 3, "≥97 on oxygen"),
    ),
)
AIR_OR_OXYGEN = Parameter(
    "air-or-oxygen",
    "Air or oxygen?",
    "1104331000000105",
    0,
    _bands((0, 0, "Air"), (INF, 2, "Oxygen")),  # 0 = air, 1 = oxygen
)
SYSTOLIC = Parameter(
    "systolic",
    "Systolic blood pressure (mmHg)",
    "1104341000000101",
    0,
    _bands(
        (90, 3, "≤90"),
        (100, 2, "91–100"),
        (110, 1, "101–110"),
        (219, 0, "111–219"),
        (INF, 3, "≥220"),
    ),
)
PULSE = Parameter(
    "pulse",
    "Pulse (per minute)",
    "1104351000000103",
    0,
    _bands(
        (40, 3, "≤40"),
        (50, 1, "41–50"),
        (90, 0, "51–90"),
        (110, 1, "91–110"),
        (130, 2, "111–130"),
        (INF, 3, "≥131"),
    ),
)
CONSCIOUSNESS = Parameter(
    "consciousness",
    "Consciousness (ACVPU)",
    "1104361000000100",
    0,
    _bands((0, 0, "Alert"), (INF, 3, "CVPU")),  # 0 = alert, 1 = new confusion, V, P or U
)
TEMPERATURE = Parameter(
    "temperature",
    "Temperature (°C)",
    "1104371000000107",
    1,
    _bands(
        (35.0, 3, "≤35.0"),
        (36.0, 1, "35.1–36.0"),
        (38.0, 0, "36.1–38.0"),
        (39.0, 1, "38.1–39.0"),
        (INF, 2, "≥39.1"),
    ),
)

#: ACVPU: the letters the chart scores (A alert; C new confusion, V voice, P pain, U
#: unresponsive all score 3)
ACVPU = ("A", "C", "V", "P", "U")


@dataclass(frozen=True)
class VitalSigns:
    """One set of observations taken together. `consciousness` is an ACVPU letter."""

    respiration: float
    spo2: float
    on_oxygen: bool
    systolic: float
    pulse: float
    consciousness: str
    temperature: float
    spo2_scale: int = 1


@dataclass(frozen=True)
class SubScore:
    parameter: Parameter
    value: float
    band: Band

    @property
    def score(self) -> int:
        return self.band.score


@dataclass(frozen=True)
class News2:
    """The aggregate score, its parts and the clinical risk."""

    parts: tuple[SubScore, ...]

    @property
    def total(self) -> int:
        return sum(part.score for part in self.parts)

    @property
    def red_score(self) -> bool:
        """3 in any single parameter."""
        return any(part.score == 3 for part in self.parts)

    @property
    def risk(self) -> Risk:
        return clinical_risk(self.total, self.red_score)


def clinical_risk(total: int, red_score: bool) -> Risk:
    """RCP thresholds: ≥7 high, 5–6 medium, 3 in one parameter low-medium, else low."""
    if total >= 7:
        return "high"
    if total >= 5:
        return "medium"
    return "low-medium" if red_score else "low"


#: the order of the risks, for "did the risk rise?"
RISK_ORDER: dict[Risk, int] = {"low": 0, "low-medium": 1, "medium": 2, "high": 3}


def band_of(parameter: Parameter, value: float) -> Band:
    """The band `value` falls in, after rounding to the chart's precision."""
    if math.isnan(value):
        raise ValueError(f"{parameter.title}: not a number")
    exponent = Decimal(1).scaleb(-parameter.decimals)
    rounded = float(Decimal(str(value)).quantize(exponent, rounding=ROUND_HALF_UP))
    for band in parameter.bands:
        if rounded <= band.upper:
            return band
    raise AssertionError("the last band is unbounded")  # pragma: no cover


def score(signs: VitalSigns) -> News2:
    """NEWS2 of one set of vital signs (ValueError for an unknown scale or ACVPU letter)."""
    if signs.spo2_scale not in (1, 2):
        raise ValueError("SpO2 scale must be 1 or 2")
    letter = signs.consciousness.strip().upper()
    if letter not in ACVPU:
        raise ValueError(f"consciousness must be one of {', '.join(ACVPU)}")
    if signs.spo2_scale == 1:
        spo2 = SPO2_SCALE_1
    else:
        spo2 = SPO2_SCALE_2_ON_OXYGEN if signs.on_oxygen else SPO2_SCALE_2_ON_AIR
    values = (
        (RESPIRATION, signs.respiration),
        (spo2, signs.spo2),
        (AIR_OR_OXYGEN, 1.0 if signs.on_oxygen else 0.0),
        (SYSTOLIC, signs.systolic),
        (PULSE, signs.pulse),
        (CONSCIOUSNESS, 0.0 if letter == "A" else 1.0),
        (TEMPERATURE, signs.temperature),
    )
    return News2(tuple(SubScore(p, v, band_of(p, v)) for p, v in values))
