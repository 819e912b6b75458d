"""A flow whose steps report what configuration they see (run by the tests, never imported).

Each step prints one line ``SEEN <json>``: every setting as ``settings`` holds it in the task,
whether ``metaflow.metaflow_config`` holds exactly ``metaflow_config.compat``'s names there, and
the task's own view of a few names. The ``start`` step carries an ``@environment`` that sets
``METAFLOW_DATATOOLS_SUFFIX`` when ``PROBE_ENVIRONMENT_SUFFIX`` is set at launch.
"""

import json
import os

from metaflow import FlowSpec, environment, step

#: dicts Metaflow's S3 client code adds to in place at run time (a botocore Config, retries)
_MUTATED_BY_METAFLOW = {"DATATOOLS_CLIENT_PARAMS", "S3_CLIENT_RETRY_CONFIG"}
_SUFFIX = os.environ.get("PROBE_ENVIRONMENT_SUFFIX")
_DECORATED = {"METAFLOW_DATATOOLS_SUFFIX": _SUFFIX} if _SUFFIX else {}


def report(step_name):
    import metaflow.metaflow_config as mf

    import metaflow_config.compat as compat
    from metaflow_config import settings
    from metaflow_config._model.table import FIELDS

    ours = json.loads(json.dumps(compat.module_values(), default=repr))
    theirs = json.loads(
        json.dumps({name: getattr(mf, name, "<missing>") for name in ours}, default=repr)
    )
    seen = {
        "step": step_name,
        "settings": json.loads(json.dumps({f.env: settings[f.env] for f in FIELDS}, default=repr)),
        "differing": sorted(
            n for n in ours if ours[n] != theirs[n] and n not in _MUTATED_BY_METAFLOW
        ),
        "metaflow": {n: theirs[n] for n in ("BATCH_JOB_QUEUE", "BATCH_EMIT_TAGS", "USER")},
    }
    print("SEEN " + json.dumps(seen, sort_keys=True), flush=True)
    return seen


class ProbeFlow(FlowSpec):
    """Two steps that report their configuration; ``start`` stores its report as an artifact."""

    @environment(vars=_DECORATED)
    @step
    def start(self):
        """Report, and keep the report as the artifact ``seen``."""
        self.seen = report("start")
        self.next(self.end)

    @step
    def end(self):
        """Report again, in a second task."""
        report("end")


if __name__ == "__main__":
    ProbeFlow()
