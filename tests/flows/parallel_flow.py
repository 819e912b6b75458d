"""A flow with a ``@parallel`` step, a JobSet on Kubernetes (run by the tests, never imported)."""

from metaflow import FlowSpec, parallel, step


class ParallelFlow(FlowSpec):
    """``start`` fans out into two ``train`` tasks, one control and one worker."""

    @step
    def start(self):
        """Fan out."""
        self.next(self.train, num_parallel=2)

    @parallel
    @step
    def train(self):
        """Nothing to do but to run."""
        self.next(self.join)

    @step
    def join(self, inputs):
        """Gather."""
        self.next(self.end)

    @step
    def end(self):
        """Done."""


if __name__ == "__main__":
    ParallelFlow()
