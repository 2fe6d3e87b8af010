import pytest
from convert import IncompatibleUnitsError, UnknownUnitError, convert
from units import LENGTH, MASS


def test_tables():
    assert LENGTH["km"] == 1000.0 and LENGTH["in"] == 0.0254 and LENGTH["mi"] == 1609.344
    assert MASS["kg"] == 1.0 and MASS["lb"] == 0.45359237 and MASS["mg"] == 0.000001
    assert set(LENGTH) == {"mm", "cm", "m", "km", "in", "ft", "mi"}
    assert set(MASS) == {"mg", "g", "kg", "lb", "oz"}


@pytest.mark.parametrize(
    "value,src,dst,expected",
    [
        (1, "km", "m", 1000.0),
        (12, "in", "ft", 1.0),
        (250, "cm", "m", 2.5),
        (1, "mi", "km", 1.6093),
        (5, "m", "m", 5.0),
        (1, "lb", "oz", 16.0),
        (1500, "mg", "g", 1.5),
        (2, "kg", "lb", 4.4092),
    ],
)
def test_length_and_mass(value, src, dst, expected):
    assert convert(value, src, dst) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    "value,src,dst,expected",
    [
        (100, "C", "F", 212.0),
        (32, "F", "C", 0.0),
        (0, "C", "K", 273.15),
        (-40, "F", "C", -40.0),
        (300, "K", "F", 80.33),
        (25, "C", "C", 25.0),
    ],
)
def test_temperature(value, src, dst, expected):
    assert convert(value, src, dst) == pytest.approx(expected, abs=1e-9)


def test_error_bases():
    assert issubclass(UnknownUnitError, ValueError)
    assert issubclass(IncompatibleUnitsError, ValueError)


@pytest.mark.parametrize(
    "src,dst", [("parsec", "m"), ("m", "parsec"), ("KM", "m"), ("c", "F"), ("parsec", "kg")]
)
def test_unknown_units(src, dst):
    with pytest.raises(UnknownUnitError):
        convert(1, src, dst)


@pytest.mark.parametrize("src,dst", [("kg", "m"), ("m", "kg"), ("C", "kg"), ("ft", "K")])
def test_incompatible_units(src, dst):
    with pytest.raises(IncompatibleUnitsError):
        convert(1, src, dst)
