"""Any canonical record, told apart by its ``kind`` field."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from palate.schema.comparison import Comparison
from palate.schema.generation import Generation
from palate.schema.rating import Rating

Record = Annotated[Comparison | Rating, Field(discriminator="kind")]

record_adapter: TypeAdapter[Comparison | Rating] = TypeAdapter(Record)

StoredRecord = Annotated[Comparison | Rating | Generation, Field(discriminator="kind")]

stored_record_adapter: TypeAdapter[Comparison | Rating | Generation] = TypeAdapter(StoredRecord)
"""Every kind the ``records`` table holds: judged records plus unjudged generations."""
