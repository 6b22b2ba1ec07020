"""The words of the web views, Norwegian bokmål (the default) and English, as a table.

The language is the `lang` cookie (set by the switch in the header), else the first of
`Accept-Language` we speak, else bokmål.
"""

from __future__ import annotations

from collections.abc import Mapping

from samhandling.web.texts_attorney import ATTORNEY_TEXTS

LANGUAGES = ("nb", "en")
DEFAULT = "nb"

#: key → (bokmål, English)
TEXTS: dict[str, tuple[str, str]] = {
    "site": ("Samhandling", "Samhandling"),
    "skip": ("Hopp til hovedinnhold", "Skip to main content"),
    "language": ("Språk", "Language"),
    "logged_in_as": ("Innlogget som", "Logged in as"),
    "log_out": ("Logg ut", "Log out"),
    "log_in": ("Logg inn", "Log in"),
    "home_title": ("Helseopplysninger i samhandling", "Health information in samhandling"),
    "home_intro": (
        "Her ser du dine egne helseopplysninger og hvem som har sett dem. Helsepersonell finner"
        " pasientens kritiske informasjon, legemiddelliste og prøvesvar.",
        "See your own health information and who has looked at it. Health personnel find a"
        " patient's critical information, medication list and lab results.",
    ),
    "home_dev": (
        "Utviklingsutgaven: du velger en syntetisk testperson ved innlogging.",
        "Development edition: you pick a synthetic test person when you log in.",
    ),
    "footer": (
        "Alle personer i utviklingsutgaven er syntetiske.",
        "All people in the development edition are synthetic.",
    ),
    "my_health": ("Mine helseopplysninger", "My health information"),
    "showing_for": ("Du ser opplysningene til", "You are looking at the information of"),
    "whose": ("Hvem sine opplysninger", "Whose information"),
    "yourself": ("deg selv", "yourself"),
    "child": ("barn", "child"),
    "relation_parent": ("barn", "child"),
    "relation_power-of-attorney": ("har gitt deg fullmakt", "gave you power of attorney"),
    "relation_guardian": ("du er verge", "you are guardian"),
    "years": ("år", "years"),
    "why_parent": (
        "Du ser opplysningene som forelder, etter aldersreglene. Det du ser, står i barnets"
        " logg over hvem som har sett opplysningene.",
        "You see the information as a parent, under the age rules. What you look at is in the"
        " child's log of who has seen the information.",
    ),
    "why_power-of-attorney": (
        "Du ser opplysningene fordi personen har gitt deg fullmakt. Fullmakt gis av voksne og"
        " har ingen aldersregler. Det du ser, står i personens logg over hvem som har sett"
        " opplysningene.",
        "You see the information because the person gave you power of attorney. A power of"
        " attorney is given by an adult and has no age rules. What you look at is in the"
        " person's log of who has seen the information.",
    ),
    "why_guardian": (
        "Du ser opplysningene som verge. Det du ser, står i personens logg over hvem som har"
        " sett opplysningene.",
        "You see the information as guardian. What you look at is in the person's log of who"
        " has seen the information.",
    ),
    "poa_rule": (
        "fullmakt: du ser det personen selv ser",
        "power of attorney: you see what the person sees",
    ),
    "age_rules": ("Aldersreglene for foreldre", "The age rules for parents"),
    "age_rule_under_12": (
        "Under 12 år: du ser barnets opplysninger.",
        "Under 12: you see the child's information.",
    ),
    "age_rule_12_15": (
        "12–15 år: du ser ikke prøvesvar og dokumenter, og barnet kan skjerme mer.",
        "12–15: you do not see lab results and documents, and the child may withhold more.",
    ),
    "age_rule_16": (
        "Fra 16 år: du ser ingen av barnets opplysninger.",
        "From 16: you see none of the child's information.",
    ),
    "critical_information": ("Kritisk informasjon", "Critical information"),
    "no_critical_information": (
        "Ingen kritisk informasjon er registrert.",
        "No critical information is registered.",
    ),
    "medication_list": ("Legemiddelliste", "Medication list"),
    "medicine": ("Legemiddel", "Medicine"),
    "dosage": ("Dosering", "Dosage"),
    "status": ("Status", "Status"),
    "reason": ("Begrunnelse", "Reason"),
    "no_medications": ("Ingen legemidler på listen.", "No medicines on the list."),
    "change_log": ("Endringer i legemiddellisten", "Changes to the medication list"),
    "no_changes": ("Ingen endringer registrert.", "No changes recorded."),
    "lab_results": ("Prøvesvar", "Lab results"),
    "test": ("Analyse", "Test"),
    "result": ("Resultat", "Result"),
    "issued": ("Utstedt", "Issued"),
    "no_lab_results": ("Ingen prøvesvar å vise.", "No lab results to show."),
    "corrected": ("korrigert", "corrected"),
    "lab_rule": (
        "Noen svar vises først etter en tid, og svar legen har holdt tilbake vises ikke.",
        "Some results appear only after a delay, and results a doctor withheld are not shown.",
    ),
    "access_log": ("Hvem har sett mine opplysninger", "Who has looked at my information"),
    "access_log_link": (
        "Se hvem som har sett opplysningene",
        "See who has looked at the information",
    ),
    "time": ("Tidspunkt", "Time"),
    "organisation": ("Virksomhet", "Organisation"),
    "role": ("Rolle", "Role"),
    "purpose": ("Formål", "Purpose"),
    "action": ("Handling", "Action"),
    "emergency": ("Nødtilgang", "Emergency access"),
    "yes": ("Ja", "Yes"),
    "no": ("Nei", "No"),
    "filter": ("Filtrer", "Filter"),
    "from_date": ("Fra dato", "From date"),
    "to_date": ("Til dato", "To date"),
    "organisation_number": ("Organisasjonsnummer", "Organisation number"),
    "next_page": ("Neste side", "Next page"),
    "no_accesses": ("Ingen oppslag i perioden.", "No accesses in the period."),
    "not_available": ("Ikke tilgjengelig", "Not available"),
    "back": ("Tilbake", "Back"),
    "clinician_title": ("Finn pasient", "Find a patient"),
    "purpose_legend": ("Formål med oppslaget", "Purpose of the look-up"),
    "purpose_TREAT": ("Behandling", "Treatment"),
    "purpose_COC": ("Koordinering av helsehjelp", "Coordination of care"),
    "purpose_ETREAT": ("Akuttbehandling (nødtilgang)", "Emergency treatment"),
    "purpose_BTG": ("Nødtilgang – bryt glasset", "Break the glass"),
    "emergency_reason": (
        "Begrunnelse (påkrevd for nødtilgang)",
        "Reason (required for emergency access)",
    ),
    "emergency_banner": (
        "NØDTILGANG: oppslaget logges som nødtilgang og vises for pasienten.",
        "EMERGENCY ACCESS: this look-up is logged as emergency access and shown to the patient.",
    ),
    "national_id": ("Fødselsnummer (11 siffer)", "National ID number (11 digits)"),
    "or_demographics": ("eller etternavn og fødselsdato", "or family name and date of birth"),
    "family_name": ("Etternavn", "Family name"),
    "birth_date": ("Fødselsdato (ÅÅÅÅ-MM-DD)", "Date of birth (YYYY-MM-DD)"),
    "search": ("Søk", "Search"),
    "matches": ("Treff", "Matches"),
    "choose": ("Velg", "Choose"),
    "no_matches": ("Ingen pasient passer søket.", "No patient matches the search."),
    "no_purpose": (
        "Du har ikke oppgitt formål: ingen pasientopplysninger vises.",
        "You have not declared a purpose: no patient information is shown.",
    ),
    "current_purpose": ("Oppgitt formål", "Declared purpose"),
    "patient": ("Pasient", "Patient"),
    "register_critical": ("Registrer legemiddelreaksjon", "Register a drug reaction"),
    "register_kinds": ("Registrer kritisk informasjon", "Register critical information"),
    "register_critical-condition": (
        "Registrer kritisk medisinsk tilstand",
        "Register a critical medical condition",
    ),
    "register_ongoing-treatment": ("Registrer pågående behandling", "Register ongoing treatment"),
    "register_implant": ("Registrer implantat", "Register an implant"),
    "register_procedural-change": (
        "Registrer endring i prosedyrer",
        "Register a procedural change",
    ),
    "code_critical-condition": ("Tilstand (SNOMED CT)", "Condition (SNOMED CT)"),
    "code_ongoing-treatment": ("Behandling", "Treatment"),
    "code_implant": ("Implantat", "Implant"),
    "code_procedural-change": ("Endring", "Change"),
    "critical_reason": ("Hvorfor tilstanden er kritisk", "Why the condition is critical"),
    "change_category": ("Type endring", "Kind of change"),
    "substance": ("Legemiddel (virkestoff)", "Medicine (active substance)"),
    "manifestation": ("Reaksjon", "Reaction"),
    "criticality": ("Alvorlighet", "Criticality"),
    "criticality_high": ("Høy", "High"),
    "criticality_low": ("Lav", "Low"),
    "note": ("Merknad", "Note"),
    "save": ("Lagre", "Save"),
    "registered": ("Registrert.", "Registered."),
    "documents": ("Dokumenter", "Documents"),
    "no_documents": ("Ingen dokumenter.", "No documents."),
    "document": ("Dokument", "Document"),
    "date": ("Dato", "Date"),
    "author": ("Fra", "From"),
    "download": ("Last ned", "Download"),
    "for_clinicians": ("For helsepersonell", "For health personnel"),
    "hidden_from_clinicians": ("Skjult for helsepersonell", "Hidden from health personnel"),
    "shown_to_clinicians": ("Synlig for helsepersonell", "Visible to health personnel"),
    "hide_from_clinicians": ("Skjul for helsepersonell", "Hide from health personnel"),
    "show_to_clinicians": ("Vis for helsepersonell", "Show to health personnel"),
    "hide_rule": (
        "Du kan skjule et dokument for helsepersonell, også ved akutt behov. Bare du selv kan"
        " gjøre det, ikke en forelder eller fullmektig.",
        "You can hide a document from health personnel, emergencies included. Only you can"
        " do this, not a parent or a proxy.",
    ),
    "measurements_link": ("Målinger hjemmefra", "Home measurements"),
    "measurements": ("Målinger hjemmefra", "Home measurements"),
    "measurements_intro": (
        "Målinger fra utstyr hjemme, per dag: streken viser laveste til høyeste måling,"
        " linjen gjennomsnittet. Tabellen under hver graf har de samme tallene.",
        "Measurements from equipment at home, per day: the bar runs from the lowest to the"
        " highest measurement, the line is the mean. The table under each chart holds the"
        " same numbers.",
    ),
    "period": ("Periode", "Period"),
    "last_days": ("Siste N dager", "Last N days"),
    "no_measurements": ("Ingen målinger i perioden.", "No measurements in the period."),
    "chart_desc": (
        "Graf over laveste, gjennomsnittlige og høyeste måling per dag; dager med målinger:",
        "Chart of the lowest, mean and highest measurement per day; days with measurements:",
    ),
    "per_day": ("per dag", "per day"),
    "count": ("Antall", "Count"),
    "lowest": ("Laveste", "Lowest"),
    "mean": ("Gjennomsnitt", "Mean"),
    "highest": ("Høyeste", "Highest"),
    "last": ("Siste", "Last"),
    "series_systolic": ("Blodtrykk, systolisk", "Blood pressure, systolic"),
    "series_pulse": ("Puls", "Pulse"),
    "series_spo2": ("Oksygenmetning", "Oxygen saturation"),
    "series_weight": ("Vekt", "Weight"),
    "for_patient": ("For pasienten", "For the patient"),
    "blocked_for_patient": ("Holdt tilbake fra pasienten", "Withheld from the patient"),
    "released_rules": (
        "Pasienten ser svaret etter utsettelsen",
        "The patient sees it after the delay",
    ),
    "block_reason": ("Begrunnelse", "Reason"),
    "block": ("Hold tilbake fra pasienten", "Withhold from the patient"),
    "unblock": ("Frigi for pasienten", "Release to the patient"),
    "changed_block": (
        "Prøvesvaret holdes tilbake fra pasienten.",
        "The result is withheld from the patient.",
    ),
    "changed_unblock": (
        "Prøvesvaret er frigitt for pasienten.",
        "The result is released to the patient.",
    ),
    "change": ("Endre", "Change"),
    "stop_reason": ("Begrunnelse for seponering", "Reason for stopping"),
    "stop": ("Seponer", "Stop"),
    "confirm_reconciled": (
        "Bekreft at legemiddellisten er samstemt med pasienten",
        "Confirm that the medication list is reconciled with the patient",
    ),
    "last_reconciled": ("Sist samstemt", "Last reconciled"),
    "never_reconciled": ("Listen er ikke samstemt.", "The list has not been reconciled."),
    "list_conflict": (
        "Endringen ble ikke lagret: legemiddellisten er endret av andre siden du så den.",
        "Your change was not saved: the medication list was changed by others since you saw it.",
    ),
    "list_conflict_hint": (
        "Listen under er slik den er nå. Se over den og gjør endringen på nytt.",
        "The list below is as it is now. Review it and make your change again.",
    ),
    "changed_stop": ("Legemiddelet er seponert.", "The medicine is stopped."),
    "changed_reconcile": ("Samstemmingen er registrert.", "The reconciliation is recorded."),
    "last_confirmed": ("Sist bekreftet", "Last confirmed"),
    "confirm_entry": ("Bekreft at opplysningen stemmer", "Confirm that this is still right"),
    "changed_confirm": ("Opplysningen er bekreftet.", "The entry is confirmed."),
    "error_reason": ("Begrunnelse for feilregistrering", "Reason it was entered in error"),
    "mark_entered_in_error": ("Merk som feilregistrert", "Mark as entered in error"),
    "changed_removed": (
        "Opplysningen er merket som feilregistrert.",
        "The entry is marked as entered in error.",
    ),
    "entry_conflict": (
        "Endringen ble ikke lagret: opplysningen er endret av andre siden du så den.",
        "Your change was not saved: the entry was changed by others since you saw it.",
    ),
    "error_title": ("Noe gikk galt", "Something went wrong"),
    "forbidden": ("Ingen tilgang", "No access"),
    "not_found": ("Finnes ikke", "Not found"),
    "not_found_detail": (
        "Siden du ba om, finnes ikke her.",
        "The page you asked for does not exist here.",
    ),
    "login_failed": ("Innloggingen mislyktes", "Login failed"),
    "csrf_failed": (
        "Skjemaet kunne ikke kontrolleres. Last siden på nytt og prøv igjen.",
        "The form could not be verified. Reload the page and try again.",
    ),
    "session_ended": (
        "Økten er avsluttet. Logg inn på nytt.",
        "Your session has ended. Please log in again.",
    ),
    "kind_allergy": ("Allergier og legemiddelreaksjoner", "Allergies and drug reactions"),
    "kind_critical-condition": ("Kritiske medisinske tilstander", "Critical medical conditions"),
    "kind_ongoing-treatment": ("Pågående behandling", "Ongoing treatment"),
    "kind_implant": ("Implantater", "Implants"),
    "kind_procedural-change": ("Andre prosedyreendringer", "Other procedural changes"),
    "last_changed": ("Sist endret", "Last changed"),
    "status_active": ("I bruk", "In use"),
    "status_on-hold": ("Pause", "On hold"),
    "status_stopped": ("Seponert", "Stopped"),
    "status_completed": ("Avsluttet", "Completed"),
    "status_intended": ("Planlagt", "Intended"),
    # -- web22a: editing critical information; adding, pausing, resuming on the list --
    "edit_entry": ("Endre", "Edit"),
    "changed_edited": ("Opplysningen er endret.", "The entry is changed."),
    "edit_conflict_hint": (
        "Skjemaet viser nå opplysningen slik den er. Se over den og gjør endringen på nytt.",
        "The form now shows the entry as it is. Review it and make your change again.",
    ),
    "edit_refused": (
        "Endringen ble ikke lagret: tjenesten avviste den.",
        "Your change was not saved: the service refused it.",
    ),
    "edit_identity_hint": (
        "Hva opplysningen gjelder kan ikke endres: registrer en ny og merk denne som"
        " feilregistrert.",
        "What the entry is about cannot change: register a new one and mark this one entered"
        " in error.",
    ),
    "valid_until": ("Gyldig til (valgfritt)", "Valid until (optional)"),
    "add_medicine": ("Legg til legemiddel", "Add a medicine"),
    "changed_added": ("Legemiddelet er lagt til.", "The medicine is added."),
    "medicine_refused": (
        "Legemiddelet ble ikke lagt til: tjenesten avviste det.",
        "The medicine was not added: the service refused it.",
    ),
    "add_conflict_hint": (
        "Listen under er slik den er nå. Det du fylte inn står fortsatt i skjemaet: se over"
        " og lagre på nytt.",
        "The list below is as it is now. What you entered is still in the form: review it"
        " and save again.",
    ),
    "other_medicine": (
        "Annet legemiddel (oppgi ATC-kode og navn)",
        "Other (give ATC code and name)",
    ),
    "atc_code": ("ATC-kode (f.eks. C10AA01)", "ATC code (e.g. C10AA01)"),
    "medicine_name": ("Navn og styrke", "Name and strength"),
    "route": ("Administrasjonsvei", "Route"),
    "indication": ("Indikasjon (bruksområde)", "Indication"),
    "start_date": ("Startdato", "Start date"),
    "list_now": ("Legemiddellisten nå", "The medication list now"),
    "list_paused": ("Legemiddellisten er satt på pause.", "The medication list is paused."),
    "paused_by": ("Satt på pause av", "Paused by"),
    "paused_since": ("Siden", "Since"),
    "paused_until": ("Forventet slutt", "Expected end"),
    "not_given": ("ikke oppgitt", "not given"),
    "pause_list": ("Sett legemiddellisten på pause", "Pause the medication list"),
    "pause_reason": ("Begrunnelse for pausen", "Reason for the pause"),
    "pause_until": ("Forventet slutt (valgfritt)", "Expected end (optional)"),
    "resume_list": ("Avslutt pausen", "Resume the list"),
    "changed_paused": ("Legemiddellisten er satt på pause.", "The medication list is paused."),
    "changed_resumed": ("Pausen er avsluttet.", "The pause is ended."),
    "list_change_refused": (
        "Endringen ble ikke lagret: tjenesten avviste den.",
        "Your change was not saved: the service refused it.",
    ),
    # -- end web22a --
    **ATTORNEY_TEXTS,
}


def texts(lang: str) -> dict[str, str]:
    """All texts in one language."""
    index = LANGUAGES.index(lang) if lang in LANGUAGES else 0
    return {key: pair[index] for key, pair in TEXTS.items()}


def language(cookie: str | None, headers: Mapping[str, str]) -> str:
    """The page's language: the switch's cookie, else `Accept-Language`, else bokmål."""
    if cookie in LANGUAGES:
        return cookie
    for part in headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith(("nb", "no", "nn")):
            return "nb"
        if tag.startswith("en"):
            return "en"
    return DEFAULT
