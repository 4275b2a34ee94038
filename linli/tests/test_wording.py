"""The punctuation joining data in messages follows the language (``linli.lib.wording``)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from linli.health.services.reports import parse_symptoms
from linli.lib.wording import bracketed, listed, sentences


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-hans", ("a、b、c", "a；b", "王彬（户主）")), ("en", ("a, b, c", "a; b", "王彬 (户主)"))],
)
def test_joins_in_each_language(language: str, expected: tuple[str, str, str]) -> None:
    with translation.override(language):
        assert (listed(["a", "b", "c"]), sentences(["a", "b"]), bracketed("王彬", "户主")) == expected


@pytest.mark.parametrize(("language", "separator"), [("zh-hans", "、"), ("en", ", ")])
def test_a_service_message_lists_in_the_language(language: str, separator: str) -> None:
    # given two symptoms the form does not know
    with translation.override(language), pytest.raises(ValidationError) as caught:
        # when the report is parsed
        parse_symptoms(["打喷嚏", "头晕眼花"])
    # then the message lists them with the language's separator
    (message,) = caught.value.message_dict["symptoms"]
    assert f"头晕眼花{separator}打喷嚏" in message
