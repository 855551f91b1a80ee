"""Training jobs from the project: a frozen dataset snapshot, the job spec, the `training` subprocess and
its event stream recorded as a run, and the reward model's scores brought back (`train.py`, `runtime.py`)."""

# job name -> (training job kind, reward heads); kept here, light, for the CLI's choices
KINDS = {"reward": ("reward", "overall"), "reward-dims": ("reward", "dimensions"), "dpo": ("dpo", None),
         "kto": ("kto", None), "prm": ("prm", None)}
