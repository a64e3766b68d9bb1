"""Quantization algorithms beyond round-to-nearest, one small module per paper (numpy only).

    smoothquant      SmoothQuant (Xiao et al. 2023): activation outliers moved into the weights
    awq              AWQ (Lin et al. 2024): activation-aware per-input-channel weight scales
    cle              cross-layer equalization + high-bias absorption (Nagel et al. 2019)
    bias_correction  empirical bias correction (Nagel et al. 2019; AIMET)
    adaround         AdaRound (Nagel et al. 2020): learned up/down rounding
    gptq             GPTQ (Frantar et al. 2023): rounding error pushed through the inverse Hessian
    hqq              HQQ (Badri & Shaji 2023): zero points fitted to an lp (p < 1) loss, data-free
    binary           binary (XNOR-Net / BWN) and ternary (TWN) weights

Every one works on one layer: a 2-D weight (out_features, in_features) and calibration rows
(rows, in_features), y = x @ w.T (weight_grid.py states the contract; im2col.py makes the rows of
a Conv), and returns an AlgorithmResult whose codes sit on qviz.quant's integer grid (same
QuantSpec, same qparams rules), so the model layer deploys them like any quantized weight.

    >>> from qviz.quant import QuantSpec
    >>> rng = np.random.default_rng(0)
    >>> w, x = rng.normal(size=(8, 32)), rng.normal(size=(64, 4)) @ rng.normal(size=(4, 32))
    >>> r = gptq(w, x, QuantSpec(bits=4, granularity="channel", axis=0))
    >>> r.info["output_mse"] < r.info["rtn_output_mse"]        # correlated inputs: GPTQ beats RTN
    True
"""

from qviz.quant.algorithms.adaround import adaround
from qviz.quant.algorithms.algorithm_result import AlgorithmCancelled, AlgorithmResult, PairResult
from qviz.quant.algorithms.awq import search_awq
from qviz.quant.algorithms.bias_correction import correct_bias
from qviz.quant.algorithms.binary import binarize, ternarize
from qviz.quant.algorithms.cle import equalize_pair, preactivation_stats
from qviz.quant.algorithms.gptq import gptq
from qviz.quant.algorithms.hqq import hqq
from qviz.quant.algorithms.im2col import im2col
from qviz.quant.algorithms.smoothquant import search_smoothquant, smooth

__all__ = [
    "AlgorithmCancelled",
    "AlgorithmResult",
    "PairResult",
    "adaround",
    "binarize",
    "correct_bias",
    "equalize_pair",
    "gptq",
    "hqq",
    "im2col",
    "preactivation_stats",
    "search_awq",
    "search_smoothquant",
    "smooth",
    "ternarize",
]
