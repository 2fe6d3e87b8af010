from values import convert


class ParseError(ValueError):
    pass


def parse(text: str) -> dict[str, dict[str, object]]:
    config: dict[str, dict[str, object]] = {}
    section = "default"
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
            config.setdefault(section, {})
        elif "=" in stripped:
            key, value = stripped.split("=", 1)
            config.setdefault(section, {})[key.strip().lower()] = convert(value)
        else:
            raise ParseError(f"line {number}: cannot parse {stripped!r}")
    return config


def get(config: dict, path: str, default: object = None) -> object:
    section, _, key = path.partition(".")
    return config.get(section, {}).get(key, default)
