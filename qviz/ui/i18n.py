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
    "channels_help": {
        "en": "The values form a matrix [channels, values per channel], like a weight matrix.",
        "zh": "数值排成矩阵 [通道, 每通道数值]，就像权重矩阵。",
    },
    "channel_spread": {"en": "Channel spread", "zh": "通道幅度差异"},
    "channel_spread_help": {
        "en": "The last channel is this many times wider than the first.",
        "zh": "最后一个通道的幅度是第一个通道的多少倍。",
    },
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
    "restricted_help": {
        "en": "int8 in [-127, 127] instead of [-128, 127]; needs signed and symmetric.",
        "zh": "int8 取 [-127, 127] 而不是 [-128, 127]；需要有符号且对称。",
    },
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
    "ex_code191_title": {
        "en": "0.5 in [-1, 1] at 8 bits asymmetric → code 191",
        "zh": "8 位非对称、范围 [-1, 1] 时，0.5 → 编码 191",
    },
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
        "zh": "截断把每个值都推向零：误差有偏，约为舍入误差的 4 倍（step²/3 而非 step²/12）。对比显示截断。",
    },
    "ex_relu_title": {"en": "Symmetric vs asymmetric on ReLU outputs", "zh": "ReLU 输出：对称与非对称"},
    "ex_relu_text": {
        "en": "ReLU outputs are never negative: a symmetric signed range wastes half of the codes. "
        "Asymmetric unsigned (Compare) halves the step: about +6 dB SQNR, one bit for free.",
        "zh": "ReLU 输出没有负值：对称有符号范围浪费一半编码。非对称无符号（对比）让步长减半："
        "SQNR 约提高 6 dB，相当于白得一位。",
    },
    "ex_outlier_title": {
        "en": "An outlier ruins per-tensor min-max; percentile saves it",
        "zh": "离群值毁掉逐张量最小-最大值；百分位数挽救",
    },
    "ex_outlier_text": {
        "en": "A few values at ±12 stretch the min-max range, so at 4 bits almost all values fall on "
        "two or three levels. The 99th percentile (Compare) clips the outliers and wins a lot of SQNR.",
        "zh": "少数 ±12 的值拉宽了最小-最大范围，4 位时几乎所有数值只落在两三个量化级上。"
        "99% 百分位数（对比）裁剪离群值，SQNR 大幅提高。",
    },
    "ex_channel_title": {"en": "4 bits: per-channel vs per-tensor", "zh": "4 位：逐通道与逐张量"},
    "ex_channel_text": {
        "en": "Channels whose widths differ 20x share one scale per tensor: the narrow channels get "
        "only a few levels. One scale per channel (Compare) fits each row.",
        "zh": "通道幅度相差 20 倍却共用一个缩放因子：窄通道只分到很少的量化级。逐通道缩放（对比）让每一行都合适。",
    },
    # results
    "metric_mse": {"en": "MSE", "zh": "均方误差"},
    "metric_sqnr": {"en": "SQNR", "zh": "信号量化噪声比"},
    "metric_clipped": {"en": "Clipped", "zh": "被裁剪"},
    "metric_scale": {"en": "Scale s", "zh": "缩放因子 s"},
    "metric_zero_point": {"en": "Zero point z", "zh": "零点 z"},
    "metric_split": {
        "en": "clipping error {clip} + rounding error {round} = MSE",
        "zh": "裁剪误差 {clip} + 舍入误差 {round} = 均方误差",
    },
    "hist_title": {"en": "Values, quantization levels and clipping thresholds", "zh": "数值、量化级与裁剪阈值"},
    "hist_x": {"en": "value", "zh": "数值"},
    "hist_y": {"en": "count", "zh": "个数"},
    "hist_values": {"en": "values", "zh": "数值"},
    "hist_levels": {"en": "quantization levels", "zh": "量化级"},
    "hist_clip": {"en": "clipping thresholds", "zh": "裁剪阈值"},
    "levels_too_dense": {"en": "{n} levels in view: too dense to draw.", "zh": "视图中有 {n} 个量化级：太密，不绘制。"},
    "first_group_note": {
        "en": "Levels, thresholds, scale and formula are those of the first channel/group.",
        "zh": "量化级、阈值、缩放因子和公式均为第一个通道/组的。",
    },
    "codes_header": {"en": "Integer codes (first values)", "zh": "整数编码（前几个数值）"},
    "col_x": {"en": "x", "zh": "x"},
    "col_q": {"en": "code q", "zh": "编码 q"},
    "col_x_dq": {"en": "x̂ (dequantized)", "zh": "x̂（反量化）"},
    "col_error": {"en": "error x − x̂", "zh": "误差 x − x̂"},
    "formula_header": {"en": "The formula, step by step", "zh": "公式，逐步计算"},
    "value": {"en": "Value x to quantize", "zh": "要量化的数值 x"},
    "formula_summary": {
        "en": "**x = {x}** → code **q = {q}** → **x̂ = {x_hat}**",
        "zh": "**x = {x}** → 编码 **q = {q}** → **x̂ = {x_hat}**",
    },
    "sqnr_title": {"en": "SQNR vs bits", "zh": "SQNR 与位宽"},
    "sqnr_y": {"en": "SQNR (dB)", "zh": "SQNR（dB）"},
    "sqnr_measured": {"en": "measured", "zh": "实测"},
    "sqnr_rule": {"en": "6.02 dB/bit rule", "zh": "每位 6.02 dB 规律"},
    "sqnr_current": {"en": "current bits", "zh": "当前位宽"},
    "sqnr_note": {
        "en": "Each extra bit halves the step and the noise power drops 4x: +6.02 dB. The dashed rule is "
        "6.02·b + 10·log10(12·var/R²) for this tensor's min-max range R.",
        "zh": "每多一位，步长减半，噪声功率降为 1/4：+6.02 dB。虚线为本张量最小-最大范围 R 下的 "
        "6.02·b + 10·log10(12·var/R²)。",
    },
    "sqnr_na": {
        "en": "A float format has a fixed bit width: no SQNR-vs-bits curve.",
        "zh": "浮点格式的位宽固定：没有 SQNR-位宽曲线。",
    },
    "split_title": {
        "en": "Clipping vs rounding error over the clipping range",
        "zh": "裁剪误差与舍入误差随裁剪范围的变化",
    },
    "split_x": {"en": "clipping threshold max(|lo|, |hi|)", "zh": "裁剪阈值 max(|lo|, |hi|)"},
    "split_y": {"en": "MSE (log)", "zh": "均方误差（对数）"},
    "split_clip": {"en": "clipping error", "zh": "裁剪误差"},
    "split_round": {"en": "rounding error", "zh": "舍入误差"},
    "split_total": {"en": "total", "zh": "总误差"},
    "split_chosen": {"en": "estimator's choice", "zh": "估计方法的选择"},
    "split_note": {
        "en": "The sweep shrinks one shared range [f·min, f·max]; with per-channel scales the marker is the widest channel's.",
        "zh": "扫描把同一个范围 [f·min, f·max] 逐步缩小；逐通道时标记为最宽通道的阈值。",
    },
    "split_na": {
        "en": "Only the integer scheme has a clipping range to sweep.",
        "zh": "只有整数方案有可扫描的裁剪范围。",
    },
    # --- Model, Layer and Export pages (issue 6 part A) ---
    # shared
    "sum_layers": {"en": "Layers", "zh": "层数"},
    "sum_params": {"en": "Parameters", "zh": "参数量"},
    "sum_size": {"en": "File size", "zh": "文件大小"},
    "sum_opset": {"en": "Opset", "zh": "算子集版本"},
    "sum_nodes": {"en": "Nodes", "zh": "节点数"},
    "qty_bits": {"en": "Weight bits", "zh": "权重位宽"},
    "qty_weight_sqnr_db": {"en": "Weight SQNR (dB)", "zh": "权重 SQNR（dB）"},
    "qty_param_share": {"en": "Parameter share", "zh": "参数占比"},
    "qty_channel_spread": {"en": "Channel spread", "zh": "通道幅度差异"},
    "preset_fp32": {"en": "fp32: no quantization", "zh": "fp32：不量化"},
    "preset_fp16": {"en": "fp16: weights and activations in float16", "zh": "fp16：权重和激活为 float16"},
    "preset_w8a8": {
        "en": "w8a8: int8 per-channel weights, uint8 activations",
        "zh": "w8a8：int8 逐通道权重，uint8 激活",
    },
    "preset_w8": {"en": "w8: int8 per-channel weights only", "zh": "w8：仅 int8 逐通道权重"},
    "preset_w4g32": {"en": "w4g32: int4 weights in groups of 32", "zh": "w4g32：int4 权重，每 32 个一组"},
    "preset_w4a8": {"en": "w4a8: int4 group weights, uint8 activations", "zh": "w4a8：int4 分组权重，uint8 激活"},
    "col_position": {"en": "#", "zh": "#"},
    "col_id": {"en": "layer", "zh": "层"},
    "col_op_type": {"en": "op", "zh": "算子"},
    "col_shape": {"en": "weight shape", "zh": "权重形状"},
    "col_params": {"en": "parameters", "zh": "参数量"},
    "col_weights": {"en": "weights", "zh": "权重"},
    "col_activations": {"en": "activations", "zh": "激活"},
    "col_weight_sqnr_db": {"en": "weight SQNR (dB)", "zh": "权重 SQNR（dB）"},
    "col_channel_spread": {"en": "channel spread", "zh": "通道幅度差异"},
    "col_note": {"en": "note", "zh": "备注"},
    # Model page
    "model_title": {"en": "Model", "zh": "模型"},
    "model_intro": {
        "en": "Pick a bundled sample or upload an ONNX model. The map shows every quantizable layer in graph "
        "order; pick one to inspect it in the Layer page.",
        "zh": "选择一个内置示例或上传 ONNX 模型。模型图按计算图顺序显示所有可量化的层；选中一层即可在“层”页面查看。",
    },
    "mp_sample": {"en": "Bundled sample", "zh": "内置示例"},
    "mp_uploaded_placeholder": {"en": "(your uploaded model)", "zh": "（你上传的模型）"},
    "mp_upload_header": {"en": "Upload your own model", "zh": "上传你自己的模型"},
    "mp_upload_onnx": {
        "en": "ONNX model (.onnx, or a .zip with its data files)",
        "zh": "ONNX 模型（.onnx，或含数据文件的 .zip）",
    },
    "mp_upload_help": {
        "en": "One .onnx file, or a .zip of one .onnx with the external data files it names "
        "(next to it in the .zip), up to {mb} MiB unpacked.",
        "zh": "单个 .onnx 文件，或一个 .zip：其中一个 .onnx 及其引用的外部数据文件（在 .zip 中与它同目录），"
        "解压后最大 {mb} MiB。",
    },
    "mp_upload_npz": {
        "en": "Inputs and labels (optional): .npz, images .zip, or text .txt/.csv",
        "zh": "输入与标签（可选）：.npz，图片 .zip，或文本 .txt/.csv",
    },
    "mp_npz_help": {
        "en": ".npz: arrays x (or one per model input name) and optional integer labels y. .zip: PNG/JPEG/WebP "
        "images, labels from class folders (sorted names = class 0, 1, ...). .txt: one example per line; .csv: "
        "text,label rows (needs the model's tokenizer.json). Used for calibration and evaluation.",
        "zh": ".npz：数组 x（或每个模型输入名一个数组）以及可选的整数标签 y。.zip：PNG/JPEG/WebP 图片，"
        "标签来自类别文件夹（按名称排序 = 类别 0，1，...）。.txt：每行一个样本；.csv：text,label 行"
        "（需要模型的 tokenizer.json）。用于校准和评估。",
    },
    "mp_model_error": {"en": "Cannot use this model: {message}", "zh": "无法使用此模型：{message}"},
    "mp_npz_error": {"en": "Cannot use these inputs: {message}", "zh": "无法使用这些输入：{message}"},
    "mp_pending_inputs": {
        "en": "The model passed its checks but did not run on generated inputs. Give it its own inputs "
        "(.npz: 'x', or one array per input name): it is used if it runs on their first batch.",
        "zh": "模型通过了检查，但无法在生成的输入上运行。请提供它自己的输入（.npz：'x'，或每个输入名一个数组）："
        "若能在其第一批上运行，即可使用该模型。",
    },
    "mp_upload_pending_npz": {"en": "Inputs for this model (.npz)", "zh": "此模型的输入（.npz）"},
    "mp_data_read": {"en": "Read: {note}", "zh": "已读取：{note}"},
    "mp_pp_header": {"en": "Image preprocessing", "zh": "图片预处理"},
    "mp_pp_preset": {"en": "Preset", "zh": "预设"},
    "pp_preset_imagenet": {
        "en": "imagenet (resize 256, crop 224, ImageNet mean/std)",
        "zh": "imagenet（缩放到 256，裁切 224，ImageNet 均值/标准差）",
    },
    "pp_preset_unit": {"en": "unit ([0, 1])", "zh": "unit（[0, 1]）"},
    "pp_preset_symmetric": {"en": "symmetric ([−1, 1])", "zh": "symmetric（[−1, 1]）"},
    "pp_preset_raw": {"en": "raw (pixels 0..255)", "zh": "raw（像素值 0..255）"},
    "mp_pp_height": {"en": "Height", "zh": "高度"},
    "mp_pp_width": {"en": "Width", "zh": "宽度"},
    "mp_pp_resize": {
        "en": "Shorter side before the center crop (0: stretch)",
        "zh": "中心裁切前的短边长度（0：直接拉伸）",
    },
    "mp_pp_layout": {"en": "Layout", "zh": "布局"},
    "mp_pp_channels": {"en": "Channels", "zh": "通道"},
    "mp_pp_scale": {"en": "Scale (pixel × scale)", "zh": "缩放（像素 × 缩放）"},
    "mp_pp_mean": {"en": "Mean (per channel)", "zh": "均值（每通道）"},
    "mp_pp_std": {"en": "Std (per channel)", "zh": "标准差（每通道）"},
    "mp_pp_help": {
        "en": "Each image: resize the shorter side, cut the center to height × width, then x = (pixel × scale − mean) / std.",
        "zh": "每张图片：先缩放短边，再从中心裁切为 高度 × 宽度，然后 x = (像素 × 缩放 − 均值) / 标准差。",
    },
    "mp_data_classes": {
        "en": "Class names in index order (optional, comma-separated)",
        "zh": "按索引顺序的类别名（可选，用逗号分隔）",
    },
    "mp_upload_tokenizer": {"en": "Tokenizer (tokenizer.json)", "zh": "分词器（tokenizer.json）"},
    "mp_seq_len": {
        "en": "Sequence length (0: the model's, or the longest text)",
        "zh": "序列长度（0：模型的，或最长文本的）",
    },
    "mp_need_tokenizer": {
        "en": "Text needs the model's tokenizer: upload its tokenizer.json.",
        "zh": "文本需要模型的分词器：请上传它的 tokenizer.json。",
    },
    "mp_url_error": {"en": "The link's configuration was ignored: {message}", "zh": "已忽略链接中的配置：{message}"},
    "mp_normalized": {
        "en": "qviz normalized this model when loading it (your file is unchanged; every measurement and export "
        "uses the normalized form):",
        "zh": "qviz 在加载时对此模型做了规范化（您的文件不变；所有测量和导出都使用规范化后的形式）：",
    },
    "mp_summary": {"en": "Summary", "zh": "概要"},
    "mp_current": {"en": "Current model: {name}", "zh": "当前模型：{name}"},
    "mp_input": {"en": "input", "zh": "输入"},
    "mp_output": {"en": "output", "zh": "输出"},
    "mp_col_kind": {"en": "kind", "zh": "类别"},
    "mp_col_name": {"en": "name", "zh": "名称"},
    "mp_col_dtype": {"en": "type", "zh": "类型"},
    "mp_col_shape": {"en": "shape", "zh": "形状"},
    "mp_col_op": {"en": "op", "zh": "算子"},
    "mp_col_count": {"en": "count", "zh": "个数"},
    "mp_data_sample": {
        "en": "Calibration data: the sample's calibration split ({rows} inputs).",
        "zh": "校准数据：示例自带的校准集（{rows} 个输入）。",
    },
    "mp_data_npz": {
        "en": "Calibration data: your uploaded inputs ({rows} rows).",
        "zh": "校准数据：你上传的输入（{rows} 行）。",
    },
    "mp_data_generated": {
        "en": "No calibration data: activation ranges come from generated random inputs, a placeholder "
        "only. Upload real inputs (an .npz, images or text) for meaningful ranges.",
        "zh": "没有校准数据：激活范围来自随机生成的输入，仅作占位。请上传真实输入（.npz、图片或文本）以得到有意义的范围。",
    },
    "mp_config": {"en": "Quantization config", "zh": "量化配置"},
    "mp_preset": {"en": "Start from a preset", "zh": "从预设开始"},
    "mp_preset_placeholder": {"en": "Choose a preset", "zh": "选择预设"},
    "mp_apply_preset": {"en": "Apply preset", "zh": "应用预设"},
    "mp_config_now": {"en": "Current config: {code}", "zh": "当前配置：{code}"},
    "mp_custom_config": {"en": "custom ({n} layer overrides)", "zh": "自定义（{n} 层单独设置）"},
    "mp_color_by": {"en": "Color the map by", "zh": "模型图着色依据"},
    "mp_map_help": {
        "en": "Click a bar to open that layer, or pick it below.",
        "zh": "点击柱子打开该层，或在下方选择。",
    },
    "mp_layer": {"en": "Layer", "zh": "层"},
    "mp_open_layer": {"en": "Open in Layer page", "zh": "在“层”页面打开"},
    "mp_no_layers": {
        "en": "This model has no layer with a constant weight to quantize.",
        "zh": "此模型没有可量化的常量权重层。",
    },
    "map_title": {"en": "Model map", "zh": "模型图"},
    "map_x": {"en": "layer (graph order)", "zh": "层（计算图顺序）"},
    "map_table": {"en": "Layers", "zh": "各层"},
    # Layer page
    "layer_title": {"en": "Layer", "zh": "层"},
    "lp_op": {"en": "Op", "zh": "算子"},
    "lp_channel_axis": {"en": "Output channel axis", "zh": "输出通道轴"},
    "lp_dtype": {"en": "Stored type", "zh": "存储类型"},
    "lp_spec_now": {
        "en": "Weights: {weights}  ·  activations: {activations}",
        "zh": "权重：{weights}  ·  激活：{activations}",
    },
    "lp_float": {"en": "float (not quantized)", "zh": "浮点（不量化）"},
    "lp_already": {
        "en": "This layer is already quantized in the model: qviz leaves it as it is.",
        "zh": "此层在模型中已经量化：qviz 不做改动。",
    },
    "lp_float_weights": {
        "en": "The weights of this layer stay float under the current config. Tick “Quantize the "
        "weights” in the sidebar to inspect a spec.",
        "zh": "在当前配置下此层权重保持浮点。勾选侧边栏的“量化权重”即可查看量化方案。",
    },
    "lp_editor": {"en": "This layer's weights", "zh": "此层的权重"},
    "lp_quantize": {"en": "Quantize the weights", "zh": "量化权重"},
    "lp_reset": {"en": "Back to the config's default", "zh": "恢复为配置默认值"},
    "lp_codes_used": {"en": "Codes used", "zh": "已用编码"},
    "lp_log_y": {"en": "Logarithmic counts", "zh": "对数计数"},
    "lw_hist_title": {"en": "Weights, quantization levels and clipping thresholds", "zh": "权重、量化级与裁剪阈值"},
    "lw_hist_title_channel": {
        "en": "Weights of channel {c}, its quantization levels and clipping thresholds",
        "zh": "通道 {c} 的权重、量化级与裁剪阈值",
    },
    "lw_hist_title_group": {
        "en": "Weights of group {c}, its quantization levels and clipping thresholds",
        "zh": "组 {c} 的权重、量化级与裁剪阈值",
    },
    "lp_pick_channel": {
        "en": "Channel {c} of {n} (range [{lo}, {hi}])",
        "zh": "通道 {c}（共 {n} 个，范围 [{lo}, {hi}]）",
    },
    "lp_pick_group": {"en": "Group {c} of {n} (range [{lo}, {hi}])", "zh": "组 {c}（共 {n} 个，范围 [{lo}, {hi}]）"},
    "lp_one_channel_note": {
        "en": "The histogram shows one channel's weights with that channel's own levels and clipping thresholds "
        "(every channel has its own scale); it opens on the channel of widest range. The numbers above are "
        "for the whole tensor.",
        "zh": "直方图只显示一个通道的权重及该通道自己的量化级和裁剪阈值（每个通道有自己的缩放因子）；"
        "默认显示范围最宽的通道。上方的数字针对整个张量。",
    },
    "lp_one_group_note": {
        "en": "The histogram shows one group's weights with that group's own levels and clipping thresholds "
        "(every group has its own scale); it opens on the group of widest range. The numbers above are "
        "for the whole tensor.",
        "zh": "直方图只显示一个组的权重及该组自己的量化级和裁剪阈值（每个组有自己的缩放因子）；"
        "默认显示范围最宽的组。上方的数字针对整个张量。",
    },
    "lw_channels_title": {"en": "Range of each output channel", "zh": "各输出通道的范围"},
    "lw_channels_x": {"en": "output channel", "zh": "输出通道"},
    "lw_channels_range": {"en": "min..max", "zh": "最小..最大"},
    "lw_channels_outlier": {"en": "outlier channel", "zh": "离群通道"},
    "lp_channels_note": {
        "en": "{n} channels, {outliers} outliers (abs-max above 3x the median channel's).",
        "zh": "{n} 个通道，{outliers} 个离群（绝对值最大值超过通道中位数的 3 倍）。",
    },
    "lw_map_title_kernels": {"en": "Error map: x − x̂ per kernel", "zh": "误差图：每个卷积核的 x − x̂"},
    "lw_map_title_matrix": {"en": "Error map: x − x̂", "zh": "误差图：x − x̂"},
    "lw_map_x_kernels": {"en": "kernels (grid)", "zh": "卷积核（网格）"},
    "lw_map_y_kernels": {"en": "kernels (grid)", "zh": "卷积核（网格）"},
    "lw_map_x_matrix": {"en": "column (input)", "zh": "列（输入）"},
    "lw_map_y_matrix": {"en": "row (dimension 0)", "zh": "行（第 0 维）"},
    "lw_map_colorbar": {"en": "error", "zh": "误差"},
    "lp_map_note_kernels": {
        "en": "Each small square is one kernel (output x input channel). Downsampling: {factor}x{factor} "
        "blocks show their largest error.",
        "zh": "每个小方块是一个卷积核（输出 × 输入通道）。降采样：每 {factor}x{factor} 块显示其中最大的误差。",
    },
    "lp_map_note_matrix": {
        "en": "Rows are dimension 0 of the weight. Downsampling: {factor}x{factor} blocks show their largest error.",
        "zh": "行是权重的第 0 维。降采样：每 {factor}x{factor} 块显示其中最大的误差。",
    },
    "lw_est_title": {"en": "Range estimators on this tensor", "zh": "此张量上的各范围估计方法"},
    "lp_est_na": {
        "en": "Only integer and logarithmic schemes have a range estimator.",
        "zh": "只有整数和对数方案有范围估计方法。",
    },
    "lp_col_lo": {"en": "range low", "zh": "范围下限"},
    "lp_col_hi": {"en": "range high", "zh": "范围上限"},
    "lp_codes_header": {"en": "Scales, zero points and integer codes", "zh": "缩放因子、零点与整数编码"},
    "lp_codes_na": {"en": "This scheme has no integer codes.", "zh": "此方案没有整数编码。"},
    "lp_col_group": {"en": "channel / group", "zh": "通道 / 组"},
    "lp_params_note": {"en": "First {shown} of {groups} scales.", "zh": "共 {groups} 个缩放因子，显示前 {shown} 个。"},
    "lw_codes_title": {"en": "How often each code is used", "zh": "各编码的使用次数"},
    "lp_act_header": {"en": "The layer's input on the calibration data", "zh": "此层在校准数据上的输入"},
    "lw_act_title": {"en": "Input activations, levels and clipping thresholds", "zh": "输入激活、量化级与裁剪阈值"},
    "lp_act_na": {"en": "This layer has no activation input.", "zh": "此层没有激活输入。"},
    "lp_act_note": {
        "en": "{n} values; activations: {spec}; clipped: {clipped}.",
        "zh": "{n} 个数值；激活：{spec}；被裁剪：{clipped}。",
    },
    # Export page
    "export_title": {"en": "Export", "zh": "导出"},
    "exp_deploy_header": {
        "en": "Deployable model (runs integer kernels in onnxruntime)",
        "zh": "可部署模型（在 onnxruntime 中运行整数内核）",
    },
    "exp_not_deployable": {
        "en": "{n} layer(s) have no native onnxruntime form under this config:",
        "zh": "在此配置下有 {n} 层没有 onnxruntime 原生形式：",
    },
    "exp_problems": {"en": "problem", "zh": "问题"},
    "exp_no_problems": {"en": "none: every layer deploys", "zh": "无：所有层都可部署"},
    "exp_offer_simulated": {
        "en": "Download the simulated model below instead, or change these layers.",
        "zh": "可以改为下载下面的模拟模型，或修改这些层。",
    },
    "exp_build_deploy": {"en": "Build the deployable model", "zh": "生成可部署模型"},
    "exp_build_simulated": {"en": "Build the simulated model", "zh": "生成模拟模型"},
    "exp_build_report": {"en": "Build the HTML report", "zh": "生成 HTML 报告"},
    "exp_failed": {"en": "Export failed: {message}", "zh": "导出失败：{message}"},
    "exp_download_deploy": {"en": "Download the deployable ONNX", "zh": "下载可部署 ONNX"},
    "exp_download_simulated": {"en": "Download the simulated ONNX", "zh": "下载模拟 ONNX"},
    "exp_size": {"en": "{size}", "zh": "{size}"},
    "exp_sim_header": {
        "en": "Simulated model (float ops, quantized values)",
        "zh": "模拟模型（浮点算子，量化后的数值）",
    },
    "exp_sim_note": {
        "en": "Any scheme: weights replaced by their dequantized values, activations through Q/DQ nodes.",
        "zh": "支持任何方案：权重替换为反量化后的值，激活经过 Q/DQ 节点。",
    },
    "exp_files_header": {"en": "Config and tables", "zh": "配置与表格"},
    "exp_download_config": {"en": "Config JSON", "zh": "配置 JSON"},
    "exp_download_overrides": {"en": "onnxruntime overrides JSON", "zh": "onnxruntime 覆盖设置 JSON"},
    "exp_download_csv": {"en": "Per-layer CSV", "zh": "逐层 CSV"},
    "exp_files_note": {
        "en": "The config JSON is the input of `qviz quantize --config`; the overrides feed onnxruntime's "
        "quantize_static.",
        "zh": "配置 JSON 可用作 `qviz quantize --config` 的输入；覆盖设置用于 onnxruntime 的 quantize_static。",
    },
    "exp_report_header": {"en": "HTML report (self-contained, opens offline)", "zh": "HTML 报告（自包含，可离线打开）"},
    "exp_download_report": {"en": "Download the HTML report", "zh": "下载 HTML 报告"},
    "exp_snippet_header": {"en": "Run the exported model with onnxruntime", "zh": "用 onnxruntime 运行导出的模型"},
    # HTML report
    "rep_title": {"en": "qviz quantization report", "zh": "qviz 量化报告"},
    "rep_model": {"en": "Model", "zh": "模型"},
    "rep_config": {"en": "Config", "zh": "配置"},
    "rep_custom": {"en": "custom (see config.json below)", "zh": "自定义（见下方 config.json）"},
    "rep_layer": {"en": "Layer {layer}", "zh": "层 {layer}"},
    # --- Tune / Sensitivity / Trade-offs pages
    "tune_title": {"en": "Tune: per-layer quantization", "zh": "调优：逐层量化"},
    "tn_sel": {"en": "select", "zh": "选择"},
    "tn_w_bits": {"en": "weight bits", "zh": "权重位宽"},
    "tn_a_bits": {"en": "activation bits", "zh": "激活位宽"},
    "tn_a_estimator": {"en": "activation range", "zh": "激活范围估计"},
    "tn_bits_help": {"en": "0 = float (not quantized)", "zh": "0 = 浮点（不量化）"},
    "tn_preset": {"en": "Preset", "zh": "预设"},
    "tn_apply_preset": {"en": "Apply preset", "zh": "应用预设"},
    "tn_preset_custom": {"en": "custom config (no preset)", "zh": "自定义配置（非预设）"},
    "tn_bulk": {"en": "Bulk edit", "zh": "批量编辑"},
    "tn_target": {"en": "Apply to", "zh": "应用于"},
    "tn_target_selected": {"en": "selected rows", "zh": "选中的行"},
    "tn_target_op": {"en": "an op type", "zh": "某种算子"},
    "tn_target_pattern": {"en": "a name pattern", "zh": "名称模式"},
    "tn_pattern": {"en": "Layer name pattern", "zh": "层名称模式"},
    "tn_pattern_help": {
        "en": "Plain text matches anywhere in the name; * ? [ ] make it a glob (e.g. *block.3*).",
        "zh": "普通文本匹配名称中任意位置；含 * ? [ ] 时按通配符匹配（如 *block.3*）。",
    },
    "tn_targets": {"en": "{n} layer(s) match", "zh": "匹配 {n} 个层"},
    "tn_keep": {"en": "keep", "zh": "不变"},
    "tn_bulk_apply": {"en": "Apply to these layers", "zh": "应用到这些层"},
    "tn_accuracy": {"en": "Accuracy (change vs float)", "zh": "准确率（相对浮点的变化）"},
    "tn_agreement": {"en": "Agreement with float", "zh": "与浮点模型一致率"},
    "tn_sqnr": {"en": "Output SQNR", "zh": "输出 SQNR"},
    "tn_size": {"en": "Weight size", "zh": "权重大小"},
    "tn_bpw": {"en": "Bits per weight", "zh": "每权重位数"},
    "tn_eval_note": {
        "en": "Scored on {n} samples ({source}). Configs evaluated in this session: {count} (see Trade-offs).",
        "zh": "在 {n} 个样本（{source}）上评估。本次会话已评估的配置：{count} 个（见“权衡”页）。",
    },
    "tn_err_title": {
        "en": "Per-layer error: local (only this layer) and propagated (whole config)",
        "zh": "逐层误差：局部（仅此层量化）与传播（整个配置）",
    },
    "tn_local": {"en": "local", "zh": "局部"},
    "tn_propagated": {"en": "propagated", "zh": "传播"},
    "sensitivity_title": {"en": "Sensitivity and mixed precision", "zh": "敏感度与混合精度"},
    "sn_intro": {
        "en": "Quantize one layer at a time (the rest float) to find the fragile layers; then let the search "
        "pick bits per layer under a budget.",
        "zh": "每次只量化一层（其余保持浮点）以找出脆弱的层；再让搜索在预算内为每层选择位宽。",
    },
    "sn_sweep_header": {"en": "Sensitivity sweep", "zh": "敏感度扫描"},
    "sn_bits": {"en": "Bit widths", "zh": "位宽"},
    "sn_modes": {"en": "Quantize", "zh": "量化对象"},
    "sn_mode_weights": {"en": "weights", "zh": "权重"},
    "sn_mode_activations": {"en": "activations", "zh": "激活"},
    "sn_metric": {"en": "Damage metric", "zh": "损伤指标"},
    "sn_metric_accuracy": {"en": "accuracy drop", "zh": "准确率下降"},
    "sn_metric_agreement": {"en": "disagreement with float", "zh": "与浮点不一致率"},
    "sn_metric_kl": {"en": "KL divergence", "zh": "KL 散度"},
    "sn_metric_sqnr_db": {"en": "relative noise power", "zh": "相对噪声功率"},
    "sn_run": {"en": "Run the sweep", "zh": "运行扫描"},
    "sn_stop": {"en": "Stop", "zh": "停止"},
    "sn_resume": {"en": "Resume", "zh": "继续"},
    "sn_progress": {"en": "{done} / {total} layers", "zh": "{done} / {total} 层"},
    "sn_stopped": {"en": "Stopped after {done} of {total} layers.", "zh": "已在 {total} 层中的 {done} 层后停止。"},
    "sn_done": {"en": "Sweep done: {done} layers, {cells} cells.", "zh": "扫描完成：{done} 层，{cells} 个单元。"},
    "sn_no_match": {"en": "No layer matches this pattern.", "zh": "没有层匹配此模式。"},
    "sn_heat_title": {
        "en": "Damage per layer and candidate (bigger = worse)",
        "zh": "各层各候选方案的损伤（越大越差）",
    },
    "sn_candidate": {"en": "candidate", "zh": "候选"},
    "sn_layer": {"en": "layer", "zh": "层"},
    "sn_damage": {"en": "damage ({metric})", "zh": "损伤（{metric}）"},
    "sn_damage_note": {
        "en": "Each cell: only that layer quantized with that candidate (w = weights, a = activations), "
        "all others float; damage measured as {metric} against the float model.",
        "zh": "每个单元：只有该层按该候选方案量化（w = 权重，a = 激活），其余均为浮点；损伤以相对浮点模型的 {metric} 衡量。",
    },
    "sn_search_header": {"en": "Mixed-precision search", "zh": "混合精度搜索"},
    "sn_budget": {"en": "Budget", "zh": "预算"},
    "sn_budget_bpw": {"en": "bits per weight", "zh": "每权重位数"},
    "sn_budget_bytes": {"en": "weight bytes", "zh": "权重字节数"},
    "sn_budget_latency_ms": {"en": "latency (ms)", "zh": "延迟（毫秒）"},
    "sn_budget_value": {"en": "At most", "zh": "不超过"},
    "sn_keep_act": {"en": "uint8 activations", "zh": "uint8 激活"},
    "sn_keep_act_help": {
        "en": "Search on top of w8a8 (activations stay uint8); off: activations float.",
        "zh": "在 w8a8 基础上搜索（激活保持 uint8）；关闭则激活为浮点。",
    },
    "sn_search_run": {"en": "Run the search", "zh": "运行搜索"},
    "sn_no_fit": {"en": "No evaluated config fits this budget.", "zh": "没有满足此预算的已评估配置。"},
    "sn_evaluated": {"en": "Configs evaluated", "zh": "已评估配置数"},
    "sn_apply": {"en": "Apply this config", "zh": "应用此配置"},
    "sn_sensitivity": {"en": "sensitivity", "zh": "敏感度"},
    "sn_why": {"en": "why", "zh": "原因"},
    "sn_search_label": {"en": "search result", "zh": "搜索结果"},
    "tradeoffs_title": {"en": "Trade-offs: every config of this session", "zh": "权衡：本次会话的所有配置"},
    "to_title_fig": {
        "en": "Quality vs weight size (marker size = latency when measured)",
        "zh": "质量与权重大小（标记大小 = 已测延迟）",
    },
    "to_size_kib": {"en": "weight size (KiB)", "zh": "权重大小（KiB）"},
    "to_metric_accuracy": {"en": "accuracy", "zh": "准确率"},
    "to_metric_agreement": {"en": "agreement with float", "zh": "与浮点一致率"},
    "to_points": {"en": "configs", "zh": "配置"},
    "to_front": {"en": "Pareto front", "zh": "帕累托前沿"},
    "to_latency": {"en": "latency (ms)", "zh": "延迟（毫秒）"},
    "to_measure": {"en": "Measure latency", "zh": "测量延迟"},
    "to_measuring": {"en": "Measuring latency…", "zh": "正在测量延迟…"},
    "to_empty": {
        "en": "No config evaluated yet: change something on the Tune page.",
        "zh": "尚未评估任何配置：请在“调优”页修改设置。",
    },
    "to_note": {
        "en": "{n} configs, {front} on the Pareto front (no other is better in quality and smaller).",
        "zh": "{n} 个配置，其中 {front} 个在帕累托前沿上（没有其他配置质量更高且更小）。",
    },
    "to_pick": {"en": "Config (or click a point)", "zh": "配置（或点击一个点）"},
    "to_restore": {"en": "Restore this config", "zh": "恢复此配置"},
    "to_label": {"en": "config", "zh": "配置"},
    "to_diff_header": {"en": "Compare two configs", "zh": "比较两个配置"},
    "to_only_changed": {"en": "only changed layers", "zh": "仅显示有变化的层"},
    "to_diff_count": {"en": "{n} of {total} layers differ.", "zh": "{total} 层中有 {n} 层不同。"},
    "to_weights": {"en": "weights", "zh": "权重"},
    "to_activations": {"en": "activations", "zh": "激活"},
    "to_changed": {"en": "changed", "zh": "有变化"},
    # Learn page: integer-only inference walkthrough (qviz.lessons.integer_only) and exercises (qviz.lessons.exercises)
    "io_header": {"en": "Integer-only inference on a real layer", "zh": "真实层上的纯整数推理"},
    "io_intro": {
        "en": "A Gemm / MatMul layer of the loaded model, run the way an int8 runtime runs it: uint8 inputs, int8 "
        "weights, int32 accumulators, one fixed-point multiplier, uint8 outputs. Its input is the layer's real "
        "input on the calibration data, and the ranges come from the same data.",
        "zh": "已加载模型中的一个 Gemm / MatMul 层，按 int8 运行时的方式执行：uint8 输入、int8 权重、int32 累加器、"
        "一个定点乘数、uint8 输出。输入是该层在校准数据上的真实输入，范围也来自这些数据。",
    },
    "io_model": {"en": "Model: {name}", "zh": "模型：{name}"},
    "io_layer": {"en": "Layer (Gemm / MatMul)", "zh": "层（Gemm / MatMul）"},
    "io_no_layer": {
        "en": "This model has no plain Gemm / MatMul layer with a constant weight: pick a sample such as "
        "the digits MLP on the Model page.",
        "zh": "该模型没有带常量权重的普通 Gemm / MatMul 层：请在“模型”页选择一个示例，例如数字 MLP。",
    },
    "io_image": {"en": "Input row (calibration data)", "zh": "输入行（校准数据）"},
    "io_per_channel": {"en": "Per-channel weight scales", "zh": "逐通道权重缩放"},
    "io_step_input": {
        "en": "**1. Quantized input** x_q (uint8): scale s_x = {sx}, zero point z_x = {zx}. First values:",
        "zh": "**1. 量化输入** x_q（uint8）：缩放 s_x = {sx}，零点 z_x = {zx}。前几个值：",
    },
    "io_step_weights": {
        "en": "**2. Quantized weights** W_q (int8, zero point 0, {n} scale(s), codes in [-64, 64] as onnxruntime's "
        "reduce_range). First rows × columns:",
        "zh": "**2. 量化权重** W_q（int8，零点 0，{n} 个缩放，按 onnxruntime 的 reduce_range 取值在 [-64, 64]）。"
        "前几行 × 列：",
    },
    "io_step_acc": {
        "en": "**3. int32 accumulate** (the bias is pre-quantized to int32 with scale s_x·s_w):",
        "zh": "**3. int32 累加**（偏置预先以缩放 s_x·s_w 量化为 int32）：",
    },
    "io_step_m": {
        "en": "**4. Requantize**: the only real number left is M, written as an int32 M0 and a shift n:",
        "zh": "**4. 重新量化**：唯一剩下的实数是 M，写成 int32 的 M0 和移位 n：",
    },
    "io_step_out": {
        "en": "**5. Output** y_q = saturate(round(acc·M) + z_y), s_y = {sy}, z_y = {zy}; dequantized (y_q − z_y)·s_y "
        "next to the float layer output:",
        "zh": "**5. 输出** y_q = saturate(round(acc·M) + z_y)（saturate：饱和到 uint8 范围），s_y = {sy}，z_y = {zy}；"
        "反量化值 (y_q − z_y)·s_y "
        "与浮点层输出并列：",
    },
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no", "zh": "否"},
    "io_badge": {
        "en": "Bit-exact with onnxruntime QLinearMatMul: {yes} ({same}/{n} codes); with the bias, QLinearConv 1×1: "
        "{conv}/{n} codes",
        "zh": "与 onnxruntime QLinearMatMul 逐位一致：{yes}（{same}/{n} 个码）；含偏置的 1×1 QLinearConv："
        "{conv}/{n} 个码",
    },
    "io_fixed_note": {
        "en": "y_q above is onnxruntime's requantization (float32 M, round half to even). The pure fixed-point "
        "version (M0, shift, rounding half away from zero, as gemmlowp/TFLite) gives a different code on "
        "{diff} of {n} outputs (ties and float32 rounding of large accumulators).",
        "zh": "上面的 y_q 是 onnxruntime 的重新量化（float32 的 M，四舍六入五成双）。纯定点版本（M0、移位、"
        "远离零舍入，如 gemmlowp/TFLite）在 {n} 个输出中有 {diff} 个码不同（平局与大累加器的 float32 舍入）。",
    },
    "ex_header": {"en": "Predict, then reveal", "zh": "先预测，再揭晓"},
    "ex_pick": {"en": "Your prediction", "zh": "你的预测"},
    "ex_reveal": {"en": "Reveal", "zh": "揭晓"},
    "ex_right": {"en": "you were right", "zh": "你答对了"},
    "ex_wrong": {"en": "the nearest answer is {answer}", "zh": "最接近的答案是 {answer}"},
    "ex_result": {"en": "Computed: {value} — {verdict}.", "zh": "计算结果：{value} — {verdict}。"},
    "ex_bits_8_to_4_question": {
        "en": "Going from 8 to 4 bits on a normal tensor (4096 values, min-max range): how much SQNR is lost?",
        "zh": "把一个正态分布张量（4096 个值，最小-最大范围）从 8 位降到 4 位：SQNR 损失多少？",
    },
    "ex_bits_8_to_4_explain": {
        "en": "Each bit halves the step: about 6.02 dB per bit, so 4 bits ≈ 24 dB.",
        "zh": "每一位使步长减半：约每位 6.02 dB，所以 4 位 ≈ 24 dB。",
    },
    "ex_floor_vs_round_question": {
        "en": "Rounding down (floor) instead of to nearest, 8 bits: how many times larger is the MSE?",
        "zh": "8 位时用向下取整（floor）代替四舍五入：MSE 变大多少倍？",
    },
    "ex_floor_vs_round_explain": {
        "en": "Floor's error is uniform on [0, step): mean square step²/3, against step²/12 for rounding — 4×.",
        "zh": "向下取整的误差均匀分布在 [0, 步长)：均方为 步长²/3，而四舍五入为 步长²/12 — 4 倍。",
    },
    "ex_per_channel_dw_question": {
        "en": "The MobileNet sample's first depthwise conv, int8 symmetric: how much SQNR do per-channel scales gain "
        "over one per-tensor scale?",
        "zh": "MobileNet 示例的第一个深度卷积，int8 对称：逐通道缩放比单个逐张量缩放提高多少 SQNR？",
    },
    "ex_per_channel_dw_explain": {
        "en": "Depthwise filters have very different ranges; one shared scale wastes levels on the narrow ones.",
        "zh": "深度卷积的各个滤波器范围差别很大；共享一个缩放会让窄的滤波器浪费量化级。",
    },
    # which measure applied (qviz.evaluate.output_kind; the Tune page's line under the numbers)
    "tn_measure_classes": {
        "en": "Compared on output {name}: the class (argmax over axis {axis}){positions}; KL {kl}.",
        "zh": "比较输出 {name}：类别（沿第 {axis} 轴取 argmax）{positions}；KL {kl}。",
    },
    "tn_measure_ids": {
        "en": "Compared on output {name}: the class ids it returns{positions}; no KL.",
        "zh": "比较输出 {name}：其返回的类别编号{positions}；无 KL。",
    },
    "tn_measure_binary": {
        "en": "Compared on output {name}: yes/no (score > {threshold}){positions}; KL {kl}.",
        "zh": "比较输出 {name}：是/否（分数 > {threshold}）{positions}；KL {kl}。",
    },
    "tn_measure_values": {
        "en": "Output {name} has no class decision: SQNR and cosine only (agreement and KL do not apply).",
        "zh": "输出 {name} 没有类别判定：只有 SQNR 和余弦相似度（一致率和 KL 不适用）。",
    },
    "tn_measure_positions": {"en": " at each of {n} positions", "zh": "，逐一比较 {n} 个位置"},
    "tn_kl_probabilities": {"en": "on its probabilities as given", "zh": "直接基于其输出的概率"},
    "tn_kl_softmax": {"en": "after a softmax of the logits", "zh": "对 logits 做 softmax 之后"},
    "tn_kl_sigmoid": {"en": "after a sigmoid of the logit", "zh": "对 logit 做 sigmoid 之后"},
    "tn_cosine": {"en": "Output cosine similarity", "zh": "输出余弦相似度"},
    "to_metric_sqnr_db": {"en": "output SQNR (dB)", "zh": "输出 SQNR（dB）"},
    "mp_col_layer": {"en": "layer", "zh": "层"},
    "mp_col_stored_quant": {"en": "stored quantization", "zh": "模型中的量化"},
    "mp_prequantized": {
        "en": "qviz does not quantize an already-quantized layer again: configs leave these layers as they are. "
        "To try other bits on them, download the dequantized float model below (weights = the stored grid values, "
        "activation quantize/dequantize pairs removed) and load that.",
        "zh": "qviz 不会对已量化的层再次量化：配置对这些层不做改动。若想尝试其他位宽，请下载下方的反量化浮点模型"
        "（权重为模型中存储的量化网格值，去掉激活的量化/反量化对），再加载它。",
    },
    "mp_prequantized_layers": {"en": "Already-quantized layers", "zh": "已量化的层"},
    "mp_dequantized_download": {"en": "Download the dequantized float model", "zh": "下载反量化后的浮点模型"},
    "mp_dequantized_help": {
        "en": "The same as `qviz dequantize MODEL --out FLOAT.onnx` (QDQ models only).",
        "zh": "等同于 `qviz dequantize MODEL --out FLOAT.onnx`（仅支持 QDQ 模型）。",
    },
    "lp_stored": {"en": "Stored in the model: {quant}.", "zh": "模型中存储的量化：{quant}。"},
    "exp_simulation_only": {
        "en": "{n} note(s): the deployed model does not do everything the simulation does (the other layers "
        "deploy as configured):",
        "zh": "{n} 条说明：部署模型没有做到模拟中的全部内容（其他层按配置部署）：",
    },
    "exp_notes": {"en": "note", "zh": "说明"},
    "lp_in_subgraph": {
        "en": "This layer sits inside {graph} (an If branch or a Loop/Scan body).",
        "zh": "此层位于 {graph} 内（If 分支或 Loop/Scan 循环体）。",
    },
    # issue 15 items 1, 7, 10, 11, 13 (Model page card, Learn compare, Trade-offs): one block
    "mp_lesson": {"en": "What this sample teaches:", "zh": "这个示例要说明的："},
    "mp_params_help": {
        "en": "Weights and biases of the quantizable layers (the values qviz quantizes). "
        "Other constants in the graph (Clip bounds, normalization scales, shapes) hold {other} more values.",
        "zh": "可量化层的权重和偏置（qviz 量化的数值）。"
        "图中其他常量（Clip 上下界、归一化缩放、形状等）另有 {other} 个数值。",
    },
    "sample_title_digits_mlp": {"en": "Digits MLP", "zh": "手写数字 MLP"},
    "sample_title_digits_cnn": {"en": "Digits CNN (BatchNorm folded)", "zh": "手写数字 CNN（已折叠 BatchNorm）"},
    "sample_title_digits_mobilenet": {
        "en": "Digits MobileNetV2-style (depthwise, ReLU6)",
        "zh": "手写数字 MobileNetV2 风格（深度卷积，ReLU6）",
    },
    "sample_title_digits_transformer": {"en": "Digits tiny Transformer", "zh": "手写数字 微型 Transformer"},
    "sample_title_tabular_mlp": {"en": "Breast cancer tabular MLP", "zh": "乳腺癌表格数据 MLP"},
    "sample_title_digits_transformer_outliers": {
        "en": "Digits tiny Transformer with LLM-style outliers (planted)",
        "zh": "手写数字 微型 Transformer（植入大语言模型式离群值）",
    },
    "compare_header": {"en": "Side by side", "zh": "并排对比"},
    "compare_settings": {"en": "The example's settings", "zh": "例题的设置"},
    "compare_compare": {"en": "With one change", "zh": "只改一处"},
    "to_figure_title": {
        "en": "Quality vs weight size (colour = latency once measured)",
        "zh": "质量与权重大小（测量后颜色 = 延迟）",
    },
    "to_baseline": {"en": "fp32 (baseline)", "zh": "fp32（基线）"},
    "to_size": {"en": "weight size ({unit})", "zh": "权重大小（{unit}）"},
    "to_not_measured": {"en": "not measured", "zh": "未测量"},
    "to_latency_of": {"en": "latency of", "zh": "计时对象"},
    "to_timed_deployed_integer": {"en": "deployed model, integer kernels", "zh": "部署模型，整数内核"},
    "to_timed_deployed_float": {
        "en": "deployed model, float kernels (weights dequantized every run)",
        "zh": "部署模型，浮点内核（每次运行都反量化权重）",
    },
    "to_timed_deployed": {"en": "deployed model", "zh": "部署模型"},
    "to_timed_simulated": {"en": "simulated graph (fake-quant, float kernels)", "zh": "模拟图（伪量化，浮点内核）"},
    "to_timed_float": {"en": "float model", "zh": "浮点模型"},
    "to_front_faster": {"en": "on the front only because it is faster", "zh": "仅因更快而在前沿上"},
    "to_front_with_latency": {"en": "front (with latency)", "zh": "前沿（含延迟）"},
    "to_front_note": {
        "en": "The dotted line is the front of the two axes drawn (quality and size). Latency is the third "
        "measure (the colour): {n} more config(s) are on the front only because they are faster (open diamonds).",
        "zh": "虚线是图中两个坐标轴（质量与大小）上的前沿。延迟是第三个度量（颜色）：另有 {n} 个配置仅因更快而在前沿上"
        "（空心菱形）。",
    },
    "to_latency_note": {
        "en": "Latency: median of 20 runs on one thread of what onnxruntime would run — the deployed model when "
        "the config has a native form, else the simulated graph (column “latency of”). Only int8 weights with uint8 "
        "activations run integer kernels, faster than float. Weight-only configs (w8, 4-bit groups) deploy as "
        "integer weights behind a DequantizeLinear that runs on every inference before float kernels: slower than "
        "float. A config without a native form (e.g. 4-bit groups with uint8 activations) is timed as its "
        "simulated graph: float kernels plus a quantize/dequantize pair per weight and activation on every run, "
        "slower still. Neither predicts the speed of a real 4-bit kernel.",
        "zh": "延迟：onnxruntime 实际会运行的模型在单线程上 20 次运行的中位数——配置有原生形式时为部署模型，否则为模拟图"
        "（见“计时对象”一列）。只有 int8 权重加 uint8 激活会使用整数内核，比浮点快。仅量化权重的配置（w8、4 位分组）"
        "部署为整数权重加 DequantizeLinear，每次推理都先反量化再用浮点内核：比浮点慢。没有原生形式的配置"
        "（例如 4 位分组权重加 uint8 激活）按模拟图计时：浮点内核，外加每次运行时每个权重和激活的一对量化/反量化，"
        "更慢。两者都不能代表真正 4 位内核的速度。",
    },
    "to_name": {"en": "Name the current config", "zh": "为当前配置命名"},
    "to_name_placeholder": {"en": "e.g. small, int8 except the first layer", "zh": "例如：小模型，除第一层外 int8"},
    "to_name_btn": {"en": "Name it", "zh": "命名"},
    "fx_nearest_level": {"en": "nearest level", "zh": "最近的量化级"},
    "fx_code": {"en": "code", "zh": "编码"},
    "fx_symmetric_signed": {"en": "symmetric, signed", "zh": "对称，有符号"},
    "fx_symmetric_middle": {"en": "symmetric: middle code", "zh": "对称：取中间编码"},
    "io_layer_line": {"en": "{op} {shape} · {rows} input rows", "zh": "{op} {shape} · {rows} 行输入"},
    "src_sample": {"en": "sample {id} ({split})", "zh": "示例 {id}（{split}）"},
    "src_split_test": {"en": "test", "zh": "测试集"},
    "src_split_calibration": {"en": "calibration", "zh": "校准集"},
    "src_first": {"en": ", first {n}", "zh": "，前 {n} 个"},
    "src_generated": {"en": "generated inputs ({detail})", "zh": "生成的输入（{detail}）"},
    "exp_snippet_comment": {"en": "your inputs, shaped as the model expects", "zh": "你的输入，形状与模型要求一致"},
    # end of the issue 15 block
    # Tune: an already-quantized model, the per-layer error table (issue 17, Tune helper)
    "tn_all_prequantized": {
        "en": "Every layer of this model is already quantized, and qviz does not quantize a layer again: there is "
        "nothing to tune here. To try other bits, download its dequantized float model on the Model page "
        "(or `qviz dequantize MODEL --out FLOAT.onnx`) and load that.",
        "zh": "此模型的每一层都已量化，qviz 不会对已量化的层再次量化：这里没有可调的内容。若想尝试其他位宽，"
        "请在模型页下载它的反量化浮点模型（或运行 `qviz dequantize MODEL --out FLOAT.onnx`）并加载它。",
    },
    "tn_layer_errors": {"en": "Per-layer error (local and propagated)", "zh": "逐层误差（局部与传播）"},
    "tn_layer_errors_help": {
        "en": "Computes every layer's output error: about four passes of the model over the first 32 samples.",
        "zh": "计算每一层输出的误差：约为模型在前 32 个样本上运行四遍。",
    },
    "ok_title": {"en": "How outputs are compared", "zh": "输出的比较方式"},
    "ok_detected": {"en": "Detected:", "zh": "自动判断："},
    "ok_given": {"en": "Your choice:", "zh": "你的选择："},
    "ok_kind": {"en": "Compare outputs as", "zh": "输出按此比较"},
    "ok_help": {
        "en": "classes: the argmax over a class axis (agreement, KL); binary: a yes/no score per sample; "
        "values: SQNR and cosine only (detection heads, regression). Used by every page's evaluation, "
        "the same as the command line's --output-kind.",
        "zh": "类别：沿类别轴取 argmax（一致率、KL）；二分类：每个样本一个是/否分数；数值：只看 SQNR 和余弦"
        "（检测头、回归）。所有页面的评估都使用它，等同于命令行的 --output-kind。",
    },
    "ok_axis": {"en": "Class axis", "zh": "类别轴"},
    "ok_scale": {"en": "Scores are", "zh": "分数是"},
    "ok_auto": {"en": "auto", "zh": "自动"},
    "ok_classes": {"en": "classes", "zh": "类别"},
    "ok_binary": {"en": "binary (yes/no)", "zh": "二分类（是/否）"},
    "ok_values": {"en": "values", "zh": "数值"},
    "ok_logits": {"en": "logits", "zh": "logits"},
    "ok_probabilities": {"en": "probabilities", "zh": "概率"},
    # end of the Tune block
    # share links and link warnings (issue 12 item 5, issue 15 item 9: qviz/ui/share.py)
    "share_config_unreadable": {
        "en": "The shared configuration could not be read: {message}; showing the preset {preset}.",
        "zh": "无法读取分享链接中的配置：{message}；现显示预设 {preset}。",
    },
    "share_sample_unknown": {
        "en": "The link names a sample that does not exist ({sample}); showing the default. Available samples: {samples}.",
        "zh": "链接中的示例不存在（{sample}），现显示默认示例。可用的示例：{samples}。",
    },
    "share_title": {"en": "Share this view", "zh": "分享当前视图"},
    "share_help": {
        "en": "This link reopens this sample with this configuration: copy it with the button at the right of the box.",
        "zh": "此链接会以当前配置重新打开这个示例：用框右侧的按钮复制。",
    },
    "share_upload": {
        "en": "An uploaded model is never put in a link: share the .onnx file instead.",
        "zh": "上传的模型不会写入链接：请直接分享 .onnx 文件。",
    },
    # end of the share-link block
    # Export: integer kernels per layer, the deployed model checked against the simulation, speed,
    # the HTML report's accuracy/size/trade-offs (issue 11 check + speed, issue 15 item 12; Export helper)
    "exp_kernels_summary": {
        "en": "onnxruntime runs **{integer} of {total}** layers as integer kernels; {fallback} fall back to float "
        "with integer weights, {float} stay float.",
        "zh": "onnxruntime 以整数内核运行 **{total} 层中的 {integer} 层**；{fallback} 层带整数权重回退到浮点，{float} 层保持浮点。",
    },
    "exp_kernel_col_layer": {"en": "layer", "zh": "层"},
    "exp_kernel_col_kernel": {"en": "kernel", "zh": "内核"},
    "exp_kernel_col_why": {"en": "why", "zh": "原因"},
    "exp_kernel_integer": {"en": "integer", "zh": "整数"},
    "exp_kernel_fallback": {"en": "float fallback", "zh": "浮点回退"},
    "exp_kernel_float": {"en": "float", "zh": "浮点"},
    "exp_kernel_fallback_why": {
        "en": "onnxruntime has no integer kernel for this form: it dequantizes the weights and runs the op in float",
        "zh": "onnxruntime 没有此形式的整数内核：它先反量化权重，再以浮点运行该算子",
    },
    "exp_kernel_float_why": {"en": "not quantized by the config", "zh": "配置未量化此层"},
    "exp_check_header": {"en": "Deployed model vs simulation", "zh": "部署模型与模拟对比"},
    "lp_check_header": {"en": "This layer in the deployed model", "zh": "部署模型中的本层"},
    "lp_check_none": {
        "en": "The deployed model quantizes none of this layer's tensors (its input, weight, output).",
        "zh": "部署模型不量化本层的任何张量（输入、权重、输出）。",
    },
    "exp_check_not_deployable": {
        "en": "The check needs a deployable config (see the problems above).",
        "zh": "对比需要可部署的配置（见上方问题）。",
    },
    "exp_check_help": {
        "en": "Runs the deployed model and the simulated model on the first {n} test samples and compares every "
        "tensor the deployed model quantizes, in quantization steps; then profiles int8 against fp32.",
        "zh": "在前 {n} 个测试样本上运行部署模型与模拟模型，以量化步长为单位比较部署模型量化的每个张量；再对比 int8 与 fp32 的速度。",
    },
    "exp_check_button": {
        "en": "Check the deployed model against the simulation",
        "zh": "对比部署模型与模拟",
    },
    "exp_check_summary": {
        "en": "**{passed} of {total}** quantized tensors match the simulation within one quantization step ({n} samples).",
        "zh": "**{total} 个量化张量中有 {passed} 个**与模拟相差不超过一个量化步长（{n} 个样本）。",
    },
    "exp_check_causes": {
        "en": "Where the differences start (tensors failing for that reason): {causes}",
        "zh": "差异从何而来（因该原因不通过的张量数）：{causes}",
    },
    "exp_check_col_tensor": {"en": "tensor", "zh": "张量"},
    "exp_check_col_kind": {"en": "kind", "zh": "类别"},
    "exp_check_col_result": {"en": "result", "zh": "结果"},
    "exp_check_col_steps": {"en": "max difference (steps)", "zh": "最大差异（步长）"},
    "exp_check_col_over": {"en": "elements > 1 step", "zh": "超过 1 步长的元素"},
    "exp_check_col_reason": {"en": "reason", "zh": "原因"},
    "exp_check_pass": {"en": "pass", "zh": "通过"},
    "exp_check_fail": {"en": "FAIL", "zh": "不通过"},
    "exp_check_col_model": {"en": "model", "zh": "模型"},
    "exp_check_simulated": {"en": "simulated", "zh": "模拟"},
    "exp_check_deployed": {"en": "deployed", "zh": "部署"},
    "exp_check_col_accuracy": {"en": "accuracy", "zh": "准确率"},
    "exp_check_col_agreement": {"en": "agreement with float", "zh": "与浮点一致率"},
    "exp_check_col_sqnr": {"en": "output SQNR (dB)", "zh": "输出 SQNR（dB）"},
    "exp_speed_header": {"en": "Speed: int8 against fp32, op by op", "zh": "速度：int8 与 fp32 逐算子对比"},
    "exp_speed_ratio": {
        "en": "One batch, one thread: int8 {int8} ms, fp32 {fp32} ms — int8 runs at **{ratio}×** the fp32 speed.",
        "zh": "一个批次、单线程：int8 {int8} ms，fp32 {fp32} ms —— int8 速度为 fp32 的 **{ratio}×**。",
    },
    "exp_speed_qdq": {
        "en": "QuantizeLinear/DequantizeLinear nodes left unfused: {n} ({ms} ms).",
        "zh": "未融合的 QuantizeLinear/DequantizeLinear 节点：{n} 个（{ms} ms）。",
    },
    "exp_speed_col_op": {"en": "op type", "zh": "算子类型"},
    "exp_speed_recommend": {"en": "Recommended settings for this CPU:", "zh": "此 CPU 的推荐设置："},
    "rep_accuracy": {"en": "Accuracy (float → quantized)", "zh": "准确率（浮点 → 量化）"},
    "rep_agreement": {"en": "Agreement with float", "zh": "与浮点一致率"},
    "rep_sqnr": {"en": "Output SQNR", "zh": "输出 SQNR"},
    "rep_weight_size": {"en": "Weight size", "zh": "权重大小"},
    "rep_tradeoffs": {"en": "Trade-offs: evaluated configs", "zh": "权衡：已评估的配置"},
    "rep_col_config": {"en": "config", "zh": "配置"},
    "rep_col_accuracy": {"en": "accuracy", "zh": "准确率"},
    "rep_col_agreement": {"en": "agreement", "zh": "一致率"},
    "rep_col_sqnr": {"en": "SQNR (dB)", "zh": "SQNR（dB）"},
    "rep_col_size": {"en": "weight size", "zh": "权重大小"},
    "rep_col_bpw": {"en": "bits per weight", "zh": "每权重位数"},
    "rep_col_latency": {"en": "latency (ms)", "zh": "延迟（ms）"},
    # end of the Export block
    # Sensitivity page: simulation-only candidates (search and sweep propose only what deploys)
    "sn_sim_only": {"en": "Simulation-only candidates", "zh": "仅模拟的候选"},
    "sn_sim_only_help": {
        "en": "Also try bit widths onnxruntime cannot deploy (6-, 3-, 2-bit weights, 4-bit activations): "
        "their numbers are simulated only, and the result names those layers.",
        "zh": "也尝试 onnxruntime 无法部署的位宽（6、3、2 位权重，4 位激活）：其数值仅为模拟，结果会列出这些层。",
    },
    "sn_sim_only_col": {"en": "simulation only (why)", "zh": "仅模拟（原因）"},
    "sn_not_searched": {
        "en": "Not searched (no deployable form): {why}. Tick “Simulation-only candidates” to try them.",
        "zh": "未搜索（无可部署形式）：{why}。勾选“仅模拟的候选”即可尝试。",
    },
    # Upload queue (issue 12, fair workers: qviz.ui.upload)
    "up_queue_place": {
        "en": "Waiting for a free worker to check your upload: number {k} in the queue.",
        "zh": "正在等待空闲的工作进程检查你上传的文件：你在队列中排第 {k} 位。",
    },
}

