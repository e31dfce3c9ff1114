"""Landlord confirmations (Wohnungsgeberbestätigung, § 19 BMG) in layouts of their own.

Each layout function draws one :class:`~tests.corpusgen.render.Page` from a
:class:`Confirmation` (the truth) and a ``random.Random`` that picks the wording of its
labels, the order of its parts, fonts and date formats. None copies a layout of the dev
corpus: labels sit beside or above their values, in one, two or three columns, in
table cells, or there are no labels at all (letters); a hand-filled form writes its
values in a handwriting font.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from tests.corpusgen.people import Address, Landlord
from tests.corpusgen.render import Page, text_width, wrap

KINDS = ("one_column", "two_column", "three_column", "table", "letter", "handwritten")

MONTHS = (
    "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
    "Oktober", "November", "Dezember",
)  # fmt: skip


@dataclass(slots=True)
class Resident:
    given_names: str
    surname: str
    birth_date: date
    sex: str = ""  # "F" | "M": "Frau" or "Herr" in a letter

    @property
    def full_name(self) -> str:
        return f"{self.given_names} {self.surname}"


@dataclass(slots=True)
class Confirmation:
    landlord: Landlord
    flat: Address
    move_in: date
    residents: list[Resident]
    signed: date

    def expected_fields(self) -> dict[str, object]:
        return {
            "landlord_name": self.landlord.name,
            "move_in_date": self.move_in.isoformat(),
            "street": self.flat.street,
            "house_number": self.flat.house_number,
            "postal_code": self.flat.postal_code,
            "city": self.flat.city,
            "residents": [r.full_name for r in self.residents],
        }


# ------------------------------------------------------------------ wordings

LANDLORD_LABELS = (
    "Name des Wohnungsgebers", "Wohnungsgeber (Name / Firma)", "Vermieter", "Name des Vermieters",
    "Eigentümer / Vermieter", "Wohnungsgeber", "Name und Anschrift des Vermieters",
)  # fmt: skip
LANDLORD_ADDRESS_LABELS = (
    "Anschrift des Wohnungsgebers", "Anschrift des Vermieters", "Sitz / Anschrift",
)  # fmt: skip
MOVE_IN_LABELS = (
    "Einzugsdatum", "Tag des Einzugs", "bezogen am", "Datum des Einzugs", "Einzug am",
    "Eingezogen am",
)  # fmt: skip
FLAT_LABELS = (
    "Anschrift der Wohnung", "Lage der Wohnung", "Adresse der bezogenen Wohnung",
    "Anschrift der neuen Wohnung", "Wohnungsanschrift",
)  # fmt: skip
STREET_LABELS = ("Straße, Hausnummer", "Straße und Hausnummer", "Straße / Hausnr.")
POSTAL_LABELS = ("PLZ, Ort", "Postleitzahl und Ort", "PLZ / Ort")
PERSONS_LABELS = (
    "Eingezogene Personen", "Meldepflichtige Personen", "Folgende Personen sind eingezogen",
    "Einziehende Personen", "Bewohner der Wohnung",
)  # fmt: skip
TITLES = (
    "Wohnungsgeberbestätigung", "Bestätigung des Wohnungsgebers",
    "Wohnungsgeberbestätigung nach § 19 BMG", "Einzugsbestätigung des Wohnungsgebers",
)  # fmt: skip
LEGAL = (
    "Ich bestätige mit meiner Unterschrift den Einzug der genannten Personen in die oben "
    "bezeichnete Wohnung. Es ist verboten, eine Wohnanschrift für eine Anmeldung anzubieten, "
    "wenn ein Bezug weder stattfindet noch beabsichtigt ist (§ 19 Abs. 6 BMG)."
)


def date_text(day: date, rng: random.Random) -> str:
    style = rng.choices(("numeric", "long", "padded"), (0.6, 0.2, 0.2))[0]
    if style == "long":
        return f"{day.day}. {MONTHS[day.month - 1]} {day.year}"
    if style == "padded":
        return f"{day.day}.{day.month}.{day.year}"
    return f"{day:%d.%m.%Y}"


def flat_line(flat: Address, with_suffix: bool = True) -> str:
    suffix = f", {flat.suffix}" if with_suffix and flat.suffix else ""
    return f"{flat.street_line}{suffix}"


def name_of(resident: Resident, surname_first: bool) -> str:
    if surname_first:
        return f"{resident.surname}, {resident.given_names}"
    return resident.full_name


@dataclass(slots=True)
class Style:
    label_font: str = "sans"
    label_size: float = 8.0
    value_font: str = "sans"
    value_size: float = 11.0
    hand: bool = False  # values written by hand: jittered and in ink colour

    def value(self, page: Page, x: float, y: float, text: str, rng: random.Random) -> None:
        if not self.hand:
            page.text(x, y, text, self.value_size, self.value_font)
            return
        x, y = x + rng.uniform(0, 2.0), y + rng.uniform(-0.6, 0.6)
        size, angle = self.value_size + rng.uniform(-0.5, 1.0), rng.uniform(-1.2, 1.2)
        page.text(x, y, text, size, self.value_font, color=(20, 30, 120), angle=angle)


def _style(rng: random.Random, hand: bool = False) -> Style:
    if hand:
        return Style(
            value_font=rng.choice(("script", "hand")), value_size=rng.uniform(13, 15), hand=True
        )
    return Style(
        label_font=rng.choice(("sans", "condensed", "serif")),
        value_font=rng.choice(("sans", "mono", "serif")),
        value_size=rng.uniform(10, 12),
    )


def _title(page: Page, rng: random.Random, x: float = 20.0) -> float:
    page.text(x, 24, rng.choice(TITLES), 15, "sans-bold")
    page.text(x, 30, "zur Vorlage bei der Meldebehörde (§ 19 Bundesmeldegesetz)", 8.5, "sans")
    return 40.0


def _footer(page: Page, conf: Confirmation, rng: random.Random, y: float, style: Style) -> None:
    for line in wrap(LEGAL, 170, 8):
        page.text(20, y, line, 8)
        y += 4
    y += 14
    style.value(page, 20, y, f"Hannover, {conf.signed:%d.%m.%Y}", rng)
    page.rule(20, y + 2, 90, y + 2, 0.2)
    page.rule(115, y + 2, 190, y + 2, 0.2)
    page.text(20, y + 6, "Ort, Datum", 7.5)
    page.text(115, y + 6, "Unterschrift des Wohnungsgebers", 7.5)
    page.text(118, y - 1, conf.landlord.name.split()[-1], 14, "script", color=(20, 30, 110))


# ------------------------------------------------------------------ field blocks


@dataclass(slots=True)
class Field:
    label: str
    lines: list[str]


def _fields(conf: Confirmation, rng: random.Random) -> dict[str, list[Field]]:
    """The labelled parts of a form, grouped by section, in a wording drawn from ``rng``."""
    landlord = conf.landlord
    owner = "ja" if landlord.owner else "nein"
    address = landlord.address
    landlord_fields = [
        Field(rng.choice(LANDLORD_LABELS[:6]), [landlord.name]),
        Field(
            rng.choice(LANDLORD_ADDRESS_LABELS),
            [address.street_line, f"{address.postal_code} {address.city}"],
        ),
        Field("Wohnungsgeber ist Eigentümer", [owner]),
    ]
    if rng.random() < 0.5:
        flat_fields = [
            Field(rng.choice(STREET_LABELS), [flat_line(conf.flat)]),
            Field(rng.choice(POSTAL_LABELS), [f"{conf.flat.postal_code} {conf.flat.city}"]),
        ]
    else:
        flat_fields = [
            Field(
                rng.choice(FLAT_LABELS),
                [flat_line(conf.flat), f"{conf.flat.postal_code} {conf.flat.city}"],
            )
        ]
    flat_fields.insert(
        rng.randint(0, len(flat_fields)),
        Field(rng.choice(MOVE_IN_LABELS), [date_text(conf.move_in, rng)]),
    )
    return {"landlord": landlord_fields, "flat": flat_fields}


def _persons_label(rng: random.Random, surname_first: bool) -> str:
    order = " (Familienname, Vorname)" if surname_first else " (Vorname Name)"
    return rng.choice(PERSONS_LABELS) + (order if rng.random() < 0.7 else "")


def _draw_field(
    page: Page,
    field: Field,
    x: float,
    y: float,
    width: float,
    style: Style,
    rng: random.Random,
    *,
    beside: bool,
) -> float:
    """A label with its value to its right (``beside``) or below it; returns the next y."""
    if beside:
        page.text(x, y, field.label + ":", style.label_size + 1.5, style.label_font)
        value_x = x + min(width * 0.45, 62)
        for line in field.lines:
            style.value(page, value_x, y, line, rng)
            y += 6.5
        return y + 2.5
    page.text(x, y, field.label, style.label_size, style.label_font)
    y += 5.5
    for line in field.lines:
        for part in wrap(line, width - 2, style.value_size, style.value_font) or [""]:
            style.value(page, x + 1, y, part, rng)
            y += 5.5
    return y + 3.5


# ------------------------------------------------------------------ layouts


def one_column(conf: Confirmation, rng: random.Random, hand: bool = False) -> Page:
    """Labels on the left, values beside them; numbered sections one under the other."""
    page, style = Page(), _style(rng, hand)
    y = _title(page, rng) + 4
    groups = _fields(conf, rng)
    headings = {"landlord": "1. Angaben zum Wohnungsgeber", "flat": "2. Angaben zur Wohnung"}
    for key in ("landlord", "flat"):
        page.text(20, y, headings[key], 10.5, "sans-bold")
        y += 8
        for field in groups[key]:
            y = _draw_field(page, field, 22, y, 168, style, rng, beside=True)
        y += 3
    surname_first = rng.random() < 0.5
    page.text(20, y, "3. " + _persons_label(rng, surname_first), 10.5, "sans-bold")
    y += 8
    for number, resident in enumerate(conf.residents, 1):
        page.text(22, y, f"{number}.", style.label_size + 2)
        style.value(page, 30, y, name_of(resident, surname_first), rng)
        page.text(120, y, "geb.", style.label_size + 1.5)
        style.value(page, 130, y, f"{resident.birth_date:%d.%m.%Y}", rng)
        y += 7
    _footer(page, conf, rng, y + 8, style)
    return page


def two_column(conf: Confirmation, rng: random.Random, hand: bool = False) -> Page:
    """Two columns of labelled fields; the people moving in in a grid of two per row."""
    page, style = Page(), _style(rng, hand)
    y0 = _title(page, rng) + 4
    groups = _fields(conf, rng)
    order = ["landlord", "flat"] if rng.random() < 0.6 else ["flat", "landlord"]
    headings = {"landlord": "Wohnungsgeber", "flat": "Wohnung"}
    bottoms = []
    for column, key in enumerate(order):
        x = 20 + column * 88
        y = y0
        page.text(x, y, headings[key], 10.5, "sans-bold")
        page.rule(x, y + 1.5, x + 80, y + 1.5, 0.25)
        y += 8
        for field in groups[key]:
            y = _draw_field(page, field, x, y, 80, style, rng, beside=False)
        bottoms.append(y)
    y = max(bottoms) + 4
    surname_first = rng.random() < 0.5
    page.text(20, y, _persons_label(rng, surname_first), 10.5, "sans-bold")
    page.rule(20, y + 1.5, 188, y + 1.5, 0.25)
    y += 9
    boxed = rng.random() < 0.5
    for row in range(0, len(conf.residents), 2):
        for column, resident in enumerate(conf.residents[row : row + 2]):
            x = 20 + column * 88
            if boxed:
                page.rect(x, y - 5, 80, 15, 0.25)
            page.text(x + 2, y - 1, f"Person {row + column + 1}", style.label_size)
            style.value(page, x + 2, y + 5, name_of(resident, surname_first), rng)
        y += 19
    _footer(page, conf, rng, y + 6, style)
    return page


def three_column(conf: Confirmation, rng: random.Random, hand: bool = False) -> Page:
    """Three columns: landlord, flat, and the move (date and people) side by side."""
    page, style = Page(), _style(rng, hand)
    style.value_size = min(style.value_size, 10.5) if not hand else 12.5
    y0 = _title(page, rng) + 4
    groups = _fields(conf, rng)
    move = [f for f in groups["flat"] if f.label in MOVE_IN_LABELS]
    flat = [f for f in groups["flat"] if f.label not in MOVE_IN_LABELS]
    surname_first = rng.random() < 0.5
    persons = Field(
        _persons_label(rng, surname_first).split(" (")[0],
        [name_of(r, surname_first) for r in conf.residents],
    )
    columns = [
        ("Wohnungsgeber", groups["landlord"]),
        ("Wohnung", flat),
        ("Einzug", move + [persons]),
    ]
    rng.shuffle(columns)
    bottoms = []
    for index, (heading, fields) in enumerate(columns):
        x = 18 + index * 60
        y = y0
        page.rect(x - 1, y - 6, 57, 2, 0, fill=200)
        page.text(x, y, heading, 10, "sans-bold")
        y += 8
        for field in fields:
            y = _draw_field(page, field, x, y, 56, style, rng, beside=False)
        bottoms.append(y)
    _footer(page, conf, rng, max(bottoms) + 10, style)
    return page


def table(conf: Confirmation, rng: random.Random, hand: bool = False) -> Page:
    """A ruled table of label and value cells; the people in a table of their own."""
    page, style = Page(), _style(rng, hand)
    y = _title(page, rng) + 2
    groups = _fields(conf, rng)
    rows = groups["landlord"][:1] + groups["flat"] + groups["landlord"][1:]
    label_w, value_w = 62.0, 108.0
    for field in rows:
        height = 4 + 6 * len(field.lines)
        page.rect(20, y, label_w, height, 0.3, fill=235)
        page.rect(20 + label_w, y, value_w, height, 0.3)
        page.text(22, y + 5.5, field.label, style.label_size + 1.5, style.label_font)
        for number, line in enumerate(field.lines):
            style.value(page, 20 + label_w + 2.5, y + 5.8 + 6 * number, line, rng)
        y += height
    y += 8
    page.text(20, y, rng.choice(PERSONS_LABELS), 10.5, "sans-bold")
    y += 3
    widths = (12.0, 55.0, 60.0, 43.0)
    heads = (
        "Nr.",
        rng.choice(("Familienname", "Name", "Nachname")),
        rng.choice(("Vorname(n)", "Vornamen", "Vorname")),
        "Geburtsdatum",
    )
    x = 20.0
    for width, head in zip(widths, heads, strict=True):
        page.rect(x, y, width, 8, 0.3, fill=225)
        page.text(x + 2, y + 5.5, head, style.label_size + 1.5, "sans-bold")
        x += width
    y += 8
    for number, resident in enumerate(conf.residents, 1):
        x = 20.0
        cells = (
            f"{number}",
            resident.surname,
            resident.given_names,
            f"{resident.birth_date:%d.%m.%Y}",
        )
        for width, cell in zip(widths, cells, strict=True):
            page.rect(x, y, width, 9, 0.3)
            if cell:
                style.value(page, x + 2, y + 6.3, cell, rng)
            x += width
        y += 9
    _footer(page, conf, rng, y + 12, style)
    return page


LETTER_BODIES = (
    "hiermit bestätigen wir, dass {persons} am {date} in die Wohnung {flat} eingezogen {verb}.",
    "hiermit bestätigen wir als Vermieter, dass {persons} zum {date} die Wohnung {flat} "
    "bezogen {verb2}.",
    "wir bestätigen Ihnen gemäß § 19 BMG, dass {persons} am {date} in unsere Wohnung {flat} "
    "eingezogen {verb}.",
    "als Wohnungsgeber bestätigen wir, dass {persons} seit dem {date} die Wohnung {flat} "
    "bewohn{plural_n}.",
)


def _addressed(resident: Resident, rng: random.Random, titled: bool) -> str:
    """ "Frau Anna Müller", or the name alone."""
    if not titled or not resident.sex:
        return resident.full_name
    return f"{'Frau' if resident.sex == 'F' else 'Herr'} {resident.full_name}"


def letter(conf: Confirmation, rng: random.Random, hand: bool = False) -> Page:
    """A housing company's letter: letterhead, recipient, subject and one sentence of truth."""
    page = Page()
    landlord = conf.landlord
    font = rng.choice(("sans", "serif"))
    right = rng.random() < 0.5
    head = (
        f"{landlord.address.street_line} · {landlord.address.postal_code} {landlord.address.city}"
    )
    if right:
        width = text_width(landlord.name, 14, "sans-bold")
        page.text(190 - width, 22, landlord.name, 14, "sans-bold")
        page.text(190 - text_width(head, 8), 28, head, 8)
    else:
        page.text(20, 22, landlord.name, 14, "sans-bold")
        page.text(20, 28, head, 8)
    page.rule(20, 31, 190, 31, 0.3)
    first = conf.residents[0]
    recipient = [
        f"{'Frau' if first.sex == 'F' else 'Herrn'} {first.full_name}",
        flat_line(conf.flat),
        f"{conf.flat.postal_code} {conf.flat.city}",
    ]
    y = 50.0
    if rng.random() < 0.5:
        for line in recipient:
            page.text(20, y, line, 10, font)
            y += 5
    date_line = f"Hannover, {conf.signed:%d.%m.%Y}"
    page.text(190 - text_width(date_line, 10, font), 75, date_line, 10, font)
    page.text(
        20,
        90,
        rng.choice(
            (
                "Wohnungsgeberbestätigung nach § 19 BMG",
                "Bestätigung über den Einzug",
                "Ihre Wohnungsgeberbestätigung",
            )
        ),
        11,
        "sans-bold",
    )
    titled = rng.random() < 0.6
    names = [_addressed(r, rng, titled) for r in conf.residents]
    persons = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " und " + names[-1]
    plural = len(conf.residents) > 1
    flat = f"{flat_line(conf.flat)}, {conf.flat.postal_code} {conf.flat.city}"
    body = rng.choice(LETTER_BODIES).format(
        persons=persons, date=date_text(conf.move_in, rng), flat=flat,
        verb="sind" if plural else "ist", verb2="haben" if plural else "hat",
        plural_n="en" if plural else "t",
    )  # fmt: skip
    owner = (
        " Wir sind Eigentümer der Wohnung."
        if landlord.owner
        else " Wir handeln im Auftrag des Eigentümers."
    )
    closing = " Diese Bestätigung dient zur Vorlage bei der Meldebehörde."
    text = f"Sehr geehrte Damen und Herren,\n{body[0].upper()}{body[1:]}{owner}{closing}"
    y = 102.0
    for paragraph in text.split("\n"):
        for line in wrap(paragraph, 150, 10.5, font):
            page.text(20, y, line, 10.5, font)
            y += 6
        y += 4
    page.text(20, y + 6, "Mit freundlichen Grüßen", 10.5, font)
    page.text(
        20,
        y + 18,
        rng.choice(("Kundenservice", "i. A. Weber", "Vermietung")),
        15,
        "script",
        color=(20, 30, 110),
    )
    page.text(20, y + 25, landlord.name, 8.5, font)
    return page


LAYOUTS: dict[str, Callable[[Confirmation, random.Random], Page]] = {
    "one_column": one_column,
    "two_column": two_column,
    "three_column": three_column,
    "table": table,
    "letter": letter,
}


def render(conf: Confirmation, kind: str, rng: random.Random) -> Page:
    """The confirmation drawn in layout ``kind`` (one of :data:`KINDS`)."""
    if kind == "handwritten":
        base = rng.choice(("one_column", "two_column", "table"))
        return LAYOUTS[base](conf, rng, True)  # type: ignore[call-arg]
    if kind not in LAYOUTS:
        raise ValueError(f"unknown layout {kind!r}; expected one of {', '.join(KINDS)}")
    return LAYOUTS[kind](conf, rng)
