import pytest
from iniconf import ParseError, get, parse
from values import convert

TEXT = """\
# a comment
name = demo

[server]
Host = example.org
port = 8080
ratio = 0.75
debug = TRUE
  ; another comment
query = a=b=c

[empty]
[server]
timeout = -3
"""


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("true", True),
        (" False ", False),
        ("TRUE", True),
        ("42", 42),
        ("-7", -7),
        ("2.5", 2.5),
        ("-0.25", -0.25),
        ("  hello world ", "hello world"),
        ("yes", "yes"),
    ],
)
def test_convert(raw, expected):
    value = convert(raw)
    assert value == expected
    assert type(value) is type(expected)


def test_parse():
    config = parse(TEXT)
    assert config == {
        "default": {"name": "demo"},
        "server": {
            "host": "example.org",
            "port": 8080,
            "ratio": 0.75,
            "debug": True,
            "query": "a=b=c",
            "timeout": -3,
        },
        "empty": {},
    }


def test_parse_empty_text():
    assert parse("") == {}
    assert parse("\n# only a comment\n\n") == {}


def test_parse_error_names_the_line():
    assert issubclass(ParseError, ValueError)
    with pytest.raises(ParseError) as info:
        parse("[a]\nx = 1\nthis is not valid\n")
    assert "line 3" in str(info.value)


def test_get():
    config = parse(TEXT)
    assert get(config, "server.port") == 8080
    assert get(config, "default.name") == "demo"
    assert get(config, "server.missing") is None
    assert get(config, "nowhere.port", 5) == 5
    assert get(config, "server.missing", "x") == "x"
