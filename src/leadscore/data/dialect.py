"""CSV dialect detection: encoding, delimiter and quote character of a CRM export.

What is detected, in this order (each can be overridden):

* **encoding** - a UTF-8 byte-order mark means UTF-8 (the mark is dropped), a UTF-16 mark
  means UTF-16; otherwise the whole file is checked to be valid UTF-8 and, if it is not, it is
  read as Windows-1252 (the superset of Latin-1 that Excel and most CRMs write), or as
  Latin-1 when it contains bytes Windows-1252 leaves undefined.
* **delimiter** and **quote character** - the first 64 KiB are parsed with each candidate
  delimiter (``,`` ``;`` tab ``|``) and quote character (``"`` ``'``); the pair that gives every
  line the same number of fields as the header, with the most fields, wins. Ties go to ``,``
  and ``"``; a file with one column is read with ``,``.

Decimal commas are decided later, from the values (see :mod:`leadscore.data.loaders`).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from leadscore.errors import DataError

__all__ = [
    "DELIMITERS",
    "CsvDialect",
    "detect_encoding",
    "normalize_delimiter",
    "normalize_encoding",
    "sniff_csv",
    "transcode_to_utf8",
]

DELIMITERS: Final = (",", ";", "\t", "|")
QUOTE_CHARS: Final = ('"', "'")
SAMPLE_BYTES: Final = 64 * 1024
_CHUNK: Final = 4 * 1024 * 1024
_CP1252_UNDEFINED: Final = frozenset(b"\x81\x8d\x8f\x90\x9d")
_DELIMITER_NAMES: Final = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written: encoding (Python codec name), delimiter and quote character."""

    encoding: str
    delimiter: str
    quote_char: str | None

    @property
    def is_utf8(self) -> bool:
        """True when polars can read the bytes directly (UTF-8, with or without a BOM)."""
        return self.encoding in {"utf-8", "utf-8-sig"}

    def describe(self) -> str:
        delimiter = {"\t": "tab", ",": "','", ";": "';'", "|": "'|'"}.get(
            self.delimiter, repr(self.delimiter)
        )
        quote = "none" if self.quote_char is None else repr(self.quote_char)
        return f"encoding {self.encoding}, delimiter {delimiter}, quote {quote}"


def normalize_encoding(name: str) -> str:
    """The Python codec name of ``name`` (``latin-1`` -> ``iso8859-1``), or a DataError."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise DataError(
            f"unknown encoding {name!r}; use a Python codec name such as utf-8, cp1252 or latin-1"
        ) from None


def normalize_delimiter(value: str) -> str:
    """One delimiter character from ``value``; accepts ``tab``/``\\t`` and the usual names."""
    delimiter = _DELIMITER_NAMES.get(value.lower(), value)
    if len(delimiter) != 1 or delimiter in {"\n", "\r", '"'}:
        raise DataError(f"delimiter must be one character such as ',', ';' or 'tab'; got {value!r}")
    return delimiter


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def detect_encoding(path: Path) -> str:
    """The encoding of ``path`` as a Python codec name (see the module docstring)."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    undefined = False
    valid = True
    for chunk in _chunks(path):
        if valid:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                valid = False
        if not valid and not _CP1252_UNDEFINED.isdisjoint(chunk):
            undefined = True
            break
    if valid:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            valid = False
    if valid:
        return "utf-8"
    return "iso8859-1" if undefined else "cp1252"


def _read_sample(path: Path, encoding: str) -> tuple[str, bool]:
    """The first ``SAMPLE_BYTES`` decoded, and whether the file is longer than that."""
    with path.open("rb") as handle:
        raw = handle.read(SAMPLE_BYTES + 1)
    truncated = len(raw) > SAMPLE_BYTES
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(raw[:SAMPLE_BYTES])
    return text.lstrip("\ufeff"), truncated


def _score(sample: str, truncated: bool, delimiter: str, quote: str) -> tuple[float, int]:
    """(share of records with the header's field count, header field count)."""
    text = io.StringIO(sample, newline="")
    if quote:
        reader = csv.reader(text, delimiter=delimiter, quotechar=quote)
    else:
        reader = csv.reader(text, delimiter=delimiter, quoting=csv.QUOTE_NONE)
    try:
        rows = [row for row in reader if row]
    except csv.Error:
        return (0.0, 0)
    if truncated and len(rows) > 1:
        rows = rows[:-1]
    if not rows:
        return (0.0, 0)
    width = len(rows[0])
    body = rows[1:] or rows
    consistent = sum(1 for row in body if len(row) == width) / len(body)
    return (consistent, width)


def sniff_csv(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    quote_char: str | None = None,
) -> CsvDialect:
    """Detect the dialect of the CSV file ``path``; given arguments are used as they are."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    enc = normalize_encoding(encoding) if encoding else detect_encoding(path)
    if delimiter is not None and quote_char is not None:
        return CsvDialect(enc, normalize_delimiter(delimiter), quote_char or None)
    sample, truncated = _read_sample(path, enc)
    delimiters = (normalize_delimiter(delimiter),) if delimiter is not None else DELIMITERS
    quotes = (quote_char,) if quote_char is not None else QUOTE_CHARS
    pairs = [(d, q) for q in quotes for d in delimiters]

    def rank(index: int) -> tuple[bool, float, int, int]:
        consistent, width = _score(sample, truncated, *pairs[index])
        return (width > 1, consistent, width, -index)

    ranks = {index: rank(index) for index in range(len(pairs))}
    best = max(ranks, key=ranks.__getitem__)
    chosen_delimiter, chosen_quote = pairs[best]
    if not ranks[best][0] and delimiter is None:
        chosen_delimiter = ","
    return CsvDialect(enc, chosen_delimiter, chosen_quote)


def transcode_to_utf8(path: Path, encoding: str, target: Path) -> Path:
    """Write ``path`` decoded from ``encoding`` to ``target`` as UTF-8, streaming in chunks."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    try:
        with target.open("w", encoding="utf-8", newline="") as out:
            for chunk in _chunks(path):
                out.write(decoder.decode(chunk))
                offset += len(chunk)
            out.write(decoder.decode(b"", final=True))
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: the bytes at offset {offset + exc.start} are not valid {encoding}; "
            "give the right encoding (mapping key csv.encoding or --encoding)"
        ) from exc
    return target
