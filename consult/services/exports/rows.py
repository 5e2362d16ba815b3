"""Export rows, chunk by chunk, from `frames.read_answers`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ...models import Survey
from ..frames import CHUNK_SIZE, SPECIAL_CONSENT_COLUMN, Slot, read_answers, timestamp_text
from .codebook import Variable
from .common import FORMULA_STARTS, META
from .policy import Policy
from .weighting import Weighting


def select_variables(variables: list[Variable], policy: Policy) -> list[Variable]:
    return [
        v
        for v in variables
        if (policy.include_text or v.kind != "text") and (policy.include_special or not v.special)
    ]


def iter_chunks(
    survey: Survey,
    variables: Sequence[Variable],
    weighting: Weighting,
    *,
    chunk_size: int = CHUNK_SIZE,
    as_text: bool = False,
) -> Iterator[np.ndarray]:
    """Object arrays of rows, `chunk_size` responses at a time, in response
    order, read by `frames.read_answers` (one row per response, memory flat
    however many responses there are) with the meta and weight columns
    filled in. `as_text`: every cell as the text a CSV shows (see
    `frames.AnswerChunk`)."""
    slots = [
        Slot(v.question_id, v.question_type, v.sub) if v.question_id is not None else None
        for v in variables
    ]
    index = {v.name: j for j, v in enumerate(variables)}
    meta_cols = [index.get(m) for m in (*META, SPECIAL_CONSENT_COLUMN)]
    weight_col = index.get("weight")
    for chunk in read_answers(survey, slots, chunk_size=chunk_size, as_text=as_text):
        out = chunk.values
        submitted = chunk.submitted
        if not as_text:
            submitted = [timestamp_text(t) for t in chunk.submitted]
        facts = (chunk.references, chunk.languages, chunk.channels, submitted, chunk.consents)
        for j, values in zip(meta_cols, facts, strict=True):
            if j is not None:
                out[:, j] = values
        if weight_col is not None:
            if weighting.weights is None:
                weights = [1.0] * len(out)
            else:
                w = weighting.weights.reindex(chunk.ids).to_numpy(dtype=np.float64)
                weights = np.where(np.isfinite(w), w, 1.0).tolist()
            out[:, weight_col] = [str(w) for w in weights] if as_text else weights
        yield out


def _escape_text_columns(chunk: np.ndarray, variables: Sequence[Variable]) -> None:
    """`escape_cell` on a chunk of text rows (`as_text`). Codes are validated
    identifiers and cannot start with a formula character; only the free
    text and the meta columns need looking at."""
    starts = frozenset(FORMULA_STARTS)
    for j, v in enumerate(variables):
        if v.kind in ("text", "meta"):
            chunk[:, j] = [("'" + x) if x[:1] in starts else x for x in chunk[:, j]]
