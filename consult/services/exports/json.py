"""JSON: the statement of the export, then the responses, streamed."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from ..content import SurveyTexts
from ..frames import CHUNK_SIZE
from .request import Export
from .rows import iter_chunks


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def stream_json(export: Export, *, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    head = {
        "survey": {
            "slug": export.survey.slug,
            "title": SurveyTexts(export.survey).title(export.language),
            "wave": export.survey.wave,
            "exported_at": export.exported_at.isoformat(),
            "label_language": export.language,
        },
        "weighting": {
            **{
                k: export.weighting.scheme.get(k)
                for k in ("method", "variables", "bounds", "benchmark_version", "tol")
            },
            "description": export.weighting.describe(),
            "diagnostics": export.weighting.diagnostics,
            "problems": export.weighting.problems,
        },
        "left_out": list(export.policy.notes),
        "variables": [
            {
                "name": v.name,
                "label": v.label,
                "type": v.question_type or v.kind,
                "measure": v.measure,
                "values": [
                    {"code": x.code, "label": x.label, "spss_value": x.number, "missing": x.missing}
                    for x in v.values
                ],
            }
            for v in export.variables
        ],
    }
    text = json.dumps(head, ensure_ascii=False)
    yield (text[:-1] + ', "responses": [').encode("utf-8")
    names = [v.name for v in export.variables]
    first = True
    for chunk in iter_chunks(
        export.survey, export.variables, export.weighting, chunk_size=chunk_size
    ):
        parts = []
        for row in chunk.tolist():
            parts.append(
                json.dumps(dict(zip(names, map(_json_value, row), strict=True)), ensure_ascii=False)
            )
        if parts:
            yield (("" if first else ",") + ",".join(parts)).encode("utf-8")
            first = False
    yield b"]}"
