"""PrefDesk training jobs (reward model, DPO, process reward model), run as a subprocess.

Never imports `prefdesk`: a job needs only this package and the `train` extra.
"""
