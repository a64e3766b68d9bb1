"""Model quantization configs: what each layer's weights and activations become.

    LayerConfig(weights=QuantSpec | None, activations=QuantSpec | None,
                activations_dynamic=False, weights_axis="auto")        None = stays float
    ModelConfig(version=1, default=LayerConfig, layers={layer_id: LayerConfig},
                activation_scope="layers")

A layer gets `layers[layer_id]` if its exact id is there, else `default`. Everything is
frozen and hashable; change a config with `with_layer` / `with_default` (new object).
`to_json()` is canonical (sorted keys, no spaces), so equal configs give equal text: it is
the cache key, the download and the CLI input. `from_json` / `from_dict` reject unknown
keys at every level, a missing or wrong version, wrong types and impossible combinations,
with a SpecError naming the key, e.g. "layers['conv1'].activations.scheme: ...".

Weights axis (weights_axis):
    "auto"  the model layer picks the axis for the op: granularity=channel uses the output
            channel axis (Conv W[out, in, kh, kw]: 0; Gemm transB=1: 0; MatMul B[in, out]
            and Gemm transB=0: 1), granularity=group the input (reduction) axis (Conv: 1,
            Gemm transB=1: 1, MatMul: 0). weights.axis is then ignored: one default can
            serve Conv, Gemm and MatMul layers alike. Presets use "auto".
    "spec"  weights.axis is used as written (an expert override for one layer).

Activation scope (activation_scope, one per model): which activations a static int config
quantizes.
    "graph"   what the deployed int8 model quantizes: the layers' inputs *and* the tensors
              onnxruntime's quantize_static puts Q/DQ pairs on around the other ops (Add, Mul,
              Concat, Softmax, pooling, Reshape..., qviz.model.simulate.deployed_graph). The
              presets with static activations (w8a8, w4a8) use it.
    "layers"  the layers' own inputs only (a simulation-only view, labelled so; the default
              of a ModelConfig built without it, and of JSON written before the key existed).
The JSON holds the key only when it is "graph": configs written before it load unchanged and
keep their canonical text.

Activations are quantized by ops inserted into the graph (QuantizeLinear/DequantizeLinear
or Cast), so only schemes those ops express are allowed: int, fixed_point (int with a
power-of-two scale) and float; granularity tensor or channel (never group). Dynamic
activations (the range measured on each input at run time, like DynamicQuantizeLinear) need
scheme=int, estimator=minmax, granularity=tensor.

    >>> cfg = PRESETS["w8a8"].with_layer("conv1", LayerConfig.float())
    >>> cfg.for_layer("conv1").weights is None, cfg.for_layer("fc").weights.bits
    (True, 8)
    >>> ModelConfig.from_json(cfg.to_json()) == cfg
    True
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, NoReturn, TypeVar, get_args

from qviz.quant.spec import Granularity, QuantSpec, Scheme, SpecError

WeightsAxis = Literal["auto", "spec"]

CONFIG_VERSION = 1
ACTIVATION_SCHEMES: tuple[Scheme, ...] = ("int", "fixed_point", "float")
ACTIVATION_GRANULARITIES: tuple[Granularity, ...] = ("tensor", "channel")
WEIGHTS_AXES: tuple[WeightsAxis, ...] = get_args(WeightsAxis)
ActivationScope = Literal["graph", "layers"]
ACTIVATION_SCOPES: tuple[ActivationScope, ...] = get_args(ActivationScope)
_SPEC_NUMBERS = ("percentile", "sigmas", "range_min", "range_max")


@dataclass(frozen=True)
class LayerConfig:
    """How one layer is quantized: weights and activations specs (None = float)."""

    weights: QuantSpec | None = None
    activations: QuantSpec | None = None
    activations_dynamic: bool = False
    weights_axis: WeightsAxis = "auto"

    def __post_init__(self) -> None:
        for name in ("weights", "activations"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, QuantSpec):
                raise SpecError(f"{name} must be a QuantSpec or None (float); got {type(value).__name__}")
        if not isinstance(self.activations_dynamic, bool):
            raise SpecError(f"activations_dynamic must be true or false; got {self.activations_dynamic!r}")
        if self.weights_axis not in WEIGHTS_AXES:
            raise SpecError(f"weights_axis must be one of {', '.join(WEIGHTS_AXES)}; got {self.weights_axis!r}")
        if self.activations is not None:
            _check_activations(self.activations, self.activations_dynamic)
        elif self.activations_dynamic:
            raise SpecError("activations_dynamic needs an activations spec (scheme=int); activations is null")

    @classmethod
    def float(cls) -> LayerConfig:
        """A layer left in float: no weights or activations quantization."""
        return cls()

    @property
    def is_float(self) -> bool:
        return self.weights is None and self.activations is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": None if self.weights is None else self.weights.to_dict(),
            "activations": None if self.activations is None else self.activations.to_dict(),
            "activations_dynamic": self.activations_dynamic,
            "weights_axis": self.weights_axis,
        }

    @classmethod
    def from_dict(cls, data: Any, path: str = "layer") -> LayerConfig:
        """Build from JSON data; missing keys take their defaults, unknown keys are an error."""
        _check_keys(data, {f.name for f in dataclasses.fields(cls)}, path)
        values = dict(data)
        for name in ("weights", "activations"):
            if values.get(name) is not None:
                values[name] = _spec_from_dict(values[name], f"{path}.{name}")
        return _build(cls, values, path)


def _check_activations(spec: QuantSpec, dynamic: bool) -> None:
    if spec.scheme not in ACTIVATION_SCHEMES:
        raise SpecError(
            f"activations.scheme must be one of {', '.join(ACTIVATION_SCHEMES)} "
            f"(activations are quantized by inserted ONNX ops); got {spec.scheme!r}"
        )
    if spec.granularity not in ACTIVATION_GRANULARITIES:
        raise SpecError(
            f"activations.granularity must be one of {', '.join(ACTIVATION_GRANULARITIES)}; got {spec.granularity!r}"
        )
    if dynamic and (spec.scheme, spec.estimator, spec.granularity) != ("int", "minmax", "tensor"):
        raise SpecError(
            "activations_dynamic needs activations with scheme=int, estimator=minmax, "
            f"granularity=tensor; got scheme={spec.scheme}, estimator={spec.estimator}, "
            f"granularity={spec.granularity}"
        )


class LayerMap(Mapping[str, LayerConfig]):
    """An immutable, hashable {layer_id: LayerConfig}, iterated in sorted id order."""

    def __init__(self, items: Mapping[str, LayerConfig] | Iterable[tuple[str, LayerConfig]] = ()) -> None:
        data = dict(items)
        for key, value in data.items():
            if not isinstance(key, str) or not key:
                raise SpecError(f"layer ids in layers must be non-empty strings; got {key!r}")
            if not isinstance(value, LayerConfig):
                raise SpecError(f"layers[{key!r}] must be a LayerConfig; got {type(value).__name__}")
        self._data = dict(sorted(data.items()))

    def __getitem__(self, key: str) -> LayerConfig:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(tuple(self._data.items()))

    def __repr__(self) -> str:
        return f"LayerMap({self._data!r})"


@dataclass(frozen=True)
class ModelConfig:
    """Per-layer configs by stable layer id; every other layer gets `default`."""

    version: int = CONFIG_VERSION
    default: LayerConfig = field(default_factory=LayerConfig)
    layers: Mapping[str, LayerConfig] = field(default_factory=LayerMap)
    activation_scope: ActivationScope = "layers"

    def __post_init__(self) -> None:
        if type(self.version) is not int or self.version != CONFIG_VERSION:
            raise SpecError(f"version must be {CONFIG_VERSION}; got {self.version!r}")
        if self.activation_scope not in ACTIVATION_SCOPES:
            raise SpecError(
                f"activation_scope must be one of {', '.join(ACTIVATION_SCOPES)}; got {self.activation_scope!r}"
            )
        if not isinstance(self.default, LayerConfig):
            raise SpecError(f"default must be a LayerConfig; got {type(self.default).__name__}")
        if not isinstance(self.layers, Mapping):
            raise SpecError(f"layers must be a mapping of layer id to LayerConfig; got {type(self.layers).__name__}")
        if not isinstance(self.layers, LayerMap):
            object.__setattr__(self, "layers", LayerMap(self.layers))

    def for_layer(self, layer_id: str) -> LayerConfig:
        """The layer's own config if its exact id is in layers, else the default."""
        return self.layers.get(layer_id, self.default)

    def with_layer(self, layer_id: str, layer_config: LayerConfig | None) -> ModelConfig:
        """A copy with layers[layer_id] set (or removed, with None: back to the default)."""
        layers = {k: v for k, v in self.layers.items() if k != layer_id}
        if layer_config is not None:
            layers[layer_id] = layer_config
        return dataclasses.replace(self, layers=LayerMap(layers))

    def with_default(self, layer_config: LayerConfig) -> ModelConfig:
        return dataclasses.replace(self, default=layer_config)

    def with_scope(self, activation_scope: ActivationScope) -> ModelConfig:
        return dataclasses.replace(self, activation_scope=activation_scope)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": self.version,
            "default": self.default.to_dict(),
            "layers": {k: v.to_dict() for k, v in self.layers.items()},
        }
        if self.activation_scope != "layers":  # absent = "layers": older JSON keeps its text
            out["activation_scope"] = self.activation_scope
        return out

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, compact separators; equal configs give equal text."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: Any) -> ModelConfig:
        """Build from JSON data: version is required, default and layers are optional."""
        _check_keys(data, {"version", "default", "layers", "activation_scope"}, "config")
        if "version" not in data:
            raise SpecError(f"config.version is missing; this qviz reads version {CONFIG_VERSION}")
        layers = data.get("layers", {})
        if not isinstance(layers, dict):
            raise SpecError(
                f"config.layers must be a JSON object of layer id -> layer config; got {type(layers).__name__}"
            )
        default = data.get("default")
        return _build(
            cls,
            {
                "version": data["version"],
                "default": LayerConfig() if default is None else LayerConfig.from_dict(default, "default"),
                "layers": LayerMap((k, LayerConfig.from_dict(v, f"layers[{k!r}]")) for k, v in layers.items()),
                "activation_scope": data.get("activation_scope", "layers"),
            },
            "config",
        )

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        """Parse canonical (or any valid) JSON; NaN and Infinity literals are rejected."""
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except (json.JSONDecodeError, TypeError) as err:
            raise SpecError(f"config is not valid JSON: {err}") from None
        return cls.from_dict(data)


