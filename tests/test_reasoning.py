"""Splitting a reply into thinking and final answer."""

import pytest

from contour.run.reasoning import server_reasoning, split_thinking, usage_reasoning_tokens


@pytest.mark.parametrize("content,final,thinking,unfinished", [
    (None, "", "", False),
    ("", "", "", False),
    ("Final Answer: 3", "Final Answer: 3", "", False),
    ("<think>a</think>Final Answer: 3", "Final Answer: 3", "a", False),
    ("<think>a</think>x<think>b</think>y", "xy", "a\nb", False),
    # The template opened <think> in the prompt: only the closing tag comes back.
    ("a long thought</think>\n\nFinal Answer: 3", "\n\nFinal Answer: 3", "a long thought", False),
    ("a</think>b</think>c", "c", "a</think>b", False),
    # Cut off mid-thought.
    ("<think>Final Answer: 3 or maybe", "", "Final Answer: 3 or maybe", True),
    ("Answer first <think>then doubts", "Answer first ", "then doubts", True),
    ("<think>a</think>b<think>c", "b", "a\nc", True),
])
def test_split_thinking(content, final, thinking, unfinished):
    parts = split_thinking(content)
    assert (parts.final, parts.thinking, parts.unfinished) == (final, thinking, unfinished)
    assert "<think>" not in parts.final and "</think>" not in parts.final


def test_server_reasoning_prefers_the_new_field_name():
    assert server_reasoning({"reasoning": "new", "reasoning_content": "old"}) == "new"
    assert server_reasoning({"reasoning": None, "reasoning_content": "old"}) == "old"
    assert server_reasoning({"content": "x"}) is None


@pytest.mark.parametrize("usage,expected", [
    ({"completion_tokens_details": {"reasoning_tokens": 12}}, 12),
    ({"completion_tokens_details": {"reasoning_tokens": 0}}, 0),
    ({"completion_tokens_details": None}, None),
    ({"completion_tokens": 5}, None),
    ({"completion_tokens_details": {"reasoning_tokens": True}}, None),
    (None, None),
])
def test_usage_reasoning_tokens(usage, expected):
    assert usage_reasoning_tokens(usage) == expected
