"""Identity documents as citizens upload them: German ID cards and passports.

:func:`render_identity_document` draws a document for an invented person in the manner
of the real ones and returns the files a citizen would upload. Nothing is copied from
the dev corpus: layout, fonts, background and portrait are drawn here, with random
variation of positions, sizes, fonts and colours, so that a reader tuned to one picture
does not pass by luck.

- German identity card (ID-1, 85.6 x 54 mm; the 2021 model): the front with the card
  number top right, surname (and birth name), given names, date of birth, nationality
  (``DEUTSCH``), place of birth, date of expiry, signature and the six-digit card access
  number; the back with address, eye colour, height, date of issue, authority and the
  three-line TD1 machine-readable zone. Uploaded as the back only, front and back as two
  files, the front only, or both sides on one page.
- Passport data page (ID-3, 125 x 88 mm) with the two-line TD3 zone; German passports
  label in German, English and French, others in English and French, with dates
  printed ``12.03.1990``, ``12 MAR 1990`` or ``12 MAR/MAR 1990``.

The machine-readable zones carry correct ICAO 9303 check digits (computed here, not by
the code under test) and are set in OCR-B (Debian ``fonts-ocr-b``; DejaVu Sans Mono
when that is missing).
"""

from __future__ import annotations

import math
import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from tests.corpusgen import degrade as deg
from tests.corpusgen.render import image_bytes

QUALITIES = ("clean", "scan", "photo", "degraded")
KINDS = ("id_card", "passport")
SIDES = ("back", "front+back", "front", "one_page")
# How an ID card comes in when the caller does not say: mostly both sides; the front
# alone in a share of cases (the document number is then only printed, without MRZ).
SIDE_WEIGHTS = (0.15, 0.25, 0.15, 0.45)

DPI = 300
_MM = DPI / 25.4

OCR_B = "/usr/share/fonts/opentype/ocr-b/OCRB.otf"
_FONT_FILES = {
    "sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "sans-bold": "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "condensed": "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
    "condensed-bold": "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
    "liberation": "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "liberation-bold": "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "mono": "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "ocrb": OCR_B,
}
# Label and value typefaces, drawn per document.
_TYPEFACES = (("sans", "sans-bold"), ("condensed", "condensed-bold"),
              ("liberation", "liberation-bold"))  # fmt: skip

_CARD_LETTERS = "CFGHJKLMNPRTVWXYZ"  # the card alphabet: no vowels, no B, D, Q, S
_CARD_ALPHABET = _CARD_LETTERS + "0123456789"
_ID_CARD_FIRST = "LMNPRTVWXY"  # German ID card numbers begin with one of these
_PASSPORT_FIRST = "CFGHJK"  # German passport numbers with one of these


def random_german_card_number(rng: random.Random) -> str:
    """A German identity card number: 9 characters of the card alphabet.

    The alphabet has the digits and the consonants C F G H J K L M N P R T V W X Y Z
    (no vowels, none of B D Q S that look like digits). The printed number carries no
    check digit of its own; the MRZ adds it as a tenth character.
    """
    return rng.choice(_ID_CARD_FIRST) + "".join(rng.choice(_CARD_ALPHABET) for _ in range(8))


def random_passport_number(rng: random.Random, nationality: str = "D") -> str:
    """A passport number: German ones in the card alphabet, others a letter and 8 digits."""
    if nationality == "D":
        return rng.choice(_PASSPORT_FIRST) + "".join(rng.choice(_CARD_ALPHABET) for _ in range(8))
    return rng.choice("ABCEHJKLMNPRSTUVXYZ") + "".join(rng.choice("0123456789") for _ in range(8))


# ----------------------------------------------------------------- MRZ (ICAO 9303)


def check_digit(data: str) -> str:
    """ICAO 9303 check digit: values 0-9, A=10 ... Z=35, ``<`` = 0; weights 7, 3, 1."""
    total = 0
    for index, char in enumerate(data):
        if char.isdigit():
            value = int(char)
        elif "A" <= char <= "Z":
            value = ord(char) - 55
        else:
            value = 0
        total += value * (7, 3, 1)[index % 3]
    return str(total % 10)


_TRANSLITERATION = {"Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "SS", "Å": "AA", "Æ": "AE", "Ø": "OE",
                    "Œ": "OE", "Ł": "L", "Đ": "D", "Þ": "TH"}  # fmt: skip


