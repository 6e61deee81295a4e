"""A release's identity and the in-place edits of a stack file's release section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from promotion_support import DEV, PROD, STAGING

from llmops.release.errors import StackFileError
from llmops.release.identity import Release, canonical_json, fingerprint, secret_paths
from llmops.release.results import read_result, result_path, write_result
from llmops.release.stackfile import (
    HEADER_PREFIX,
    parse_stack_file,
    read_stack_file,
    scalar,
    with_release,
    with_value,
    write_atomically,
)


def stack(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- identity


def test_fingerprint_is_the_sha256_of_the_canonical_json() -> None:
    release = {"modelId": "m", "image": "i@sha256:1", "chart": {"b": 2, "a": [1, "x"]}}
    assert canonical_json(release) == '{"chart":{"a":[1,"x"],"b":2},"image":"i@sha256:1","modelId":"m"}'
    import hashlib

    assert fingerprint(release) == hashlib.sha256(canonical_json(release).encode()).hexdigest()


def test_fingerprint_ignores_key_order_and_layout_but_not_values_or_new_keys() -> None:
    a = yaml.safe_load("modelId: m  # comment\nimage: i\n")
    b = yaml.safe_load("{image: 'i', modelId: \"m\"}")
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint({**a, "image": "j"})
    assert fingerprint(a) != fingerprint({**a, "rayVersion": "2.40.0"})
    assert fingerprint({"n": 1}) != fingerprint({"n": "1"})
    assert Release("dev", a).short == fingerprint(a)[:12]


def test_secret_values_are_found_wherever_they_are() -> None:
    release = {"image": "i", "upstream": {"apiKey": {"secure": "v1:abc"}}, "list": [{"secure": "x"}]}
    assert secret_paths(release) == ["release.upstream.apiKey", "release.list[0]"]
    assert secret_paths({"image": "i"}) == []


# --------------------------------------------------------------------------- copying a release


def test_replacing_a_release_changes_only_the_release_block(tmp_path: Path) -> None:
    source = read_stack_file(stack(tmp_path, "dev", DEV))
    target = read_stack_file(stack(tmp_path, "staging", STAGING))
    new = with_release(target, source, ["release abc from dev, 2025-06-02"])
    old_lines, new_lines = STAGING.splitlines(), new.splitlines()
    start = old_lines.index("    release:")
    end = old_lines.index("  llmops:budget:")
    # everything before the block (the comment above it included) and after it is untouched
    assert new_lines[:start] == old_lines[:start]
    assert new_lines[-(len(old_lines) - end):] == old_lines[end:]
    assert new_lines[start : start + 2] == [
        f"    {HEADER_PREFIX} release abc from dev, 2025-06-02",
        "    release:",
    ]
    # the source's block, comments and quoting included, re-indented where it lands
    assert "      # The candidate: a new revision of the same model." in new_lines
    assert '      modelRevision: "a09a35458c702b33eeacc393d103063234e8bc28"  # pinned commit' in new_lines
    assert yaml.safe_load(new)["config"]["llmops:serving"] == {
        "enabled": True,
        "release": yaml.safe_load(DEV)["config"]["llmops:serving"]["release"],
    }
    assert new.endswith("\n")


def test_a_release_is_added_when_the_target_has_none(tmp_path: Path) -> None:
    source = read_stack_file(stack(tmp_path, "dev", DEV))
    target = read_stack_file(stack(tmp_path, "prod", PROD))
    new = with_release(target, source, ["release abc from staging, 2025-06-02"])
    assert new.startswith(PROD)  # appended at the end of the config block
    added = new[len(PROD) :].splitlines()
    assert added[:3] == ["  llmops:serving:", f"    {HEADER_PREFIX} release abc from staging, 2025-06-02", "    release:"]
    assert yaml.safe_load(new)["config"]["llmops:serving"]["release"] == source.release


def test_a_second_promotion_replaces_the_previous_record(tmp_path: Path) -> None:
    source = read_stack_file(stack(tmp_path, "dev", DEV))
    path = stack(tmp_path, "staging", STAGING)
    path.write_text(with_release(read_stack_file(path), source, ["first", "forced past the order: hotfix"]))
    again = with_release(read_stack_file(path), source, ["second"])
    records = [line.strip() for line in again.splitlines() if HEADER_PREFIX in line]
    assert records == [f"{HEADER_PREFIX} second"]


def test_a_release_is_added_under_an_existing_serving_section(tmp_path: Path) -> None:
    text = PROD.replace("  llmops:budget:", "  llmops:serving:\n    enabled: true  # keep\n  llmops:budget:")
    target = parse_stack_file(tmp_path / "Pulumi.prod.yaml", text)
    source = read_stack_file(stack(tmp_path, "dev", DEV))
    new = with_release(target, source)
    assert "    enabled: true  # keep\n    release:\n      # The candidate" in new
    assert yaml.safe_load(new)["config"]["llmops:serving"]["enabled"] is True


def test_a_flow_style_serving_section_is_refused_rather_than_rewritten(tmp_path: Path) -> None:
    text = PROD.replace("  llmops:budget:", "  llmops:serving: {enabled: true}\n  llmops:budget:")
    target = parse_stack_file(tmp_path / "Pulumi.prod.yaml", text)
    source = read_stack_file(stack(tmp_path, "dev", DEV))
    with pytest.raises(StackFileError, match=r"llmops:serving is written in flow style .* nothing was written"):
        with_release(target, source)


def test_a_source_without_a_release_is_refused(tmp_path: Path) -> None:
    source = read_stack_file(stack(tmp_path, "prod", PROD))
    target = read_stack_file(stack(tmp_path, "staging", STAGING))
    with pytest.raises(StackFileError, match=r"pins no release \(llmops:serving.release is absent\)"):
        with_release(target, source)


def test_a_non_mapping_release_is_reported_with_its_path(tmp_path: Path) -> None:
    path = stack(tmp_path, "dev", DEV.replace("    release:\n", "    release: v1\n    old:\n"))
    with pytest.raises(StackFileError, match=r"llmops:serving.release must be a mapping"):
        _ = read_stack_file(path).release


def test_a_file_that_is_not_a_stack_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StackFileError, match="no 'config:' mapping"):
        read_stack_file(stack(tmp_path, "x", "name: project\n"))
    with pytest.raises(StackFileError, match="not valid YAML"):
        read_stack_file(stack(tmp_path, "y", "config: [\n"))


# --------------------------------------------------------------------------- setting one value


def test_setting_a_value_rewrites_only_its_line_and_keeps_its_comment(tmp_path: Path) -> None:
    target = read_stack_file(stack(tmp_path, "dev", DEV))
    new = with_value(target, "modelRevision", "0123456789abcdef0123456789abcdef01234567")
    changed = [(a, b) for a, b in zip(DEV.splitlines(), new.splitlines(), strict=True) if a != b]
    assert changed == [
        (
            '      modelRevision: "a09a35458c702b33eeacc393d103063234e8bc28"  # pinned commit',
            "      modelRevision: 0123456789abcdef0123456789abcdef01234567  # pinned commit",
        )
    ]


def test_a_value_that_would_read_back_as_a_number_is_quoted(tmp_path: Path) -> None:
    target = read_stack_file(stack(tmp_path, "dev", DEV))
    new = with_value(target, "modelRevision", "0123456")
    assert '      modelRevision: "0123456"  # pinned commit' in new.splitlines()
    assert yaml.safe_load(new)["config"]["llmops:serving"]["release"]["modelRevision"] == "0123456"
    assert scalar("1e3") == '"1e3"' and scalar("yes") == '"yes"' and scalar("repo/img@sha256:ab") == "repo/img@sha256:ab"


def test_new_and_nested_keys_are_appended_to_the_release(tmp_path: Path) -> None:
    target = read_stack_file(stack(tmp_path, "staging", STAGING))
    new = with_value(target, "chartVersions.kuberay", "1.3.2")
    release = yaml.safe_load(new)["config"]["llmops:serving"]["release"]
    assert release["chartVersions"] == {"kuberay": "1.3.2"}
    assert "      chartVersions:\n        kuberay: 1.3.2\n  llmops:budget:" in new


def test_setting_a_value_in_a_stack_without_a_release_creates_one(tmp_path: Path) -> None:
    target = read_stack_file(stack(tmp_path, "prod", PROD))
    new = with_value(target, "image", "registry.example.com/serving@sha256:" + "a" * 64)
    assert new.startswith(PROD)
    assert yaml.safe_load(new)["config"]["llmops:serving"] == {"release": {"image": "registry.example.com/serving@sha256:" + "a" * 64}}


def test_a_multi_line_value_is_not_edited_in_place(tmp_path: Path) -> None:
    text = DEV.replace("      image: 123456789012", "      notes: |\n        line one\n        line two\n      image: 123456789012")
    target = parse_stack_file(tmp_path / "Pulumi.dev.yaml", text)
    with pytest.raises(StackFileError, match="spans several lines; edit it by hand"):
        with_value(target, "notes", "x")


# --------------------------------------------------------------------------- writing and results


def test_atomic_write_keeps_the_mode_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = stack(tmp_path, "dev", DEV)
    path.chmod(0o640)
    write_atomically(path, "config: {}\n")
    assert path.read_text() == "config: {}\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pulumi.dev.yaml"]


def test_results_are_kept_per_release_and_never_taken_for_another(tmp_path: Path) -> None:
    release = Release("dev", {"image": "a"})
    other = Release("dev", {"image": "b"})
    path = write_result(tmp_path, release, "smoke", {"checks": []}, passed=True)
    assert path == result_path(tmp_path, "dev", release.fingerprint, "smoke")
    document = json.loads(path.read_text())
    assert document["fingerprint"] == release.fingerprint and document["release"] == {"image": "a"}
    assert read_result(tmp_path, release, "smoke").green
    assert "no smoke result for release" in str(read_result(tmp_path, other, "smoke").problem)
    # a file copied into another release's directory is not taken for that release
    moved = result_path(tmp_path, "dev", other.fingerprint, "smoke")
    moved.parent.mkdir(parents=True)
    moved.write_text(path.read_text())
    assert "does not record the smoke result of release" in str(read_result(tmp_path, other, "smoke").problem)
    # nor one for another stack
    staging = Release("staging", {"image": "a"})
    copied = result_path(tmp_path, "staging", staging.fingerprint, "smoke")
    copied.parent.mkdir(parents=True)
    copied.write_text(path.read_text())
    assert "does not record" in str(read_result(tmp_path, staging, "smoke").problem)
