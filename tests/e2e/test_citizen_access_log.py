"""The citizen's access log end to end: a real server process, tokens from the built-in issuer.

The integration engine registers the citizen's record, a GP reads it for treatment, a
hospital physician in an emergency; the citizen then asks who accessed their data and sees
all three — organisation, role, time,
purpose, service, emergency flag and reason — in plain terms, without staff identifiers,
without their own accesses; another citizen is refused.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from fixtures.critical_information import CITIZEN
from fixtures.server_process import ServerProcess
from samhandling.identifiers.identifier_systems import HPR_SYSTEM


def _accesses(log: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in a["part"]}
        for a in log["parameter"]
    ]


def test_citizen_sees_who_accessed_their_data(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        server.load_personas(client)
        citizen = server.headers("citizen")
        assert client.get(f"/Patient/{CITIZEN}", headers=citizen).status_code == 200
        gp = server.headers("gp")
        assert client.get(f"/Patient/{CITIZEN}", headers=gp).status_code == 200
        emergency = server.headers("hospital-physician", purpose="BTG", reason="bevisstløs")
        assert client.get(f"/Patient/{CITIZEN}", headers=emergency).status_code == 200

        log = client.get(f"/Patient/{CITIZEN}/$access-log", headers=citizen)
        assert log.status_code == 200, log.text
        accesses = _accesses(log.json())
        # newest first; the citizen's own read is not listed
        hospital, gp_read, loaded_by = accesses
        assert loaded_by["action"] == "registrerte" and "991000070" in loaded_by["organisation"]
        assert hospital["action"] == "leste" and hospital["role"] == "lege"
        assert hospital["purpose"] == "nødtilgang" and hospital["service"] == "Indremedisin"
        assert hospital["emergency"] is True and hospital["emergencyReason"] == "bevisstløs"
        assert "991000046" in hospital["organisation"]
        assert gp_read["purpose"] == "behandling" and gp_read["emergency"] is False
        assert "991000011" in gp_read["organisation"] and "emergencyReason" not in gp_read
        assert gp_read["time"] <= hospital["time"]
        assert HPR_SYSTEM not in log.text  # no staff identifiers: the HPR numbers neither
        assert not re.search(r"(?<!\d)910000[13](?!\d)", log.text)

        stranger = server.headers("citizen", patient_fnr="12837510110")
        refused = client.get(f"/Patient/{CITIZEN}/$access-log", headers=stranger)
        assert refused.status_code == 403
        assert "parameter" not in refused.json()
