"""Human goal labels and episode ratings: the journal, the web app, CSV import/export, stats.

- :mod:`evalkit.labels.journal` — append-only, fsync'd, lock-protected JSON-lines journals.
- :mod:`evalkit.labels.store` — :class:`~evalkit.labels.store.LabelStore`, frame labels per task
  and labeller (``goal`` / ``not_goal`` / ``skip``, undo).
- :mod:`evalkit.labels.sets` — ``human`` (majority vote) and ``human-<labeller>`` label sets,
  and :func:`~evalkit.labels.sets.labelled_subset` for EPIC on the labelled frames.
- :mod:`evalkit.labels.rating` — the paper's success-rate protocol (episodes rated 0–100 %).
- :mod:`evalkit.labels.csvio` — CSV import and export.
- :mod:`evalkit.labels.stats` — counts and Cohen's κ between labellers and with rule labels.
- :mod:`evalkit.labels.server` — the Starlette web app (``evalkit label serve`` / ``rate``).
"""
