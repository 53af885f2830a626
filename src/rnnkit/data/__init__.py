"""Data: tokenizers and vocabularies, text and series loaders, windows, scalers, named datasets.

Import from the submodules (``rnnkit.data.vocab``, ``rnnkit.data.tokenizers``, ...); this package
keeps no re-exports so its modules stay independent of each other.
"""
