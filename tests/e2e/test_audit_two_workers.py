"""`serve --workers 2`: both processes answer every request and extend one audit chain
(issue 24).

Each worker's journal commits its own batches; the database links each after whichever
came last, under the chain lock. Before, a batch linked after the head its own process's
previous batch left, so a batch that met the other process's failed and went the long way;
and once psycopg had dropped the journal's prepared statements after such a failure, one
batch size could fail for good: half the reads of a two-worker benchmark were answered 503
"could not be audited". Here eight clients read and write at once through both workers:
every answer is a success, every request has its record, the chain verifies, and both
workers served.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson
from sqlalchemy import func, select

from fixtures.server_process import ServerProcess
from samhandling.audit.chain import seal_pending, verify
from samhandling.audit.storage.tables import audit_event
from samhandling.store.database import make_engine

CLIENTS = 8
REQUESTS = 60  # per client and round; every tenth a create
ROUNDS = 5
_READS = re.compile(r'^samhandling_requests_total\{interaction="read",status="200"\} (\S+)$')


def test_two_workers_answer_every_request_and_extend_one_chain(
    two_workers: ServerProcess, database_url: str
) -> None:
    headers = {**two_workers.headers(), "Content-Type": "application/fhir+json"}
    body = orjson.dumps({"resourceType": "Patient", "gender": "female"})
    base = two_workers.base_url
    created = httpx.post(f"{base}/Patient", content=body, headers=headers).json()

    def client(_: int) -> list[int]:
        with httpx.Client(headers=headers) as keep_alive:  # one worker per connection
            return [
                keep_alive.post(f"{base}/Patient", content=body).status_code
                if i % 10 == 9
                else keep_alive.get(f"{base}/Patient/{created['id']}").status_code
                for i in range(REQUESTS)
            ]

    statuses: list[int] = []
    served: set[float] = set()
    with ThreadPoolExecutor(CLIENTS) as pool:
        # The kernel hands each new connection to either worker; now and then one worker
        # gets a whole round, so rounds go on until both have served.
        for _ in range(ROUNDS):
            statuses += [s for answers in pool.map(client, range(CLIENTS)) for s in answers]
            served = set(pool.map(lambda _: _reads_served(two_workers), range(40)))
            if _both_served(served, reads=len(statuses) - statuses.count(201)):
                break
    creates = statuses.count(201)
    assert creates == len(statuses) // 10
    assert statuses.count(201) == creates
    assert statuses.count(200) == len(statuses) - creates, sorted(set(statuses))
    # each worker counts its own requests: two counts that add up to all reads
    assert _both_served(served, reads=len(statuses) - creates), served
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            recorded = connection.execute(select(func.count()).select_from(audit_event))
            assert recorded.scalar_one() == 1 + len(statuses)  # the first create too
        seal_pending(engine)  # the writes' rows wait at most 0.2 s for a batch to link them
        report = verify(engine)
        assert report.ok and report.checked == 1 + len(statuses) and report.unsealed == 0
    finally:
        engine.dispose()


def _both_served(served: set[float], reads: int) -> bool:
    """Whether the counts the workers showed are two shares of all reads, neither empty.
    Two workers that served exactly half each show one count (the set keeps it once)."""
    if len(served) == 1:
        return 2 * min(served) == reads > 0
    return len(served) == 2 and min(served) > 0 and sum(served) == reads


def _reads_served(server: ServerProcess) -> float:
    """The reads answered 200 by the worker this new connection reached (its /metrics)."""
    text = httpx.get(f"http://127.0.0.1:{server.port}/metrics").text
    for line in text.splitlines():
        if match := _READS.match(line):
            return float(match[1])
    return 0.0
