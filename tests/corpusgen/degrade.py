"""Degradations of a page image: what scanners, phones and fax machines do to paper.

Every function takes a PIL image and a ``random.Random`` and returns a new image; none
depends on what the page shows, so identity documents and landlord confirmations share
them. :func:`degrade` composes them for a named quality.
"""

from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image, ImageFilter

QUALITIES = ("clean", "scan", "photo", "degraded")


def blur(
    image: Image.Image, rng: random.Random, radius: tuple[float, float] = (0.4, 1.2)
) -> Image.Image:
    """Gaussian blur of a radius drawn from ``radius`` (pixels)."""
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(*radius)))


def jpeg(
    image: Image.Image, rng: random.Random, quality: tuple[int, int] = (40, 85)
) -> Image.Image:
    """A round trip through JPEG at a quality drawn from ``quality``: block artefacts."""
    buffer = io.BytesIO()
    image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode).save(
        buffer, "JPEG", quality=rng.randint(*quality)
    )
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.copy()


def low_resolution(
    image: Image.Image, rng: random.Random, factor: tuple[float, float] = (0.45, 0.7)
) -> Image.Image:
    """The image at a lower resolution (as from a 150-dpi scanner or a small photo)."""
    scale = rng.uniform(*factor)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR)


def skew(image: Image.Image, rng: random.Random, degrees: float = 2.0) -> Image.Image:
    """Rotated by up to ``degrees`` either way, the new corners filled with paper white."""
    angle = rng.uniform(-degrees, degrees)
    fill = 255 if image.mode == "L" else (255,) * len(image.getbands())
    return image.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def uneven_light(
    image: Image.Image, rng: random.Random, strength: tuple[float, float] = (0.15, 0.4)
) -> Image.Image:
    """A brightness gradient across the page and a soft shadow from one edge."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    height, width = pixels.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xs / width + np.sin(angle) * ys / height + 1.0) / 2.0
    light = 1.0 - rng.uniform(*strength) * ramp
    edge = rng.choice(("left", "right", "top", "bottom"))
    reach = rng.uniform(0.15, 0.35)
    distance = {
        "left": xs / width,
        "right": 1 - xs / width,
        "top": ys / height,
        "bottom": 1 - ys / height,
    }[edge]
    shadow = 1.0 - rng.uniform(0.1, 0.3) * np.clip(1.0 - distance / reach, 0.0, 1.0)
    shaded = pixels * (light * shadow)[..., None]
    return _from_array(shaded, image.mode)


def noise(
    image: Image.Image, rng: random.Random, sigma: tuple[float, float] = (4.0, 12.0)
) -> Image.Image:
    """Gaussian sensor noise of a standard deviation drawn from ``sigma`` (grey levels)."""
    generator = np.random.default_rng(rng.getrandbits(32))
    pixels = np.asarray(image, dtype=np.float32)
    noisy = pixels + generator.normal(0.0, rng.uniform(*sigma), pixels.shape)
    return _from_array(noisy, image.mode)


def perspective(image: Image.Image, rng: random.Random, tilt: float = 0.06) -> Image.Image:
    """A phone photo of the page: on a darker table, corners pulled by up to ``tilt``."""
    width, height = image.size
    margin_x, margin_y = round(width * 0.08), round(height * 0.06)
    canvas_size = (width + 2 * margin_x, height + 2 * margin_y)
    tone = rng.randint(70, 150)
    background = Image.new(
        "RGB", canvas_size, (tone, tone - rng.randint(0, 20), tone - rng.randint(0, 35))
    )
    page = image.convert("RGB")
    corners = [(0, 0), (width, 0), (width, height), (0, height)]
    target = [
        (
            x + margin_x + rng.uniform(-tilt, tilt) * width,
            y + margin_y + rng.uniform(-tilt, tilt) * height,
        )
        for x, y in corners
    ]
    coefficients = _perspective_coefficients(target, corners)
    warped = page.transform(
        canvas_size, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BICUBIC
    )
    mask = Image.new("L", (width, height), 255).transform(
        canvas_size, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR
    )
    background.paste(warped, (0, 0), mask)
    return background if image.mode != "L" else background.convert("L")


def _perspective_coefficients(
    target: list[tuple[float, float]], source: list[tuple[int, int]]
) -> tuple[float, ...]:
    """PIL's eight coefficients mapping output (target) points back to input (source)."""
    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    matrix = np.array(rows, dtype=np.float64)
    vector = np.array([c for point in source for c in point], dtype=np.float64)
    return tuple(float(c) for c in np.linalg.solve(matrix, vector))


def _from_array(pixels: np.ndarray, mode: str) -> Image.Image:
    result = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return result.convert(mode) if result.mode != mode else result


def degrade(image: Image.Image, rng: random.Random, quality: str) -> Image.Image:
    """The page as it reaches the office at ``quality`` (one of :data:`QUALITIES`)."""
    if quality == "clean":
        return image
    if quality == "scan":
        image = skew(image, rng, 1.5)
        image = blur(image, rng, (0.3, 0.8))
        image = noise(image, rng, (2.0, 6.0))
        return jpeg(image, rng, (70, 90))
    if quality == "photo":
        image = uneven_light(image, rng)
        image = perspective(image, rng, 0.035)
        image = blur(image, rng, (0.5, 1.1))
        image = noise(image, rng, (3.0, 8.0))
        return jpeg(image, rng, (60, 85))
    if quality == "degraded":
        image = low_resolution(image, rng, (0.5, 0.7))
        image = skew(image, rng, 2.5)
        image = uneven_light(image, rng, (0.1, 0.3))
        image = blur(image, rng, (0.5, 1.0))
        image = noise(image, rng, (5.0, 10.0))
        return jpeg(image, rng, (40, 65))
    raise ValueError(f"unknown quality {quality!r}; expected one of {', '.join(QUALITIES)}")
