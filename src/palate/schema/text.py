"""One text rendering of prompts and responses, for every judge that reads text.

A conversation is joined turn by turn; a record that holds no text at all (an Arena battle
keeps only ids) renders as None, so a judge can refuse it instead of judging an empty string.
"""

from __future__ import annotations

from palate.schema.comparison import Prompt, Response


def prompt_text(prompt: Prompt) -> str | None:
    """The prompt as one text (a conversation joined turn by turn); None when only an id."""
    if prompt.text is not None:
        return prompt.text
    if prompt.messages:
        return "\n\n".join(f"{m.role}: {m.content}" for m in prompt.messages)
    return None


def response_text(response: Response) -> str | None:
    """The response as one text; None when the record holds no text."""
    if response.text is not None:
        return response.text
    if response.messages:
        return "\n\n".join(m.content for m in response.messages)
    return None
