import re

import pytest

from flows.validators import check, compile_pattern


@pytest.mark.parametrize(
    ("answer", "region", "expected"),
    [
        ("+1 202 555 0143", None, "+12025550143"),
        ("8 (912) 345-67-89", "RU", "+79123456789"),
        ("+7 912 345 67 89", None, "+79123456789"),
    ],
)
def test_phone_normalised_to_e164(answer, region, expected):
    assert check("phone", answer, region=region) == (True, expected)


@pytest.mark.parametrize("answer", ["123", "call me", "+1 000", "8 912 345 67 89"])
def test_invalid_phone_rejected(answer):
    assert check("phone", answer)[0] is False


def test_email():
    assert check("email", "Ann@Example.COM") == (True, "Ann@example.com")
    assert check("email", "ann@") == (False, None)


def test_number_accepts_comma_and_spaces():
    assert check("number", "1 500,5") == (True, 1500.5)
    assert check("number", "42") == (True, 42)
    assert check("number", "many")[0] is False
    assert check("number", "nan")[0] is False


def test_choice_case_insensitive_or_by_position():
    assert check("choice", "yes", choices=["Yes", "No"]) == (True, "Yes")
    assert check("choice", "2", choices=["Yes", "No"]) == (True, "No")
    assert check("choice", "maybe", choices=["Yes", "No"])[0] is False


def test_name_text_regex_and_empty():
    assert check("name", "  Anna   Maria ") == (True, "Anna Maria")
    assert check("name", "Анна")[0] is True
    assert check("name", "12345")[0] is False
    assert check("text", "   ")[0] is False
    assert check("regex", "AB-12", pattern=re.compile(r"[A-Z]{2}-\d+")) == (True, "AB-12")
    assert check("regex", "AB-12x", pattern=re.compile(r"[A-Z]{2}-\d+"))[0] is False


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(\w*)*x", r"(ab|c+){2,}"])
def test_nested_repetition_patterns_are_refused(pattern):
    with pytest.raises(ValueError, match="can hang"):
        compile_pattern(pattern)


def test_safe_patterns_compile_and_long_input_is_not_matched():
    pattern = compile_pattern(r"[A-Z]{2}-\d+(\.\d+)?")
    assert pattern.fullmatch("AB-1.5")
    assert check("regex", "A" * 400, pattern=compile_pattern("A+"))[0] is False
    with pytest.raises(ValueError, match="invalid regular expression"):
        compile_pattern("([")
