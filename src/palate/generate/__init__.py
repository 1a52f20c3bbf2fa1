"""Generating responses from a model: a local transformers checkpoint or an OpenAI-compatible
endpoint, stored as ``Generation`` records, resumable, recorded in the ledger."""

from palate.generate.endpoint import EndpointConfig, EndpointGenerator
from palate.generate.local import LocalGenerator
from palate.generate.run import GenerateResult, generate

__all__ = ["EndpointConfig", "EndpointGenerator", "GenerateResult", "LocalGenerator", "generate"]
