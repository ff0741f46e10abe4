"""Issue 24: models imported from their configs, the new chips, rent-only pricing, how fresh a figure is."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from liminal_cli.arguments import run
from liminal_cli.tco_commands import main as tco_main
from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.catalog.folder import DEFAULT_DIR
from perfmodel.inputs import InvalidInput
from tco.designs.freshness import parse_age, row_dates, stale
from tco.economics.rentals import rental_table
from tco.questions.question import Question
from tco.questions.ranking import evaluate, select
from tco.reporting.buyer_text import buyer_answer, can_buy

CATS = load_catalogs()
CONFIGS = Path(__file__).resolve().parents[1] / "data" / "hf_configs"
HOUR_S = 3600.0
#: Chips the catalogs gained for 2027 (issue 24), each with a primary source in its row.
NEW_CHIPS = (
    "rubin-nvl72",
    "mi455x",
    "trainium2",
    "trainium3",
    "h800-sxm",
    "a100-sxm-80gb",
    "l40s",
    "rtx-pro-6000-server",
    "dmatrix-corsair",
    "groq3-lpx",
    "tt-blackhole-p150",
    "tt-galaxy-blackhole",
)
RENT_ONLY = {"tpu-v6e", "tpu-v7-ironwood", "trainium2", "trainium3"}


@pytest.fixture(scope="module", params=["calibrated", "limit"])
def ranked(request):
    q = Question("llama3-70b", 4096 if request.param == "limit" else None, mode=request.param, catalogs=CATS)
    return select(evaluate(q), 30.0)


def test_every_new_chip_has_a_sourced_row_in_each_catalog_it_needs():
    for name in NEW_CHIPS:
        for cat in ("hardware", "hardware_economics"):
            assert CATS[cat].row(name)["source"].strip(), (cat, name)
        # a chip without measurements names the measured chip it resembles
        eff = CATS["efficiencies"].df.filter(pl.col("hardware") == name)
        assert eff.height >= 1 and (
            eff["resembles"].is_not_null().all() or eff["fit"].str.starts_with("fit").all()
        )


def test_new_chips_rank_in_both_modes_with_a_cost_and_a_power(ranked):
    rows = {r["hardware"]: r for r in ranked.iter_rows(named=True)}
    for name in NEW_CHIPS:
        r = rows[name]
        if r["reason"].startswith("no price"):  # rent-only without a published offer
            assert name in RENT_ONLY and not rental_table(CATS).filter(pl.col("hardware") == name).height
            continue
        if r["reason"].startswith("does not fit"):
            continue
        assert r["usd_per_mtok"] > 0 and r["wall_power_w"] > 0, name
        econ = CATS["hardware_economics"].row(name)
        assert (econ["price"] is not None) or "estimate" in econ["source"] or r["price_is_estimate"], name


def test_rent_only_chips_are_priced_by_their_offers_whatever_the_basis():
    """trainium2 owned: the chip-hour costs the median AWS offer, as under the rent basis."""
    own = select(evaluate(Question("llama3-70b", catalogs=CATS)), 0.0)
    rent = select(evaluate(Question("llama3-70b", cost_basis="rent", catalogs=CATS)), 0.0)
    offer = rental_table(CATS).filter(pl.col("hardware") == "trainium2")["rental_usd_per_s"][0] * HOUR_S
    for r in (own, rent):
        row = r.filter(pl.col("hardware") == "trainium2").row(0, named=True)
        assert row["cost_basis"] == "rent"
        assert row["usd_per_chip_hour"] == pytest.approx(offer, rel=1e-12)
        assert row["energy_usd_per_mtok"] == 0 and row["chip_capex_usd_per_mtok"] == 0
    # an owned chip is owned: its basis and its cost differ between the two
    h100 = [r.filter(pl.col("hardware") == "h100-sxm").row(0, named=True) for r in (own, rent)]
    assert h100[0]["cost_basis"] == "own" and h100[1]["cost_basis"] == "rent"


def test_a_rent_only_chip_is_never_a_chip_you_can_buy(ranked):
    rented = ranked.filter(pl.col("hardware").is_in(list(RENT_ONLY)))
    assert rented.height == len(RENT_ONLY) and rented["rent_only"].all()
    assert not rented.filter(can_buy()).height
    buyable = ranked.filter(pl.col("meets_floor") & can_buy())
    answer = buyer_answer(ranked, "llama3-70b", 30.0, "tokens_per_usd")
    named = answer.split("the best chip you can buy by tokens per dollar is ")[1].split(":")[0]
    assert named == buyable["hardware"][0] and named not in RENT_ONLY


def test_every_catalog_model_is_its_published_config_imported():
    """Each models.csv row is what `catalog import-model` writes from the config it cites."""
    from perfmodel.model.hf_config import read_hf_config

    for name in CATS["models"].names():
        got = read_hf_config(CONFIGS / name, name=name).row
        row = CATS["models"].row(name)
        for column in ("layers", "hidden", "heads", "kv_heads", "experts", "experts_per_token", "vocab"):
            want = row[column]
            have = got[column]
            assert (have or None) == (want if want else None), (name, column, have, want)


def test_import_model_writes_a_row_that_ranks_and_refuses_what_it_cannot_represent(tmp_path, capsys):
    assert (
        tco_main(
            [
                "catalog",
                "import-model",
                str(CONFIGS / "glm-4.5-air"),
                "--name",
                "glm-air-copy",
                "--catalogs",
                str(tmp_path),
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["name"] == "glm-air-copy" and out["params"]["total"] == pytest.approx(106e9, rel=0.01)
    cats = load_catalogs(tmp_path)
    assert cats["models"].row("glm-air-copy")["experts"] == 128
    r = select(evaluate(Question("glm-air-copy", catalogs=cats)), 30.0)
    assert r["meets_floor"].any()
    code = run(tco_main, ["catalog", "import-model", str(CONFIGS / "glm-5"), "--catalogs", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "index_topk" in err[0]
    code = run(
        tco_main,
        [
            "catalog",
            "import-model",
            str(CONFIGS / "glm-4.5-air"),
            "--name",
            "glm-air-copy",
            "--catalogs",
            str(tmp_path),
        ],
    )
    assert code == 2 and "already has a row named 'glm-air-copy'" in capsys.readouterr().err


def test_parse_age_reads_months_and_years():
    assert [parse_age(t) for t in ("12months", "18 months", "2years", "1y", "6m")] == [12, 18, 24, 12, 6]
    with pytest.raises(InvalidInput, match="--older-than"):
        parse_age("soon")


def test_stale_lists_old_rows_of_the_packaged_catalogs_and_of_a_user_folder(tmp_path):
    today = dt.date(2026, 12, 1)
    dated = row_dates(CATS, today)
    # a price date wins over the source text; an age counts whole months
    h100 = dated.filter((pl.col("file") == "hardware_economics.csv") & (pl.col("name") == "h100-sxm")).row(
        0, named=True
    )
    econ = CATS["hardware_economics"].row("h100-sxm")
    assert h100["dated_by"] == "price_date" and h100["date"] == econ["price_date"][:7]
    y, m = map(int, h100["date"].split("-"))
    assert h100["age_months"] == (2026 - y) * 12 + 12 - m
    old = stale(CATS, 12, today)
    assert (old["age_months"] > 12).all() and old.height > 0
    # a user folder with one rental offer from 2020
    shutil.copy(DEFAULT_DIR / "rentals.csv", tmp_path / "rentals.csv")
    text = (tmp_path / "rentals.csv").read_text().rstrip("\n")
    header = next(line for line in text.splitlines() if not line.startswith("#")).split(",")
    cells = dict.fromkeys(header, "")
    cells |= {
        "name": "h100-old-offer",
        "hardware": "h100-sxm",
        "provider": "a list",
        "term": "on-demand",
        "price[USD/hour]": "4.5",
        "date": "2020-01",
        "source": "a 2020 price list",
    }
    (tmp_path / "rentals.csv").write_text(text + "\n" + ",".join(cells.values()) + "\n")
    mine = stale(load_catalogs(tmp_path), 24, today)
    row = mine.filter(pl.col("name") == "h100-old-offer").row(0, named=True)
    assert (row["file"], row["date"], row["age_months"]) == ("rentals.csv", "2020-01", 83)
