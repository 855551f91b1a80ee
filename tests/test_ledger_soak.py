"""The ledger soak, short: every label a desk or the store acknowledged is in the project, with the same
content, after desks, panels, CLI commands, a training job and kill -9s on one file. `make soak` runs the long
one (tests/soak.py)."""

import json

import soak


def test_no_acknowledged_label_is_lost_or_changed_over_a_day_of_processes_and_kills(tmp_path, tiny_encoder):
    result = soak.run(tmp_path, seed=11, rounds=8, base_model=tiny_encoder)
    print(json.dumps(result, indent=2))
    assert result["acknowledged"] > 50 and result["desk_sessions"] >= 8 and result["processes"] > 20
    assert result["process:train"] == 1 and result["process:generate"] == 1 and result["process:judge"] == 1
    assert result["deleted_wal_seen"] == [], "a process held a deleted -wal/-shm of the project"
    assert result["lost"] == 0 and result["wrong"] == 0, result
    assert not [k for k in result if k.startswith(("hung:", "traceback:"))], result
