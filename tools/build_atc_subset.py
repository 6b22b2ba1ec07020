"""Write the bundled ATC CodeSystem (a fragment) from the table below.

    python tools/build_atc_subset.py   # → src/samhandling/terminology/code_systems/atc.json

The table holds the ATC codes a Norwegian clinician most often records as the cause of a
drug reaction in critical information (penicillins and other antibacterials, NSAIDs,
paracetamol, opioids, anticoagulants, iodinated contrast media, anaesthetics and muscle
relaxants, anticonvulsants, ...), with every level on the path to them. Names are the
official English ATC names of the WHO Collaborating Centre for Drug Statistics Methodology
(levels 1-3 in capitals, level 4 in sentence case, substances in lower case, as in the
ATC/DDD index). Each concept gets a `parent` property (the level above, derived from the
code); the script refuses a table whose codes break the ATC structure rules or lack a
parent. See docs/TERMINOLOGY.md.

The second table, `NORWEGIAN`, gives the Norwegian (bokmål) ATC names, written as a
designation with language `nb`, so that a Norwegian display ("Fenoksymetylpenicillin" for
J01CE02) counts as a correct one. They are the names of the Norwegian ATC index as the
Norwegian Institute of Public Health (FHI, host of the WHO Collaborating Centre) lists them
in github.com/folkehelseinstituttet/Fhi.Frontend.Demo (MIT licence, file
`alle_atckoder_som_items.ts`, commit 0edbe600, 2024-06-28), with one typo mended (M03AC03
"ekuronium" → "vekuronium"). Codes that list lacks (N03AX12, N03AX16, V08AB04/05/09/10 and
V08C…) have no Norwegian designation until one is added from the official index.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from samhandling.terminology.structure import atc_level, atc_parent  # noqa: E402

OUT = REPO / "src/samhandling/terminology/code_systems/atc.json"

ATC = """
A ALIMENTARY TRACT AND METABOLISM
A10 DRUGS USED IN DIABETES
A10A INSULINS AND ANALOGUES
A10AB Insulins and analogues for injection, fast-acting
A10AB01 insulin (human)
A10AB04 insulin lispro
A10AB05 insulin aspart
A10AE Insulins and analogues for injection, long-acting
A10AE04 insulin glargine
A10AE05 insulin detemir
A10AE06 insulin degludec
A10B BLOOD GLUCOSE LOWERING DRUGS, EXCL. INSULINS
A10BA Biguanides
A10BA02 metformin
B BLOOD AND BLOOD FORMING ORGANS
B01 ANTITHROMBOTIC AGENTS
B01A ANTITHROMBOTIC AGENTS
B01AA Vitamin K antagonists
B01AA03 warfarin
B01AB Heparin group
B01AB01 heparin
B01AB04 dalteparin
B01AB05 enoxaparin
B01AC Platelet aggregation inhibitors excl. heparin
B01AC04 clopidogrel
B01AC06 acetylsalicylic acid
B01AE Direct thrombin inhibitors
B01AE07 dabigatran etexilate
B01AF Direct factor Xa inhibitors
B01AF01 rivaroxaban
B01AF02 apixaban
B01AF03 edoxaban
C CARDIOVASCULAR SYSTEM
C09 AGENTS ACTING ON THE RENIN-ANGIOTENSIN SYSTEM
C09A ACE INHIBITORS, PLAIN
C09AA ACE inhibitors, plain
C09AA01 captopril
C09AA02 enalapril
C09AA03 lisinopril
C09AA05 ramipril
C10 LIPID MODIFYING AGENTS
C10A LIPID MODIFYING AGENTS, PLAIN
C10AA HMG CoA reductase inhibitors
C10AA01 simvastatin
C10AA02 lovastatin
C10AA03 pravastatin
C10AA04 fluvastatin
C10AA05 atorvastatin
C10AA07 rosuvastatin
H SYSTEMIC HORMONAL PREPARATIONS, EXCL. SEX HORMONES AND INSULINS
H03 THYROID THERAPY
H03A THYROID PREPARATIONS
H03AA Thyroid hormones
H03AA01 levothyroxine sodium
J ANTIINFECTIVES FOR SYSTEMIC USE
J01 ANTIBACTERIALS FOR SYSTEMIC USE
J01A TETRACYCLINES
J01AA Tetracyclines
J01AA02 doxycycline
J01C BETA-LACTAM ANTIBACTERIALS, PENICILLINS
J01CA Penicillins with extended spectrum
J01CA01 ampicillin
J01CA04 amoxicillin
J01CA08 pivmecillinam
J01CA11 mecillinam
J01CE Beta-lactamase sensitive penicillins
J01CE01 benzylpenicillin
J01CE02 phenoxymethylpenicillin
J01CF Beta-lactamase resistant penicillins
J01CF01 dicloxacillin
J01CF02 cloxacillin
J01CF05 flucloxacillin
J01CR Combinations of penicillins, incl. beta-lactamase inhibitors
J01CR02 amoxicillin and beta-lactamase inhibitor
J01CR05 piperacillin and beta-lactamase inhibitor
J01D OTHER BETA-LACTAM ANTIBACTERIALS
J01DB First-generation cephalosporins
J01DB01 cefalexin
J01DB03 cefalotin
J01DB04 cefazolin
J01DC Second-generation cephalosporins
J01DC02 cefuroxime
J01DD Third-generation cephalosporins
J01DD01 cefotaxime
J01DD02 ceftazidime
J01DD04 ceftriaxone
J01DH Carbapenems
J01DH02 meropenem
J01E SULFONAMIDES AND TRIMETHOPRIM
J01EA Trimethoprim and derivatives
J01EA01 trimethoprim
J01EE Combinations of sulfonamides and trimethoprim, incl. derivatives
J01EE01 sulfamethoxazole and trimethoprim
J01F MACROLIDES, LINCOSAMIDES AND STREPTOGRAMINS
J01FA Macrolides
J01FA01 erythromycin
J01FA09 clarithromycin
J01FA10 azithromycin
J01FF Lincosamides
J01FF01 clindamycin
J01M QUINOLONE ANTIBACTERIALS
J01MA Fluoroquinolones
J01MA02 ciprofloxacin
J01MA12 levofloxacin
J01MA14 moxifloxacin
J01X OTHER ANTIBACTERIALS
J01XA Glycopeptide antibacterials
J01XA01 vancomycin
J01XD Imidazole derivatives
J01XD01 metronidazole
J01XE Nitrofuran derivatives
J01XE01 nitrofurantoin
M MUSCULO-SKELETAL SYSTEM
M01 ANTIINFLAMMATORY AND ANTIRHEUMATIC PRODUCTS
M01A ANTIINFLAMMATORY AND ANTIRHEUMATIC PRODUCTS, NON-STEROIDS
M01AB Acetic acid derivatives and related substances
M01AB01 indometacin
M01AB05 diclofenac
M01AE Propionic acid derivatives
M01AE01 ibuprofen
M01AE02 naproxen
M01AE03 ketoprofen
M01AH Coxibs
M01AH01 celecoxib
M01AH05 etoricoxib
M03 MUSCLE RELAXANTS
M03A MUSCLE RELAXANTS, PERIPHERALLY ACTING AGENTS
M03AB Choline derivatives
M03AB01 suxamethonium
M03AC Other quaternary ammonium compounds
M03AC03 vecuronium
M03AC09 rocuronium bromide
M03AC11 cisatracurium
M04 ANTIGOUT PREPARATIONS
M04A ANTIGOUT PREPARATIONS
M04AA Preparations inhibiting uric acid production
M04AA01 allopurinol
N NERVOUS SYSTEM
N01 ANESTHETICS
N01A ANESTHETICS, GENERAL
N01AH Opioid anesthetics
N01AH01 fentanyl
N01AX Other general anesthetics
N01AX03 ketamine
N01AX10 propofol
N01B ANESTHETICS, LOCAL
N01BB Amides
N01BB01 bupivacaine
N01BB02 lidocaine
N01BB09 ropivacaine
N02 ANALGESICS
N02A OPIOIDS
N02AA Natural opium alkaloids
N02AA01 morphine
N02AA05 oxycodone
N02AB Phenylpiperidine derivatives
N02AB03 fentanyl
N02AE Oripavine derivatives
N02AE01 buprenorphine
N02AJ Opioids in combination with non-opioid analgesics
N02AJ06 codeine and paracetamol
N02AJ13 tramadol and paracetamol
N02AX Other opioids
N02AX02 tramadol
N02B OTHER ANALGESICS AND ANTIPYRETICS
N02BA Salicylic acid and derivatives
N02BA01 acetylsalicylic acid
N02BE Anilides
N02BE01 paracetamol
N03 ANTIEPILEPTICS
N03A ANTIEPILEPTICS
N03AA Barbiturates and derivatives
N03AA02 phenobarbital
N03AB Hydantoin derivatives
N03AB02 phenytoin
N03AF Carboxamide derivatives
N03AF01 carbamazepine
N03AF02 oxcarbazepine
N03AG Fatty acid derivatives
N03AG01 valproic acid
N03AX Other antiepileptics
N03AX09 lamotrigine
N03AX12 gabapentin
N03AX14 levetiracetam
N03AX16 pregabalin
V VARIOUS
V08 CONTRAST MEDIA
V08A X-RAY CONTRAST MEDIA, IODINATED
V08AB Watersoluble, nephrotropic, low osmolar X-ray contrast media
V08AB02 iohexol
V08AB04 iopamidol
V08AB05 iopromide
V08AB09 iodixanol
V08AB10 iomeprol
V08C MAGNETIC RESONANCE IMAGING CONTRAST MEDIA
V08CA Paramagnetic contrast media
V08CA01 gadopentetic acid
V08CA09 gadobutrol
"""

NORWEGIAN = """
A FORDØYELSESORGANER OG STOFFSKIFTE
A10 MIDLER TIL DIABETESBEHANDLING
A10A INSULINER OG ANALOGER
A10AB Insuliner og analoger til injeksjon, hurtigvirkende
A10AB01 insulin (human)
A10AB04 insulin lispro
A10AB05 insulin aspart
A10AE Insuliner og analoger til injeksjon, langtidsvirkende
A10AE04 insulin glargin
A10AE05 insulin detemir
A10AE06 insulin degludec
A10B BLODGLUKOSESENKENDE MIDLER, EKSKL. INSULINER
A10BA Biguanidderivater
A10BA02 metformin
B BLOD OG BLODDANNENDE ORGANER
B01 ANTITROMBOTISKE MIDLER
B01A ANTITROMBOTISKE MIDLER
B01AA Vitamin K-antagonister
B01AA03 warfarin
B01AB Heparingruppen
B01AB01 heparin
B01AB04 dalteparin
B01AB05 enoksaparin
B01AC Hemmere av blodplateaggregasjonen, ekskl. heparin
B01AC04 klopidogrel
B01AC06 acetylsalisylsyre
B01AE Direkte trombininhibitorer
B01AE07 dabigatran eteksilat
B01AF Direkte faktor Xa-inhibitorer
B01AF01 rivaroksaban
B01AF02 apiksaban
B01AF03 edoksaban
C HJERTE OG KRETSLØP
C09 MIDLER MED VIRKNING PÅ RENIN-ANGIOTENSINSYSTEMET
C09A ACE-HEMMERE, USAMMENSATTE
C09AA ACE-hemmere, usammensatte
C09AA01 kaptopril
C09AA02 enalapril
C09AA03 lisinopril
C09AA05 ramipril
C10 LIPIDMODIFISERENDE MIDLER
C10A LIPIDMODIFISERENDE MIDLER, USAMMENSATTE
C10AA HMG-CoA-reduktasehemmere
C10AA01 simvastatin
C10AA02 lovastatin
C10AA03 pravastatin
C10AA04 fluvastatin
C10AA05 atorvastatin
C10AA07 rosuvastatin
H HORMONER TIL SYSTEMISK BRUK, EKSKL. KJØNNSHORMONER OG INSULIN
H03 THYREOIDEATERAPI
H03A THYREOIDEAMIDLER
H03AA Thyreoideahormoner
H03AA01 levotyroksinnatrium
J ANTIINFEKTIVA TIL SYSTEMISK BRUK
J01 ANTIBAKTERIELLE MIDLER TIL SYSTEMISK BRUK
J01A TETRASYKLINER
J01AA tetrasykliner
J01AA02 doksysyklin
J01C BETA-LAKTAM ANTIBAKTERIELLE MIDLER, PENICILLINER
J01CA Penicilliner med utvidet spekter
J01CA01 ampicillin
J01CA04 amoksicillin
J01CA08 pivmecillinam
J01CA11 mecillinam
J01CE Beta-laktamaseømfintlige penicilliner
J01CE01 benzylpenicillin
J01CE02 fenoksymetylpenicillin
J01CF Beta-laktamaseresistente penicilliner
J01CF01 dikloksacillin
J01CF02 kloksacillin
J01CF05 flukloksacillin
J01CR Kombinasjoner av penicilliner, inkludert beta-laktamasehemmere
J01CR02 amoksicillin og beta-laktamasehemmer
J01CR05 piperacillin og beta-laktamasehemmer
J01D ANDRE BETA-LAKTAM ANTIBAKTERIELLE MIDLER
J01DB Første generasjon cefalosporiner
J01DB01 cefaleksin
J01DB03 cefalotin
J01DB04 cefazolin
J01DC Andre generasjon cefalosporiner
J01DC02 cefuroksim
J01DD Tredje generasjon cefalosporiner
J01DD01 cefotaksim
J01DD02 ceftazidim
J01DD04 ceftriakson
J01DH Karbapenemer
J01DH02 meropenem
J01E SULFONAMIDER OG TRIMETOPRIM
J01EA Trimetoprim og derivater
J01EA01 trimetoprim
J01EE Kombinasjoner av sulfonamider og trimetoprim, inkl. derivater
J01EE01 sulfametoksazol og trimetoprim
J01F MAKROLIDER, LINKOSAMIDER OG STREPTOGRAMINER
J01FA Makrolider
J01FA01 erytromycin
J01FA09 klaritromycin
J01FA10 azitromycin
J01FF Linkosamider
J01FF01 klindamycin
J01M KINOLONER, ANTIBAKTERIELLE
J01MA Fluorokinoloner
J01MA02 ciprofloksacin
J01MA12 levofloksacin
J01MA14 moksifloksacin
J01X ANDRE ANTIBAKTERIELLE MIDLER
J01XA Glykopeptid antibakterielle midler
J01XA01 vankomycin
J01XD Imidazolderivater
J01XD01 metronidazol
J01XE Nitrofuranderivater
J01XE01 nitrofurantoin
M MUSKLER OG SKJELETT
M01 ANTIINFLAMMATORISKE OG ANTIREUMATISKE MIDLER
M01A ANTIINFLAMMATORISKE OG ANTIREUMATISKE MIDLER, EKSKL. STEROIDER
M01AB Eddiksyrederivater og lignende substanser
M01AB01 indometacin
M01AB05 diklofenak
M01AE Propionsyrederivater
M01AE01 ibuprofen
M01AE02 naproksen
M01AE03 ketoprofen
M01AH Koksiber
M01AH01 celekoksib
M01AH05 etorikoksib
M03 MUSKELRELAKSERENDE MIDLER
M03A PERIFERT VIRKENDE MUSKELRELAKSERENDE MIDLER
M03AB Kolinderivater
M03AB01 suksametonium
M03AC Andre kvartære ammoniumforbindelser
M03AC03 vekuronium
M03AC09 rokuroniumbromid
M03AC11 cisatrakurium
M04 GIKTMIDLER
M04A GIKTMIDLER
M04AA Midler som hemmer urinsyreproduksjonen
M04AA01 allopurinol
N NERVESYSTEMET
N01 ANESTETIKA
N01A GENERELLE ANESTETIKA
N01AH Opioidanestetika
N01AH01 fentanyl
N01AX Andre generelle anestetika
N01AX03 ketamin
N01AX10 propofol
N01B LOKALANESTETIKA
N01BB Amider
N01BB01 bupivakain
N01BB02 lidokain
N01BB09 ropivakain
N02 ANALGETIKA
N02A OPIOIDER
N02AA Opiumsalkaloider
N02AA01 morfin
N02AA05 oksykodon
N02AB Fenylpiperidinderivater
N02AB03 fentanyl
N02AE Oripavinderivater
N02AE01 buprenorfin
N02AJ Opioider i kombinasjon med ikke-opioide analgetika
N02AJ06 kodein og paracetamol
N02AJ13 tramadol og paracetamol
N02AX Andre opioider
N02AX02 tramadol
N02B ANDRE ANALGETIKA OG ANTIPYRETIKA
N02BA Salisylsyrederivater
N02BA01 acetylsalisylsyre
N02BE Anilider
N02BE01 paracetamol
N03 ANTIEPILEPTIKA
N03A ANTIEPILEPTIKA
N03AA Barbiturater og derivater
N03AA02 fenobarbital
N03AB Hydantoinderivater
N03AB02 fenytoin
N03AF Karboksamidderivater
N03AF01 karbamazepin
N03AF02 okskarbazepin
N03AG Fettsyrederivater
N03AG01 valproinsyre
N03AX Diverse antiepileptika
N03AX09 lamotrigin
N03AX14 levetiracetam
V VARIA
V08 KONTRASTMIDLER
V08A RØNTGENKONTRASTMIDLER, MED JOD
V08AB Vannløselige, nefrotrope, lavosmolære røntgenkontrastmidler
V08AB02 joheksol
"""

DESCRIPTION = (
    "A subset of the Anatomical Therapeutic Chemical (ATC) classification: the codes most "
    "often recorded as the cause of a drug reaction in Norwegian critical information, with "
    "every level on the path to them, the official English names and the Norwegian names "
    "(designations, language nb). Codes outside this "
    "subset are checked against the ATC structure only (see docs/TERMINOLOGY.md). ATC is "
    "maintained by the WHO Collaborating Centre for Drug Statistics Methodology, Oslo."
)


def _rows(table: str) -> list[list[str]]:
    return [line.split(" ", 1) for line in table.strip().splitlines()]


def concepts(table: str = ATC, norwegian: str = NORWEGIAN) -> list[dict[str, Any]]:
    """The concepts of the table, each with its `parent` and Norwegian designation;
    ValueError on a broken table."""
    rows = _rows(table)
    names = {code: name.strip() for code, name in _rows(norwegian)}
    known = {code for code, _ in rows}
    if len(known) != len(rows):
        raise ValueError("duplicate ATC codes in the table")
    result: list[dict[str, Any]] = []
    for code, name in rows:
        if atc_level(code) is None:
            raise ValueError(f"{code} breaks the ATC structure rules")
        concept: dict[str, Any] = {"code": code, "display": name.strip()}
        if code in names:
            concept["designation"] = [{"language": "nb", "value": names.pop(code)}]
        parent = atc_parent(code)
        if parent is not None:
            if parent not in known:
                raise ValueError(f"{code}: its parent {parent} is missing from the table")
            concept["property"] = [{"code": "parent", "valueCode": parent}]
        result.append(concept)
    if names:
        raise ValueError(f"Norwegian names for codes not in the table: {sorted(names)}")
    return result


def code_system() -> dict[str, Any]:
    """The ATC CodeSystem resource (content fragment)."""
    return {
        "resourceType": "CodeSystem",
        "id": "atc-subset",
        "url": "http://www.whocc.no/atc",
        "name": "ATCSubset",
        "title": "Anatomical Therapeutic Chemical (ATC) classification, subset",
        "status": "active",
        "experimental": False,
        "publisher": "WHO Collaborating Centre for Drug Statistics Methodology",
        "description": DESCRIPTION,
        "caseSensitive": True,
        "content": "fragment",
        "property": [
            {
                "code": "parent",
                "uri": "http://hl7.org/fhir/concept-properties#parent",
                "description": "The ATC group one level up",
                "type": "code",
            }
        ],
        "concept": concepts(),
    }


def main() -> int:
    """Write the CodeSystem JSON."""
    resource = code_system()
    OUT.write_text(json.dumps(resource, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{OUT.relative_to(REPO)}: {len(resource['concept'])} concepts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
