"""What the CLI runs: one module per application, each a typed config and a ``run_*`` function.

Tasks return data and write files; they never print (the CLI owns the terminal).
"""
