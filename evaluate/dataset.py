"""A run's tests as a Hugging Face dataset folder: Parquet files and a dataset card.

    export_dataset("results/quick-offline", "quick-dataset")
    datasets.load_dataset("parquet", data_files="quick-dataset/data/*.parquet")
    datasets.load_dataset("quick-dataset", "arithmetic")      # per-task configs from the card

Layout:
    README.md           dataset card: YAML header (configs, tags) + manifold, task
                        versions, counts, columns and how to regenerate the tests
    data/<task>.parquet one file per task, all with the same schema (so the `all`
                        config loads them together; a task's `params` struct has
                        null fields that belong to other tasks)
    config.yaml         the experiment config the run used
    <template>.jinja    the template the run used (under its own name, so the
                        regenerated records name the same template)

Only the test fields are exported, never a model's answer: `key`, `task`
(the point id), `base_task`, `version`, `sample`, `params`, `input`, `target`,
`response_enum`, `guess_chance`, `genresult`, `messages`, `template`, `seed`.

`withhold=True` (contamination-safe) drops `target`, `seed` and `genresult`
(generator metadata can contain the answer, e.g. a simulated final state), and
the card shows no seed or fingerprint (a fingerprint hashes the seed, which a
search over small seeds would recover). Whoever keeps the seed can regenerate
the targets and score answers by `key`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from contour import __version__
from contour.errors import ContourError
from contour.evaluate.export import check_target, copy_to_parquet, default_target, one_source, staged_folder
from contour.evaluate.sql import RecordsDB, Source, open_records, quote

COLUMNS = ["key", "task", "base_task", "version", "sample", "params", "input", "target",
           "response_enum", "guess_chance", "genresult", "messages", "template", "seed"]
WITHHELD = ("target", "seed", "genresult")


@dataclass
class TaskSummary:
    name: str
    versions: list[int]
    points: int
    tests: int
    guess: float | None
    axes: dict[str, list[Any]] = field(default_factory=dict)     # values in this dataset
    fixed: dict[str, Any] = field(default_factory=dict)          # parameters with one value


@dataclass(frozen=True)
class DatasetExport:
    path: Path
    rows: int
    tasks: list[str]


def export_dataset(run: str | os.PathLike[str], output: str | os.PathLike[str] | None = None,
                   withhold: bool = False, overwrite: bool = False) -> DatasetExport:
    """Write the dataset folder of a run (default: `dataset/` inside the run folder)."""
    source = one_source(run)
    target = Path(output) if output is not None else default_target(source, "dataset")
    check_target(target, overwrite)
    manifest = _manifest(source)
    db = open_records([source])
    try:
        tasks = summarise_tasks(db)
        if not tasks:
            raise ContourError(f"'{run}' holds no records to export")
        columns = [c for c in COLUMNS if not (withhold and c in WITHHELD)]
        select = ", ".join(columns)
        rows = 0
        with staged_folder(target) as staged:
            (staged / "data").mkdir()
            for task in tasks:
                rows += copy_to_parquet(
                    db.con, f"SELECT {select} FROM records WHERE base_task = {quote(task.name)} "
                            f"ORDER BY task, sample, key", staged / "data" / f"{_file_name(task.name)}.parquet")
            _write_extras(staged, manifest)
            card = dataset_card(tasks, manifest, columns, withhold, rows)
            (staged / "README.md").write_text(card, encoding="utf-8")
    finally:
        db.close()
    return DatasetExport(target, rows, [t.name for t in tasks])


def _manifest(source: Source) -> dict[str, Any]:
    path = source.path.parent / "manifest.json"
    try:
        value = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError) as problem:
        raise ContourError(f"cannot read '{path}': {problem}") from None
    return value if isinstance(value, dict) else {}


def _file_name(task: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", task) or "task"


def summarise_tasks(db: RecordsDB) -> list[TaskSummary]:
    """Per task: versions, points, tests, mean guess chance, and its axes' values."""
    rows = db.con.execute(
        "SELECT base_task, list(DISTINCT version ORDER BY version), count(DISTINCT task), count(*), "
        "avg(guess_chance) FROM records GROUP BY base_task ORDER BY base_task").fetchall()
    params = db.con.execute("SELECT DISTINCT base_task, task, to_json(params)::VARCHAR FROM records "
                            "ORDER BY ALL").fetchall()
    values: dict[str, dict[str, list[Any]]] = {}
    for task, _, text in params:
        point = json.loads(text) if text else {}
        for name, value in (point or {}).items():
            if value is None or name == "count":
                continue
            seen = values.setdefault(task, {}).setdefault(name, [])
            if value not in seen:
                seen.append(value)
    summaries = []
    for name, versions, points, tests, guess in rows:
        per_axis = values.get(name, {})
        summaries.append(TaskSummary(
            name, list(versions), points, tests, guess,
            axes={k: _ordered(v) for k, v in per_axis.items() if len(v) > 1},
            fixed={k: v[0] for k, v in per_axis.items() if len(v) == 1}))
    return summaries


