"""The canonical data: what a judgement is, independent of any file format or database.

Richer than every export format on purpose, so nothing a source says is lost on the way in.
Imports nothing else from palate.
"""

from palate.schema.call import CallInfo
from palate.schema.comparison import Comparison, Message, Prompt, Response
from palate.schema.generation import Generation, Sampling
from palate.schema.hashing import canonical_json, content_hash
from palate.schema.rating import Rating
from palate.schema.record import Record, record_adapter, stored_record_adapter
from palate.schema.rubric import Dimension, ErrorTag, Exemplar, Level, Rubric, Tradeoff
from palate.schema.source import Source, SourceKind
from palate.schema.unscored import Unscored

__all__ = [
    "CallInfo",
    "Comparison",
    "Dimension",
    "ErrorTag",
    "Exemplar",
    "Generation",
    "Level",
    "Message",
    "Prompt",
    "Rating",
    "Record",
    "Response",
    "Rubric",
    "Sampling",
    "Source",
    "SourceKind",
    "Tradeoff",
    "Unscored",
    "canonical_json",
    "content_hash",
    "record_adapter",
    "stored_record_adapter",
]
