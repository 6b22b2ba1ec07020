"""The words of the powers-of-attorney page (web/powers_of_attorney.py), bokmål and English;
part of `texts.TEXTS`."""

from __future__ import annotations

#: key → (bokmål, English)
ATTORNEY_TEXTS: dict[str, tuple[str, str]] = {
    "poa_link": ("Fullmakter du har gitt og fått", "Powers of attorney you gave and hold"),
    "poa_title": ("Fullmakter", "Powers of attorney"),
    "poa_intro": (
        "Den du gir fullmakt, ser de samme helseopplysningene som du, til du trekker fullmakten"
        " tilbake eller den utløper. Alt fullmektigen ser, står i loggen din.",
        "The person you give power of attorney sees the same health information as you, until"
        " you revoke it or it expires. Everything they look at is in your access log.",
    ),
    "poa_given": ("Du har gitt fullmakt til", "You gave power of attorney to"),
    "poa_received": ("Disse har gitt deg fullmakt", "These people gave you power of attorney"),
    "poa_none_given": ("Du har ikke gitt noen fullmakt.", "You have given no power of attorney."),
    "poa_none_received": ("Ingen har gitt deg fullmakt.", "Nobody gave you power of attorney."),
    "poa_received_hint": (
        "En ny fullmakt blir tilgjengelig neste gang du logger inn.",
        "A new power of attorney becomes available the next time you log in.",
    ),
    "poa_person": ("Person", "Person"),
    "poa_from": ("Fra", "From"),
    "poa_until": ("Til og med", "Until"),
    "poa_until_revoked": ("til den trekkes tilbake", "until revoked"),
    "poa_state": ("Status", "Status"),
    "poa_current": ("Gjelder", "Valid"),
    "poa_lapsed": ("Utløpt", "Expired"),
    "poa_revoke": ("Trekk tilbake", "Revoke"),
    "poa_grant": ("Gi fullmakt", "Give power of attorney"),
    "poa_grant_hint": (
        "Fullmektigen må være over 18 år og finnes i pasientregisteret.",
        "The attorney must be 18 or older and be in the patient register.",
    ),
    "poa_national_id": ("Fødselsnummer eller D-nummer", "National ID or D-number"),
    "poa_national_id_hint": ("11 siffer", "11 digits"),
    "poa_family": ("Etternavn", "Family name"),
    "poa_end": ("Gjelder til og med (valgfritt)", "Valid until (optional)"),
    "poa_end_hint": ("Tomt: til du trekker den tilbake", "Empty: until you revoke it"),
    "poa_give": ("Gi fullmakt", "Give power of attorney"),
    "poa_done_granted": ("Fullmakten er gitt.", "The power of attorney was given."),
    "poa_done_revoked": (
        "Fullmakten er trukket tilbake. Den gjelder ikke lenger.",
        "The power of attorney was revoked. It no longer applies.",
    ),
    "poa_not_saved": ("Fullmakten ble ikke lagret", "The power of attorney was not saved"),
    "poa_error_not_found": (
        "Vi finner ingen person med dette nummeret og etternavnet.",
        "We find no person with this number and family name.",
    ),
    "poa_error_self": ("Du kan ikke gi fullmakt til deg selv.", "You cannot give it to yourself."),
    "poa_error_minor": (
        "Fullmektigen må være 18 år eller eldre.",
        "The attorney must be 18 or older.",
    ),
    "poa_error_grantor_minor": (
        "Du må være 18 år eller eldre for å gi fullmakt.",
        "You must be 18 or older to give power of attorney.",
    ),
    "poa_error_already": (
        "Personen har allerede fullmakt fra deg.",
        "This person already holds a power of attorney from you.",
    ),
    "poa_error_number": (
        "Skriv et gyldig fødselsnummer eller D-nummer (11 siffer).",
        "Enter a valid national ID or D-number (11 digits).",
    ),
    "poa_error_end": (
        "Sluttdatoen må være i dag eller senere.",
        "The end date must be today or later.",
    ),
    "poa_person_unavailable": (
        "Du har ikke tilgang til denne personens opplysninger (lenger). Du ser dine egne.",
        "You do not (or no longer) have access to this person's information. You see your own.",
    ),
}
