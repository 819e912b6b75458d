"""A flow with parameters, run by the tests with its parameters given as environment variables.

``METAFLOW_RUN_<PARAMETER>`` and ``METAFLOW_RUN_MAX_WORKERS`` are read by Metaflow's command line;
``METAFLOW_RUN_LATE`` is set by the flow's file itself after ``import metaflow`` (as the headers
of Metaflow's own ``test/core`` flows do), so every task process starts with it.
"""

import os

from metaflow import FlowSpec, Parameter, step

os.environ["METAFLOW_RUN_LATE"] = "late"


class ParameterFlow(FlowSpec):
    """Prints its parameters in each step."""

    alpha = Parameter("alpha", default=1, type=int)
    late = Parameter("late", default="default")

    @step
    def start(self):
        """Print what the parameters are."""
        print(f"PARAMETERS alpha={self.alpha} late={self.late}", flush=True)
        self.next(self.end)

    @step
    def end(self):
        """Print them again, in a second task."""
        print(f"PARAMETERS alpha={self.alpha} late={self.late}", flush=True)


if __name__ == "__main__":
    ParameterFlow()
