"""Invented people, landlords and Hannover addresses.

Every name and number here is made up. German names carry umlauts and ß, some people
have several given names or a doubled surname; foreign residents carry a passport of
their country. Postal codes come from the city's own list
(``intake/data/hannover_postal_codes.csv``), so an address is inside the city exactly
when the generator means it to be.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

POSTAL_CODES_CSV = (
    Path(__file__).resolve().parents[2] / "intake" / "data" / "hannover_postal_codes.csv"
)

GIVEN_F = (
    "Anna", "Lena", "Jördis", "Käthe", "Sophie", "Marie", "Hannah", "Lea", "Charlotte", "Greta",
    "Frieda", "Mia", "Johanna", "Luise", "Ursula", "Bärbel", "Renate", "Gisela", "Katharina",
    "Friederike", "Emilia", "Clara", "Ilse", "Helene", "Zoë", "Maren", "Svenja", "Antje",
)  # fmt: skip
GIVEN_M = (
    "Lukas", "Jürgen", "Sören", "Björn", "Jörg", "Günther", "Felix", "Jonas", "Paul", "Moritz",
    "Maximilian", "Karl", "Friedrich", "Matthias", "Tobias", "Henrik", "Ole", "Malte", "Jan",
    "Hans-Peter", "Klaus", "Bernd", "Uwe", "Jens", "Till", "Niklas", "Florian", "Kai",
)  # fmt: skip
SURNAMES = (
    "Müller", "Schröder", "Weiß", "Groß", "Strauß", "Köhler", "Schäfer", "Bäcker", "Krüger",
    "Hoffmann", "Schulz", "Meyer", "Wagner", "Becker", "Jäger", "Böhm", "Fuß", "Löwe",
    "Dörfler", "Brandt", "Lange", "Wolff", "Hübner", "Kühn", "Vogt", "Brüggemann", "Heß",
    "Osterloh", "Tiedemann", "Wilkens", "Söhnholz", "Rößler", "Nußbaum", "Grün", "Möller",
    "Hänsel", "Petersen", "Ahrens", "Lüders", "Buß",
)  # fmt: skip
FOREIGN = {
    # nationality code: (given names female, given names male, surnames)
    "ITA": (("Chiara", "Giulia", "Francesca"), ("Marco", "Luca", "Giovanni"),
            ("Esposito", "Romano", "Bianchi", "Ricci")),
    "ESP": (("Lucía", "María José", "Carmen"), ("José", "Alejandro", "Pablo"),
            ("García", "Muñoz", "Fernández", "López")),
    "POL": (("Agnieszka", "Katarzyna", "Zofia"), ("Piotr", "Tomasz", "Marek"),
            ("Kowalski", "Nowak", "Wiśniewski")),
    "FRA": (("Amélie", "Céline", "Hélène"), ("François", "Jérôme", "Théo"),
            ("Lefèvre", "Moreau", "Girard", "Dubois")),
    "UKR": (("Olena", "Iryna", "Oksana"), ("Andrii", "Dmytro", "Serhii"),
            ("Shevchenko", "Kovalenko", "Bondarenko")),
    "TUR": (("Ayşe", "Elif", "Zeynep"), ("Mehmet", "Emre", "Can"),
            ("Kaya", "Demir", "Çelik", "Öztürk")),
}  # fmt: skip
# Letters an identity document's MRZ may not be able to carry faithfully are kept out
# of the names of Germans; foreign names keep their accents (ICAO transliterates them).
BIRTH_PLACES = (
    "Hannover", "Berlin", "Celle", "Hildesheim", "Braunschweig", "Göttingen", "Bremen",
    "Hamburg", "Wolfsburg", "Lüneburg", "Oldenburg", "Osnabrück", "Münster", "Köln",
)  # fmt: skip
# Streets of Hannover with a postal code of theirs (streets may cross more than one).
STREETS = (
    ("Lister Meile", "30161"), ("Podbielskistraße", "30163"), ("Engelbosteler Damm", "30167"),
    ("Limmerstraße", "30451"), ("Hildesheimer Straße", "30169"), ("Sallstraße", "30171"),
    ("Wunstorfer Straße", "30453"), ("Bödekerstraße", "30161"), ("Marienstraße", "30171"),
    ("Celler Straße", "30161"), ("Vahrenwalder Straße", "30165"), ("Sutelstraße", "30659"),
    ("Davenstedter Straße", "30453"), ("Göttinger Chaussee", "30459"),
    ("Kirchröder Straße", "30625"), ("Am Küchengarten", "30449"), ("Fössestraße", "30451"),
    ("Weißekreuzstraße", "30161"), ("Große Barlinge", "30171"), ("Karl-Wiechert-Allee", "30625"),
    ("Wilhelm-Busch-Straße", "30167"), ("Helmstedter Straße", "30519"),
    ("Kleine Düwelstraße", "30171"), ("Am Schützenplatz", "30169"), ("Bothfelder Straße", "30177"),
    ("Misburger Straße", "30625"), ("Sahlkamp", "30179"), ("Stöckener Straße", "30419"),
    ("Hermann-Bahlsen-Allee", "30655"), ("Brehmstraße", "30173"), ("Tiestestraße", "30171"),
    ("Spichernstraße", "30161"), ("Ricklinger Stadtweg", "30459"), ("Badenstedter Straße", "30455"),
    ("Wülfeler Straße", "30539"), ("Anderter Straße", "30559"), ("Mühlenberger Markt", "30457"),
    ("Groß-Buchholzer Kirchweg", "30655"), ("Lahwiesen", "30657"), ("Eilenriedestraße", "30175"),
)  # fmt: skip
# Neighbouring towns of the Region Hannover: outside the city.
OUTSIDE = (
    ("Walsroder Straße", "30851", "Langenhagen"), ("Hildesheimer Straße", "30880", "Laatzen"),
    ("Hannoversche Straße", "30823", "Garbsen"), ("Burgwedeler Straße", "30916", "Isernhagen"),
    ("Hannoversche Straße", "30926", "Seelze"), ("Empelder Straße", "30952", "Ronnenberg"),
)  # fmt: skip
SUFFIXES = ("", "", "", "2. OG links", "1. OG rechts", "Hinterhaus", "EG", "3. OG Mitte", "DG")
PREVIOUS = (
    ("Gartenweg", "10115", "Berlin"), ("Bahnhofstraße", "37073", "Göttingen"),
    ("Hauptstraße", "38100", "Braunschweig"), ("Lindenallee", "28195", "Bremen"),
    ("Schulstraße", "20095", "Hamburg"), ("Kirchweg", "29221", "Celle"),
)  # fmt: skip
PRIVATE_TITLES = ("", "", "", "Dr. ")
COMPANIES = (
    "Leinetal Wohnbau GmbH", "Wohnungsgenossenschaft Kleefeld-Buchholz eG",
    "Eilenriede Immobilien GmbH", "Hausverwaltung Brandes & Partner", "Nordstadt Wohnen eG",
    "Lindener Baugenossenschaft eG", "Maschsee Grundbesitz GmbH", "Wohnbau Herrenhausen AG",
    "Südstadt Hausverwaltung GmbH", "Immobilien Kröger KG",
)  # fmt: skip


@dataclass(slots=True)
class Person:
    given_names: str
    surname: str
    birth_date: date
    birth_place: str
    nationality: str
    sex: str  # "F" | "M"
    document_type: str  # "id_card" | "passport"
    document_number: str
    expiry_date: date
    issue_date: date

    @property
    def full_name(self) -> str:
        return f"{self.given_names} {self.surname}"

    def identity_dict(self) -> dict[str, str]:
        """The person as :func:`tests.corpusgen.identity.render_identity_document` takes it."""
        return {
            "surname": self.surname,
            "given_names": self.given_names,
            "birth_date": self.birth_date.isoformat(),
            "birth_place": self.birth_place,
            "nationality": self.nationality,
            "sex": self.sex,
            "document_type": self.document_type,
            "document_number": self.document_number,
            "expiry_date": self.expiry_date.isoformat(),
            "issue_date": self.issue_date.isoformat(),
        }


@dataclass(slots=True)
class Address:
    street: str
    house_number: str
    postal_code: str
    city: str
    suffix: str = ""

    @property
    def street_line(self) -> str:
        return f"{self.street} {self.house_number}"


@dataclass(slots=True)
class Landlord:
    name: str
    company: bool
    address: Address
    owner: bool
    extra: dict[str, str] = field(default_factory=dict)


def hannover_postal_codes() -> list[str]:
    with POSTAL_CODES_CSV.open(encoding="utf-8") as handle:
        rows = [line for line in handle if not line.startswith("#")]
    return [row["postal_code"] for row in csv.DictReader(rows)]


_ID_LETTERS = "CFGHJKLMNPRTVWXYZ"
_ID_ALPHABET = _ID_LETTERS + "0123456789"


def german_card_number(rng: random.Random) -> str:
    """Nine characters of the German card alphabet (no vowels, no B, D, Q, S), a letter first."""
    return rng.choice(_ID_LETTERS) + "".join(rng.choice(_ID_ALPHABET) for _ in range(8))


def passport_number(rng: random.Random, nationality: str) -> str:
    if nationality == "D":
        return german_card_number(rng)
    return rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") + "".join(
        rng.choice("0123456789") for _ in range(8)
    )


def person(rng: random.Random, submitted: date, surname: str | None = None) -> Person:
    foreign = rng.random() < 0.2
    sex = rng.choice("FM")
    if foreign:
        nationality = rng.choice(sorted(FOREIGN))
        females, males, surnames = FOREIGN[nationality]
        given = rng.choice(females if sex == "F" else males)
        family = surname or rng.choice(surnames)
        kind = "passport"
    else:
        nationality = "D"
        pool = GIVEN_F if sex == "F" else GIVEN_M
        count = rng.choices((1, 2, 3), (0.6, 0.32, 0.08))[0]
        given = " ".join(rng.sample(pool, count))
        family = surname or _german_surname(rng)
        kind = "passport" if rng.random() < 0.12 else "id_card"
    born = submitted - timedelta(days=rng.randint(18 * 365, 85 * 365))
    issued = submitted - timedelta(days=rng.randint(30, 9 * 365))
    expires = issued + timedelta(days=10 * 365 + rng.randint(-20, 20))
    if expires <= submitted + timedelta(days=30):
        expires = submitted + timedelta(days=rng.randint(60, 5 * 365))
    number = german_card_number(rng) if kind == "id_card" else passport_number(rng, nationality)
    return Person(
        given,
        family,
        born,
        rng.choice(BIRTH_PLACES),
        nationality,
        sex,
        kind,
        number,
        expires,
        issued,
    )


def _german_surname(rng: random.Random) -> str:
    if rng.random() < 0.1:
        first, second = rng.sample(SURNAMES, 2)
        return f"{first}-{second}"
    return rng.choice(SURNAMES)


def house_number(rng: random.Random) -> str:
    number = str(rng.choices((rng.randint(1, 30), rng.randint(31, 180)), (0.6, 0.4))[0])
    return number + (rng.choice("abc") if rng.random() < 0.15 else "")


def flat(rng: random.Random, *, outside: bool = False) -> Address:
    if outside:
        street, postal, city = rng.choice(OUTSIDE)
        return Address(street, house_number(rng), postal, city, rng.choice(SUFFIXES))
    codes = set(hannover_postal_codes())
    street, postal = rng.choice(STREETS)
    assert postal in codes, f"{postal} of {street} is not in the city's list"
    return Address(street, house_number(rng), postal, "Hannover", rng.choice(SUFFIXES))


def landlord(rng: random.Random, *, company: bool | None = None) -> Landlord:
    company = rng.random() < 0.45 if company is None else company
    street, postal = rng.choice(STREETS)
    address = Address(street, house_number(rng), postal, "Hannover")
    if company:
        return Landlord(rng.choice(COMPANIES), True, address, owner=rng.random() < 0.7)
    given = rng.choice(GIVEN_F + GIVEN_M)
    name = f"{rng.choice(PRIVATE_TITLES)}{given} {_german_surname(rng)}"
    return Landlord(name, False, address, owner=True)