def mrz_name_part(name: str) -> str:
    """A name as the MRZ writes it: transliterated, upper case, ``<`` between its parts."""
    out = []
    for char in name.upper().replace("ẞ", "ß"):
        if char in _TRANSLITERATION:
            out.append(_TRANSLITERATION[char])
        elif char in " -'’":
            out.append("<")
        else:
            base = unicodedata.normalize("NFKD", char)
            out.append("".join(c for c in base if c.isascii() and c.isalnum()))
    text = "".join(out)
    while "<<" in text:
        text = text.replace("<<", "<")
    return text.strip("<")


def _mrz_name(surname: str, given_names: str, width: int) -> str:
    name = f"{mrz_name_part(surname)}<<{mrz_name_part(given_names)}"
    return name[:width].ljust(width, "<")


def _yymmdd(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%y%m%d")


def _country(code: str) -> str:
    return code.ljust(3, "<")


def td1_lines(person: dict[str, Any]) -> list[str]:
    """The three 30-character lines of a German ID card's machine-readable zone."""
    number = person["document_number"]
    line1 = "ID" + _country(person.get("issuing_state", "D")) + number + check_digit(number)
    line1 = line1.ljust(30, "<")
    birth, expiry = _yymmdd(person["birth_date"]), _yymmdd(person["expiry_date"])
    sex = person.get("sex", "<") if person.get("mrz_sex", False) else "<"
    line2 = (birth + check_digit(birth) + sex + expiry + check_digit(expiry)
             + _country(person["nationality"])).ljust(29, "<")  # fmt: skip
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    line2 += check_digit(composite)
    line3 = _mrz_name(person["surname"], person["given_names"], 30)
    return [line1, line2, line3]


def td3_lines(person: dict[str, Any]) -> list[str]:
    """The two 44-character lines of a passport's machine-readable zone."""
    issuing = person.get("issuing_state") or person["nationality"]
    line1 = "P<" + _country(issuing) + _mrz_name(person["surname"], person["given_names"], 39)
    number = person["document_number"].ljust(9, "<")
    birth, expiry = _yymmdd(person["birth_date"]), _yymmdd(person["expiry_date"])
    sex = person.get("sex", "<") if person.get("sex") in ("F", "M") else "<"
    personal = person.get("personal_number", "").ljust(14, "<")
    personal_check = check_digit(personal) if personal.strip("<") else "<"
    line2 = (number + check_digit(number) + _country(person["nationality"]) + birth
             + check_digit(birth) + sex + expiry + check_digit(expiry) + personal
             + personal_check)  # fmt: skip
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    return [line1, line2 + check_digit(composite)]


def expected_identity_fields(person: dict[str, Any]) -> dict[str, str]:
    """The six identity fields as ``expected.json`` states them for any side of the document."""
    return {
        "surname": person["surname"].upper(),
        "given_names": person["given_names"].upper(),
        "birth_date": person["birth_date"],
        "document_number": person["document_number"],
        "expiry_date": person["expiry_date"],
        "nationality": person["nationality"],
    }


# ----------------------------------------------------------------- drawing


@lru_cache(maxsize=128)
def _font(name: str, pixels: int) -> ImageFont.FreeTypeFont:
    path = _FONT_FILES[name]
    if name == "ocrb" and not Path(path).exists():
        path = _FONT_FILES["mono"]  # fonts-ocr-b missing: the nearest monospaced face
    return ImageFont.truetype(path, pixels)


def _px(mm: float) -> int:
    return round(mm * _MM)


@dataclass(slots=True)
class _Style:
    """What varies between two printings of the same kind of document."""

    label_font: str
    value_font: str
    label_mm: float  # cap height of labels
    value_mm: float  # cap height of values
    tint: tuple[int, int, int]  # background
    wave: tuple[int, int, int]  # guilloche lines
    ink: tuple[int, int, int]
    number_ink: tuple[int, int, int]
    dx: float  # layout shift, mm
    dy: float
    gap: float  # vertical stretch of the field grid

    @classmethod
    def draw(cls, rng: random.Random) -> _Style:
        label, value = rng.choice(_TYPEFACES)
        tints = ((236, 242, 238), (242, 238, 240), (236, 240, 246), (244, 242, 232))
        waves = ((170, 196, 200), (206, 176, 190), (168, 184, 214), (200, 196, 160))
        tone = rng.randrange(len(tints))
        ink = rng.choice(((20, 20, 24), (35, 30, 40), (10, 25, 45)))
        number_ink = rng.choice(((150, 20, 30), (20, 20, 24), (120, 30, 60)))
        return cls(label, value, rng.uniform(0.75, 0.95), rng.uniform(1.65, 2.05), tints[tone],
                   waves[tone], ink, number_ink, rng.uniform(-1.0, 1.0), rng.uniform(-0.8, 0.8),
                   rng.uniform(0.94, 1.06))  # fmt: skip


def _cap_pixels(name: str, cap_mm: float) -> int:
    """Font size in pixels whose capital letters are ``cap_mm`` high."""
    probe = _font(name, 100)
    left, top, right, bottom = probe.getbbox("H", anchor="ls")
    return max(6, round(_px(cap_mm) * 100 / max(1, bottom - top)))


def _text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    font: str,
    cap_mm: float,
    fill: tuple[int, int, int],
    anchor: str = "ls",
) -> None:
    draw.text((_px(xy[0]), _px(xy[1])), text, font=_font(font, _cap_pixels(font, cap_mm)),
              fill=fill, anchor=anchor)  # fmt: skip


