"""Reasoning traces: what of a reply is thinking and what is the final answer.

A reasoning model's trace reaches us in one of two ways:

- in a separate message field, when the server runs a reasoning parser
  (vLLM's `--reasoning-parser`): `reasoning` (vLLM >= 0.10 and most servers)
  or `reasoning_content` (older vLLM, DeepSeek's API). The content then holds
  only the final answer, and is null when the reply was cut off while still
  thinking;
- inline in the content as `<think>...</think>` blocks, when the server does
  not parse them. Chat templates that open `<think>` themselves (Qwen3,
  DeepSeek-R1) leave only the closing tag in the reply.

The record keeps both as they came (`reasoning`, and `answer` with its think
blocks); answer extraction reads only `final`, the content with every think
block removed:

- each closed `<think>...</think>` block is thinking;
- a `</think>` with no opening tag before it: everything before the last one
  is thinking (the opening tag was in the prompt);
- a `<think>` that is never closed: it and everything after it is thinking,
  and the reply ended mid-thought (`unfinished`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
_CLOSED_BLOCK = re.compile(re.escape(THINK_OPEN) + "(.*?)" + re.escape(THINK_CLOSE), re.S)
# Field names servers use for a parsed reasoning trace, preferred first.
REASONING_FIELDS = ("reasoning", "reasoning_content")


@dataclass(frozen=True)
class AnswerParts:
    """A reply's content split into thinking and final answer."""

    final: str          # what answer extraction reads
    thinking: str       # the text of the think blocks found in the content
    unfinished: bool    # the content ends inside an unclosed <think> block


def split_thinking(content: str | None) -> AnswerParts:
    """Separate inline `<think>` blocks from the final answer (rules in the module doc)."""
    if not content:
        return AnswerParts("", "", False)
    thoughts = _CLOSED_BLOCK.findall(content)
    text = _CLOSED_BLOCK.sub("", content)
    if THINK_CLOSE in text:
        head, _, text = text.rpartition(THINK_CLOSE)
        thoughts.insert(0, head.replace(THINK_OPEN, ""))
    unfinished = THINK_OPEN in text
    if unfinished:
        text, _, tail = text.partition(THINK_OPEN)
        thoughts.append(tail.replace(THINK_OPEN, ""))
    return AnswerParts(text, "\n".join(thoughts), unfinished)


def server_reasoning(message: dict[str, Any]) -> str | None:
    """The parsed reasoning trace a server sent beside the content, if any."""
    for name in REASONING_FIELDS:
        value = message.get(name)
        if isinstance(value, str):
            return value
    return None


def usage_reasoning_tokens(usage: Any) -> int | None:
    """`usage.completion_tokens_details.reasoning_tokens` when the server sends it."""
    details = usage.get("completion_tokens_details") if isinstance(usage, dict) else None
    value = details.get("reasoning_tokens") if isinstance(details, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
