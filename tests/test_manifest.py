import json
from pathlib import Path

import pytest

from build_tools.errors import BuildError
from build_tools.manifest import read_manifest, sha256_file, verify_manifest, write_manifest


def make_folder(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.bin").write_bytes(b"\x00\x01\x02")
    (tmp_path / "sub" / "b.txt").write_text("hello")
    write_manifest(tmp_path, "test", {"note": "x"})
    return tmp_path


def test_manifest_lists_every_file_with_size_and_sha256(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    doc = read_manifest(folder)
    assert doc["kind"] == "test"
    assert doc["note"] == "x"
    assert doc["files"] == [
        {"path": "a.bin", "size": 3, "sha256": sha256_file(folder / "a.bin")},
        {"path": "sub/b.txt", "size": 5, "sha256": sha256_file(folder / "sub" / "b.txt")},
    ]
    assert [e.path for e in verify_manifest(folder)] == ["a.bin", "sub/b.txt"]


def test_a_changed_byte_is_refused(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    (folder / "a.bin").write_bytes(b"\x00\x01\x03")
    with pytest.raises(BuildError, match=r"a.bin .* does not match its manifest"):
        verify_manifest(folder)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    (folder / "sub" / "b.txt").unlink()
    with pytest.raises(BuildError, match=r"sub/b.txt is listed in the manifest .* but missing"):
        verify_manifest(folder)


def test_bad_manifests_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="no manifest"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(BuildError, match="not valid JSON"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(BuildError, match="unsupported format"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 1, "files": "nope"}))
    with pytest.raises(BuildError, match="no file list"):
        verify_manifest(tmp_path)
