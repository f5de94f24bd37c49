"""Pictures of a run: its cells, its mixing weights over the epochs, its loss and accuracy
curves. ``plot_run(workdir)`` writes them all."""

from darts_jax.plotting.run import PlotError, draw_cell, plot_run

__all__ = ["PlotError", "draw_cell", "plot_run"]
