"""Number formats, scaled quantization and running a kernel in a format, compared in fp64.

What runs in which dtype (`run_in_format`):

- fp64, fp32: inputs cast to the dtype (complex → complex128 / complex64); the kernel computes in it.
- fp16, bf16 (real inputs): inputs cast to the dtype and the kernel computes in it — JAX rounds every
  operation's result to the dtype (on a CPU, XLA converts each operation through fp32, which rounds the
  same way but runs slower). Complex inputs (JAX has no complex fp16/bf16): real and imaginary parts
  are each rounded to the dtype, the kernel computes in complex64, and the output's parts are rounded
  to the dtype — only the input and output rounding is modelled, not rounding inside the kernel.
- fp8_e4m3, fp8_e5m2, fp4_e2m1, int8: dequantize-compute-quantize. Each input is quantized with amax
  scaling (per tensor, or per block of 32 values), dequantized, and the kernel computes in fp32 on the
  dequantized values (complex64 for complex inputs); its output is quantized to the format with the
  same scaling and dequantized. This models storing every input and output in the format, as a
  scaled low-precision tensor core would, but not rounding of intermediates inside the kernel.

Every output comes back as float64 (complex128 for complex outputs), rounded to the format.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np

from ...errors import CodexValueError, did_you_mean

__all__ = [
    "Format",
    "FORMATS",
    "ALL_FORMATS",
    "SCALINGS",
    "BLOCK_SIZE",
    "Scale",
    "get_format",
    "formats_by_cost",
    "quantize",
    "dequantize",
    "run_in_format",
]

#: Scaling modes of the scaled formats: one amax per tensor, or one per block of `BLOCK_SIZE` values.
SCALINGS: tuple[str, ...] = ("tensor", "block32")
#: Values per block for `scaling="block32"` (consecutive values of the C-ordered array).
BLOCK_SIZE = 32
_INT8_MAX = 127


@dataclass(frozen=True)
class Format:
    """A number format: dtype, significand precision p (with the implicit bit), ε = 2^(1−p), bits.

    `scaled` formats (fp8, fp4, int8) store x / s with a per-tensor or per-block amax scale s;
    `emulated_on_cpu` says a typical x86 CPU has no arithmetic in that dtype. For int8, p = 8 so that
    ε = 2^−7 is one quantization step (amax/127) relative to amax.
    """

    name: str
    dtype: np.dtype[Any]
    mantissa_bits: int
    eps: float
    bits: int
    scaled: bool
    emulated_on_cpu: bool

    @property
    def max_finite(self) -> float:
        """The largest finite value of the dtype (127 for int8), the target of amax scaling."""
        if self.dtype == np.dtype(np.int8):
            return float(_INT8_MAX)
        return float(ml_dtypes.finfo(self.dtype).max)

    @property
    def computes_natively(self) -> bool:
        """Whether `run_in_format` computes in this dtype (else dequantize-compute-quantize in fp32)."""
        return not self.scaled

    @property
    def cost_key(self) -> tuple[int, bool, int]:
        """Sort key, cheapest first: bits, then native before emulated on CPU, then more precise first."""
        return (self.bits, self.emulated_on_cpu, -self.mantissa_bits)


def _fmt(name: str, dtype: Any, p: int, bits: int, *, scaled: bool, emulated: bool) -> Format:
    return Format(name, np.dtype(dtype), p, 2.0 ** (1 - p), bits, scaled, emulated)


#: The registry of formats by name; fp64 is the reference of every comparison.
FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        _fmt("fp64", np.float64, 53, 64, scaled=False, emulated=False),
        _fmt("fp32", np.float32, 24, 32, scaled=False, emulated=False),
        _fmt("fp16", np.float16, 11, 16, scaled=False, emulated=True),
        _fmt("bf16", ml_dtypes.bfloat16, 8, 16, scaled=False, emulated=True),
        _fmt("fp8_e4m3", ml_dtypes.float8_e4m3fn, 4, 8, scaled=True, emulated=True),
        _fmt("fp8_e5m2", ml_dtypes.float8_e5m2, 3, 8, scaled=True, emulated=True),
        _fmt("fp4_e2m1", ml_dtypes.float4_e2m1fn, 2, 4, scaled=True, emulated=True),
        _fmt("int8", np.int8, 8, 8, scaled=True, emulated=True),
    )
}
#: Every format name, in registry order (the default of `PrecisionProfiler.profile`).
ALL_FORMATS: tuple[str, ...] = tuple(FORMATS)

_ALIASES: dict[str, str] = {
    "float64": "fp64",
    "f64": "fp64",
    "double": "fp64",
    "float32": "fp32",
    "f32": "fp32",
    "single": "fp32",
    "float16": "fp16",
    "f16": "fp16",
    "half": "fp16",
    "bfloat16": "bf16",
    "fp8": "fp8_e4m3",
    "e4m3": "fp8_e4m3",
    "float8_e4m3fn": "fp8_e4m3",
    "e5m2": "fp8_e5m2",
    "float8_e5m2": "fp8_e5m2",
    "fp4": "fp4_e2m1",
    "e2m1": "fp4_e2m1",
    "float4_e2m1fn": "fp4_e2m1",
}


def get_format(fmt: str | Format) -> Format:
    """The `Format` called `fmt` (canonical name or alias such as `float32`, `fp8`, `fp4`).

    Raises `CodexValueError` with a did-you-mean for an unknown name.
    """
    if isinstance(fmt, Format):
        return fmt
    key = str(fmt).strip().lower()
    key = _ALIASES.get(key, key)
    if key in FORMATS:
        return FORMATS[key]
    raise CodexValueError(
        f"Precision format `{fmt}` is unknown{did_you_mean(str(fmt), [*FORMATS, *_ALIASES])}; "
        f"use one of {', '.join(f'`{n}`' for n in FORMATS)}."
    )


def formats_by_cost(formats: Sequence[str | Format] = ALL_FORMATS) -> list[Format]:
    """The formats sorted cheapest first (`Format.cost_key`)."""
    return sorted((get_format(f) for f in formats), key=lambda f: f.cost_key)


def _check_scaling(scaling: str) -> None:
    if scaling not in SCALINGS:
        raise CodexValueError(
            f"Scaling `{scaling}` is unknown{did_you_mean(scaling, SCALINGS)}; use one of "
            f"{', '.join(f'`{s}`' for s in SCALINGS)}."
        )


# ------------------------------------------------------------------------------------ quantization


@dataclass(frozen=True, eq=False)
class Scale:
    """How to undo `quantize`: the scale values and the layout they apply to.

    `values` is float64: 0-d for `"tensor"`, one per block for `"block32"`, 1.0 for `"none"` (an
    unscaled format); `complex_parts` says the quantized array holds real and imaginary parts on a
    trailing axis of length 2.
    """

    values: np.ndarray
    scaling: str
    complex_parts: bool = False


def _to_range(x: np.ndarray, amax: np.ndarray, target: float) -> tuple[np.ndarray, np.ndarray]:
    """x / amax · target (|·| ≤ target) and the scale amax / target; blocks with amax 0 keep scale 1."""
    live = amax > 0
    safe = np.where(live, amax, 1.0)
    return x / safe * np.where(live, target, 1.0), np.where(live, amax / target, 1.0).astype(np.float64)


def _scaled_cast(y: np.ndarray, fmt: Format) -> np.ndarray:
    """Cast values already in range (|y| ≤ max_finite) to the format's dtype, rounding to nearest."""
    if fmt.dtype == np.dtype(np.int8):
        return np.clip(np.rint(y), -_INT8_MAX, _INT8_MAX).astype(np.int8)
    return np.clip(y, -fmt.max_finite, fmt.max_finite).astype(fmt.dtype)


