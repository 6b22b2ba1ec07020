"""HTTP routes of a Bulk Data export after its kick-off (`$export`, services/bulk_export):
the status URL (GET polls, DELETE cancels) and the files of the manifest, streamed as
`application/fhir+ndjson`. Only the client that started a job reaches it."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from samhandling.api.responses import fhir_response
from samhandling.api.rest import FhirRestApi
from samhandling.interactions.transactions import write_transaction
from samhandling.services.bulk_export.files import ExportFolders
from samhandling.services.bulk_export.status import cancel, job_file, owned_job, status_of

NDJSON = "application/fhir+ndjson"


def export_routes(api: FhirRestApi) -> list[BaseRoute]:
    """The routes; they must come before the generic type and instance routes."""
    folders = ExportFolders(api.settings.data_dir / "exports")

    async def status(request: Request) -> Response:
        principal = api.guard(request).principal
        job_id = request.path_params["job"]
        job = await api.run_read(lambda c: owned_job(c, job_id, principal))
        answer = status_of(job, api.base)
        if answer.status == 200 and answer.body is not None:
            return JSONResponse(answer.body, headers=answer.headers)
        if answer.body is not None:
            return fhir_response(answer.body, answer.status, answer.headers)
        return Response(status_code=answer.status, headers=answer.headers)

    async def delete(request: Request) -> Response:
        principal = api.guard(request).principal
        job_id = request.path_params["job"]

        def run() -> None:
            with write_transaction(api.engine) as connection:
                cancel(connection, owned_job(connection, job_id, principal), folders)

        await run_in_threadpool(run)
        return Response(status_code=202)

    async def download(request: Request) -> Response:
        principal = api.guard(request).principal
        job_id, name = request.path_params["job"], request.path_params["name"]
        job = await api.run_read(lambda c: owned_job(c, job_id, principal))
        return FileResponse(job_file(job, name, folders), media_type=NDJSON)

    return [
        Route("/fhir/_export/{job}", status, methods=["GET"]),
        Route("/fhir/_export/{job}", delete, methods=["DELETE"]),
        Route("/fhir/_export/{job}/{name}", download, methods=["GET"]),
    ]
