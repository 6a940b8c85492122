"""`text_problem` refuses exactly the text no backend can store: NUL, or any surrogate code point."""

from hypothesis import given
from hypothesis import strategies as st

from ledger.safe_values import text_problem

# Text drawn from every code point, surrogates included (which UTF-8 cannot encode), with the
# edges of the surrogate range drawn often: among a million code points they would be rare.
ANY_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()),
        st.sampled_from(["\ud7ff", "\ud800", "\udbff", "\udc00", "\udfff", "\ue000", "\x00", "\x7f", "\x80"]),
    )
)


@given(ANY_TEXT)
def test_text_is_refused_exactly_when_it_holds_nul_or_a_surrogate(text: str) -> None:
    unstorable = "\x00" in text or any(0xD800 <= ord(char) <= 0xDFFF for char in text)
    assert (text_problem(text) is not None) == unstorable


def test_a_surrogate_pair_written_as_two_escapes_is_refused() -> None:
    assert text_problem("smile \ud83d\ude00") is not None
    assert text_problem("smile \U0001f600") is None