def _quantize_real(x: np.ndarray, fmt: Format, scaling: str) -> tuple[np.ndarray, np.ndarray]:
    if scaling == "tensor":
        amax = np.asarray(np.max(np.abs(x)) if x.size else 0.0)
        y, scale = _to_range(x, amax, fmt.max_finite)
        return _scaled_cast(y, fmt), scale
    flat = x.reshape(-1)
    blocks = np.pad(flat, (0, -flat.size % BLOCK_SIZE)).reshape(-1, BLOCK_SIZE)
    amax = np.max(np.abs(blocks), axis=1)
    y, scale = _to_range(blocks, amax[:, None], fmt.max_finite)
    q = _scaled_cast(y, fmt).reshape(-1)[: flat.size]
    return q.reshape(x.shape), scale[:, 0]


def quantize(x: Any, fmt: str | Format, scaling: str = "tensor") -> tuple[np.ndarray, Scale]:
    """Store `x` in format `fmt`: returns `(q, scale)` with `q` in the format's dtype.

    Scaled formats store x / amax · max_finite rounded to the format (int8: q = round(x / amax · 127)),
    with scale s = amax / max_finite, per tensor or per block of 32 consecutive values
    (`scaling="block32"`); unscaled formats are a plain cast and ignore `scaling`. Complex `x` is
    stored as real and imaginary parts on a trailing axis of 2 (one scale over both parts, blocks over
    the interleaved values). Raises `CodexValueError` for an unknown format or scaling, or non-finite
    values in a scaled format.
    """
    f = get_format(fmt)
    _check_scaling(scaling)
    arr = np.asarray(x)
    is_complex = np.iscomplexobj(arr)
    parts = np.stack([arr.real, arr.imag], axis=-1) if is_complex else arr
    parts = parts.astype(np.float64)
    if not f.scaled:
        return parts.astype(f.dtype), Scale(np.asarray(1.0), "none", is_complex)
    if not np.all(np.isfinite(parts)):
        raise CodexValueError(
            f"Format `{f.name}` scales by amax, which needs finite values, but the input has "
            f"{int(np.size(parts) - np.count_nonzero(np.isfinite(parts)))} non-finite entries; "
            f"clean them first or use an unscaled format such as `fp16`."
        )
    q, scale = _quantize_real(parts, f, scaling)
    return q, Scale(scale, scaling, is_complex)


