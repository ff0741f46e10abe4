"""Speculative decoding on a layout: the draft's cost and the tokens a verify step keeps.

Two kinds of draft (docs/model.md §9.1):

- **MTP**: the model's own multi-token-prediction module (DeepSeek-V3, arXiv 2412.19437 §2.2),
  one decoder layer run once per draft token: ``k / layers`` of a decode step of the model itself,
  holding ``1 / layers`` of its weights (DeepSeek-V3's 11.5 B of MTP module beside 671 B);
- **a draft model** of models.csv, ``k`` decode steps of its own on the same chips, its weights
  held besides the model's.

The acceptance rates per draft position come from ``speculative_decoding.csv`` (sourced per model
and draft) unless given.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from perfmodel.inputs import InvalidInput
from perfmodel.model import plan_equations as plan_eq
from perfmodel.model.decode_step import weight_bytes_total
from perfmodel.model.serving_step import Deployment, Layout, Speculation, layout_terms

#: The ``draft`` of speculative_decoding.csv that names the model's own MTP module.
MTP = "mtp"


def check_acceptance(acceptance: Sequence[float], k: int) -> tuple[float, ...]:
    """``k`` per-position acceptance rates in [0, 1] that never rise with the position."""
    a = tuple(float(x) for x in acceptance)
    if len(a) != k:
        raise InvalidInput(f"give one acceptance rate per draft token: {k} expected, got {len(a)} ({a})")
    if any(not 0.0 <= x <= 1.0 for x in a):
        raise InvalidInput(f"acceptance rates are shares of verify steps, each in [0, 1]; got {a}")
    if any(b > x for x, b in zip(a, a[1:], strict=False)):
        raise InvalidInput(
            f"acceptance rates per position never rise (position i+1 is accepted only with i); got {a}"
        )
    return a


def catalog_acceptance(table, model: str, draft: str, k: int) -> tuple[float, ...]:
    """The first ``k`` acceptance rates of ``model`` drafted by ``draft`` in speculative_decoding.csv."""
    rows = table.df.filter((table.df["model"] == model) & (table.df["draft"] == draft)).sort("position")
    have = dict(zip(rows["position"].to_list(), rows["acceptance"].to_list(), strict=True))
    missing = [i for i in range(1, k + 1) if i not in have]
    if missing:
        known = f"it has positions {sorted(have)}" if have else "it has no row for them"
        raise InvalidInput(
            f"{table.path.name} has no acceptance rate for {model} drafted by {draft} at position(s) "
            f"{', '.join(map(str, missing))} ({known}); give --acceptance a1,a2,... or add the rows with their source"
        )
    return check_acceptance([have[i] for i in range(1, k + 1)], k)


def speculation(
    d: Deployment,
    lay: Layout,
    isl,
    osl,
    k: int,
    acceptance: Sequence[float],
    draft: int | None = None,
    sync_s: float | None = None,
) -> Speculation:
    """The :class:`Speculation` of ``k`` draft tokens on ``lay``: by the model's MTP module
    (``draft`` None) or by the model of index ``draft``, at the per-position ``acceptance``."""
    m, s, mi = d.m, d.s, d.mi
    a = check_acceptance(acceptance, k)
    if draft is None:
        layers = float(m.layers[mi])
        terms = layout_terms(d, lay, isl, osl, sync_s)
        return Speculation(
            k, plan_eq.tokens_per_step(a), terms, k / layers, weight_bytes_total(m, s, mi) / layers
        )
    drafted = d._replace(mi=draft)
    terms = layout_terms(drafted, lay, isl, osl, sync_s)
    return Speculation(
        k, plan_eq.tokens_per_step(a), terms, float(k), float(np.asarray(weight_bytes_total(m, s, draft)))
    )