def _reject_constant(name: str) -> NoReturn:
    raise SpecError(f"config JSON may not contain {name}: numbers must be finite")


def _check_keys(data: object, allowed: set[str], path: str) -> None:
    if not isinstance(data, dict):
        raise SpecError(f"{path} must be a JSON object; got {type(data).__name__}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SpecError(
            f"unknown key(s) {', '.join(map(repr, unknown))} in {path}; allowed: {', '.join(sorted(allowed))}"
        )


def _spec_from_dict(data: Any, path: str) -> QuantSpec:
    """QuantSpec.from_dict with the key path in every message, and number types checked."""
    if isinstance(data, dict):
        for name in _SPEC_NUMBERS:
            value = data.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise SpecError(
                    f"{path}.{name} must be a number{' or null' if name != 'percentile' else ''}; got {value!r}"
                )
    try:
        return QuantSpec.from_dict(data)
    except SpecError as err:
        raise SpecError(f"{path}: {err}") from None


_T = TypeVar("_T")


def _build(cls: type[_T], values: dict[str, Any], path: str) -> _T:
    try:
        return cls(**values)
    except SpecError as err:
        raise SpecError(f"{path}: {err}") from None


def _int8_per_channel() -> QuantSpec:
    return QuantSpec(bits=8, signed=True, symmetric=True, granularity="channel", axis=0)


