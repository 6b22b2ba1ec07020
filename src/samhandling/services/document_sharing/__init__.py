"""Pasientens journaldokumenter: the document registry and repository of this
collaboration area over IHE MHD (docs/DOCUMENT_SHARING.md).

ITI-65 Provide Document Bundle is the platform's transaction with the registry's write
rules (`provide`: metadata as data in `metadata`, checked by `metadata_rules`; content
checked and stored outside the rows by `content`; replacements by `replacing`; the
producer's types mapped by `concept_maps`; Folders by `folders`); ITI-67/66 are the
generic searches of DocumentReference and List (with MHD's own parameters, shipped in
`search_parameters/`); ITI-68 is `GET Binary/{id}` (api/binary_routes.py). Searches
of DocumentReference say how many documents were withheld; the citizen hides a document
from health personnel with `$hide-from-clinicians` (`hiding`); `demo` gives the demo
population documents; the `document` topic tells subscribers of new documents.
Federation across areas is another package's.
"""

from __future__ import annotations

from samhandling.services.document_sharing import concept_maps, demo, hiding
from samhandling.services.document_sharing.content import BinaryContentStored
from samhandling.services.document_sharing.folders import FolderRule
from samhandling.services.document_sharing.provide import DocumentEntryRule, SubmissionSetRule
from samhandling.services.service import DefinitionFolder, Service
from samhandling.services.subscription_topic import Topic

__all__ = ["SERVICE"]

SERVICE = Service(
    name="document-sharing",
    operations=(*concept_maps.OPERATIONS, *hiding.OPERATIONS),
    # IHE MHD's own: DocumentReference `creation`, List `designationType` and `sourceId`
    definitions=(DefinitionFolder("samhandling.services.document_sharing", "search_parameters"),),
    write_rules=(
        BinaryContentStored(),
        hiding.NorsKeptOnWrites(),
        DocumentEntryRule(),
        SubmissionSetRule(),
        FolderRule(),
        concept_maps.ConceptMapWritten(),
    ),
    demo=demo.shared_documents,
    benchmark="document-sharing",
    counts_withheld=(("DocumentReference", "documents"),),
    topics=(
        Topic(
            "document",
            "New or replaced document",
            "A document was shared for the patient, or a shared one was replaced.",
            ("DocumentReference",),
            ("create",),
            applies=lambda document: document.get("status") == "current",
        ),
    ),
)
