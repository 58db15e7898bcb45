"""The member card image: a QR code of the member code, as PNG bytes ready for sendPhoto."""

from __future__ import annotations

import io

import qrcode
from qrcode.image.pil import PilImage


def qr_png(data: str) -> io.BytesIO:
    image = qrcode.make(data, border=2, image_factory=PilImage)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "card.png"
    return buffer
