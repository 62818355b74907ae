"""Splitting long text for platforms with a size limit: between lines, never mid-line."""

from __future__ import annotations


def split_lines(text: str, max_bytes: int) -> list[str]:
    """Pack whole lines into chunks of at most ``max_bytes`` UTF-8 bytes.

    Chunks break only between lines.  The one exception is a single line
    longer than a whole chunk: it is cut at character boundaries, since it
    cannot be sent any other way.
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        pieces = _cut_line(line, max_bytes)
        for piece in pieces:
            piece_size = len(piece.encode("utf-8"))
            extra = piece_size + (1 if current else 0)
            if current and size + extra > max_bytes:
                chunks.append("\n".join(current))
                current, size = [], 0
                extra = piece_size
            current.append(piece)
            size += extra
    if current:
        chunks.append("\n".join(current))
    return [chunk for chunk in chunks if chunk.strip()] or ([text] if text else [])


def _cut_line(line: str, max_bytes: int) -> list[str]:
    if len(line.encode("utf-8")) <= max_bytes:
        return [line]
    pieces: list[str] = []
    current = ""
    for char in line:
        if len((current + char).encode("utf-8")) > max_bytes:
            pieces.append(current)
            current = ""
        current += char
    pieces.append(current)
    return pieces
