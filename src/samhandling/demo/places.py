"""Municipalities (kommuner) of the synthetic population, with their kommune numbers.

Kommune numbers are those in force from 1 January 2024 (Volven code system 3402,
`urn:oid:2.16.578.1.12.4.1.1.3402`). Fjordbyen, the home of the development personas, is
fictional; its number 4699 is not used by any real kommune (Vestland's run from 4601).
"""

from __future__ import annotations

from dataclasses import dataclass

KOMMUNE_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.3402"
MUNICIPALITY_EXTENSION = "http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode"


@dataclass(frozen=True)
class Kommune:
    """A municipality: number, name, and one postal code and post town for its addresses."""

    number: str
    name: str
    postal_code: str
    post_town: str


FJORDBYEN = Kommune("4699", "Fjordbyen", "5999", "FJORDBYEN")

KOMMUNER: tuple[Kommune, ...] = (
    FJORDBYEN,
    Kommune("0301", "Oslo", "0155", "OSLO"),
    Kommune("4601", "Bergen", "5003", "BERGEN"),
    Kommune("5001", "Trondheim", "7010", "TRONDHEIM"),
    Kommune("5501", "Tromsø", "9008", "TROMSØ"),
    Kommune("4204", "Kristiansand", "4610", "KRISTIANSAND S"),
)
"""Fjordbyen first: it holds the personas' organisations and most of the population."""


def address(kommune: Kommune, line: str, use: str = "home") -> dict[str, object]:
    """A FHIR Address in `kommune`, with the no-basis municipality code on `district`."""
    return {
        "use": use,
        "type": "physical",
        "line": [line],
        "city": kommune.post_town,
        "district": kommune.name,
        "_district": {
            "extension": [
                {
                    "url": MUNICIPALITY_EXTENSION,
                    "valueCoding": {
                        "system": KOMMUNE_SYSTEM,
                        "code": kommune.number,
                        "display": kommune.name,
                    },
                }
            ]
        },
        "postalCode": kommune.postal_code,
        "country": "NO",
    }
