"""Text as model inputs: a tokenizer.json built here (WordLevel), exact ids/masks, truncation that keeps the
special tokens, labels from a CSV, feeding inputs by name, errors, and the CLI end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qviz.model.load.data_files import read_data_path
from qviz.model.load.loader import TensorInfo
from qviz.model.load.text_data import read_text
from qviz.quant import SpecError
from qviz_dev.cli_helpers import assert_one_error_line, run_cli
from qviz_dev.data_factory import TEXT_INPUTS, VOCAB, text_model, tokenizer_json


def infos(seq="L", names=TEXT_INPUTS, dtype="int64") -> tuple[TensorInfo, ...]:
    return tuple(TensorInfo(n, dtype, ("N", seq)) for n in names)


def ids(*words: str) -> list[int]:
    return [VOCAB.get(w, VOCAB["[UNK]"]) for w in words]


def test_txt_lines_become_exact_ids_masks_and_types():
    text = read_text(b"good movie\n\n  \nvery bad plot\r\n", "a.txt", tokenizer_json(), infos(6))
    x = text.data.x
    assert x["input_ids"].tolist() == [
        ids("[CLS]", "good", "movie", "[SEP]", "[PAD]", "[PAD]"),
        ids("[CLS]", "very", "bad", "plot", "[SEP]", "[PAD]"),
    ]
    assert x["attention_mask"].tolist() == [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0]]
    assert x["token_type_ids"].tolist() == [[0] * 6] * 2
    assert text.data.y is None and text.data.rows == 2 and all(a.dtype == np.int64 for a in x.values())


def test_truncation_keeps_the_special_tokens_and_is_counted():
    text = read_text(b"the very good very good movie plot\ngood\n", "a.txt", tokenizer_json(), infos(5))
    assert text.data.x["input_ids"][0].tolist() == ids("[CLS]", "the", "very", "good", "[SEP]")
    assert text.truncated == 1 and "(1 truncated)" in text.note()


def test_dynamic_length_is_the_longest_or_given_and_padding_side_is_the_tokenizers():
    text = read_text(b"good\nvery good movie\n", "a.txt", tokenizer_json(), infos("L"))
    assert text.seq_len == 5 and text.data.x["input_ids"].shape == (2, 5)
    text = read_text(b"good\n", "a.txt", tokenizer_json(padding_left=True), infos("L"), seq_len=4)
    assert text.data.x["input_ids"].tolist() == [ids("[PAD]", "[CLS]", "good", "[SEP]")]
    assert text.data.x["attention_mask"].tolist() == [[0, 1, 1, 1]]


def test_csv_labels_by_name_number_or_class_list():
    csv = b'text,label\ngood movie,pos\n"bad, very bad",neg\nthe plot,pos\n'
    text = read_text(csv, "r.csv", tokenizer_json(), infos(8))
    assert text.data.y.tolist() == [1, 0, 1] and text.classes == ("neg", "pos")
    assert text.data.x["input_ids"][1].tolist()[:6] == ids(
        "[CLS]", "bad", "[UNK]", "very", "bad", "[SEP]"
    )  # "," -> UNK
    text = read_text(csv, "r.csv", tokenizer_json(), infos(8), classes=("pos", "neg"))
    assert text.data.y.tolist() == [0, 1, 0]
    text = read_text(b"good,3\nbad,-1\n", "r.csv", tokenizer_json(), infos(8))
    assert text.data.y.tolist() == [3, -1] and text.classes == ()


def test_one_input_model_gets_the_ids_and_int32_is_kept():
    text = read_text(b"good\n", "a.txt", tokenizer_json(), (TensorInfo("tokens_in", "int32", (1, 4)),))
    assert text.data.x.dtype == np.int32 and text.data.x.tolist() == [ids("[CLS]", "good", "[SEP]", "[PAD]")]


@pytest.mark.parametrize(
    "data, name, inputs, message",
    [
        (b"good\n", "a.txt", infos(4, ("input_ids", "pixel_values")), "cannot tell what to feed input 'pixel_values'"),
        (b"good\n", "a.txt", (TensorInfo("input_ids", "int64", ("N", 4, 2)),), "text feeds 2-D inputs"),
        (b"good\n", "a.txt", infos(4, ("attention_mask", "token_type_ids")), "exactly one token-id input"),
        (b"\xff\xfe\x00bad", "a.txt", infos(4), "not UTF-8"),
        (b"\n \n", "a.txt", infos(4), "no examples"),
        (b"a,1,2\n", "a.csv", infos(4), "every row must be text or text,label"),
        (b"good,pos\nbad,neg\n", "a.csv", infos(4), "not in the class list"),
        (
            b"good\n",
            "a.txt",
            (TensorInfo("input_ids", "int64", ("N", 4)), TensorInfo("mask", "int64", ("N", 6))),
            "different sequence lengths",
        ),
    ],
    ids=[
        "unknown-input",
        "3-d",
        "no-ids",
        "not-utf8",
        "empty",
        "three-columns",
        "label-not-in-classes",
        "lengths-differ",
    ],
)
def test_bad_text_is_a_spec_error(data, name, inputs, message):
    classes = ("pos",) if "class list" in message else None
    with pytest.raises(SpecError, match=message):
        read_text(data, name, tokenizer_json(), inputs, classes)


@pytest.mark.security
@pytest.mark.parametrize("tok", [b"", b"{}", b'{"model": {"type": "WordLevel"}}', b"\xff" * 10, b"[" * 100_000])
def test_a_bad_tokenizer_json_is_a_spec_error(tok):
    with pytest.raises(SpecError, match=r"not a tokenizer\.json the tokenizers library reads"):
        read_text(b"good\n", "a.txt", tok, infos(4))


@pytest.mark.security
def test_sizes_are_capped(monkeypatch):
    from qviz.model.load import text_data

    monkeypatch.setattr(text_data, "MAX_EXAMPLES", 2)
    with pytest.raises(SpecError, match="3 examples; the limit is 2"):
        read_text(b"a\nb\nc\n", "a.txt", tokenizer_json(), infos(4))
    monkeypatch.setattr(text_data, "MAX_TENSOR_BYTES", 100)
    with pytest.raises(SpecError, match="use fewer examples or a shorter sequence"):
        read_text(b"a\nb\n", "a.txt", tokenizer_json(), infos(4))
    with pytest.raises(SpecError, match=r"sequence length 100000; it must be 1\.\.8192"):
        read_text(b"a\n", "a.txt", tokenizer_json(), infos("L"), seq_len=100_000)


def test_cli_evaluate_a_csv_with_a_tokenizer_end_to_end(capsys, tmp_path):
    (tmp_path / "m.onnx").write_bytes(text_model())
    (tmp_path / "tokenizer.json").write_bytes(tokenizer_json())
    (tmp_path / "r.csv").write_text("good movie,pos\nbad plot,neg\nvery good,pos\nthe bad movie,neg\n")
    argv = ["evaluate", tmp_path / "m.onnx", "--data", tmp_path / "r.csv", "--tokenizer", tmp_path / "tokenizer.json"]
    code, out, err = run_cli(capsys, *argv, "--calib", tmp_path / "r.csv", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["n"] == 4 and doc["float_accuracy"] == 1.0
    assert "4 texts, 6 tokens each (0 truncated), classes neg=0, pos=1" in err
    data = read_data_path(tmp_path / "r.csv", infos(6), tokenizer=tmp_path / "tokenizer.json").data
    assert data.y.tolist() == [1, 0, 1, 0]


@pytest.mark.parametrize(
    "extra, fragment",
    [
        ([], "text needs the model's tokenizer"),
        (["--tokenizer", "missing.json"], "missing.json"),
        (["--tokenizer", "TOK", "--preprocess", "unit"], "--preprocess applies to image data"),
    ],
    ids=["no-tokenizer", "missing-tokenizer", "preprocess-for-text"],
)
def test_cli_text_errors_are_one_line(capsys, tmp_path, extra, fragment):
    (tmp_path / "m.onnx").write_bytes(text_model())
    (tmp_path / "tokenizer.json").write_bytes(tokenizer_json())
    (tmp_path / "r.txt").write_text("good movie\n")
    extra = [str(tmp_path / "tokenizer.json") if e == "TOK" else e for e in extra]
    assert_one_error_line(
        run_cli(capsys, "evaluate", tmp_path / "m.onnx", "--data", tmp_path / "r.txt", *extra), fragment
    )