def _guilloche(image: Image.Image, style: _Style, rng: random.Random) -> None:
    """Fine sine waves over the card's background, as security printing has."""
    draw = ImageDraw.Draw(image)
    width, height = image.size
    for band in range(rng.randint(5, 9)):
        base = height * (band + 0.5) / 7
        amplitude = rng.uniform(0.02, 0.06) * height
        period = rng.uniform(0.25, 0.5) * width
        phase = rng.uniform(0, 2 * math.pi)
        for offset in (0.0, 0.012 * height):
            points = [
                (x, base + offset + amplitude * math.sin(2 * math.pi * x / period + phase))
                for x in range(0, width + 8, 8)
            ]
            draw.line(points, fill=style.wave, width=1)


def _card(size_mm: tuple[float, float], style: _Style, rng: random.Random) -> Image.Image:
    image = Image.new("RGB", (_px(size_mm[0]), _px(size_mm[1])), style.tint)
    _guilloche(image, style, rng)
    return image


def _portrait(image: Image.Image, box_mm: tuple[float, float, float, float],
              rng: random.Random) -> None:  # fmt: skip
    """A drawn head and shoulders (no real face), in muted tones."""
    left, top, right, bottom = (_px(v) for v in box_mm)
    back = rng.randint(188, 220)
    photo = Image.new("RGB", (right - left, bottom - top), (back, back, back + 6))
    draw = ImageDraw.Draw(photo)
    x0, y0, x1, y1 = 0, 0, photo.width - 1, photo.height - 1
    w, h = photo.width, photo.height
    skin = rng.choice(((200, 170, 150), (170, 130, 105), (120, 90, 70), (215, 190, 170)))
    hair = rng.choice(((60, 45, 35), (120, 95, 60), (30, 30, 30), (170, 160, 150)))
    coat = rng.choice(((50, 60, 80), (90, 40, 40), (60, 70, 60), (40, 40, 45)))
    draw.ellipse((x0 + 0.08 * w, y0 + 0.72 * h, x1 - 0.08 * w, y1 + 0.45 * h), fill=coat)
    draw.rectangle((x0 + 0.42 * w, y0 + 0.6 * h, x0 + 0.58 * w, y0 + 0.76 * h), fill=skin)
    draw.ellipse((x0 + 0.27 * w, y0 + 0.14 * h, x1 - 0.27 * w, y0 + 0.66 * h), fill=hair)
    draw.ellipse((x0 + 0.3 * w, y0 + 0.2 * h, x1 - 0.3 * w, y0 + 0.68 * h), fill=skin)
    draw.rectangle((x0, y0, x1, y1), outline=(back - 40,) * 3, width=1)
    image.paste(photo, (left, top))


def _signature(image: Image.Image, origin_mm: tuple[float, float], width_mm: float,
               rng: random.Random) -> None:  # fmt: skip
    """A scribbled line in blue ink: loops along a slanted baseline."""
    draw = ImageDraw.Draw(image)
    x, y = origin_mm
    points = []
    loops = rng.randint(4, 8)
    for step in range(120):
        t = step / 119
        px = x + t * width_mm + 0.8 * math.cos(t * loops * 2 * math.pi)
        py = y - 1.2 * math.sin(t * loops * 2 * math.pi) * rng.uniform(0.7, 1.0) - 1.0 * t
        points.append((_px(px), _px(py)))
    draw.line(points, fill=(30, 40, 120), width=max(2, _px(0.25)))


