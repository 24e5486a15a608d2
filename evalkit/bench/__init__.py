"""The benchmarks behind ``evalkit bench ...``: they measure the hot paths on this machine.

- :mod:`evalkit.bench.epic` — ``evalkit bench epic``: EPIC with bootstrap intervals.
- :mod:`evalkit.bench.embed` — ``evalkit bench embed``: the embedding engine against a naive reference.
- :mod:`evalkit.bench.render` — ``evalkit bench render``: headless humanoid rendering.
- :mod:`evalkit.bench.train` — ``evalkit bench train``: what batching the CLIP reward buys.
- :mod:`evalkit.bench.label` — ``evalkit bench label``: the label round trip (and a synthetic dataset).
- :mod:`evalkit.bench.e2e` — ``evalkit bench e2e``: a reward head trains CartPole DQN, the text
  prompts do not (the end-to-end proof), in resumable stages (:mod:`evalkit.bench.stages`).

Each is imported only by its command (they load torch, MuJoCo or stable-baselines3).
"""
