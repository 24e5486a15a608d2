"""Studies of whether an offline metric's verdict predicts the outcome of training.

:mod:`evalkit.validate.tabular` is the exact tier: random finite MDPs, a spectrum of candidate
rewards (:mod:`~evalkit.validate.spectrum`), exact regret (:mod:`~evalkit.validate.mdp`), the
offline metrics (:mod:`~evalkit.validate.offline`) and their rank correlation with regret
(:mod:`~evalkit.validate.correlate`). A plugin adds a tabular metric to the study with
:func:`evalkit.validate.offline.register_study_metric`.

:mod:`evalkit.validate.trained_study` is the trained tier: a spectrum of image rewards
(:mod:`~evalkit.validate.trained_spectrum`) scored offline (:mod:`~evalkit.validate.trained_offline`),
each trained with several seeds as a grid of trials (:mod:`~evalkit.validate.trained_trial`,
:mod:`~evalkit.validate.grid`), and each metric's rank correlation with the outcome
(:mod:`~evalkit.validate.trained_summary`).
"""
