"""OpenLineage for the generation operators: the video as an output, the prompt file as input.

Imported only from the operators' ``get_openlineage_facets_on_*`` methods, which Airflow's
OpenLineage listener calls when ``apache-airflow-providers-openlineage`` is installed;
without it nothing here is ever imported, so it costs nothing.

* output: the downloaded copy (``download_to``), else the video URL's location with its
  query (the signature) left out: a signed URL is a credential;
* input: the prompt file, when the prompt came from a ``.txt`` template;
* run facet ``bailian``: the Bailian task id, model and, when known, video seconds.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import attr
from airflow.providers.openlineage.extractors import OperatorLineage
from openlineage.client.event_v2 import Dataset
from openlineage.client.facet_v2 import RunFacet

from airflow_provider_bailian.outputs import asset_uri


@attr.define
class BailianRunFacet(RunFacet):
    """What Bailian made in this run: its task id, the model and the seconds billed."""

    bailian_task_id: str | None = attr.field(default=None)
    model: str | None = attr.field(default=None)
    video_seconds: float | None = attr.field(default=None)


def dataset_of(location: str) -> Dataset:
    """An OpenLineage dataset for a file path or URL, by the naming spec (no query string)."""
    uri = asset_uri(location)
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return Dataset(namespace="file", name=parts.path)
    if parts.scheme in ("http", "https"):
        return Dataset(namespace=f"{parts.scheme}://{parts.netloc}", name=parts.path)
    return Dataset(namespace=f"{parts.scheme}://{parts.netloc}", name=parts.path.lstrip("/"))


def operator_lineage(facts: dict[str, Any]) -> OperatorLineage:
    """The lineage of one generation from what the operator recorded while it ran."""
    outputs = []
    if facts.get("video_path"):
        outputs.append(dataset_of(str(facts["video_path"])))
    elif facts.get("video_url"):
        outputs.append(dataset_of(str(facts["video_url"])))
    inputs = [dataset_of(facts["prompt_file"])] if facts.get("prompt_file") else []
    run_facets = {}
    if facts.get("bailian_task_id") or facts.get("model"):
        run_facets["bailian"] = BailianRunFacet(
            bailian_task_id=facts.get("bailian_task_id"),
            model=facts.get("model"),
            video_seconds=facts.get("video_seconds"),
        )
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=run_facets)
