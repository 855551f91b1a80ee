"""Training jobs from the project: a frozen dataset snapshot, the job spec, the `training` subprocess and
its event stream recorded as a run, and the reward model's scores brought back (`train.py`, `runtime.py`)."""
