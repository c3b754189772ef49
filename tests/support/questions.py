"""Answers to the text conversation's questions, derived from the conversation module.

Tests that only need a report filed by SMS, WhatsApp or Telegram answer through
this helper rather than a hard-coded list of digits: when a question is added,
removed or reordered (issue 16 removed the category question), a hard-coded list
is one answer too many or too few, and the extra answer is taken for a
follow-up instead of producing the receipt.
"""

from __future__ import annotations

from gateway.conversation import texts as conversation

SKIP = "0"


def answers(**chosen: str) -> list[str]:
    """One answer per question, in the order asked; "0" (skip) for each not chosen.

    Keys are the conversation's step names (`conversation.QUESTIONS`), e.g.
    `answers(affected="2", follow_up="1")`. An unknown step is an error, so a test
    that answers a question that no longer exists fails loudly here.
    """
    unknown = set(chosen) - set(conversation.QUESTIONS)
    if unknown:
        raise ValueError(
            f"no such question: {sorted(unknown)}; asked: {list(conversation.QUESTIONS)}"
        )
    return [chosen.get(step, SKIP) for step in conversation.QUESTIONS]


def all_but_last(**chosen: str) -> tuple[list[str], str]:
    """The answers before the last question, and the last answer (the one that files)."""
    *before, last = answers(**chosen)
    return before, last
