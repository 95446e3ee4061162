"""How runs fan out: many configurations or seeds of a pipeline, or many tasks of one run.

- ``cluster``: the one way to start or reach a Dask cluster, and :func:`map_tasks`
  (``nab_benchmark`` scores its series with it).
- ``trials``: one part of a pipeline run inside a warm Dask worker, with given
  parameters: its nodes called in order, raw data read once per worker, nothing
  written, no MLflow. What each sweep trial and each seed runs.
- ``sweep``: ``kedro sweep``: an Optuna study over a search space from
  ``conf/<env>/sweeps/<pipeline>.yml``, its trials on Dask, nested MLflow runs.
- ``seeds``: ``kedro seeds``: one configuration over several seeds, summarised.

No Kedro session and no MLflow on the workers: the driver (the command) logs.
"""
