"""Pasientens prøvesvar: lab results for clinicians at once, for citizens after a delay,
never when blocked (docs/LAB_RESULTS.md).

The release delays per kind of analysis are data (`release_delays.json`); the access rule
(`access`) delays and blocks results for citizens and keeps quality-assurance results from
care; `$block`/`$unblock` (`blocking`) label a report and its parts, and a correction's new
parts follow the block (`block_follows`); the write rules (`write_rules`) guard the block
label and hold national-shape results to naming their lab and issue time; `$lastn` and
`$trend` (`clinician_queries`) answer the clinician's questions from the database; `demo`
gives the demo population lab histories.
"""

from __future__ import annotations

from samhandling.services.lab_results import blocking, clinician_queries, demo
from samhandling.services.lab_results.access import LabResultAccess
from samhandling.services.lab_results.block_follows import BlockFollowsCorrections
from samhandling.services.lab_results.release_delays import (
    ReleaseDelays,
    load_release_delays,
    release_delays_from,
)
from samhandling.services.lab_results.write_rules import (
    BlockLabelKeptOnWrites,
    NlkCodesValid,
    ResultsNameLabAndIssue,
)
from samhandling.services.service import Service
from samhandling.services.subscription_topic import Topic

__all__ = ["SERVICE", "ReleaseDelays", "load_release_delays", "release_delays_from", "service"]


def service(delays: ReleaseDelays | None = None) -> Service:
    """The lab-results service with these release delays (default: the shipped table)."""
    return Service(
        name="lab-results",
        operations=(*blocking.OPERATIONS, *clinician_queries.OPERATIONS),
        write_rules=(
            BlockLabelKeptOnWrites(),
            BlockFollowsCorrections(),
            ResultsNameLabAndIssue(),
            NlkCodesValid(),
        ),
        access_rules=(LabResultAccess(delays or load_release_delays()),),
        demo=demo.lab_histories,
        benchmark="lab-results",
        topics=(
            Topic(
                "lab-result",
                "New or corrected lab result",
                "A lab report was issued, amended or corrected.",
                ("DiagnosticReport",),
                applies=lambda report: (
                    report.get("status") in ("final", "amended", "corrected", "appended")
                ),
            ),
        ),
    )


SERVICE = service()