def _ordered(values: list[Any]) -> list[Any]:
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return sorted(values)
    return values


def _write_extras(folder: Path, manifest: dict[str, Any]) -> None:
    if isinstance(manifest.get("config"), dict):
        (folder / "config.yaml").write_text(yaml.safe_dump(manifest["config"], sort_keys=False),
                                            encoding="utf-8")
    name = _template_file(manifest)
    if name:
        (folder / name).write_text(manifest["template"]["source"], encoding="utf-8")


def _template_file(manifest: dict[str, Any]) -> str | None:
    template = manifest.get("template")
    if not isinstance(template, dict) or not isinstance(template.get("source"), str):
        return None
    return _file_name(str(template.get("name") or "template")) + ".jinja"


def dataset_card(tasks: list[TaskSummary], manifest: dict[str, Any], columns: list[str],
                 withhold: bool, rows: int) -> str:
    """README.md: a YAML header the Hub reads, then what the data is and how to remake it."""
    experiment = manifest.get("experiment") or "experiment"
    degree, density = manifest.get("degree"), manifest.get("density")
    header = {
        "pretty_name": f"Contour {experiment}" + (f" (degree {degree}, {density} density)" if density else ""),
        "language": ["en"],
        "tags": ["contour", "reasoning", "synthetic", "procedurally-generated"],
        "task_categories": ["question-answering", "text-generation"],
        "size_categories": [_size_category(rows)],
        "configs": [{"config_name": "all", "default": True,
                     "data_files": [{"split": "test", "path": "data/*.parquet"}]}]
                   + [{"config_name": t.name,
                       "data_files": [{"split": "test", "path": f"data/{_file_name(t.name)}.parquet"}]}
                      for t in tasks],
    }
    lines = ["---", yaml.safe_dump(header, sort_keys=False).rstrip(), "---", "",
             f"# Contour dataset: {experiment}", "",
             f"{rows} tests over {len(tasks)} task(s), generated by Contour "
             f"{manifest.get('contour_version', __version__)} (exported with {__version__}). "
             "Every test is a pure function of (seed, task, task version, the point's parameters, "
             "the sample index): the same coordinates give the same test on any machine.", ""]
    if withhold:
        lines += ["**Contamination-safe export:** the targets (`target`), the generator metadata "
                  "(`genresult`, which can reveal the answer) and the seed are withheld. Whoever "
                  "holds the seed regenerates the targets with the command below and scores "
                  "answers by `key`.", ""]
    lines += _settings(manifest, withhold)
    lines += ["## Tasks", "", "| task | version | points | tests | mean guess chance |",
              "|---|---:|---:|---:|---:|"]
    lines += [f"| {t.name} | {', '.join(map(str, t.versions))} | {t.points} | {t.tests} | "
              f"{'–' if t.guess is None else f'{t.guess:.3f}'} |" for t in tasks]
    lines += ["", "## Manifold", "",
              "The difficulty axes of each task and the values in this dataset (easiest first "
              "where the config orders them), then the parameters held fixed.", "",
              "| task | axis | values |", "|---|---|---|"]
    for t in tasks:
        for axis, values in t.axes.items():
            lines.append(f"| {t.name} | {axis} | {', '.join(map(_show, values))} |")
        if t.fixed:
            fixed = ", ".join(f"{k}={_show(v)}" for k, v in t.fixed.items())
            lines.append(f"| {t.name} | (fixed) | {fixed} |")
    lines += ["", *_regenerate(manifest, withhold), "", "## Columns", ""]
    lines += [f"- `{c}`: {_COLUMN_NOTES[c]}" for c in columns]
    lines += ["", "Load it with `datasets.load_dataset(\"parquet\", data_files=\"data/*.parquet\")`, "
              "one task with `data_files=\"data/<task>.parquet\"` (or the config of that name), or "
              "query it with `contour sql \"SELECT ...\" data/<task>.parquet`.", ""]
    return "\n".join(lines)


