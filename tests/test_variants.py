"""Retargeter variants (``benchmark.variants``): parsing, checks, and their rows in a run."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_runner import tiny  # noqa: F401 - the fixture: tiny suite, tiny retargeters

from benchmark import noise_robustness as nr
from benchmark import runner, variants
from benchmark.cli import main
from nmr_gym.errors import UnknownNameError


def test_parse_reads_json_values_and_sorts_options():
    v = variants.parse("nmr-pinned=nmr:pin_feet=true,joint_range_factor=0.95,device=cpu")
    assert v.label == "nmr-pinned" and v.retargeter == "nmr"
    assert v.options == (("device", "cpu"), ("joint_range_factor", 0.95), ("pin_feet", True))
    assert v.record() == {
        "retargeter": "nmr",
        "options": {"device": "cpu", "joint_range_factor": 0.95, "pin_feet": True},
    }
    assert variants.parse("plain=direct") == variants.Variant("plain", "direct", ())


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("nmr", "LABEL=NAME"),
        ("x=", "LABEL=NAME"),
        ("bad label=nmr", "letters, digits"),
        ("a=:pin_feet=true", "names no retargeter"),
        ("a=nmr:pin_feet", "KEY=VALUE"),
        ("a=nmr:k=1,k=2", "twice"),
    ],
)
def test_parse_rejects_malformed_variants(text, match):
    with pytest.raises(variants.VariantError, match=match):
        variants.parse(text)


def test_check_rejects_taken_labels_unknown_names_and_options():
    with pytest.raises(variants.VariantError, match="registered retargeter's name"):
        variants.check([variants.parse("gmr=direct:ground_align=false")])
    with pytest.raises(variants.VariantError, match="given twice"):
        variants.check([variants.parse("a=direct"), variants.parse("a=direct")])
    with pytest.raises(UnknownNameError, match="nope"):
        variants.check([variants.parse("a=nope")])
    with pytest.raises(variants.VariantError, match=r"no option \['grund'\].*ground_align"):
        variants.check([variants.parse("a=direct:grund=false")])
    with pytest.raises(variants.VariantError, match="--seed"):
        variants.check([variants.parse("a=direct:seed=3")])
    variants.check([variants.parse("direct-raw=direct:ground_align=false")])


def test_a_variant_gets_its_own_rows_and_the_run_records_it(tiny, tmp_path):  # noqa: F811
    quiet = variants.parse("tiny-quiet=tiny:noise=0.0")
    df, _ = runner.run("tiny", ["tiny"], tmp_path, progress=False, variants=[quiet])
    ok = df[df.error == ""]
    assert set(ok.retargeter) == {"tiny", "tiny-quiet"}
    by = ok.set_index(["motion", "retargeter"])
    assert json.loads(by.loc[("walk", "tiny-quiet"), "options"]) == {"noise": 0.0}
    assert json.loads(by.loc[("walk", "tiny"), "options"]) == {"noise": 0.01}
    # the variant's options reach the retargeter: no noise, so a smaller joint speed
    assert by.loc[("bob", "tiny-quiet"), "joint_vel_p99"] < by.loc[("bob", "tiny"), "joint_vel_p99"]
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["retargeters"] == ["tiny", "tiny-quiet"]
    assert info["variants"] == {"tiny-quiet": {"retargeter": "tiny", "options": {"noise": 0.0}}}
    # resuming with the same definition is fine; another definition of the label is refused
    again, _ = runner.run("tiny", ["tiny"], tmp_path, progress=False, variants=[quiet])
    assert len(again) == len(df)
    with pytest.raises(variants.VariantError, match="defines variant 'tiny-quiet'"):
        runner.run("tiny", ["tiny"], tmp_path, progress=False,
                   variants=[variants.parse("tiny-quiet=tiny:noise=0.5")])  # fmt: skip


def test_cli_run_takes_variants_and_rejects_bad_ones(tiny, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "run"
    args = ["run", "--suite", "tiny", "--retargeters", "tiny", "--out", str(out), "--no-progress"]
    assert main([*args, "--variant", "tiny-quiet=tiny:noise=0"]) == 0
    rows = pd.read_csv(out / runner.RESULTS_FILE)
    assert set(rows.retargeter) == {"tiny", "tiny-quiet"}
    capsys.readouterr()
    assert main([*args, "--variant", "tiny-quiet=tiny:nosie=0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "nosie" in err and "noise" in err and len(err.splitlines()) == 1


def test_robustness_runs_a_variant_and_records_it(tmp_path):
    raw = variants.parse("direct-raw=direct:ground_align=false")
    out = tmp_path / "rob"
    rows = nr.run("builtin", [], out, motions=["wave_short"], scale=0.5, progress=False,
                  variants=[raw])  # fmt: skip
    assert list(rows.retargeter) == ["direct-raw"] and rows.joint_dev_mean_rad.iloc[0] > 0
    info = json.loads((out / nr.INFO_FILE).read_text())
    assert info["variants"] == {"direct-raw": raw.record()}
    with pytest.raises(variants.VariantError, match="direct-raw"):
        nr.run("builtin", [], out, motions=["wave_short"], scale=0.5, progress=False,
               variants=[variants.parse("direct-raw=direct")])  # fmt: skip


def test_cli_robustness_takes_variants(tmp_path):
    out = tmp_path / "rob"
    args = ["robustness", "--retargeters", "direct", "--variant",
            "direct-raw=direct:ground_align=false", "--motions", "wave_short", "--out", str(out),
            "--noise-scale", "0.5", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    rows = pd.read_csv(out / "rows.csv")
    assert sorted(rows.retargeter) == ["direct", "direct-raw"]
    info = json.loads((out / nr.INFO_FILE).read_text())
    assert "--variant direct-raw=direct:ground_align=false" in info["commands"][-1]
