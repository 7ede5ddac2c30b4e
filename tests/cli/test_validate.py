"""``leadscore validate`` through the real CLI: exit codes, the capped table, the JSON shape."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadscore.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]

LEADS = [
    "lead_id,created_at,source,industry,company_size,country,job_level,deal_value,owner",
    "L1,2024-03-01T10:00:00Z,web_form,software,50,DE,manager,1000,anna",
    "L2,2024-03-02 11:00,trade_fair,,,AT,,,",
]
TOUCHPOINTS = [
    "event_id,lead_id,timestamp,channel,action,initiated_by",
    "E1,L1,2024-03-05T10:00:00Z,email,email_open,lead",
    "E2,L2,2024-03-06T10:00:00Z,phone,call,company",
]
OUTCOMES = ["lead_id,converted_at,lost_at,revenue", "L1,2024-04-01,,900"]


def _folder(root: Path, touchpoints: list[str] | None = None) -> Path:
    folder = root / "crm"
    folder.mkdir(exist_ok=True)
    for name, lines in (
        ("leads", LEADS),
        ("touchpoints", touchpoints or TOUCHPOINTS),
        ("outcomes", OUTCOMES),
    ):
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_clean_folder_exits_0(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(_folder(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
    assert "Summary" in result.stdout


def test_violations_exit_1_with_line_column_and_rule(tmp_path: Path) -> None:
    bad = [*TOUCHPOINTS, "E3,L9,2024-03-07T10:00:00Z,email,email_open,robot"]
    result = runner.invoke(app, ["validate", str(_folder(tmp_path, bad))])
    assert result.exit_code == 1
    assert "line 4" in result.stdout
    assert "initiated_by" in result.stdout
    assert "known_lead" in result.stdout
    assert "invalid" in result.stdout


def test_json_has_the_documented_shape(tmp_path: Path) -> None:
    bad = [*TOUCHPOINTS, TOUCHPOINTS[1], "E4,L9,2024-03-07T10:00:00Z,email,email_open,lead"]
    result = runner.invoke(app, ["validate", str(_folder(tmp_path, bad)), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert set(report) == {"ok", "tables", "violations", "notices"}
    assert report["ok"] is False
    assert list(report["tables"]) == ["leads", "touchpoints", "outcomes"]
    counts = report["tables"]["touchpoints"]
    assert {"rows_read", "rows_used", "rows_rejected", "rows_deduplicated"} <= set(counts)
    assert (counts["rows_read"], counts["rows_used"], counts["rows_rejected"]) == (4, 2, 2)
    assert counts["rows_deduplicated"] == 1
    assert report["violations"] == [
        {
            "table": "touchpoints",
            "row": 5,
            "column": "lead_id",
            "rule": "known_lead",
            "value": "L9",
            "message": report["violations"][0]["message"],
        }
    ]
    (dedup,) = [n for n in report["notices"] if n["kind"] == "deduplicated"]
    assert dedup == {
        "table": "touchpoints",
        "row": 4,
        "kind": "deduplicated",
        "message": "exact duplicate of line 2; the first one is used",
    }


def test_only_exact_duplicates_still_exit_0(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["validate", str(_folder(tmp_path, [*TOUCHPOINTS, TOUCHPOINTS[2]])), "--json"]
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["ok"] is True


def test_the_table_is_capped_and_json_has_everything(tmp_path: Path) -> None:
    rows = [f"E{i},L1,2024-03-05T10:00:00Z,Email,email_open,lead" for i in range(10, 70)]
    folder = _folder(tmp_path, [TOUCHPOINTS[0], *rows])
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1
    assert "… and 10 more; use --json for all" in result.stdout
    result = runner.invoke(app, ["validate", str(folder), "--json"])
    assert len(json.loads(result.stdout)["violations"]) == 60


def test_single_file_and_table_option(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    export = folder / "export.csv"
    (folder / "leads.csv").rename(export)
    result = runner.invoke(app, ["validate", str(export)])
    assert result.exit_code == 2
    assert "--table" in result.stderr
    result = runner.invoke(app, ["validate", str(export), "--table", "leads", "--json"])
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)["tables"]) == ["leads"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}"], "no such file or folder"),
        (["{folder}", "--table", "deals"], "unknown table 'deals'"),
        (["{folder}", "--mapping", "{missing}"], "cannot read mapping file"),
        (["{folder}", "--mapping", "{bad_mapping}"], r"leads\.colums: unknown key"),
        (["{folder}", "--timezone", "Mars/Olympus"], "unknown time zone"),
        (["{folder}", "--delimiter", ";;"], "--delimiter: delimiter must be one character"),
        (["{folder}", "--decimal", ";"], "--decimal"),
    ],
    ids=[
        "missing-path",
        "unknown-table",
        "missing-mapping",
        "bad-mapping-key",
        "bad-timezone",
        "bad-delimiter",
        "bad-decimal",
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    bad_mapping = tmp_path / "bad.yaml"
    bad_mapping.write_text("leads:\n  colums: {}\n")
    paths = {
        "missing": str(tmp_path / "missing"),
        "folder": str(_folder(tmp_path)),
        "bad_mapping": str(bad_mapping),
    }
    result = runner.invoke(app, ["validate", *(arg.format(**paths) for arg in args)])
    assert result.exit_code == 2
    assert re.search(message, " ".join(result.stderr.split()))


def test_csv_options_override_detection(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    result = runner.invoke(app, ["validate", str(folder), "--delimiter", "tab", "--json"])
    assert result.exit_code == 1
    rules = {v["rule"] for v in json.loads(result.stdout)["violations"]}
    assert "missing_column" in rules
    result = runner.invoke(app, ["validate", str(folder), "--encoding", "latin-1", "--json"])
    assert result.exit_code == 0
    notices = json.loads(result.stdout)["notices"]
    assert any("iso8859-1" in n["message"] for n in notices)


def test_the_example_crm_export_is_valid() -> None:
    result = runner.invoke(
        app,
        [
            "validate",
            str(ROOT / "examples" / "crm-export"),
            "--mapping",
            str(ROOT / "examples" / "mapping-crm-export.yaml"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [t["rows_used"] for t in report["tables"].values()] == [8, 20, 3]


def test_the_simulator_output_is_valid(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    generated = runner.invoke(
        app, ["generate", "--leads", "300", "--seed", "5", "--months", "4", "--out", str(out)]
    )
    assert generated.exit_code == 0, generated.output
    result = runner.invoke(app, ["validate", str(out), "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 0, report["violations"][:5]
    assert report["tables"]["leads"]["rows_used"] == 300
