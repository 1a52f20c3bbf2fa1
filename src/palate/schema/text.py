"""The text renderings of prompts and responses, each written once.

For judges, a conversation is joined turn by turn with its roles; a record that holds no text
at all (an Arena battle keeps only ids) renders as None, so a judge can refuse it instead of
judging an empty string. A model without a chat template is given the turns' contents alone,
and contamination checks look only at what the user wrote.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def pair_texts(prompt: Prompt, responses: Sequence[Response]) -> tuple[str, str, str] | None:
    """The prompt and the first two responses as texts; None when any holds no text."""
    text = prompt_text(prompt)
    first, second = response_text(responses[0]), response_text(responses[1])
    if text is None or first is None or second is None:
        return None
    return text, first, second


def generation_input(prompt: Prompt) -> str:
    """The prompt as one string for a model without a chat template: the turns' contents."""
    if prompt.messages:
        return "\n".join(m.content for m in prompt.messages)
    return prompt.text or prompt.key


def user_text(prompt: Prompt) -> str | None:
    """What the user wrote: the text, or the user turns of a conversation; None without."""
    if prompt.text is not None:
        return prompt.text
    if prompt.messages:
        return "\n".join(m.content for m in prompt.messages if m.role == "user")
    return None
