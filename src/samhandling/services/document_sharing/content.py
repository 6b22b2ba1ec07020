"""A document's bytes: kept in the content store, checked against the metadata, and bound
to the document's patient and labels.

* `BinaryContentStored` (write rule): a Binary written with inline base64 `data` (in a
  Provide Document Bundle, or `POST /Binary` as FHIR JSON) has its bytes moved to the
  content store (`store/document_content.py`) and names them instead; the row stays small.
* `content_problems`: each `content.attachment` of a DocumentReference that names a
  Binary of this server (`Binary/<id>`, as the Bundle's `urn:uuid:` is rewritten to) or
  carries inline `data` must match it: `size` in bytes and `hash` the base64 of the SHA-1
  (IHE MHD, from XDS). Absent, they are filled in from the bytes.
* `bind_content`: the Binary then follows its document's access rules: `securityContext`
  names the document's Patient and it carries the document's security labels.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from samhandling.fhir.outcome import Issue
from samhandling.interactions import crud
from samhandling.interactions.binary_content import content_reference, externalised
from samhandling.interactions.write_rules import WriteContext
from samhandling.store.document_content import ContentInfo
from samhandling.store.version_writer import VersionWriter

BIND = "bind-document-content"


class BinaryContentStored:
    """Write rule: a Binary's inline bytes go to the content store."""

    resource_types = frozenset({"Binary"})  # `applies` accepts no other

    def applies(self, context: WriteContext) -> bool:
        return (
            context.resource_type == "Binary"
            and context.new is not None
            and isinstance(context.new.get("data"), str)
        )

    def check(self, context: WriteContext) -> None:
        assert context.new is not None
        context.new = externalised(context.writer.connection, context.new)


def content_problems(writer: VersionWriter, document: dict[str, Any]) -> list[Issue]:
    """Attachments whose size or hash contradict their bytes (filled in when absent)."""
    problems = []
    for index, content in enumerate(document.get("content") or []):
        attachment = content.get("attachment") if isinstance(content, dict) else None
        if not isinstance(attachment, dict):
            continue
        path = f"DocumentReference.content[{index}].attachment"
        info, problem = _bytes_of(writer, attachment, path)
        if problem is not None:
            problems.append(problem)
        if info is not None:
            problems += _compare(attachment, info, path)
    return problems


def _bytes_of(
    writer: VersionWriter, attachment: dict[str, Any], path: str
) -> tuple[ContentInfo | None, Issue | None]:
    data = attachment.get("data")
    if isinstance(data, str):
        try:
            raw = base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            return None, Issue("error", "value", f"{path}.data is not base64", (f"{path}.data",))
        sha1 = hashlib.sha1(raw).hexdigest()  # MHD: attachment.hash is SHA-1
        return ContentInfo("", sha1, len(raw)), None
    binary_id = binary_id_of(attachment)
    if binary_id is None:
        return None, None  # a FHIR document Bundle, or content held elsewhere
    current = writer.current("Binary", binary_id)
    info = None if current is None or current.deleted else content_reference(current.resource())
    if info is None:
        message = f"{path}.url names Binary/{binary_id}, which holds no document here"
        return None, Issue("error", "not-found", message, (f"{path}.url",))
    return info, None


def _compare(attachment: dict[str, Any], info: ContentInfo, path: str) -> list[Issue]:
    problems = []
    size = attachment.get("size")
    if size is None:
        attachment["size"] = info.size
    elif size != info.size:
        message = f"{path}.size is {size}, but the document has {info.size} bytes"
        problems.append(Issue("error", "value", message, (f"{path}.size",)))
    expected = base64.b64encode(bytes.fromhex(info.sha1)).decode()
    given = attachment.get("hash")
    if given is None:
        attachment["hash"] = expected
    elif given != expected:
        message = f"{path}.hash is not the base64 SHA-1 of the document's bytes"
        problems.append(Issue("error", "value", message, (f"{path}.hash",)))
    return problems


def binary_id_of(attachment: dict[str, Any]) -> str | None:
    """The id of the local Binary an attachment's url names (`Binary/<id>`, relative)."""
    url = attachment.get("url")
    if not isinstance(url, str) or not url.startswith("Binary/"):
        return None
    rid = url.removeprefix("Binary/")
    return rid if rid and "/" not in rid else None


def bind_content(writer: VersionWriter, document: dict[str, Any]) -> None:
    """Each local Binary of `document` follows its access rules: securityContext names the
    document's Patient, and it carries the document's security labels."""
    patient = (document.get("subject") or {}).get("reference")
    labels = [
        coding
        for concept in document.get("securityLabel") or []
        for coding in (concept.get("coding") if isinstance(concept, dict) else None) or []
    ]
    for content in document.get("content") or []:
        attachment = content.get("attachment") if isinstance(content, dict) else None
        binary_id = binary_id_of(attachment) if isinstance(attachment, dict) else None
        current = writer.current("Binary", binary_id) if binary_id else None
        if current is None or current.deleted:
            continue
        binary = current.resource()
        bound = {**binary, "securityContext": {"reference": patient}}
        meta = dict(bound.get("meta") or {})
        meta.pop("versionId", None)
        meta.pop("lastUpdated", None)
        if labels:
            meta["security"] = labels
        else:
            meta.pop("security", None)
        bound["meta"] = meta
        if _same_binding(binary, bound):
            continue
        rid = current.resource_id
        crud.update(writer, "Binary", rid, bound, if_match=current.version_id, intent=BIND)


def _same_binding(before: dict[str, Any], after: dict[str, Any]) -> bool:
    meta_before, meta_after = before.get("meta") or {}, after.get("meta") or {}
    return before.get("securityContext") == after.get("securityContext") and meta_before.get(
        "security"
    ) == meta_after.get("security")
