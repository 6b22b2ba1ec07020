"""A DPoP proof is accepted once by `serve --workers 2`, whichever worker gets it (issue 16
#7: with a per-process replay cache the same proof was accepted by each worker)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
from joserfc.jwk import ECKey

from fixtures.dpop_proofs import proof
from fixtures.server_process import ServerProcess
from samhandling.auth import DevIssuer

ATTEMPTS = 24
ROUNDS = 5
_COUNT = re.compile(r'^samhandling_requests_total\{interaction="search",status="(\d+)"\} (\S+)$')


def worker_counts(server: ServerProcess) -> tuple[int, int]:
    """(accepted, refused) searches as one worker counted them (its own /metrics)."""
    text = httpx.get(f"http://127.0.0.1:{server.port}/metrics").text
    counts = {"200": 0, "401": 0}
    for line in text.splitlines():
        if match := _COUNT.match(line):
            counts[match[1]] = int(float(match[2]))
    return counts["200"], counts["401"]


def test_the_same_proof_is_accepted_once_across_two_workers(two_workers: ServerProcess) -> None:
    key = ECKey.generate_key("P-256")
    issuer = DevIssuer(
        two_workers.data_dir, two_workers.base_url.removesuffix("/fhir") + "/dev-issuer"
    )
    token = issuer.mint("system", dpop_jkt=key.thumbprint())
    url = f"{two_workers.base_url}/Patient"
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof(key, url, token)}

    def attempt(_: int) -> int:
        return httpx.get(url, headers=headers).status_code  # a new connection each time

    statuses: list[int] = []
    snapshots: set[tuple[int, int]] = set()
    with ThreadPoolExecutor(6) as pool:
        # The kernel hands each new connection to either worker; now and then one worker
        # gets a whole round, so send rounds until both have been sent the proof.
        for _ in range(ROUNDS):
            statuses += pool.map(attempt, range(ATTEMPTS))
            snapshots = set(pool.map(lambda _: worker_counts(two_workers), range(40)))
            if len(snapshots) == 2 and all(sum(s) > 0 for s in snapshots):
                break
    assert statuses.count(200) == 1, statuses
    assert statuses.count(401) == len(statuses) - 1, statuses
    # Each worker keeps its own metrics: two different snapshots, each with requests, that
    # add up to all attempts show that both workers were sent the proof.
    assert len(snapshots) == 2, snapshots
    assert all(sum(s) > 0 for s in snapshots), snapshots
    assert tuple(map(sum, zip(*snapshots, strict=True))) == (1, len(statuses) - 1), snapshots
