"""The terminology operations (`$lookup`, `$validate-code`, `$expand`) over `terminology/`,
and the code systems and value sets the platform ships."""

from __future__ import annotations

from samhandling.services.service import DefinitionFolder, Service
from samhandling.services.terminology.operations import terminology_operations

SERVICE = Service(
    name="terminology",
    operations=tuple(terminology_operations()),
    definitions=(
        DefinitionFolder("samhandling.terminology", "code_systems"),
        DefinitionFolder("samhandling.terminology", "value_sets"),
    ),
)
