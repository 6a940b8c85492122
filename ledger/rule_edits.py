"""Changing parts of a rule: `schedule set likes_received=6 posts_read.per=50`.

`ACTION=POINTS` changes the rule's value only; its other parts (`per`, `min_quantity`, `by`)
stay as they are in the version in force, and change only when named: `ACTION.per=100`,
`ACTION.min_quantity=5`, `ACTION.value=6` (the same as `ACTION=6`). `none` removes a part:
`ACTION.per=none`, `ACTION.min_quantity=none`, `ACTION.by=none` (the rule is then priced by
its value). A `by` table itself is written in a schedule document (`schedule import`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ledger.domain import MAX_POINT_VALUE, Rule
from ledger.errors import InputProblem, InvalidInput

PARTS = ("value", "per", "min_quantity", "by")
# Parts that `none` may remove; a rule always has a value.
REMOVABLE = ("per", "min_quantity", "by")
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,30}")


@dataclass(frozen=True)
class RuleEdit:
    """The parts of one action's rule to change; None as a part's value removes it."""

    parts: dict[str, int | None] = field(default_factory=dict)

    def apply(self, action: str, base: Rule | None) -> Rule:
        """The rule `base` (None: the action has no rule yet) with these parts changed.
        Raises InvalidInput when the result is not a valid rule."""
        if base is not None and base.by is not None and "value" in self.parts and "by" not in self.parts:
            raise _refused(
                action,
                f"is priced by its `{base.by_attribute}` table, so a value would not be used; "
                f"drop the table with {action}.by=none, or change it with `schedule import`",
            )
        document: dict[str, Any] = (
            {"value": 0}
            if base is None
            else {
                "value": base.value,
                "per": base.per,
                "min_quantity": base.min_quantity,
                "by": base.by,
            }
        )
        document.update(self.parts)
        try:
            return Rule(**document)
        except ValidationError as exc:
            problems = [InputProblem(_word(action, error["loc"]), None, None, _reason(error)) for error in exc.errors()]
            raise InvalidInput(problems, what="schedule set") from None


def parse_rule_edits(words: list[str]) -> dict[str, RuleEdit]:
    """`ACTION=N` and `ACTION.PART=N|none` words as edits by action; every malformed word is
    reported at once."""
    parts: dict[str, dict[str, int | None]] = {}
    problems: list[InputProblem] = []
    for word in words:
        target, sep, text = word.partition("=")
        target, text = target.strip(), text.strip()
        action, part = _split(target)
        if not sep or not action:
            problems.append(
                InputProblem(
                    _shown(word), None, None, "expected ACTION=POINTS or ACTION.PART=NUMBER, e.g. likes_received=6 or posts_read.per=100"
                )
            )
            continue
        if text.lower() == "none":
            if part not in REMOVABLE:
                problems.append(
                    InputProblem(_shown(word), None, None, f"only {', '.join(REMOVABLE)} can be none; a rule always has a value")
                )
                continue
            number: int | None = None
        elif part == "by":
            problems.append(
                InputProblem(
                    _shown(word), None, None, "a `by` table is written in a schedule document (schedule import); here only by=none"
                )
            )
            continue
        elif not _WHOLE_NUMBER.fullmatch(text):
            problems.append(InputProblem(_shown(word), None, None, f"{part} must be a whole number, got {text!r}"))
            continue
        else:
            number = int(text)
            if part == "value" and abs(number) > MAX_POINT_VALUE:
                problems.append(
                    InputProblem(
                        _shown(word), None, None, f"points are between -{MAX_POINT_VALUE:,} and {MAX_POINT_VALUE:,} (MAX_POINT_VALUE)"
                    )
                )
                continue
        named = parts.setdefault(action, {})
        if part in named:
            problems.append(InputProblem(_shown(word), None, None, f"{action}.{part} is named twice"))
            continue
        named[part] = number
    if problems:
        raise InvalidInput(problems, what="schedule set")
    if not parts:
        raise InvalidInput([InputProblem("schedule set", None, None, "name at least one ACTION=POINTS")], what="schedule set")
    return {action: RuleEdit(named) for action, named in parts.items()}


def _split(target: str) -> tuple[str, str]:
    """(action, part): `posts_read.per` names a part; a name without a known part after its
    last dot is an action name (which may hold dots) and its value."""
    action, dot, part = target.rpartition(".")
    if dot and part in PARTS:
        return action.strip(), part
    return target, "value"


def _word(action: str, loc: tuple[Any, ...]) -> str:
    return f"{action}.{loc[0]}" if loc else action


def _refused(action: str, reason: str) -> InvalidInput:
    return InvalidInput([InputProblem(action, None, None, reason)], what="schedule set")


def _reason(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    return message[0].lower() + message[1:] if message else message


def _shown(word: str, limit: int = 60) -> str:
    """A word as a problem names it: a long one cut, so the reason after it stays in view."""
    return word if len(word) <= limit else word[:limit] + "…"
