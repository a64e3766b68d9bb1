"""The translation table: every piece of UI text, in English and 简体中文. Plain data, no streamlit.

    >>> translate("bits", "zh")
    '位宽'
    >>> translate("metric_split", "en", clip="0.1", round="0.2")
    'clipping error 0.1 + rounding error 0.2 = MSE'

A missing key renders as [[key]] (never a crash in front of users); tests check that every
key has both languages and that no page shows [[.
Engine error messages (SpecError) stay English: they name parameters, which are code.
"""

from __future__ import annotations

LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "en"
MISSING = "[[{key}]]"

TEXT = {
    # navigation (one entry per page; later pages add theirs here)
    "nav_learn": {"en": "Learn", "zh": "学习"},
    "nav_model": {"en": "Model", "zh": "模型"},
    "nav_layer": {"en": "Layer", "zh": "层"},
    "nav_tune": {"en": "Tune", "zh": "调优"},
    "nav_sensitivity": {"en": "Sensitivity", "zh": "敏感度"},
    "nav_tradeoffs": {"en": "Trade-offs", "zh": "权衡"},
    "nav_export": {"en": "Export", "zh": "导出"},
    "computing": {"en": "Computing…", "zh": "计算中…"},
    "error_prefix": {"en": "Cannot quantize with these settings: {message}", "zh": "无法用这些设置量化：{message}"},
    # Learn page: header
    "learn_title": {"en": "Learn: quantize one tensor", "zh": "学习：量化一个张量"},
    "learn_intro": {
        "en": "Pick values and a quantization scheme in the sidebar; every number below is recomputed. "
              "Or replay a worked example.",
        "zh": "在侧边栏选择数值和量化方案，下面的每个数字都会重新计算。也可以重放一个例题。",
    },
    # the tensor
    "tensor_header": {"en": "Values", "zh": "数值"},
    "source": {"en": "Source", "zh": "来源"},
    "source_distribution": {"en": "Distribution", "zh": "分布"},
    "source_typed": {"en": "Type values", "zh": "输入数值"},
    "values": {"en": "Values", "zh": "数值"},
    "values_help": {"en": "Numbers separated by commas, e.g. -1, 0.5, 1", "zh": "用逗号分隔的数字，例如 -1, 0.5, 1"},
    "distribution": {"en": "Distribution", "zh": "分布"},
    "dist_normal": {"en": "Normal", "zh": "正态"},
    "dist_laplace": {"en": "Laplace", "zh": "拉普拉斯"},
    "dist_uniform": {"en": "Uniform", "zh": "均匀"},
    "dist_relu": {"en": "ReLU-like (no negatives)", "zh": "类 ReLU（无负值）"},
    "dist_bimodal": {"en": "Bimodal", "zh": "双峰"},
    "dist_outliers": {"en": "Normal with outliers", "zh": "带离群值的正态"},
    "size": {"en": "Number of values", "zh": "数值个数"},
    "seed": {"en": "Random seed", "zh": "随机种子"},
    "channels": {"en": "Channels (rows)", "zh": "通道数（行）"},
    "channels_help": {"en": "The values form a matrix [channels, values per channel], like a weight matrix.",
                      "zh": "数值排成矩阵 [通道, 每通道数值]，就像权重矩阵。"},
    "channel_spread": {"en": "Channel spread", "zh": "通道幅度差异"},
    "channel_spread_help": {"en": "The last channel is this many times wider than the first.",
                            "zh": "最后一个通道的幅度是第一个通道的多少倍。"},
    # the scheme
    "scheme_header": {"en": "Quantization", "zh": "量化"},
    "scheme": {"en": "Scheme", "zh": "方案"},
    "scheme_int": {"en": "Integer (affine)", "zh": "整数（仿射）"},
    "scheme_fixed_point": {"en": "Fixed point Qm.n", "zh": "定点数 Qm.n"},
    "scheme_log": {"en": "Logarithmic (powers of two)", "zh": "对数（2 的幂）"},
    "scheme_kmeans": {"en": "k-means codebook", "zh": "k-means 码本"},
    "scheme_float": {"en": "Float format", "zh": "浮点格式"},
    "float_format": {"en": "Float format", "zh": "浮点格式"},
    "bits": {"en": "Bits", "zh": "位宽"},
    "signed": {"en": "Signed codes", "zh": "有符号编码"},
    "symmetric": {"en": "Symmetric range", "zh": "对称范围"},
    "restricted_range": {"en": "Restricted range (drop the most negative code)", "zh": "受限范围（去掉最小负编码）"},
    "restricted_help": {"en": "int8 in [-127, 127] instead of [-128, 127]; needs signed and symmetric.",
                        "zh": "int8 取 [-127, 127] 而不是 [-128, 127]；需要有符号且对称。"},
    "pow2_scale": {"en": "Power-of-two scale", "zh": "2 的幂缩放因子"},
    "frac_bits": {"en": "Fractional bits n", "zh": "小数位数 n"},
    "rounding": {"en": "Rounding", "zh": "舍入"},
    "round_half_even": {"en": "Half to even (ONNX)", "zh": "四舍六入五成双（ONNX）"},
    "round_half_away": {"en": "Half away from zero", "zh": "四舍五入（远离零）"},
    "round_floor": {"en": "Floor", "zh": "向下取整"},
    "round_trunc": {"en": "Truncate toward zero", "zh": "向零截断"},
    "round_stochastic": {"en": "Stochastic (seeded)", "zh": "随机舍入（固定种子）"},
    "estimator": {"en": "Range estimator", "zh": "范围估计方法"},
    "est_minmax": {"en": "Min-max", "zh": "最小-最大值"},
    "est_percentile": {"en": "Percentile", "zh": "百分位数"},
    "est_sigma": {"en": "Mean ± k·sigma", "zh": "均值 ± k·标准差"},
    "est_mse": {"en": "MSE-optimal search", "zh": "MSE 最优搜索"},
    "est_entropy": {"en": "Entropy (KL divergence)", "zh": "熵（KL 散度）"},
    "est_manual": {"en": "Manual range", "zh": "手动范围"},
    "percentile": {"en": "Percentile kept inside the range", "zh": "保留在范围内的百分位数"},
    "sigmas": {"en": "k (sigmas)", "zh": "k（标准差倍数）"},
    "sigmas_help": {"en": "0 chooses k from the bit width.", "zh": "0 表示根据位宽自动选择 k。"},
    "range_min": {"en": "Range minimum", "zh": "范围下限"},
    "range_max": {"en": "Range maximum", "zh": "范围上限"},
    "granularity": {"en": "Granularity", "zh": "粒度"},
    "gran_tensor": {"en": "Per tensor", "zh": "逐张量"},
    "gran_channel": {"en": "Per channel (row)", "zh": "逐通道（行）"},
    "gran_group": {"en": "Per group (along a row)", "zh": "逐组（沿行）"},
    "group_size": {"en": "Group size", "zh": "组大小"},
    # worked examples
    "examples_header": {"en": "Worked examples", "zh": "例题"},
    "replay": {"en": "Replay", "zh": "重放"},
    "compare": {"en": "Compare", "zh": "对比"},
    "variant_settings": {"en": "replayed", "zh": "重放"},
    "variant_compare": {"en": "the comparison", "zh": "对比设置"},
    "ex_code191_title": {"en": "0.5 in [-1, 1] at 8 bits asymmetric → code 191",
                         "zh": "8 位非对称、范围 [-1, 1] 时，0.5 → 编码 191"},
    "ex_code191_text": {
        "en": "scale = 2/255, zero point = round(127.49999) = 127 (float32 puts 1/scale just below the tie), "
              "0.5/scale = 63.75 rounds to 64, and 64 + 127 = 191. Compare: symmetric int8 gives code 64.",
        "zh": "scale = 2/255，零点 = round(127.49999) = 127（float32 让 1/scale 略低于 .5），"
              "0.5/scale = 63.75 舍入为 64，64 + 127 = 191。对比：对称 int8 得到编码 64。",
    },
    "ex_trunc_title": {"en": "Rounding vs truncation", "zh": "舍入与截断"},
    "ex_trunc_text": {
        "en": "Truncation moves every value toward zero: its error is biased and about 4x the "
              "rounding error (step²/3 instead of step²/12). Compare shows truncation.",
        "zh": "截断把每个值都推向零：误差有偏，约为舍入误差的 4 倍（step²/3 而非 step²/12）。"
              "对比显示截断。",
    },
    "ex_relu_title": {"en": "Symmetric vs asymmetric on ReLU outputs", "zh": "ReLU 输出：对称与非对称"},
    "ex_relu_text": {
        "en": "ReLU outputs are never negative: a symmetric signed range wastes half of the codes. "
              "Asymmetric unsigned (Compare) halves the step: about +6 dB SQNR, one bit for free.",
        "zh": "ReLU 输出没有负值：对称有符号范围浪费一半编码。非对称无符号（对比）让步长减半："
              "SQNR 约提高 6 dB，相当于白得一位。",
    },
    "ex_outlier_title": {"en": "An outlier ruins per-tensor min-max; percentile saves it",
                         "zh": "离群值毁掉逐张量最小-最大值；百分位数挽救"},
    "ex_outlier_text": {
        "en": "A few values at ±12 stretch the min-max range, so at 4 bits almost all values fall on "
              "two or three levels. The 99th percentile (Compare) clips the outliers and wins a lot of SQNR.",
        "zh": "少数 ±12 的值拉宽了最小-最大范围，4 位时几乎所有数值只落在两三个量化级上。"
              "99% 百分位数（对比）截断离群值，SQNR 大幅提高。",
    },
    "ex_channel_title": {"en": "4 bits: per-channel vs per-tensor", "zh": "4 位：逐通道与逐张量"},
    "ex_channel_text": {
        "en": "Channels whose widths differ 20x share one scale per tensor: the narrow channels get "
              "only a few levels. One scale per channel (Compare) fits each row.",
        "zh": "通道幅度相差 20 倍却共用一个缩放因子：窄通道只分到很少的量化级。"
              "逐通道缩放（对比）让每一行都合适。",
    },
    # results
    "metric_mse": {"en": "MSE", "zh": "均方误差"},
    "metric_sqnr": {"en": "SQNR", "zh": "信号量化噪声比"},
    "metric_clipped": {"en": "Clipped", "zh": "被截断"},
    "metric_scale": {"en": "Scale s", "zh": "缩放因子 s"},
    "metric_zero_point": {"en": "Zero point z", "zh": "零点 z"},
    "metric_split": {"en": "clipping error {clip} + rounding error {round} = MSE",
                     "zh": "截断误差 {clip} + 舍入误差 {round} = 均方误差"},
    "hist_title": {"en": "Values, quantization levels and clipping thresholds", "zh": "数值、量化级与截断阈值"},
    "hist_x": {"en": "value", "zh": "数值"},
    "hist_y": {"en": "count", "zh": "个数"},
    "hist_values": {"en": "values", "zh": "数值"},
    "hist_levels": {"en": "quantization levels", "zh": "量化级"},
    "hist_clip": {"en": "clipping thresholds", "zh": "截断阈值"},
    "levels_too_dense": {"en": "{n} levels in view: too dense to draw.", "zh": "视图中有 {n} 个量化级：太密，不绘制。"},
    "first_group_note": {"en": "Levels, thresholds, scale and formula are those of the first channel/group.",
                         "zh": "量化级、阈值、缩放因子和公式均为第一个通道/组的。"},
    "codes_header": {"en": "Integer codes (first values)", "zh": "整数编码（前几个数值）"},
    "col_x": {"en": "x", "zh": "x"},
    "col_q": {"en": "code q", "zh": "编码 q"},
    "col_x_dq": {"en": "x̂ (dequantized)", "zh": "x̂（反量化）"},
    "col_error": {"en": "error x − x̂", "zh": "误差 x − x̂"},
    "formula_header": {"en": "The formula, step by step", "zh": "公式，逐步计算"},
    "value": {"en": "Value x to quantize", "zh": "要量化的数值 x"},
    "formula_summary": {"en": "**x = {x}** → code **q = {q}** → **x̂ = {x_hat}**",
                        "zh": "**x = {x}** → 编码 **q = {q}** → **x̂ = {x_hat}**"},
    "sqnr_title": {"en": "SQNR vs bits", "zh": "SQNR 与位宽"},
    "sqnr_y": {"en": "SQNR (dB)", "zh": "SQNR（dB）"},
    "sqnr_measured": {"en": "measured", "zh": "实测"},
    "sqnr_rule": {"en": "6.02 dB/bit rule", "zh": "每位 6.02 dB 规律"},
    "sqnr_current": {"en": "current bits", "zh": "当前位宽"},
    "sqnr_note": {"en": "Each extra bit halves the step and the noise power drops 4x: +6.02 dB. The dashed rule is "
                          "6.02·b + 10·log10(12·var/R²) for this tensor's min-max range R.",
                    "zh": "每多一位，步长减半，噪声功率降为 1/4：+6.02 dB。虚线为本张量最小-最大范围 R 下的 "
                          "6.02·b + 10·log10(12·var/R²)。"},
    "sqnr_na": {"en": "A float format has a fixed bit width: no SQNR-vs-bits curve.",
                "zh": "浮点格式的位宽固定：没有 SQNR-位宽曲线。"},
    "split_title": {"en": "Clipping vs rounding error over the clipping range", "zh": "截断误差与舍入误差随截断范围的变化"},
    "split_x": {"en": "clipping threshold max(|lo|, |hi|)", "zh": "截断阈值 max(|lo|, |hi|)"},
    "split_y": {"en": "MSE (log)", "zh": "均方误差（对数）"},
    "split_clip": {"en": "clipping error", "zh": "截断误差"},
    "split_round": {"en": "rounding error", "zh": "舍入误差"},
    "split_total": {"en": "total", "zh": "总误差"},
    "split_chosen": {"en": "estimator's choice", "zh": "估计方法的选择"},
    "split_note": {"en": "The sweep shrinks one shared range [f·min, f·max]; with per-channel scales the marker is the widest channel's.",
                   "zh": "扫描把同一个范围 [f·min, f·max] 逐步缩小；逐通道时标记为最宽通道的阈值。"},
    "split_na": {"en": "Only the integer scheme has a clipping range to sweep.", "zh": "只有整数方案有可扫描的截断范围。"},
}


def translate(key: str, lang: str = DEFAULT_LANGUAGE, **fmt) -> str:
    """TEXT[key][lang] with str.format(**fmt); unknown language falls back to English."""
    entry = TEXT.get(key)
    if entry is None:
        return MISSING.format(key=key)
    text = entry.get(lang, entry[DEFAULT_LANGUAGE])
    return text.format(**fmt) if fmt else text