def dequantize(q: Any, scale: Scale) -> np.ndarray:
    """Undo `quantize`: float64 values (complex128 when the scale says complex parts)."""
    v = np.asarray(q).astype(np.float64)
    if scale.scaling == "tensor":
        v = v * scale.values
    elif scale.scaling == "block32":
        flat = v.reshape(-1)
        blocks = np.pad(flat, (0, -flat.size % BLOCK_SIZE)).reshape(-1, BLOCK_SIZE)
        v = (blocks * scale.values[:, None]).reshape(-1)[: flat.size].reshape(v.shape)
    return v[..., 0] + 1j * v[..., 1] if scale.complex_parts else v


def _round_trip(x: np.ndarray, fmt: Format, scaling: str) -> np.ndarray:
    """x stored in the format and read back as float64/complex128 (non-finite entries become NaN)."""
    if not fmt.scaled:
        return dequantize(*quantize(x, fmt, scaling))
    finite = np.isfinite(x)
    if np.all(finite):
        return dequantize(*quantize(x, fmt, scaling))
    out = dequantize(*quantize(np.where(finite, x, 0), fmt, scaling))
    return np.where(finite, out, np.nan)


# ------------------------------------------------------------------------------------ running kernels


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, np.ndarray)


def _prepare(x: Any, fmt: Format, scaling: str) -> Any:
    """One kernel input as a JAX array in the dtype the kernel computes in; numbers pass unchanged."""
    if _is_number(x):
        return x
    arr = np.asarray(x)
    is_complex = np.iscomplexobj(arr)
    if fmt.name in ("fp64", "fp32"):
        dtype = {
            ("fp64", False): np.float64,
            ("fp64", True): np.complex128,
            ("fp32", False): np.float32,
            ("fp32", True): np.complex64,
        }[(fmt.name, is_complex)]
        return jnp.asarray(arr.astype(dtype))
    if fmt.computes_natively and not is_complex:
        return jnp.asarray(arr.astype(fmt.dtype))
    stored = dequantize(*quantize(arr, fmt, scaling))
    return jnp.asarray(stored.astype(np.complex64 if is_complex else np.float32))


def _run_timed(
    kernel: Callable[..., Any], inputs: Sequence[Any], fmt: Format, scaling: str
) -> tuple[np.ndarray, float]:
    """Run `kernel` in `fmt`: (output rounded to the format as float64/complex128, kernel ms)."""
    args = tuple(_prepare(x, fmt, scaling) for x in inputs)
    start = time.perf_counter()
    raw = jax.block_until_ready(kernel(*args))
    ms = (time.perf_counter() - start) * 1e3
    out = np.asarray(raw)
    if not (np.issubdtype(out.dtype, np.floating) or np.iscomplexobj(out)):
        out = out.astype(np.float64)
    out = out.astype(np.complex128 if np.iscomplexobj(out) else np.float64)
    return _round_trip(out, fmt, scaling), ms


def _as_inputs(inputs: Any) -> tuple[Any, ...]:
    """A tuple of kernel inputs; one array alone counts as one input."""
    if isinstance(inputs, (np.ndarray, jax.Array)) or _is_number(inputs):
        return (inputs,)
    return tuple(inputs)


def run_in_format(kernel: Callable[..., Any], inputs: Any, fmt: str | Format, *, scaling: str = "tensor") -> np.ndarray:
    """Run `kernel(*inputs)` with its inputs and output stored in `fmt`; returns float64 (complex128).

    `inputs` is a sequence of arrays (or one array); Python numbers pass through unchanged. What
    computes in which dtype is in the module docstring: native for fp64/fp32/fp16/bf16, dequantize-
    compute-quantize in fp32 for fp8/fp4/int8 with `scaling` `"tensor"` or `"block32"`. Raises
    `CodexValueError` for an unknown format or scaling.
    """
    f = get_format(fmt)
    _check_scaling(scaling)
    out, _ = _run_timed(kernel, _as_inputs(inputs), f, scaling)
    return out
