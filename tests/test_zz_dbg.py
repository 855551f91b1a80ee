import sys
sys.path.insert(0, "/work/main/tests")
from test_multiprocess import _dataset, _run, _weights
def test_dbg(tmp_path, tiny_encoder):
    spec = {"kind": "reward", "use_weights": True, "use_margin": True, "dataset": str(_dataset(tmp_path / "ds", True, False)), "device": "cpu", "eval_fraction": 0.0,
            "base_model": tiny_encoder, "hyper": {"max_steps": 4, "batch_size": 8, "max_length": 64, "learning_rate": 1e-3, "logging_steps": 1, "warmup_ratio": 0.0}}
    one, a = _run(tmp_path, "one", spec, 1)
    two, b = _run(tmp_path, "two", spec, 2)
    print("ONE", [e["loss"] for e in one if e["event"] == "metrics"])
    print("TWO", [e["loss"] for e in two if e["event"] == "metrics"])
    wa, wb = _weights(a), _weights(b)
    print("W", max((wa[k]-wb[k]).abs().max().item() for k in wa))
