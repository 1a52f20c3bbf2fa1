"""The bridge to TRL: training sets from the store, rewards, reward models, recorded runs.

Needs the ``train`` extra (torch, transformers, trl, accelerate, datasets). The
modules are imported one by one (``palate.train.datasets``, ``.rewards``, ``.runner``) so that
the CLI does not load them until a training command runs.
"""
