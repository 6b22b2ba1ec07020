"""Norwegian given names, family names and street names for the synthetic population.

Common names in Norway, listed by hand; any resemblance of a generated person to a real
one is chance: every national ID is a synthetic test number that no real person has.
"""

from __future__ import annotations

FEMALE_GIVEN = (
    "Anne", "Inger", "Kari", "Marit", "Ingrid", "Liv", "Eva", "Berit", "Astrid", "Bjørg",
    "Hilde", "Anna", "Solveig", "Marianne", "Randi", "Ida", "Nina", "Maria", "Elisabeth",
    "Kristin", "Emma", "Nora", "Sofie", "Olivia", "Ella", "Maja", "Sara", "Ingeborg",
    "Frida", "Tuva", "Hedda", "Aurora", "Thea", "Vilde", "Sigrid", "Amalie", "Selma",
    "Åse", "Guro", "Tone", "Siri", "Camilla", "Kjersti", "Ragnhild", "Synnøve", "Tiril",
)  # fmt: skip

MALE_GIVEN = (
    "Jan", "Per", "Bjørn", "Ole", "Lars", "Kjell", "Knut", "Arne", "Svein", "Hans", "Geir",
    "Thomas", "Tor", "Morten", "Erik", "Terje", "Odd", "Rune", "Martin", "Andreas", "Jon",
    "Espen", "Anders", "Øyvind", "Magnus", "Jakob", "Emil", "Noah", "Oliver", "Filip",
    "William", "Lucas", "Henrik", "Aksel", "Johannes", "Isak", "Tobias", "Sander",
    "Kristian", "Eirik", "Håkon", "Sindre", "Even", "Vetle", "Ola", "Nils", "Halvor",
    "Sigurd", "Sondre", "Trygve",
)  # fmt: skip

FAMILY = (
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen",
    "Kristiansen", "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen",
    "Hagen", "Johannessen", "Andreassen", "Jacobsen", "Dahl", "Jørgensen", "Halvorsen",
    "Henriksen", "Lund", "Sørensen", "Jakobsen", "Moen", "Gundersen", "Iversen", "Strand",
    "Solberg", "Svendsen", "Eide", "Knutsen", "Martinsen", "Paulsen", "Bakken",
    "Kristoffersen", "Mathisen", "Lie", "Amundsen", "Nguyen", "Rasmussen", "Ali", "Lunde",
    "Solheim", "Berge", "Moe", "Nygård", "Bakke", "Fredriksen", "Holm", "Lien", "Hauge",
    "Knudsen", "Evensen", "Sæther", "Aas", "Myhre", "Ahmed", "Haugland", "Thomassen",
    "Sivertsen", "Simonsen", "Danielsen", "Sandvik", "Rønning", "Arnesen", "Næss", "Vik",
    "Haug", "Ellingsen", "Thorsen", "Birkeland", "Isaksen", "Ruud", "Aasen", "Strøm",
    "Myklebust", "Tangen", "Ødegård", "Eliassen", "Helland", "Bøe", "Aune", "Mikkelsen",
    "Tveit", "Brekke", "Abrahamsen", "Madsen", "Kowalski", "Hussain", "Khan", "Tran",
)  # fmt: skip

STREETS = (
    "Storgata", "Kirkegata", "Skolegata", "Parkveien", "Strandveien", "Fjordveien",
    "Bakkeveien", "Granveien", "Bjørkeveien", "Furuveien", "Sjøgata", "Torggata",
    "Jernbanegata", "Kongens gate", "Dronningens gate", "Elvegata", "Solbakken", "Lia",
    "Haugveien", "Myrveien", "Åsveien", "Løkkeveien", "Nedre Bakken", "Øvre Lia",
    "Rognveien", "Lerkeveien", "Blåbærstien", "Tyttebærveien", "Nordre gate", "Søndre gate",
)  # fmt: skip
