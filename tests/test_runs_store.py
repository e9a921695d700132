"""Run directories: identity checks, the checked tail of append-only records, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mta_probe.errors import BadInputError, RunMismatchError
from mta_probe.runs import cut_records, open_records, prepare_run_dir, read_json, read_records, write_json_atomic


def test_a_new_directory_is_created_and_the_same_identity_resumes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert prepare_run_dir(out, {"model": "m", "n": 4}) is False
    assert prepare_run_dir(out, {"model": "m", "n": 4}) is True


def test_another_identity_is_refused_and_nothing_is_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "run"
    prepare_run_dir(out, {"model": "m", "task": "a"})
    before = (out / "run.json").read_bytes()
    with pytest.raises(RunMismatchError, match="task='a'"):
        prepare_run_dir(out, {"model": "m", "task": "b"})
    assert (out / "run.json").read_bytes() == before


def test_an_unwritable_directory_is_bad_input(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(BadInputError, match="cannot write"):
        prepare_run_dir(blocker / "run", {"model": "m"})


@pytest.mark.parametrize("tail", [
    b'{"problem_id": "p", "sample_in',          # cut mid-record
    b'{"problem_id": "p", "sample_index": 9',   # cut before the closing brace
    b'\xe2\x82',                                 # cut inside a UTF-8 character
])
def test_a_partial_last_line_is_cut_before_appending(tmp_path: Path, tail: bytes) -> None:
    path = tmp_path / "samples.jsonl"
    whole = [{"problem_id": "p", "sample_index": i} for i in range(3)]
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in whole) + tail)
    records, writer = open_records(path)
    with writer:
        writer.append([{"problem_id": "p", "sample_index": 3}])
    assert records == whole
    assert list(read_records(path)) == whole + [{"problem_id": "p", "sample_index": 3}]
    assert path.read_bytes().endswith(b"\n")


def test_a_newline_terminated_but_garbled_last_line_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "samples.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": \n')
    records, writer = open_records(path)
    writer.close()
    assert records == [{"a": 1}]
    assert path.read_bytes() == b'{"a": 1}\n'


def test_atomic_json_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "passk.json"
    write_json_atomic(path, {"x": 1})
    write_json_atomic(path, {"x": 2})
    assert json.loads(path.read_text()) == {"x": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["passk.json"]


def test_the_tail_is_found_in_a_file_larger_than_one_read_block(tmp_path: Path) -> None:
    path = tmp_path / "samples.jsonl"
    whole = [{"problem_id": "p", "sample_index": i, "completion": "x" * 5000} for i in range(40)]
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in whole) + b'{"problem_id": "p", "sam')
    records, writer = open_records(path)
    writer.close()
    assert records == whole and path.read_bytes().endswith(b"}\n")


def test_a_cut_multibyte_character_in_the_last_line_stops_reading_quietly(tmp_path: Path) -> None:
    path = tmp_path / "samples.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": "\xe2\x82')
    assert list(read_records(path)) == [{"a": 1}]


def test_a_result_file_reads_back_and_a_missing_one_says_what_to_do(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "passk.json", {"n": 8, "pass_at_k": {"1": 0.25}})
    assert read_json(tmp_path / "passk.json", "unused") == {"n": 8, "pass_at_k": {"1": 0.25}}
    with pytest.raises(BadInputError, match=r"kl\.json does not exist: run mta probe kl first$"):
        read_json(tmp_path / "kl.json", "run mta probe kl first")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(BadInputError, match=r"cannot read .*broken\.json"):
        read_json(tmp_path / "broken.json", "unused")


def test_cut_records_keeps_the_prefix_before_the_first_refused_or_broken_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    assert cut_records(path, lambda r: True) == 0 and not path.exists()
    lines = [json.dumps({"step": s}) + "\n" for s in (1, 2, 3, 4)]
    path.write_text("".join(lines) + '{"step": 5')  # a resumed run after a kill mid-line
    assert cut_records(path, lambda r: r["step"] <= 9) == 4
    assert path.read_text() == "".join(lines)  # the cut line is gone, the rest untouched
    assert cut_records(path, lambda r: r["step"] <= 2) == 2
    assert path.read_text() == "".join(lines[:2])
    path.write_text("".join(lines[:2]) + '{"epoch": 3}\n' + lines[3])
    assert cut_records(path, lambda r: r["step"] <= 9) == 2  # a record without the key ends the prefix
    assert path.read_text() == "".join(lines[:2])
