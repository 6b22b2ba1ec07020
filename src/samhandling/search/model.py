"""The parsed form of a search: criteria, result parameters and paging state."""

from __future__ import annotations

from dataclasses import dataclass, field

from samhandling.fhir.outcome import Issue
from samhandling.fhir.search_parameters import SearchParameter

DEFAULT_COUNT = 50
MAX_COUNT = 1000


@dataclass(frozen=True)
class Criterion:
    """One search parameter occurrence: its values are OR-ed, occurrences are AND-ed.

    ``type`` is the parameter's type, or ``id``/``lastUpdated`` (stored on the resource row),
    ``has`` (reverse chaining) or ``type`` (``_type`` in system search). A chained criterion
    (``subject:Patient.identifier=…``) has no values of its own: ``chain`` holds, per target
    type, the criterion evaluated on the referenced resources.
    """

    code: str
    type: str
    modifier: str | None
    values: tuple[str, ...]
    parameter: SearchParameter | None = field(default=None, compare=False, repr=False)
    chain: tuple[tuple[str, Criterion], ...] = ()
    has: HasLink | None = None


@dataclass(frozen=True)
class HasLink:
    """``_has:Observation:patient:<inner>``: resources referenced by matching Observations."""

    source_type: str
    reference_param: str
    inner: Criterion


@dataclass(frozen=True)
class SortKey:
    code: str
    type: str  # parameter type, or id / lastUpdated
    descending: bool


@dataclass(frozen=True)
class Include:
    """``_include``/``_revinclude`` = ``source_type:param[:target_type]`` (param ``*`` = all)."""

    source_type: str
    param: str
    target_type: str | None
    iterate: bool
    reverse: bool


@dataclass
class SearchQuery:
    resource_type: str
    criteria: list[Criterion] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0
    snapshot_tx: int | None = None
    ignored: list[Issue] = field(default_factory=list)
    resource_types: tuple[str, ...] = ()  # system search: the types searched ('' = all)
    sort: list[SortKey] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    total: str | None = None  # none | estimate | accurate (None: not asked)
    summary: str | None = None  # true | text | data | count | false
    elements: tuple[str, ...] = ()
    cursor: str | None = None
    after: str | None = None  # keyset paging by id (see search/keyset.py)
    before: str | None = None
    compartment: tuple[str, str] | None = None  # ("Patient", id)
    base_url: str | None = None
    explicit_count: bool = False
    every_type: bool = False  # system search over all types (of a compartment): no type filter
    # the Bundle's resources are the stored bytes (an HTTP answer, unshaped): `Judged`
    stored_bytes: bool = False

    @property
    def types(self) -> tuple[str, ...]:
        """The resource types searched (one for a type search)."""
        return self.resource_types or (self.resource_type,)
