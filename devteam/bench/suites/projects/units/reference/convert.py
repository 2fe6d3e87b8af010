from units import LENGTH, MASS

TEMPERATURE = ("C", "F", "K")


class UnknownUnitError(ValueError):
    pass


class IncompatibleUnitsError(ValueError):
    pass


def _kind(unit: str) -> str:
    if unit in LENGTH:
        return "length"
    if unit in MASS:
        return "mass"
    if unit in TEMPERATURE:
        return "temperature"
    raise UnknownUnitError(unit)


def _to_kelvin(value: float, unit: str) -> float:
    if unit == "C":
        return value + 273.15
    if unit == "F":
        return (value - 32) * 5 / 9 + 273.15
    return value


def _from_kelvin(value: float, unit: str) -> float:
    if unit == "C":
        return value - 273.15
    if unit == "F":
        return (value - 273.15) * 9 / 5 + 32
    return value


def convert(value: float, from_unit: str, to_unit: str) -> float:
    kind = _kind(from_unit)
    if _kind(to_unit) != kind:
        raise IncompatibleUnitsError(f"cannot convert {from_unit} to {to_unit}")
    if kind == "temperature":
        return round(_from_kelvin(_to_kelvin(value, from_unit), to_unit), 4)
    table = LENGTH if kind == "length" else MASS
    return round(value * table[from_unit] / table[to_unit], 4)
