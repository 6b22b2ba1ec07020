"""Home measurements as charts, for the citizen and the clinician alike: server-rendered
SVG (the pages run no script), each with a table of the same numbers as its accessible
alternative.

The numbers are the measurements service's `Observation/$aggregate` (count, min, max,
mean and last value per day, computed in the database) under the caller's guard; each
series is one audited call. Days run from local midnight (Europe/Oslo).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from samhandling.auth import Principal
from samhandling.web import display
from samhandling.web.access import Call
from samhandling.web.citizen import Section, chosen_person, section
from samhandling.web.views import WebViews

LOINC = "http://loinc.org"
DAYS = (7, 30, 90)
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 32


@dataclass(frozen=True)
class Series:
    """One kind of home measurement: its key (for the words), its code."""

    key: str
    code: str
    system: str = LOINC


SERIES = (
    Series("systolic", "8480-6"),
    Series("pulse", "8867-4"),
    Series("spo2", "59408-5"),
    Series("weight", "29463-7"),
)


@dataclass(frozen=True)
class Day:
    """One day's measurements of a series."""

    day: str
    count: int
    low: float
    high: float
    mean: float
    last: float
    unit: str


@dataclass
class Chart:
    """A series' days and the geometry of its SVG chart (viewBox units)."""

    series: Series
    days: list[Day]
    unit: str = ""
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    bars: list[tuple[float, float, float]] = field(default_factory=list)  # (x, y low, y high)
    means: list[tuple[float, float]] = field(default_factory=list)  # (x, y)
    labels: list[tuple[float, str]] = field(default_factory=list)  # (x, day) on the x axis

    @property
    def line(self) -> str:
        """The SVG `points` of the line through the daily means."""
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.means)


def period(now: datetime, days: int) -> tuple[datetime, datetime]:
    """`[start, end)` of the last `days` local days, today included."""
    zone = display.local_zone()
    today = now.astimezone(zone).date()
    start = datetime.combine(today - timedelta(days=days - 1), time(), zone)
    return start, datetime.combine(today + timedelta(days=1), time(), zone)


def day_rows(body: dict[str, Any], start: datetime) -> list[Day]:
    """`$aggregate`'s intervals as days (the day is that of the interval's start)."""
    zone = start.tzinfo or UTC
    rows = []
    for parameter in body.get("parameter", []):
        if parameter.get("name") != "interval":
            continue
        parts: dict[str, Any] = {
            p["name"]: next((v for k, v in p.items() if k.startswith("value")), None)
            for p in parameter.get("part", [])
        }
        begins = datetime.fromisoformat(str(parts["start"]).replace("Z", "+00:00"))
        rows.append(
            Day(
                begins.astimezone(zone).date().isoformat(),
                int(parts["count"]),
                float(parts["min"]),
                float(parts["max"]),
                float(parts["mean"]),
                float(parts["last"]),
                str(parts.get("unit") or ""),
            )
        )
    return rows


def chart(series: Series, days: list[Day], first: date, count: int) -> Chart:
    """The chart of `days` over `count` days from `first`: a bar from min to max and a
    line through the means, on a y axis spanning the values (5 % margin)."""
    drawn = Chart(series, days, days[0].unit if days else "")
    if not days:
        return drawn
    low, high = min(d.low for d in days), max(d.high for d in days)
    margin = (high - low) * 0.05 or 1.0
    low, high = low - margin, high + margin
    step = (WIDTH - LEFT - RIGHT) / count

    def y(value: float) -> float:
        return TOP + (high - value) / (high - low) * (HEIGHT - TOP - BOTTOM)

    for row in days:
        index = (date.fromisoformat(row.day) - first).days
        x = LEFT + (index + 0.5) * step
        drawn.bars.append((x, y(row.low), y(row.high)))
        drawn.means.append((x, y(row.mean)))
    drawn.ticks = [(y(v), f"{v:.0f}" if high - low > 10 else f"{v:.1f}")
                   for v in (low, (low + high) / 2, high)]  # fmt: skip
    drawn.labels = [(LEFT + (i + 0.5) * step, (first + timedelta(days=i)).strftime("%d.%m"))
                    for i in (0, count // 2, count - 1)]  # fmt: skip
    return drawn


def chosen_days(request: Request) -> int:
    """The period asked for (7, 30 or 90 days; 30 otherwise)."""
    wanted = request.query_params.get("days", "")
    return int(wanted) if wanted in {str(d) for d in DAYS} else 30


async def measurement_charts(
    data: Any, principal: Principal, patient_id: str, days: int, now: datetime
) -> list[tuple[Chart, Section]]:
    """Every series' chart of the patient's last `days` local days, each through its own
    audited `Observation/$aggregate` under the caller's guard (the citizen's page and the
    clinician's draw the same)."""
    start, end = period(now, days)
    charts: list[tuple[Chart, Section]] = []
    for series in SERIES:
        items = [
            ("patient", f"Patient/{patient_id}"),
            ("code", f"{series.system}|{series.code}"),
            ("start", start.isoformat()),
            ("end", end.isoformat()),
            ("interval", "day"),
        ]
        call = data.invoke(principal, Call("aggregate", "Observation", None, items))
        found = await section(_body(call), lambda body: day_rows(body, start))
        charts.append((chart(series, found.rows, start.date(), days), found))
    return charts


#: What the `_charts.html` macro needs of the geometry.
SIZE = (WIDTH, HEIGHT, LEFT, TOP, BOTTOM)


class MeasurementPages:
    """`/citizen/measurements`: the charts of the chosen person's home measurements."""

    def __init__(self, views: WebViews) -> None:
        self.views = views

    def routes(self) -> list[Route]:
        return [Route("/citizen/measurements", self.views.guarded(self.charts), methods=["GET"])]

    async def charts(self, request: Request) -> Response:
        session, principal, everyone, person = await chosen_person(self.views, request)
        if principal.kind != "citizen":
            return RedirectResponse("/clinician", 303)
        days = chosen_days(request)
        charts = []
        if person is not None:
            now = datetime.now(UTC)
            charts = await measurement_charts(
                self.views.data, principal, person.patient_id, days, now
            )
        return self.views.page(
            request,
            "measurements.html",
            session,
            name=principal.name or "",
            people=everyone,
            person=person,
            charts=charts,
            days=days,
            choices=DAYS,
            size=SIZE,
        )


async def _body(call: Any) -> dict[str, Any]:
    return dict((await call).body)
