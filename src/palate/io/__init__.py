"""Ways in and out: one module per format, plus the import/export drivers.

Names load on first use: a command's ``--help`` imports none of what they need.
"""

from typing import TYPE_CHECKING

from palate.exports import lazy_exports

if TYPE_CHECKING:  # the names as they are, for type checkers
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

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "EXPORT_FORMATS": "palate.io.exporting:EXPORT_FORMATS",
        "FORMATS": "palate.io.importing:FORMATS",
        "ExportFormat": "palate.io.exporting:ExportFormat",
        "ExportReport": "palate.io.report:ExportReport",
        "ImportFormat": "palate.io.importing:ImportFormat",
        "ImportResult": "palate.io.importing:ImportResult",
        "export_dataset": "palate.io.exporting:export_dataset",
        "import_file": "palate.io.importing:import_file",
    },
)
