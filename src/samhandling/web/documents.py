"""Documents: the list and the download (the citizen's and the clinician's), and the
citizen hiding one from health personnel.

The list is the document sharing service's search (`DocumentReference?patient=…
&status=current`) under the citizen's guard; the download is its ITI-68 retrieval
(`Binary/{id}`) under the same guard, so a document withheld from the citizen is neither
listed nor downloadable; hiding and showing are the service's `$hide-from-clinicians` and
`$show-to-clinicians`, which only the patient themself may invoke (not a parent).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from samhandling.auth import Principal
from samhandling.auth.labels import NO_9603
from samhandling.fhir.outcome import FhirError, error
from samhandling.services.document_sharing.hiding import HIDE, NORS, SHOW
from samhandling.web.access import Call
from samhandling.web.display import concept_text
from samhandling.web.security import content_security_policy, harden
from samhandling.web.views import WebViews

ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
BINARY = re.compile(r"(?:^|/)Binary/([A-Za-z0-9\-.]{1,64})$")
#: media type → the file name's extension of a download
EXTENSIONS = {"application/pdf": "pdf", "text/plain": "txt", "text/xml": "xml"}


def document_query(patient_id: str) -> list[tuple[str, str]]:
    """The citizen's current documents, newest first."""
    return [("patient", patient_id), ("status", "current"), ("_sort", "-date"), ("_count", "50")]


def document_rows(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per document the search returned: what, when, from whom, its download."""
    rows = []
    for entry in bundle.get("entry", []):
        document = entry.get("resource") or {}
        if document.get("resourceType") != "DocumentReference":
            continue
        attachment = next((c.get("attachment") or {} for c in document.get("content") or []), {})
        found = BINARY.search(str(attachment.get("url") or ""))
        author: dict[str, Any] = next(iter(document.get("author") or []), {})
        rows.append(
            {
                "id": document.get("id"),
                "title": attachment.get("title") or concept_text(document.get("type")),
                "date": document.get("date") or "",
                "author": author.get("display") or author.get("reference") or "",
                "binary": found.group(1) if found else None,
                "hidden": _hidden(document),
            }
        )
    return rows


def _hidden(document: dict[str, Any]) -> bool:
    return any(
        label.get("system") == NO_9603 and label.get("code") == NORS
        for concept in document.get("securityLabel") or []
        for label in concept.get("coding") or []
    )


class DocumentPages:
    """The download and the hide/show forms of the citizen's documents."""

    def __init__(self, views: WebViews) -> None:
        self.views = views

    def routes(self) -> list[Route]:
        """`/citizen/documents/{binary}` (download) and its `hide`/`show` forms."""
        guarded = self.views.guarded
        return [
            Route("/citizen/documents/{id}", guarded(self.download), methods=["GET"]),
            Route("/citizen/documents/{id}/hide", guarded(self.hide), methods=["POST"]),
            Route("/citizen/documents/{id}/show", guarded(self.show), methods=["POST"]),
        ]

    async def download(self, request: Request) -> Response:
        _, principal = await self.views.caller(request)
        return await download(self.views, principal, document_id(request))

    async def hide(self, request: Request) -> Response:
        return await self._change(request, HIDE)

    async def show(self, request: Request) -> Response:
        return await self._change(request, SHOW)

    async def _change(self, request: Request, operation: str) -> Response:
        session, principal = await self.views.caller(request)
        form = await self.views.form(request, session)
        call = Call(operation, "DocumentReference", document_id(request), method="POST")
        await self.views.data.invoke(principal, call)
        patient = form.get("patient", "")
        back = f"/citizen?patient={patient}" if ID.fullmatch(patient) else "/citizen"
        return RedirectResponse(f"{back}#documents-heading", 303)


async def download(views: WebViews, principal: Principal, binary_id: str) -> Response:
    """A document's content as an attachment: ITI-68 under the caller's own access rules
    (404 for what they may not see, a hidden document included for health personnel)."""
    retrieval = await views.data.retrieve(principal, binary_id)
    media = retrieval.content_type
    name = f"dokument-{binary_id}.{EXTENSIONS.get(media, 'bin')}"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Content-Length": str(retrieval.size),
    }
    response = StreamingResponse(views.data.content(retrieval), 200, headers, media)
    return harden(response, content_security_policy())


def document_id(request: Request, name: str = "id") -> str:
    """The id in the path (a 404 when it cannot be one)."""
    value = str(request.path_params[name])
    if not ID.fullmatch(value):
        raise FhirError(404, error("not-found", "No such document"))
    return value
