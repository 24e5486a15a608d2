"""Studies of whether an offline metric's verdict predicts the outcome of training.

:mod:`evalkit.validate.tabular` is the exact tier: random finite MDPs, a spectrum of candidate
rewards (:mod:`~evalkit.validate.spectrum`), exact regret (:mod:`~evalkit.validate.mdp`), the
offline metrics (:mod:`~evalkit.validate.offline`) and their rank correlation with regret
(:mod:`~evalkit.validate.correlate`). A plugin adds a tabular metric to the study with
:func:`evalkit.validate.offline.register_study_metric`.
"""