def _uint8_static() -> QuantSpec:
    return QuantSpec(bits=8, signed=False, symmetric=False, estimator="minmax")


def _int4_group32() -> QuantSpec:
    return QuantSpec(bits=4, signed=True, symmetric=True, granularity="group", axis=1, group_size=32)


def _fp16() -> QuantSpec:
    return QuantSpec(scheme="float", float_format="float16")


PRESETS: Mapping[str, ModelConfig] = MappingProxyType(
    {
        "fp32": ModelConfig(),
        "fp16": ModelConfig(default=LayerConfig(_fp16(), _fp16())),
        "w8a8": ModelConfig(default=LayerConfig(_int8_per_channel(), _uint8_static()), activation_scope="graph"),
        "w8": ModelConfig(default=LayerConfig(_int8_per_channel(), None)),
        "w4g32": ModelConfig(default=LayerConfig(_int4_group32(), None)),
        "w4a8": ModelConfig(default=LayerConfig(_int4_group32(), _uint8_static()), activation_scope="graph"),
    }
)

PRESET_DESCRIPTIONS: Mapping[str, str] = MappingProxyType(
    {
        "fp32": "no quantization (the reference)",
        "fp16": "weights and activations cast to float16",
        "w8a8": "int8 symmetric per-channel weights, uint8 asymmetric static activations (min-max) "
        "on every tensor the deployed int8 graph quantizes",
        "w8": "int8 symmetric per-channel weights, float activations",
        "w4g32": "int4 symmetric weights in groups of 32 along the input axis, float activations",
        "w4a8": "int4 group-32 weights, uint8 asymmetric static activations (min-max) "
        "on every tensor the deployed graph quantizes",
    }
)


def preset(name: str) -> ModelConfig:
    """PRESETS[name], with a SpecError listing the names for an unknown one."""
    if name not in PRESETS:
        raise SpecError(f"preset must be one of {', '.join(PRESETS)}; got {name!r}")
    return PRESETS[name]