def _labelled(
    draw: ImageDraw.ImageDraw,
    style: _Style,
    x: float,
    y: float,
    label: str,
    value: str,
) -> None:
    """A trilingual label and its value below it, ``y`` the label's baseline."""
    _text(draw, (x, y), label, style.label_font, style.label_mm, style.ink)
    _text(draw, (x, y + style.value_mm + 1.5), value, style.value_font, style.value_mm, style.ink)


def _date_de(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d.%m.%Y")


_NATIONALITY_PRINTED = {"D": "DEUTSCH", "ITA": "ITALIANA", "ESP": "ESPAÑOLA", "POL": "POLSKIE",
                        "FRA": "FRANÇAISE", "UKR": "УКРАЇНА/UKRAINE", "TUR": "T.C.",
                        "GRC": "ΕΛΛΗΝΙΚΗ/HELLENIC", "AUT": "ÖSTERREICH", "NLD": "NEDERLANDSE",
                        "SYR": "SYRIAN ARAB REPUBLIC", "GBR": "BRITISH CITIZEN"}  # fmt: skip
_COUNTRY_TITLE = {"ITA": "REPUBBLICA ITALIANA", "ESP": "REINO DE ESPAÑA",
                  "POL": "RZECZPOSPOLITA POLSKA", "FRA": "RÉPUBLIQUE FRANÇAISE",
                  "UKR": "UKRAINE", "TUR": "TÜRKIYE CUMHURIYETI", "AUT": "REPUBLIK ÖSTERREICH",
                  "NLD": "KONINKRIJK DER NEDERLANDEN", "GRC": "HELLENIC REPUBLIC",
                  "SYR": "SYRIAN ARAB REPUBLIC", "GBR": "UNITED KINGDOM"}  # fmt: skip


def _draw_mrz(image: Image.Image, lines: list[str], left_mm: float, first_baseline_mm: float,
              rng: random.Random) -> None:  # fmt: skip
    """OCR-B at the ICAO pitch (2.54 mm per character, ~4.3 mm per line), black."""
    draw = ImageDraw.Draw(image)
    font = _font("ocrb", _cap_pixels("ocrb", rng.uniform(2.3, 2.55)))
    pitch, line_pitch = 2.54, rng.uniform(4.1, 4.5)
    for index, line in enumerate(lines):
        baseline = first_baseline_mm + index * line_pitch
        for column, char in enumerate(line):
            centre = left_mm + (column + 0.5) * pitch
            draw.text((_px(centre), _px(baseline)), char, font=font, fill=(12, 12, 16),
                      anchor="ms")  # fmt: skip


# ----------------------------------------------------------------- ID card sides

ID1 = (85.6, 53.98)
ID3 = (125.0, 88.0)


def _issue_date(person: dict[str, Any]) -> str:
    if person.get("issue_date"):
        return str(person["issue_date"])
    expiry = date.fromisoformat(person["expiry_date"])
    try:
        return (expiry.replace(year=expiry.year - 10) + timedelta(days=1)).isoformat()
    except ValueError:  # 29 February
        return (expiry - timedelta(days=3652)).isoformat()


def render_id_front(person: dict[str, Any], rng: random.Random) -> Image.Image:
    """The front of a German identity card at 300 dpi, RGB."""
    style = _Style.draw(rng)
    image = _card(ID1, style, rng)
    draw = ImageDraw.Draw(image)
    dx, dy, g = style.dx, style.dy, style.gap
    _text(draw, (5 + dx, 7.0 + dy), "BUNDESREPUBLIK DEUTSCHLAND", style.value_font,
          rng.uniform(1.8, 2.1), (18, 40, 30))  # fmt: skip
    subtitle = rng.choice(("PERSONALAUSWEIS · IDENTITY CARD · CARTE D'IDENTITÉ",
                           "PERSONALAUSWEIS / IDENTITY CARD / CARTE D'IDENTITÉ"))  # fmt: skip
    _text(draw, (5 + dx, 9.9 + dy), subtitle, style.label_font, 0.8, style.ink)
    number_font = rng.choice(("ocrb", "mono"))
    _text(draw, (81.5 + dx / 2, 7.4 + dy), person["document_number"], number_font,
          rng.uniform(1.9, 2.3), style.number_ink, anchor="rs")  # fmt: skip
    _portrait(image, (4.5 + dx, 13.5 + dy, 27 + dx, 43 + dy), rng)
    _signature(image, (6 + dx, 49 + dy), rng.uniform(14, 19), rng)
    x = 30.5 + dx
    y = 15.0 + dy
    step = 5.3 * g
    _labelled(draw, style, x, y, "Name / Surname / Nom", person["surname"].upper())
    if person.get("birth_name"):
        y += step
        _labelled(draw, style, x, y, "Geburtsname / Name at birth / Nom de naissance",
                  str(person["birth_name"]).upper())  # fmt: skip
    y += step
    _labelled(draw, style, x, y, "Vornamen / Given names / Prénoms", person["given_names"].upper())
    y += step
    _labelled(draw, style, x, y, "Geburtstag / Date of birth / Date de naissance",
              _date_de(person["birth_date"]))  # fmt: skip
    _labelled(draw, style, x + 27 + rng.uniform(0, 2), y,
              "Staatsangehörigkeit / Nationality / Nationalité", "DEUTSCH")  # fmt: skip
    y += step
    _labelled(draw, style, x, y, "Geburtsort / Place of birth / Lieu de naissance",
              str(person.get("birth_place", "")).upper())  # fmt: skip
    y += step
    _labelled(draw, style, x, y, "Gültig bis / Date of expiry / Date d'expiration",
              _date_de(person["expiry_date"]))  # fmt: skip
    can = str(person.get("can") or "".join(rng.choice("0123456789") for _ in range(6)))
    _text(draw, (81 + dx / 2, 50.5 + dy / 2), can, "ocrb", 1.6, style.ink, anchor="rs")
    return image


def _address_lines(person: dict[str, Any], rng: random.Random) -> list[str]:
    address = person.get("address")
    if isinstance(address, dict):
        street = f"{address.get('street', '')} {address.get('house_number', '')}".strip()
        town = f"{address.get('postal_code', '')} {address.get('city', '')}".strip()
        return [town.upper(), street.upper()]
    if isinstance(address, str) and address:
        return [part.strip().upper() for part in address.split(",")][::-1]
    street = rng.choice(("GARTENWEG", "LINDENSTRASSE", "AM MARKT", "SCHULSTRASSE", "BERGSTRASSE"))
    town = rng.choice(("10115 BERLIN", "37073 GÖTTINGEN", "29221 CELLE", "28195 BREMEN"))
    return [town, f"{street} {rng.randint(1, 90)}"]


def render_id_back(person: dict[str, Any], rng: random.Random) -> Image.Image:
    """The back of a German identity card at 300 dpi, RGB, with its TD1 zone."""
    style = _Style.draw(rng)
    image = _card(ID1, style, rng)
    draw = ImageDraw.Draw(image)
    dx, dy, g = style.dx / 2, style.dy / 2, style.gap
    x, y, step = 5 + dx, 6.5 + dy, 5.2 * g
    eyes = person.get("eye_colour") or rng.choice(("BRAUN", "BLAU", "GRÜN", "GRAU"))
    height = person.get("height_cm") or rng.randint(152, 198)
    authority = person.get("authority") or rng.choice(
        ("STADT HANNOVER", "REGION HANNOVER", "STADT BERLIN", "STADT GÖTTINGEN", "LANDKREIS CELLE")
    )
    _labelled(draw, style, x, y, "Augenfarbe / Colour of eyes / Couleur des yeux", str(eyes))
    _labelled(draw, style, x, y + step, "Größe / Height / Taille", f"{height} cm")
    issued = "Ausstellungsdatum / Date of issue / Date de délivrance"
    _labelled(draw, style, x, y + 2 * step, issued, _date_de(_issue_date(person)))
    _labelled(draw, style, x, y + 3 * step, "Behörde / Authority / Autorité", str(authority))
    ax = 46 + dx + rng.uniform(-1.5, 1.5)
    _text(draw, (ax, y), "Anschrift / Address / Adresse", style.label_font, style.label_mm,
          style.ink)  # fmt: skip
    for index, line in enumerate(_address_lines(person, rng)):
        _text(draw, (ax, y + (index + 1) * (style.value_mm + 1.7)), line, style.value_font,
              style.value_mm * 0.92, style.ink)  # fmt: skip
    _draw_mrz(image, person.get("mrz_lines") or td1_lines(person), 4.7 + dx / 2, 40.3 + dy / 2, rng)
    return image


def _passport_date(iso: str, style: str) -> str:
    day = date.fromisoformat(iso)
    months = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    german = ("JAN", "FEB", "MÄR", "APR", "MAI", "JUN", "JUL", "AUG", "SEP", "OKT", "NOV", "DEZ")
    if style == "numeric":
        return day.strftime("%d.%m.%Y")
    month = months[day.month - 1]
    if style == "bilingual":
        return f"{day.day:02d} {german[day.month - 1]}/{month} {day.year}"
    return f"{day.day:02d} {month} {day.year}"


def render_passport_page(person: dict[str, Any], rng: random.Random) -> Image.Image:
    """A passport's data page at 300 dpi, RGB, with its TD3 zone."""
    style = _Style.draw(rng)
    image = _card(ID3, style, rng)
    draw = ImageDraw.Draw(image)
    german = person["nationality"] == "D"
    dx, dy, g = style.dx, style.dy, style.gap
    date_style = "numeric" if german else rng.choice(("named", "bilingual", "numeric"))
    if german:
        title = "REISEPASS · PASSPORT · PASSEPORT   BUNDESREPUBLIK DEUTSCHLAND"
    else:
        title = f"PASSPORT · {_COUNTRY_TITLE.get(person['nationality'], person['nationality'])}"
    _text(draw, (6 + dx, 8 + dy), title, style.value_font, 2.2, (20, 30, 50))
    _portrait(image, (6 + dx, 14 + dy, 36 + dx, 53 + dy), rng)
    _signature(image, (8 + dx, 60 + dy), rng.uniform(18, 24), rng)
    x, y, step = 41 + dx, 14.5 + dy, 5.5 * g

    def label(de: str, en_fr: str) -> str:
        return f"{de} / {en_fr}" if german else en_fr

    issuing = person.get("issuing_state") or person["nationality"]
    code_label = label("Typ / Kode / Pass-Nr.", "Type / Code / Passport No.")
    _text(draw, (x, y), code_label, style.label_font, style.label_mm, style.ink)
    vy = y + style.value_mm + 1.5
    _text(draw, (x, vy), "P", style.value_font, style.value_mm, style.ink)
    _text(draw, (x + 12, vy), issuing, style.value_font, style.value_mm, style.ink)
    _text(draw, (x + 34 + rng.uniform(0, 6), vy), person["document_number"], style.value_font,
          style.value_mm * 1.05, style.number_ink if german else style.ink)  # fmt: skip
    rows = [
        (label("Name", "Surname / Nom"), person["surname"].upper()),
        (label("Vornamen", "Given names / Prénoms"), person["given_names"].upper()),
        (label("Staatsangehörigkeit", "Nationality / Nationalité"),
         _NATIONALITY_PRINTED.get(person["nationality"], person["nationality"])),
        (label("Geburtstag", "Date of birth / Date de naissance"),
         _passport_date(person["birth_date"], date_style)),
    ]  # fmt: skip
    for text, value in rows:
        y += step
        _labelled(draw, style, x, y, text, value)
    y += step
    sex = person.get("sex") if person.get("sex") in ("F", "M") else "X"
    _labelled(draw, style, x, y, label("Geschlecht", "Sex / Sexe"), str(sex))
    _labelled(draw, style, x + 18, y, label("Geburtsort", "Place of birth / Lieu de naissance"),
              str(person.get("birth_place", "")).upper())  # fmt: skip
    y += step
    _labelled(draw, style, x, y, label("Ausstellungsdatum", "Date of issue / Date de délivrance"),
              _passport_date(_issue_date(person), date_style))  # fmt: skip
    y += step
    _labelled(draw, style, x, y, label("Gültig bis", "Date of expiry / Date d'expiration"),
              _passport_date(person["expiry_date"], date_style))  # fmt: skip
    _draw_mrz(image, person.get("mrz_lines") or td3_lines(person), 6.6 + dx / 3, 75.5 + dy / 3, rng)
    return image


# ----------------------------------------------------------------- uploads


def _on_page(cards: list[Image.Image], rng: random.Random) -> Image.Image:
    """Cards laid on a white A4 scanner bed at 300 dpi, one below the other."""
    page = Image.new("RGB", (_px(210), _px(297)), (250, 250, 250))
    x = _px(rng.uniform(12, 40))
    y = _px(rng.uniform(12, 30))
    for card in cards:
        page.paste(card, (x + _px(rng.uniform(-3, 3)), y))
        y += card.height + _px(rng.uniform(10, 30))
    return page


def _on_table(card: Image.Image, rng: random.Random) -> Image.Image:
    """A card on a table, photographed from above: a margin of dark, textured surface."""
    margin_x = round(card.width * rng.uniform(0.08, 0.2))
    margin_y = round(card.height * rng.uniform(0.1, 0.25))
    tone = rng.choice(((120, 90, 60), (70, 70, 75), (150, 140, 125), (40, 45, 55)))
    table = Image.new("RGB", (card.width + 2 * margin_x, card.height + 2 * margin_y), tone)
    grain = Image.effect_noise(table.size, rng.uniform(8, 20)).convert("RGB")
    table = Image.blend(table, grain, 0.12)
    table.paste(card, (margin_x, margin_y))
    return table


def _photo(card: Image.Image, rng: random.Random, strength: float) -> Image.Image:
    """A phone photo of one card: perspective, light, focus, noise, JPEG (in :func:`_file`)."""
    image = _on_table(card, rng)
    image = deg.perspective(image, rng, 0.03 + 0.03 * strength)
    image = deg.uneven_light(image, rng, (0.1 + 0.15 * strength, 0.3 + 0.2 * strength))
    image = image.rotate(rng.uniform(-6, 6) * (0.5 + strength), Image.Resampling.BICUBIC,
                         expand=True, fillcolor=(60, 60, 60))  # fmt: skip
    scale = rng.uniform(1.0, 1.5) if strength < 1 else rng.uniform(0.5, 0.8)
    image = image.resize((round(image.width * scale), round(image.height * scale)),
                         Image.Resampling.BILINEAR)  # fmt: skip
    image = deg.blur(image, rng, (0.5 + 0.7 * strength, 1.0 + 1.0 * strength))
    return deg.noise(image, rng, (3.0 + 5 * strength, 6.0 + 8 * strength))


def _scan(page: Image.Image, rng: random.Random, strength: float) -> Image.Image:
    """A flatbed scan of a page: skew, grey, softness, noise, lower resolution when degraded."""
    image = page.convert("L")
    image = deg.skew(image, rng, 1.5 + 1.5 * strength)
    if strength >= 1:
        image = deg.low_resolution(image, rng, (0.5, 0.65))
        contrast = rng.uniform(0.6, 0.8)  # a faded scan: ink grey, paper grey
        image = image.point(lambda v: round(255 - (255 - v) * contrast - 10))
    image = deg.blur(image, rng, (0.3 + 0.3 * strength, 0.8 + 0.5 * strength))
    return deg.noise(image, rng, (2.0 + 6 * strength, 5.0 + 8 * strength))


def _finish(image: Image.Image, rng: random.Random, quality: str) -> Image.Image:
    if quality == "clean":
        return image.convert("L") if rng.random() < 0.6 else image
    if quality == "scan":
        return _scan(image, rng, 0.0)
    return _scan(image, rng, 1.0)


def _file(image: Image.Image, rng: random.Random, quality: str, pdf: bool) -> tuple[str, bytes]:
    jpeg_quality = {"clean": (88, 95), "scan": (70, 88), "photo": (65, 85), "degraded": (30, 50)}
    level = rng.randint(*jpeg_quality[quality])
    if pdf:
        return "pdf", image_bytes(image, "pdf", level)
    return "jpg", image_bytes(image, "jpg", level)


def render_identity_document(
    person: dict[str, Any],
    kind: str,
    rng: random.Random,
    quality: str,
    *,
    sides: str | None = None,
    index: int = 1,
) -> list[tuple[str, bytes]]:
    """The files a citizen uploads for one identity document, as (file name, bytes).

    ``person`` keys (dates ISO ``YYYY-MM-DD``): ``surname``, ``given_names`` (as typed,
    with umlauts), ``birth_date``, ``birth_place``, ``nationality`` (ICAO code, ``D`` for
    Germans), ``document_number`` (see :func:`random_german_card_number`,
    :func:`random_passport_number`), ``expiry_date``, ``sex`` (``F``/``M``); optional:
    ``issue_date`` (else ten years before expiry), ``birth_name``, ``address`` (dict with
    ``street``, ``house_number``, ``postal_code``, ``city``, or ``"street, postal city"``;
    printed on an ID card's back, invented when absent), ``authority``, ``eye_colour``,
    ``height_cm``, ``can`` (six digits), ``issuing_state`` (default: ``D`` for ID cards,
    the nationality for passports), ``mrz_lines`` (the zone to print instead of the
    correct one: tampered documents for tests). Other keys are ignored.

    ``kind``: ``id_card`` or ``passport``. ``quality``: ``clean`` (a clean scan or PDF),
    ``scan`` (a flatbed scan: slight skew, softness, noise), ``photo`` (a phone photo of
    the card on a table: perspective, uneven light, blur) or ``degraded`` (a poor photo or
    a faded low-resolution scan with strong JPEG artefacts). ``sides`` (ID cards only, one
    of :data:`SIDES`; drawn with :data:`SIDE_WEIGHTS` when None): ``back`` only,
    ``front+back`` as two files, ``front`` only, or both sides on ``one_page``. Photos
    show one card side per file. ``index`` numbers the file names
    (``personalausweis_1.jpg``, ``ausweis_vorderseite_1.jpg``, ``reisepass_1.jpg``).
    Every file shows the six fields of :func:`expected_identity_fields`.
    """
    if quality not in QUALITIES:
        raise ValueError(f"unknown quality {quality!r}; expected one of {', '.join(QUALITIES)}")
    if kind == "passport":
        pages = {f"reisepass_{index}": [render_passport_page(person, rng)]}
    elif kind == "id_card":
        chosen = sides or rng.choices(SIDES, SIDE_WEIGHTS)[0]
        if chosen not in SIDES:
            raise ValueError(f"unknown sides {chosen!r}; expected one of {', '.join(SIDES)}")
        front, back = render_id_front(person, rng), render_id_back(person, rng)
        if chosen == "one_page" and quality in ("photo",):
            chosen = "front+back"  # a phone photo shows one card side
        pages = {
            "back": {f"personalausweis_{index}": [back]},
            "front": {f"ausweis_vorderseite_{index}": [front]},
            "front+back": {
                f"ausweis_vorderseite_{index}": [front],
                f"ausweis_rueckseite_{index}": [back],
            },  # fmt: skip
            "one_page": {f"personalausweis_{index}": [front, back]},
        }[chosen]
    else:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    files: list[tuple[str, bytes]] = []
    photo = quality == "photo" or (quality == "degraded" and rng.random() < 0.5)
    for stem, cards in pages.items():
        if photo and len(cards) == 1:
            image = _photo(cards[0], rng, 1.0 if quality == "degraded" else 0.0)
            if quality == "degraded":
                image = image.convert("L") if rng.random() < 0.3 else image
        else:
            image = _finish(_on_page(cards, rng), rng, quality)
        pdf = not photo and rng.random() < 0.3
        suffix, data = _file(image, rng, quality, pdf)
        files.append((f"{stem}.{suffix}", data))
    return files


def sample_person(rng: random.Random, kind: str = "id_card") -> dict[str, Any]:
    """An invented holder for tests and benches that need no full application."""
    german = kind == "id_card" or rng.random() < 0.4
    surnames = ("Müller", "Weiß", "Köhler", "Schäfer", "Groß-Brüggemann", "Öztürk", "Nußbaum",
                "Lüders", "Petersen", "Heß", "Wilkens", "Tiedemann")  # fmt: skip
    given = ("Anna Lena", "Jürgen", "Sören", "Käthe", "Hans-Peter", "Maren Sophie", "Björn",
             "Zoë", "Friederike Luise", "Ole", "Malte", "Bärbel")  # fmt: skip
    foreign = {"ITA": ("Esposito", "Chiara"), "ESP": ("Muñoz", "María José"),
               "POL": ("Wiśniewski", "Piotr"), "FRA": ("Lefèvre", "Amélie"),
               "TUR": ("Çelik", "Ayşe"), "UKR": ("Kovalenko", "Oksana")}  # fmt: skip
    if german:
        nationality, surname, given_names = "D", rng.choice(surnames), rng.choice(given)
    else:
        nationality = rng.choice(sorted(foreign))
        surname, given_names = foreign[nationality]
    born = date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 66))
    expiry = date(2027, 1, 1) + timedelta(days=rng.randint(0, 365 * 9))
    number = (random_german_card_number(rng) if kind == "id_card"
              else random_passport_number(rng, nationality))  # fmt: skip
    return {
        "surname": surname,
        "given_names": given_names,
        "birth_date": born.isoformat(),
        "birth_place": rng.choice(("Hannover", "Celle", "Göttingen", "Lüneburg", "Bremen")),
        "nationality": nationality,
        "sex": rng.choice("FM"),
        "document_number": number,
        "expiry_date": expiry.isoformat(),
    }
