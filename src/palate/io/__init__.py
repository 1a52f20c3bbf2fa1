"""Ways in and out: one module per format, plus the import/export drivers."""

from palate.io.exporting import EXPORT_FORMATS, ExportFormat, export_dataset
from palate.io.importing import FORMATS, ImportFormat, ImportResult, import_file
from palate.io.report import ExportReport

__all__ = [
    "EXPORT_FORMATS",
    "FORMATS",
    "ExportFormat",
    "ExportReport",
    "ImportFormat",
    "ImportResult",
    "export_dataset",
    "import_file",
]
