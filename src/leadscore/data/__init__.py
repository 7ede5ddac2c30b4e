"""The data layer: the data contract, loaders, validation and the simulator."""

from leadscore.data.dataset import Dataset, load_dataset, read_table, validate_path
from leadscore.data.dialect import CsvDialect, sniff_csv
from leadscore.data.mapping import CsvOptions, DataMapping, TableMapping, load_mapping
from leadscore.data.parsing import ParseOptions
from leadscore.data.report import Notice, TableSummary, ValidationReport, Violation

__all__ = [
    "CsvDialect",
    "CsvOptions",
    "DataMapping",
    "Dataset",
    "Notice",
    "ParseOptions",
    "TableMapping",
    "TableSummary",
    "ValidationReport",
    "Violation",
    "load_dataset",
    "load_mapping",
    "read_table",
    "sniff_csv",
    "validate_path",
]