# The zh terms for the ideas the lessons contrast, reviewed as a set (issue 15). A term with an
# English pattern is checked both ways by tests/ui/test_i18n_glossary.py: every zh string whose
# English matches uses the term, and the term appears nowhere else (clipping and truncation are
# the lesson "Rounding vs truncation vs clipping": one word for both would teach nothing).
# (term, English forms, 中文, where used, English pattern or None)
GLOSSARY: tuple[tuple[str, str, str, str, str | None], ...] = (
    (
        "clipping",
        "clip, clipped, clipping error, clipping threshold (values outside [lo, hi] set to the bound)",
        "裁剪",
        "Learn metrics, error split and histogram; Layer histograms; worked examples; sample lessons",
        r"(?i)\bclip(?!\s+bounds)",
    ),
    (
        "truncation",
        "truncate toward zero, truncation (a rounding mode: drop the fraction)",
        "截断",
        "Learn rounding selector, worked example 'Rounding vs truncation'",
        r"(?i)\btrunc",
    ),
    (
        "saturation",
        "saturate (an integer result held at q_min / q_max instead of wrapping)",
        "饱和",
        "Learn integer-only walkthrough",
        r"(?i)\bsaturat",
    ),
    (
        "crop",
        "center crop (image preprocessing)",
        "裁切",
        "Model page: image data options",
        r"(?i)\bcrop|\bcut the cent",
    ),
    ("rounding", "round, rounding error", "舍入", "Learn, Layer, formulas", None),
    ("quantization level", "level, nearest level", "量化级", "Learn histogram and formulas", None),
    ("code", "integer code q", "编码", "Learn formulas and code table, Layer", None),
    ("scale", "scale s", "缩放因子", "Learn, Layer, Tune", None),
    ("zero point", "zero point z", "零点", "Learn, Layer", None),
    ("per-channel / per-tensor", "per-channel, per-tensor", "逐通道 / 逐张量", "presets, Layer, Tune, lessons", None),
)


def translate(key: str, lang: str = DEFAULT_LANGUAGE, **fmt) -> str:
    """TEXT[key][lang] with str.format(**fmt); unknown language falls back to English."""
    entry = TEXT.get(key)
    if entry is None:
        return MISSING.format(key=key)
    text = entry.get(lang, entry[DEFAULT_LANGUAGE])
    return text.format(**fmt) if fmt else text