_COLUMN_NOTES = {
    "key": "`<task>-<sample>`: the test's identity, the same in every run on these points",
    "task": "the point id: task name and the axis values of the point",
    "base_task": "the task (generator) name",
    "version": "the task version; a new version may generate different tests",
    "sample": "sample index within the point",
    "params": "all task parameters of the point (a struct; fields of other tasks are null)",
    "input": "the problem text",
    "target": "the canonical answer",
    "response_enum": "the options of a multiple-choice test, else null",
    "guess_chance": "success rate of the best blind answer at the point",
    "genresult": "generator metadata: the structure that produced the test",
    "messages": "the chat messages rendered by the template (what a model is sent)",
    "template": "the template that rendered `messages`",
    "seed": "the global seed",
}


def _settings(manifest: dict[str, Any], withhold: bool) -> list[str]:
    precision = manifest.get("precision") or {}
    rows = [("experiment", manifest.get("experiment")), ("degree", manifest.get("degree")),
            ("density", manifest.get("density")), ("precision", precision.get("name")),
            ("samples per point per round", precision.get("count")),
            ("template", (manifest.get("template") or {}).get("name")),
            ("offline rounds", (manifest.get("mode") or {}).get("offline_rounds")),
            ("task versions", ", ".join(f"{k} {v}" for k, v in (manifest.get("task_versions") or {}).items())),
            ("seed", "withheld" if withhold else manifest.get("seed"))]
    if not withhold:
        rows.append(("run fingerprint", manifest.get("fingerprint")))
    shown = [(k, v) for k, v in rows if v not in (None, "")]
    if not shown:
        return ["(The run had no manifest.json: settings unknown.)", ""]
    return ["## Settings", "", "| setting | value |", "|---|---|"] + \
        [f"| {k} | {v} |" for k, v in shown] + [""]


def _regenerate(manifest: dict[str, Any], withhold: bool) -> list[str]:
    if not manifest:
        return ["## Regenerate", "", "Unknown: the run had no manifest.json."]
    mode = manifest.get("mode") or {}
    precision = manifest.get("precision") or {}
    rounds = mode.get("offline_rounds") or precision.get("max_rounds") or 1
    template = _template_file(manifest) or "TEMPLATE"
    seed = "SEED" if withhold else manifest.get("seed", 0)
    command = (f"contour run --config config.yaml --template {template} --seed {seed} "
               f"--degree {manifest.get('degree', 0)} --density {manifest.get('density', 'normal')} "
               f"--precision {precision.get('name', 'NAME')} --offline {rounds} --output regenerated\n"
               f"contour export regenerated --format dataset"
               + (" --withhold" if withhold else "") + " --output regenerated-dataset")
    lines = ["## Regenerate", "",
             "From this folder, with Contour and the task versions above:", "", "```sh", command, "```",
             ""]
    if withhold:
        lines.append("SEED is withheld; the maintainers of this dataset hold it.")
    if not mode.get("offline_rounds"):
        lines.append("The source run was online, where adaptive precision can stop a point early; "
                     "the command regenerates every test here (same keys) and possibly more samples.")
    return lines


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (dict, list, bool)) or value is None else str(value)


def _size_category(rows: int) -> str:
    for limit, name in [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M")]:
        if rows < limit:
            return name
    return "1M<n<10M"
