"""Everything about the Numenta Anomaly Benchmark, in one place (docs/algorithms.md, 5 and 6).

``score`` (NAB's score and its corpus threshold), ``windows`` (labels and
windows mapped to rows), ``settings`` (the detector's typed settings),
``next_value`` (the next-value network's inputs), ``detector`` (fit the
learned parts, raw scores; the Dask task), ``scoring`` (raw scores -> anomaly
scores, the out-of-range rule), ``selection`` (settings chosen on some series;
leave one category out). No Kedro, no MLflow: both NAB pipelines and the Dask
workers call this package; it calls neither.
"""
