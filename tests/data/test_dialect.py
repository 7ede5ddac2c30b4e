"""CSV files as CRMs export them: delimiter, encoding and quoting are detected."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path

import pytest

from leadscore.data import CsvOptions, load_dataset, sniff_csv, validate_path
from leadscore.data.dialect import detect_encoding, normalize_delimiter
from leadscore.errors import DataError

Tables = dict[str, list[dict[str, str]]]
WriteTables = Callable[..., Path]

HEADER = (
    "lead_id{d}created_at{d}source{d}industry{d}company_size{d}country{d}job_level{d}"
    "deal_value{d}owner\n"
)


def _write(path: Path, text: str, encoding: str = "utf-8", bom: bytes = b"") -> Path:
    path.write_bytes(bom + text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("delimiter", "quote"),
    [(",", '"'), (";", '"'), ("\t", '"'), ("|", '"'), (";", "'")],
    ids=["comma", "semicolon", "tab", "pipe", "semicolon-single-quotes"],
)
def test_delimiter_and_quote_are_detected(tmp_path: Path, delimiter: str, quote: str) -> None:
    d, q = delimiter, quote
    text = HEADER.format(d=d) + (
        f"L1{d}2024-03-01{d}web_form{d}{d}{d}{d}{d}{d}{q}Weiß{d} Anna{q}\n"
        f"L2{d}2024-03-02{d}referral{d}{d}{d}{d}{d}{d}{q}two\nlines{q}\n"
        f"L3{d}2024-03-03{d}partner{d}{d}{d}{d}{d}{d}plain\n"
    )
    dialect = sniff_csv(_write(tmp_path / "leads.csv", text))
    assert (dialect.delimiter, dialect.quote_char) == (delimiter, quote)


@pytest.mark.parametrize(
    ("encoding", "bom", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("cp1252", b"", "cp1252"),
        ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16"),
    ],
    ids=["utf8", "utf8-bom", "cp1252", "utf16-bom"],
)
def test_encoding_is_detected_and_values_survive(
    tmp_path: Path, encoding: str, bom: bytes, expected: str
) -> None:
    owner = "Jürgen Weiß €"
    text = HEADER.format(d=";") + f"L1;2024-03-01;web_form;;;;;;{owner}\n"
    path = _write(tmp_path / "leads.csv", text, encoding, bom)
    dialect = sniff_csv(path)
    assert (dialect.encoding, dialect.delimiter) == (expected, ";")
    frame = load_dataset(path.parent, strict=False).leads
    assert frame["lead_id"].to_list() == ["L1"]
    assert frame["owner"].to_list() == [owner]


def test_latin1_is_told_from_cp1252(tmp_path: Path) -> None:
    # 0x81 is undefined in Windows-1252, so a file holding it can only be Latin-1.
    text = HEADER.format(d=";") + "L1;2024-03-01;web_form;;;;;;Jürgen\x81\n"
    path = _write(tmp_path / "leads.csv", text, "latin-1")
    assert detect_encoding(path) == "iso8859-1"
    frame = load_dataset(tmp_path, strict=False).leads
    assert frame["owner"].to_list() == ["Jürgen\x81"]


def test_a_late_non_utf8_byte_is_found(tmp_path: Path) -> None:
    body = "".join(f"L{i};2024-03-01;web_form;;;;;;anna\n" for i in range(20_000))
    text = HEADER.format(d=";") + body + "L_last;2024-03-01;web_form;;;;;;Jörg\n"
    path = _write(tmp_path / "leads.csv", text, "cp1252")
    assert path.stat().st_size > 256 * 1024
    assert detect_encoding(path) == "cp1252"


def test_a_bom_does_not_end_up_in_the_first_column_name(
    tables: Tables, write_tables: WriteTables
) -> None:
    folder = write_tables(tables, encoding="utf-8-sig")
    assert (folder / "leads.csv").read_bytes().startswith(codecs.BOM_UTF8)
    assert validate_path(folder).ok


def test_a_latin1_semicolon_file_with_crlf_validates(
    tables: Tables, write_tables: WriteTables
) -> None:
    tables["leads"][0]["owner"] = "Jürgen Weiß; Vertrieb"
    folder = write_tables(tables, delimiter=";", encoding="cp1252")
    path = folder / "leads.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    dataset = load_dataset(folder)
    assert dataset.leads["owner"][0] == "Jürgen Weiß; Vertrieb"
    assert any("cp1252" in n.message for n in dataset.report.notices)


def test_overrides_win_over_detection(tables: Tables, write_tables: WriteTables) -> None:
    folder = write_tables(tables)
    report = validate_path(folder, csv=CsvOptions(delimiter=";"))
    assert {v.rule for v in report.violation_records()} >= {"missing_column"}
    assert validate_path(folder, csv=CsvOptions(encoding="latin-1")).ok


def test_a_wrong_declared_encoding_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes("lead_id;owner\nL1;Jürgen\n".encode("cp1252"))
    with pytest.raises(DataError, match=r"invalid utf-8.*give its encoding"):
        validate_path(path, csv=CsvOptions(encoding="utf-8"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("tab", "\t"), ("\\t", "\t"), (";", ";"), ("semicolon", ";")],
    ids=["tab", "escaped-tab", "semicolon", "semicolon-name"],
)
def test_delimiter_names(value: str, expected: str) -> None:
    assert normalize_delimiter(value) == expected


@pytest.mark.parametrize("value", ["", ";;", "\n", '"'], ids=["empty", "two", "newline", "quote"])
def test_bad_delimiters_are_refused(value: str) -> None:
    with pytest.raises(DataError, match="delimiter must be one character"):
        normalize_delimiter(value)
