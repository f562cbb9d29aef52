"""`python -m bench`: the whole benchmark, one command, on infrastructure of its own.

uv run python -m bench                 # full run (≈ 25 min), results in bench/results/
uv run python -m bench --quick         # the same parts at a small scale (≈ 7 min)
uv run python -m bench --parts ingest --services grading
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import api, campaign, ingest, intake, latency, report
from bench.infra import REPO, Infra
from bench.procs import smtp_sink
from bench.profiling import Profiler, summarise

PARTS = ("ingest", "latency", "campaign", "intake", "api")


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small scale, for development")
    parser.add_argument(
        "--branches",
        type=int,
        default=None,
        help="branches of the province campaign (default 100,000; 2,000 with --quick)",
    )
    parser.add_argument(
        "--campaign-minutes",
        type=float,
        default=None,
        help="time box of the campaign (default 10, the target; 3 with --quick)",
    )
    parser.add_argument(
        "--complete-branches",
        type=int,
        default=None,
        help="a second, small campaign that runs to the end, for the memory of every phase"
        " (default 1,000 branches, up to 5 min; 0 to skip; skipped with --quick)",
    )
    parser.add_argument(
        "--rates", default=None, help="offered loads, events/s (default 200,1000,5000)"
    )
    parser.add_argument(
        "--level-seconds", type=float, default=None, help="seconds per offered load"
    )
    parser.add_argument("--parts", default=",".join(PARTS), help=",".join(PARTS))
    parser.add_argument(
        "--services",
        default="grading,rectification,notification,reporting",
        help="services whose ingest is measured",
    )
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument(
        "--api-naive", action="store_true", help="keep this api run as the naive path's figures"
    )
    parser.add_argument("--no-profile", action="store_true", help="skip py-spy")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument(
        "--keep-infra", action="store_true", help="leave the benchmark's infrastructure up"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: write results.md and plot.png again from --out's results.json",
    )
    return parser.parse_args(argv)


def _git_commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return result.stdout.strip() + ("+dirty" if dirty else "")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}"


async def run(options: argparse.Namespace) -> dict[str, Any]:
    quick = options.quick
    parts = [p for p in options.parts.split(",") if p]
    infra = Infra.from_environment()
    logs = REPO / ".local" / "bench-logs"
    profiler = None if options.no_profile else Profiler(logs / "profiles")
    results: dict[str, Any] = {
        "meta": {
            "commit": _git_commit(),
            "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
            "machine": _machine(),
            "mode": "quick" if quick else "full",
            "seed": options.seed,
            "load_before": _load(),
            "infrastructure": {k: v for k, v in infra.settings.items()},
        }
    }
    started = time.perf_counter()
    profiles: dict[str, str] = {}
    sink = smtp_sink()
    try:
        if "ingest" in parts:
            scale = 0.1 if quick else 1.0
            box = (
                {"ours": 15.0, "limit": 15.0, "naive": 8.0}
                if quick
                else {
                    "ours": 35.0,
                    "limit": 35.0,
                    "naive": 15.0,
                }
            )
            results["ingest"] = []
            for service in options.services.split(","):
                workload = ingest.workloads(scale)[service]
                print(f"ingest: {service} ({workload.branches:,} branches)", flush=True)
                part = await ingest.ingest_part(
                    infra,
                    workload,
                    seed=options.seed,
                    box=box,
                    log_dir=logs,
                    profiler=profiler,
                )
                results["ingest"].append(part)
                if profiler is not None:
                    profiles[service] = summarise(logs / "profiles" / f"profile-{service}.txt")
                _say_ingest(part)
        if "latency" in parts:
            rates = [int(r) for r in (options.rates or "200,1000,5000").split(",")]
            seconds = options.level_seconds or (8.0 if quick else 15.0)
            print(f"latency: {rates} events/s, {seconds:.0f} s each", flush=True)
            results["latency"] = await latency.run_levels(
                infra,
                seed=options.seed,
                rates=rates,
                seconds=seconds,
                wait=10.0 if quick else 15.0,
                log_dir=logs,
            )
            for level in results["latency"]["levels"]:
                print(
                    f"  {level['offered_events_per_second']:>6,} ev/s: p50 {level['p50_ms']} ms,"
                    f" p99 {level['p99_ms']} ms, not visible {level['probes_not_visible']}",
                    flush=True,
                )
        if "campaign" in parts:
            branches = options.branches or (1_000 if quick else 100_000)
            minutes = options.campaign_minutes or (4.0 if quick else 10.0)
            print(f"campaign: {branches:,} branches, at most {minutes:.0f} min", flush=True)
            outcome = await campaign.run_campaign(
                infra,
                seed=options.seed,
                branches=branches,
                box=minutes * 60,
                log_dir=logs,
                profiler=profiler,
            )
            results["campaign"] = dataclasses.asdict(outcome)
            print(
                f"  complete: {outcome.complete}, wall {outcome.wall_seconds}, "
                f"RSS {outcome.peak_rss_mb}",
                flush=True,
            )
            if profiler is not None:
                for service in campaign.PROCESSES:
                    name = f"campaign-{service}"
                    profiles[name] = summarise(
                        logs / "profiles" / f"profile-{name}.txt", rate=campaign.PROFILE_HZ
                    )
            small = options.complete_branches
            small = 0 if quick and small is None else (1_000 if small is None else small)
            if small:
                print(f"campaign to the end: {small:,} branches, at most 5 min", flush=True)
                outcome = await campaign.run_campaign(
                    infra, seed=options.seed, branches=small, box=300.0, log_dir=logs
                )
                results["campaign_complete"] = dataclasses.asdict(outcome)
                print(
                    f"  complete: {outcome.complete}, wall {outcome.wall_seconds}, "
                    f"RSS {outcome.peak_rss_mb}",
                    flush=True,
                )
        if "intake" in parts:
            count = 5_000 if quick else 20_000
            print(f"intake: {count:,} events over HTTP and straight to Kafka", flush=True)
            results["intake"] = await intake.run(
                infra, count=count, seed=options.seed, log_dir=logs
            )
            print(f"  {intake.verdict(results['intake'])['measured']}", flush=True)
        if "api" in parts:
            count = options.branches or (10_000 if quick else 100_000)
            print(f"api: {count:,} branches, {api.CLIENTS} clients", flush=True)
            results["api"] = await api.run(
                infra, branches=count, seconds=5.0 if quick else 15.0, seed=options.seed,
                log_dir=logs, label="naive" if options.api_naive else "ours",
            )  # fmt: skip
            if options.api_naive:
                api.NAIVE.write_text(json.dumps(results["api"], indent=1), encoding="utf-8")
            elif api.NAIVE.exists():
                results["api_naive"] = json.loads(api.NAIVE.read_text(encoding="utf-8"))
    finally:
        sink.terminate()
        sink.wait()
        if not options.keep_infra:
            infra.down()
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    results["meta"]["load_after"] = _load()
    for part in results.get("ingest", []):
        part.pop("samples", None)
    soak = options.out / "soak.json"
    if soak.exists():  # make soak's last run (30 min: not part of this one), beside the rest
        kept = json.loads(soak.read_text(encoding="utf-8"))
        results["soak"] = {k: v for k, v in kept.items() if k != "samples"}
    report.write(results, options.out, profiles)
    print(f"results: {options.out}/results.md, results.json, plot.png")
    return results


def _say_ingest(part: dict[str, Any]) -> None:
    rates = ", ".join(f"{r['contender']} {r['events_per_second']:,.0f}/s" for r in part["runs"])
    print(f"  {rates}", flush=True)


def rewrite(folder: Path) -> None:
    """The Markdown and the plot again, from a run's results.json and profile summaries."""
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    results.pop("verdicts", None)
    profiles = {
        path.stem.removeprefix("profile-"): path.read_text(encoding="utf-8")
        .split("```\n", 1)[1]
        .rsplit("\n```", 1)[0]
        for path in sorted(folder.glob("profile-*.md"))
    }
    report.write(results, folder, profiles)


def main(argv: list[str] | None = None) -> int:
    options = arguments(argv)
    if options.report_only:
        rewrite(options.out)
        return 0
    asyncio.run(run(options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
