"""Server side (torch extra): teacher training, pool scoring, selection into a payload.

Modules: :mod:`.teacher` (train/save/load a teacher), :mod:`.scoring` (score a pool into resumable shards,
merge them), :mod:`.rules` (selection rules, a plugin protocol), :mod:`.selection` (budgets, Safety-Net,
byte-budget search, payload writing), :mod:`.auto` (choose the rule on held-out target training data),
:mod:`.commands` (CLI ``teacher``, ``score``, ``merge``, ``select``).  See docs/SELECTION.md.

Only :mod:`.teacher`, :mod:`.auto` and the ``score`` function import torch; selection works on numpy.
"""
