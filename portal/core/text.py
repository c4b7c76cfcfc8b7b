"""Words shown to people."""

from django.utils.text import capfirst


def sentence(error: Exception) -> str:
    """An error's message as a sentence of its own: capitalised, ending with a full stop."""
    text = capfirst(str(error).strip())
    return text if text.endswith((".", "!", "?")) else f"{text}."
